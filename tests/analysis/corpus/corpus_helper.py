"""A synthetic corpus and fake models for the corpus-runner tests; also a script that runs them.

Imported by the tests of ``tests/analysis/corpus``; run as
``python tests/analysis/corpus/corpus_helper.py CHECKPOINT ...`` it is the long run the
tests kill with SIGKILL and resume (see ``main``).
"""

from __future__ import annotations

import argparse
import pickle
import time
import zlib
from collections.abc import Iterable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from spacy.tokens import Doc

from tests.factories import synthetic_sentence
from trfviz.analysis.corpus import run_corpus
from trfviz.analysis.similarity import HeadSimilarity, LayerCKA
from trfviz.analysis.syntax import AttentionPatterns, HeadRelationAccuracy
from trfviz.datasets.conllu import parse_conllu
from trfviz.extraction import Extraction
from trfviz.extractor import sentences_of

#: Fake models: name -> (layers, heads).
FAKE_MODELS = {"fake-a": (2, 3), "fake-b": (3, 2)}
STATE_DIM = 4


def fake_extract_docs(
    docs: Iterable[Doc], model: str, *, delay: float = 0.0, states: bool = False, **options
) -> Iterator[Extraction]:
    """Stands in for trfviz.extract_docs: outputs are a deterministic function of the text
    and of the Doc's position in the call.

    Like a real model, whose batches depend on which sentences are extracted together,
    the output changes (by a relative 1e-6) with the Doc's place among the Docs of one
    call: a runner that resumes with different chunk boundaries gets different floats.
    ``delay`` seconds are slept per Doc, so a run lasts long enough to be killed.
    Picklable by reference (a module-level function), so Dask workers can run it.
    """
    layers, heads = FAKE_MODELS[model]
    for position, doc in enumerate(docs):
        if delay:
            time.sleep(delay)
        wobble = 1.0 + 1e-6 * (position % 5)
        sentences = []
        for span in sentences_of(doc):
            n = len(span)
            rng = np.random.default_rng(zlib.crc32(f"{model}|{span.text}".encode()))
            logits = rng.normal(size=(layers, heads, n + 2, n + 2)) * 3 * wobble
            attention = np.exp(logits)
            attention /= attention.sum(-1, keepdims=True)
            hidden = rng.normal(size=(layers + 1, n, STATE_DIM)) * wobble
            sentences.append(
                synthetic_sentence(
                    attention,
                    hidden if states else None,
                    words=[t.text for t in span],
                    specials=("[CLS]", "[SEP]"),
                    start=span.start,
                )
            )
        yield Extraction(
            model=model,
            revision="fake",
            text=doc.text,
            sentences=tuple(sentences),
            n_layers=layers,
            n_heads=heads,
        )


def _tree(words: list[str], rng: np.random.Generator) -> str:
    order = rng.permutation(len(words))
    heads = [0] * len(words)
    for position in range(1, len(words)):
        heads[order[position]] = int(order[rng.integers(position)]) + 1
    labels = ["nsubj", "obj", "det", "case"]
    return "\n".join(
        f"{i + 1}\t{w}\t_\t_\t_\t_\t{h}\t{'root' if h == 0 else labels[(i + h) % 4]}\t_\t_"
        for i, (w, h) in enumerate(zip(words, heads, strict=True))
    )


def synthetic_docs(n: int, seed: int = 7) -> list[Doc]:
    """``n`` gold-parsed one-sentence Docs of 1 to 9 words with random trees."""
    rng = np.random.default_rng(seed)
    vocabulary = ["the", "dog", "saw", "a", "cat", "with", "telescope", ",", "."]
    blocks = [
        _tree([str(w) for w in rng.choice(vocabulary, size=int(rng.integers(1, 10)))], rng)
        for _ in range(n)
    ]
    return parse_conllu("\n\n".join(blocks) + "\n\n")


def every_reducer() -> list:
    """One fresh reducer of each kind the runner is used with."""
    return [
        HeadRelationAccuracy(),
        AttentionPatterns(),
        HeadSimilarity(model_a="fake-a", model_b="fake-b"),
        LayerCKA(model_a="fake-a", model_b="fake-b"),
    ]


#: The run the kill test makes: the checkpoint options and corpus size (the helper's own
#: command line defaults, so the test resumes with exactly the same settings).
KILL_RUN = {"n_docs": 120, "chunk_size": 3, "checkpoint_every": 6}


# -- shared by the corpus tests -----------------------------------------------------------------

#: run_corpus options that run the fake models.
FAKES = {"models": list(FAKE_MODELS), "extractor": fake_extract_docs, "progress": False}


def fresh_reducers() -> list:
    return [HeadRelationAccuracy(), AttentionPatterns()]


def fed_by_hand(docs: list[Doc], reducers: list, chunk_size: int) -> list:
    """The reducers fed every sentence without the runner (and without a merge), extracting
    chunk by chunk as the runner does."""
    from trfviz.parse import parse_sentence

    models = FAKES["models"]
    states = any(getattr(r, "needs_states", False) for r in reducers)
    for start in range(0, len(docs), chunk_size):
        chunk = docs[start : start + chunk_size]
        streams = [list(fake_extract_docs(chunk, m, states=states)) for m in models]
        for doc, *extractions in zip(chunk, *streams, strict=True):
            for i, span in enumerate(sentences_of(doc)):
                by_model = {m: e.sentences[i] for m, e in zip(models, extractions, strict=True)}
                for reducer in reducers:
                    reducer.update(by_model, parse_sentence(span))
    return reducers


def assert_identical(got: list[pd.DataFrame], expected: list[pd.DataFrame]) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        pd.testing.assert_frame_equal(a, b, check_exact=True)


def checkpoint_docs(path: Path) -> int:
    """Documents the checkpoint holds, 0 when there is none; it must always load whole."""
    try:
        with open(path, "rb") as handle:
            return int(pickle.load(handle)["n_docs"])
    except FileNotFoundError:
        return 0


class Interrupted(Exception):
    pass


def interrupted_after(docs: list[Doc], n: int) -> Iterator[Doc]:
    for i, doc in enumerate(docs):
        if i == n:
            raise Interrupted
        yield doc


def main() -> None:
    """Run the kill test's corpus with a checkpoint, slowly, until done or killed."""
    parser = argparse.ArgumentParser()
    parser.add_argument("checkpoint")
    parser.add_argument("--delay", type=float, default=0.004)
    args = parser.parse_args()
    run_corpus(
        synthetic_docs(KILL_RUN["n_docs"]),
        every_reducer(),
        models=list(FAKE_MODELS),
        extractor=partial(fake_extract_docs, delay=args.delay),
        checkpoint=args.checkpoint,
        chunk_size=KILL_RUN["chunk_size"],
        checkpoint_every=KILL_RUN["checkpoint_every"],
        checkpoint_seconds=None,
        progress=False,
    )


if __name__ == "__main__":
    main()
