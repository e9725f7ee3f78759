"""Generation then parse: the model writes the target, spaCy parses it, the pair is extracted.

:func:`generate_pair` feeds each source span (sentence, or the whole Doc with
``pair_by="doc"``) to ``model.generate`` with the same encoding
:func:`~trfviz.seq2seq.extraction.extract_pair` reads it with, decodes the
output without special pieces, parses the texts with the given pipeline and
joins them into one target Doc, and extracts each source span with its
generated target under teacher forcing. The target is re-tokenized from the
text, as a Doc given to :func:`~trfviz.seq2seq.extraction.extract_pair` would be.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from trfviz.extractor.tokenize import SentenceEncoder
from trfviz.loading.seq2seq import LoadedSeq2SeqModel
from trfviz.pooling import QueryPooling, SpecialTokens, StatePooling
from trfviz.seq2seq.extraction import (
    PROGRESS_THRESHOLD,
    extract_spans,
    pair_options,
    resolve_seq2seq_model,
)
from trfviz.seq2seq.pairing import PAIRINGS, Pairing, encode_spans, side_sentences
from trfviz.seq2seq.results import GeneratedPair
from trfviz.validation import check_choice, check_doc, check_int

if TYPE_CHECKING:
    from spacy.language import Language
    from spacy.tokens import Doc, Span

__all__ = ["generate_pair"]


def generate_pair(
    source_doc: Doc,
    model: str | os.PathLike[str] | LoadedSeq2SeqModel,
    nlp: Language,
    *,
    pair_by: Pairing = "sentence",
    max_new_tokens: int = 64,
    generate_kwargs: Mapping[str, Any] | None = None,
    states: bool = True,
    pooling: StatePooling = "weighted",
    query_pooling: QueryPooling = "mean",
    special_tokens: SpecialTokens = "keep",
    max_length: int | None = None,
    progress: bool | None = None,
) -> GeneratedPair:
    """The target ``model`` writes for ``source_doc``, parsed by ``nlp``, and the pair's extraction.

    Args:
        source_doc: the Doc the model reads; with ``pair_by="sentence"`` each
            sentence gets its own target (one generation per sentence).
        model: a hub id or local path of an encoder-decoder model, or a
            :class:`~trfviz.loading.LoadedSeq2SeqModel`.
        nlp: the spaCy pipeline that parses the generated text (the target's language).
        pair_by: ``"sentence"`` or ``"doc"`` (generate from the whole Doc at once).
        max_new_tokens: most pieces generated per source span.
        generate_kwargs: more keyword arguments for ``model.generate``
            (``num_beams``, ``do_sample``, ``no_repeat_ngram_size`` ...); greedy by default.
        states, pooling, query_pooling, special_tokens, max_length, progress: as
            in :func:`trfviz.extract_pair`.

    Returns:
        A :class:`~trfviz.seq2seq.results.GeneratedPair`: the texts, the parsed
        target Doc, and the :class:`~trfviz.seq2seq.results.PairExtraction`.

    Raises:
        UnsupportedModelError: ``model`` is not an encoder-decoder model.
        TypeError, ValueError: a bad Doc, pipeline or option; the model generated
            only special pieces (an empty target) for a span.
    """
    options = pair_options(states, pooling, query_pooling, special_tokens, max_length, progress)
    check_choice("pair_by", pair_by, PAIRINGS)
    check_int("max_new_tokens", max_new_tokens, minimum=1)
    check_doc(source_doc, "source_doc")
    if not source_doc.text.strip():
        raise ValueError("source_doc's text is empty or only whitespace: there is nothing to read")
    if not callable(nlp) or not hasattr(nlp, "pipe"):
        raise TypeError(
            f"nlp must be a spaCy pipeline (trfviz.load_pipeline(...)); got {type(nlp).__name__}"
        )
    if generate_kwargs is not None and not isinstance(generate_kwargs, Mapping):
        raise TypeError(f"generate_kwargs must be a dict; got {type(generate_kwargs).__name__}")
    sources = [source_doc[:]] if pair_by == "doc" else side_sentences(source_doc, "source_doc")
    loaded = resolve_seq2seq_model(model)
    limit = max_length or loaded.max_length
    show = bool(progress or (progress is None and len(sources) > PROGRESS_THRESHOLD))
    texts = _generate(sources, loaded, limit, max_new_tokens, dict(generate_kwargs or {}), show)
    target, lengths = _parse(texts, nlp)
    targets: list[Span] = []
    offset = 0
    for length in lengths:
        targets.append(target[offset : offset + length])
        offset += length
    extraction = extract_spans(
        list(zip(sources, targets, strict=True)),
        loaded,
        options,
        pair_by=pair_by,
        max_length=max_length,
        progress=progress,
        texts=(source_doc.text, target.text),
    )
    return GeneratedPair(texts=tuple(texts), target=target, extraction=extraction)


def _generate(
    sources: list[Span],
    loaded: LoadedSeq2SeqModel,
    limit: int,
    max_new_tokens: int,
    kwargs: dict[str, Any],
    progress: bool,
) -> list[str]:
    """The text generated for each source span (special pieces removed, spaces stripped)."""
    import torch
    from tqdm.auto import tqdm

    # Encoded exactly as extract_pair encodes the source (which warns about truncation).
    encoder = SentenceEncoder(loaded.tokenizer, max_length=limit, name=loaded.name)
    encoded = encode_spans(encoder, sources)
    texts = []
    bar = tqdm(encoded, desc=f"generate {loaded.name}", unit="span", disable=not progress)
    for index, source in enumerate(bar):
        ids = torch.tensor([source.input_ids], device=loaded.device)
        with torch.inference_mode():
            output = loaded.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_new_tokens,
                **kwargs,
            )
        text = loaded.tokenizer.decode(output[0], skip_special_tokens=True).strip()
        if not text:
            raise ValueError(
                f"{loaded.name} generated no text for source span {index} "
                f"({sources[index].text[:40]!r}): only special pieces. Try other "
                "generate_kwargs (e.g. {'min_new_tokens': 3}) or another model"
            )
        texts.append(text)
    return texts


def _parse(texts: list[str], nlp: Language) -> tuple[Doc, list[int]]:
    """The texts parsed by ``nlp`` and joined into one Doc, and each text's token count."""
    from spacy.tokens import Doc

    docs = list(nlp.pipe(texts))
    return Doc.from_docs(docs, ensure_whitespace=True), [len(doc) for doc in docs]
