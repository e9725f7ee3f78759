"""Attention between the regions of SyntaxGym-style stimuli.

The analysis of attention under ambiguity runs in four steps, each giving plain data:

1. :func:`~trfviz.datasets.syntaxgym.load_suite` (SyntaxGym JSON) or
   :func:`~trfviz.datasets.syntaxgym.load_pp_attachment` (built in) gives a
   :class:`~trfviz.datasets.syntaxgym.Suite`, whose ``stimuli()`` are the
   sentences with the character span of every region; each region maps
   exactly onto the spaCy tokens its characters overlap (:func:`find_region_tokens`).
2. :func:`parse_stimuli` runs spaCy with every stimulus kept as one sentence
   (models run per sentence, so attention between regions needs both in one),
   then :func:`trfviz.extract_docs` runs a model.
3. :func:`measure_region_attention` (this module): per stimulus, layer and
   head, the attention from a *source* region (queries) to a *target* region
   (keys): the attention of each source token, **summed over the target
   tokens**, then **averaged over the source tokens** (Clark et al.'s
   convention for a word made of pieces, applied to a region made of words).
   By default rows are renormalised over the spaCy tokens first (special
   pseudo-tokens dropped), so models with and without ``[CLS]``/``[SEP]`` compare.
4. :mod:`trfviz.analysis.ambiguity.contrasts`: each item's contrast between
   conditions and the paired effect size across items per head.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trfviz.datasets.syntaxgym import Region, Stimulus, region_index
from trfviz.extraction import Extraction, SentenceExtraction

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc

__all__ = ["find_region_tokens", "measure_region_attention", "parse_stimuli", "token_spans"]


def token_spans(text: str, tokens: Sequence[str]) -> np.ndarray:
    """int ``[n_tokens, 2]`` character offsets of ``tokens``, found in order in ``text``.

    spaCy tokens are consecutive substrings of the Doc text, so this recovers
    ``(token.idx, token.idx + len(token))`` from an :class:`Extraction`.

    >>> token_spans("I saw  it.", ["I", "saw", " ", "it", "."]).tolist()
    [[0, 1], [2, 5], [6, 7], [7, 9], [9, 10]]
    """
    spans = np.zeros((len(tokens), 2), dtype=np.int64)
    position = 0
    for i, token in enumerate(tokens):
        if i and not token.strip() and text.startswith(" ", position):
            # spaCy gives each token at most one trailing space; extra whitespace becomes a
            # token of its own after it ("the  man" -> "the", " ", "man").
            position += 1
        start = text.find(token, position)
        if start < 0:
            raise ValueError(f"token {token!r} not found in the text after offset {position}")
        spans[i] = start, start + len(token)
        position = start + len(token)
    return spans


def find_region_tokens(
    spans: np.ndarray | Sequence[tuple[int, int]], region: tuple[int, int]
) -> np.ndarray:
    """Indices of the tokens whose characters overlap the region ``(start, end)``.

    >>> find_region_tokens([(0, 1), (2, 5), (6, 9), (10, 14)], (2, 9)).tolist()
    [1, 2]
    >>> find_region_tokens([(0, 1), (2, 5)], (2, 2)).tolist()   # empty region
    []
    """
    array = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    start, end = region
    if end <= start:
        return np.zeros(0, dtype=np.int64)
    return np.flatnonzero((array[:, 0] < end) & (array[:, 1] > start))


def parse_stimuli(nlp: Language, stimuli: Iterable[Stimulus], *, batch_size: int = 64) -> list[Doc]:
    """One spaCy Doc per stimulus, each kept as a single sentence.

    The pipeline's parser is told that no token but the first starts a
    sentence, so a stimulus with inner punctuation (SyntaxGym writes
    ``"... the book . The nurse ..."``) stays one sentence: the models run
    per sentence, and attention between regions needs them in the same one.
    """
    docs = []
    for stimulus in stimuli:
        doc = nlp.make_doc(stimulus.text)
        for token in doc[1:]:
            token.is_sent_start = False
        docs.append(doc)
    return list(nlp.pipe(docs, batch_size=batch_size))


# -- attention between regions ------------------------------------------------------------------


def measure_region_attention(
    stimuli: Sequence[Stimulus],
    extractions: Iterable[Extraction],
    *,
    source: Region,
    target: Region,
    model: str | None = None,
    exclude_special: bool = True,
) -> pd.DataFrame:
    """Attention from one region to another, per stimulus, layer and head.

    Args:
        stimuli: the stimuli, in the order of ``extractions``.
        extractions: one model's :class:`Extraction` of each stimulus's Doc.
        source: the query region (name, or SyntaxGym number from 1).
        target: the key region.
        model: name for the table (default: the extraction's ``model``).
        exclude_special: drop special pseudo-tokens and renormalise each row
            over the spaCy tokens (default); else use rows as extracted.

    Returns:
        Tidy table, one row per stimulus × layer × head: ``model, suite, item,
        condition, source, target, layer, head, attention, n_source, n_target``.
        ``attention`` is, for each source token, its attention summed over the
        target tokens, averaged over the source tokens (tokens a model does not
        cover are left out). It is NaN where a region is empty or the two
        regions fall in different sentences.
    """
    frames = []
    ext_list = list(extractions)
    if len(ext_list) != len(stimuli):
        raise ValueError(f"{len(stimuli)} stimuli but {len(ext_list)} extractions")
    split_warned = False
    for stimulus, extraction in zip(stimuli, ext_list, strict=True):
        if extraction.text != stimulus.text:
            raise ValueError(
                f"extraction text {extraction.text!r} is not stimulus {stimulus.text!r}; "
                "give extractions in the order of the stimuli"
            )
        if not extraction.sentences:
            raise ValueError(f"the extraction of {stimulus.text!r} has no sentences")
        tokens = [t for s in extraction.sentences for t in s.tokens]
        spans = token_spans(extraction.text, tokens)
        src = find_region_tokens(spans, stimulus.span(source))
        tgt = find_region_tokens(spans, stimulus.span(target))
        values, sentence = _region_values(extraction.sentences, src, tgt, exclude_special)
        if sentence is None and len(src) and len(tgt) and not split_warned:
            warnings.warn(
                f"regions {source!r} and {target!r} of {stimulus.text!r} are in different "
                "sentences; build Docs with parse_stimuli() to keep each stimulus one sentence",
                stacklevel=2,
            )
            split_warned = True
        layers, heads = values.shape
        layer_index, head_index = np.divmod(np.arange(layers * heads), heads)
        frames.append(
            pd.DataFrame(
                {
                    "model": model or extraction.model,
                    "suite": stimulus.suite,
                    "item": stimulus.item,
                    "condition": stimulus.condition,
                    "source": _region_name(source, stimulus.region_names),
                    "target": _region_name(target, stimulus.region_names),
                    "layer": layer_index,
                    "head": head_index,
                    "attention": values.ravel(),
                    "n_source": len(src),
                    "n_target": len(tgt),
                }
            )
        )
    if not frames:
        raise ValueError("no stimuli given")
    return pd.concat(frames, ignore_index=True)


def _region_name(region: Region, names: Sequence[str]) -> str:
    return names[region_index(region, names)]


def _region_values(
    sentences: Sequence[SentenceExtraction],
    src: np.ndarray,
    tgt: np.ndarray,
    exclude_special: bool,
) -> tuple[np.ndarray, SentenceExtraction | None]:
    """``[layer, head]`` region attention, and the sentence it was read from (None: NaN)."""
    first = sentences[0]
    if first.attention is None:
        raise ValueError("the extraction kept no attention (attention=False)")
    shape = first.attention.shape[:2]
    nan = np.full(shape, np.nan)
    if len(src) == 0 or len(tgt) == 0:
        return nan, None
    both = np.concatenate([src, tgt])
    for sentence in sentences:
        inside = (both >= sentence.start) & (both < sentence.end)
        if not inside.any():
            continue
        if not inside.all() or sentence.attention is None:
            return nan, None
        n = sentence.n_tokens
        queries = src - sentence.start
        queries = queries[~np.asarray(sentence.missing)[queries]]
        keys = tgt - sentence.start
        if len(queries) == 0:
            return nan, None
        rows = sentence.attention[:, :, queries].astype(np.float64)  # [L, H, q, labels]
        if exclude_special:
            rows = rows[..., :n]
            sums = rows.sum(-1, keepdims=True)
            rows = np.divide(rows, sums, out=np.zeros_like(rows), where=sums > 0)
        return rows[..., keys].sum(-1).mean(-1), sentence
    return nan, None
