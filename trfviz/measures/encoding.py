"""Encoding a Doc for a measure, exactly as :func:`trfviz.extract` encodes it.

One place where every measure (norms, rollout, flow, attributions, logit lens,
neuron view) turns a Doc into :class:`~trfviz.extractor.tokenize.EncodedSentence`
s, so that all of them share the tokenizer call, the alignment and truncation.
"""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING

from trfviz.extractor.api import default_length_limit, sentences_of
from trfviz.extractor.tokenize import EncodedSentence, SentenceEncoder
from trfviz.loading import LoadedModel, load_model
from trfviz.validation import check_doc, check_int

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["encode_doc"]


def encode_doc(
    doc: Doc, model: str | LoadedModel, max_length: int | None
) -> tuple[LoadedModel, list[EncodedSentence], int]:
    """The model, the Doc's sentences encoded as :func:`trfviz.extract` does, the length limit.

    Every measure starts here: it checks the Doc and options, loads ``model``
    (eager attention) unless given a :class:`~trfviz.loading.LoadedModel`, and
    encodes each sentence with the same tokenizer call and alignment as
    :func:`trfviz.extract`, warning once about sentences truncated at ``max_length``
    (by default :func:`~trfviz.extractor.api.default_length_limit` with attention).

    Raises:
        TypeError, ValueError: a bad Doc, model or ``max_length``; an empty Doc.
    """
    check_doc(doc)
    check_int("max_length", max_length, minimum=1, allow_none=True)
    if not doc.text.strip():
        raise ValueError("the Doc's text is empty or only whitespace: there is nothing to measure")
    if not isinstance(model, LoadedModel | str | os.PathLike):
        raise TypeError(
            "model must be a hub id or local path (a string) or a trfviz.LoadedModel; "
            f"got {type(model).__name__} {model!r}"
        )
    sentences = sentences_of(doc)
    loaded = model if isinstance(model, LoadedModel) else load_model(model, attention=True)
    limit = max_length or default_length_limit(loaded, attention=True)
    encoder = SentenceEncoder(loaded.tokenizer, max_length=limit, name=loaded.name)
    encoded = encoder.encode([doc], [doc.text], [sentences])
    truncated = [e for e in encoded if e.truncated]
    if truncated:
        lost = sum(int(e.alignment.missing.sum()) for e in truncated)
        warnings.warn(
            f"{len(truncated)} sentence(s) longer than {limit} wordpieces (the limit for "
            f"{loaded.name}; see `max_length`) were truncated; {lost} token(s) past the limit "
            "have zero rows and are flagged in `alignment.missing`",
            UserWarning,
            stacklevel=4,
        )
    return loaded, encoded, limit
