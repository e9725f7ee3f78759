"""A spaCy pipeline component that stores per-token transformer outputs on the Doc.

>>> nlp = trfviz.load_pipeline("en_core_web_sm")  # doctest: +SKIP
>>> config = {"model": "sentence-transformers/all-MiniLM-L6-v2"}
>>> nlp.add_pipe("trfviz", config=config)  # doctest: +SKIP
>>> doc = nlp("The old man the boat.")  # doctest: +SKIP
>>> doc._.trfviz["sentence-transformers/all-MiniLM-L6-v2"].attention[0].shape  # doctest: +SKIP
(6, 12, 8, 8)

Results are kept in ``doc._.trfviz``, a dict from the component's ``key``
(the model name unless given) to an :class:`~trfviz.extraction.Extraction`, so
several models can annotate one Doc. A component with ``set_vectors=True``
(the default) also sets ``doc.tensor`` to its last layer per token and installs
vector and similarity hooks, so ``token.vector``, ``span.similarity`` and
``doc.similarity`` use the transformer, as spacy-transformers does; the last
such component in the pipeline wins.

The results survive spaCy's serialization (``Doc.to_bytes``, ``to_disk``,
``DocBin(store_user_data=True)``, ``nlp.pipe(..., n_process=2)``, pickle)
bit for bit: :mod:`trfviz.extraction_codec` registers a msgpack codec with srsly.
spaCy itself drops user hooks when it serializes a Doc (warning W109), and
``DocBin`` drops ``doc.tensor``; :func:`restore_doc` puts both back from
``doc._.trfviz``:

>>> docs = DocBin(store_user_data=True).from_bytes(data).get_docs(nlp.vocab)  # doctest: +SKIP
>>> docs = [restore_doc(doc) for doc in docs]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc, Span, Token

from trfviz import extraction_codec  # noqa: F401  (Docs keep their extractions)
from trfviz.extraction import Extraction
from trfviz.extractor import extract_docs
from trfviz.loading import LoadedModel, load_model

__all__ = ["TrfvizComponent", "make_trfviz_component", "restore_doc"]

EXTENSION = "trfviz"
# user_data keys (plain strings, so spaCy serializes them with the Doc): the key in
# doc._.trfviz whose last layer is doc.tensor, and which tokens have a vector.
VECTORS_KEY = "trfviz_vectors"
PRESENT_KEY = "trfviz_present"


@Language.factory(
    "trfviz",
    default_config={
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "key": None,
        "attention": True,
        "states": True,
        "pooling": "weighted",
        "query_pooling": "mean",
        "special_tokens": "keep",
        "set_vectors": True,
        "batch_size": 32,
        "device": None,
    },
)
def make_trfviz_component(
    nlp: Language,
    name: str,
    model: str,
    key: str | None,
    attention: bool,
    states: bool,
    pooling: str,
    query_pooling: str,
    special_tokens: str,
    set_vectors: bool,
    batch_size: int,
    device: str | None,
) -> TrfvizComponent:
    """The ``trfviz`` component (see the module docs for the config)."""
    return TrfvizComponent(
        name=name,
        model=model,
        key=key,
        attention=attention,
        states=states,
        pooling=pooling,
        query_pooling=query_pooling,
        special_tokens=special_tokens,
        set_vectors=set_vectors,
        batch_size=batch_size,
        device=device,
    )


class TrfvizComponent:
    """Runs one transformer over each Doc and stores its per-token outputs on it."""

    def __init__(
        self,
        *,
        name: str = "trfviz",
        model: str = "sentence-transformers/all-MiniLM-L6-v2",
        key: str | None = None,
        attention: bool = True,
        states: bool = True,
        pooling: str = "weighted",
        query_pooling: str = "mean",
        special_tokens: str = "keep",
        set_vectors: bool = True,
        batch_size: int = 32,
        device: str | None = None,
    ) -> None:
        if set_vectors and not states:
            raise ValueError("set_vectors=True needs states=True")
        self.name = name
        self.model_name = model
        self.key = key or model
        self.options: dict[str, Any] = {
            "attention": attention,
            "states": states,
            "pooling": pooling,
            "query_pooling": query_pooling,
            "special_tokens": special_tokens,
            "batch_size": batch_size,
        }
        self.set_vectors = set_vectors
        self.device = device
        self._loaded: LoadedModel | None = None
        self._pid = os.getpid()
        _register_extensions()

    @property
    def loaded(self) -> LoadedModel:
        """The model, loaded on first use."""
        if self._loaded is None:
            self._loaded = load_model(
                self.model_name, attention=self.options["attention"], device=self.device
            )
        return self._loaded

    def __call__(self, doc: Doc) -> Doc:
        """The Doc, annotated."""
        (annotated,) = self.pipe([doc])
        return annotated

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        """The Docs, annotated, streaming in groups of ``batch_size`` Docs."""
        buffer: list[Doc] = []
        for doc in docs:
            buffer.append(doc)
            if len(buffer) >= batch_size:
                yield from self._annotate(buffer)
                buffer = []
        if buffer:
            yield from self._annotate(buffer)

    def _annotate(self, docs: list[Doc]) -> Iterator[Doc]:
        if os.getpid() != self._pid:
            # A worker of nlp.pipe(n_process=n), forked from the process that made the
            # component: torch's OpenMP pool does not survive fork, and a parent that
            # has run torch leaves the child hanging in its first parallel op. One
            # thread per worker is what n workers want anyway (as torch's DataLoader).
            _use_one_thread()
            self._pid = os.getpid()
        for doc, extraction in zip(
            docs, extract_docs(docs, self.loaded, **self.options), strict=True
        ):
            store = doc._.get(EXTENSION)
            if store is None:
                store = {}
                doc._.set(EXTENSION, store)
            store[self.key] = extraction
            if self.set_vectors:
                _set_vectors(doc, extraction, self.key)
            yield doc


def restore_doc(doc: Doc) -> Doc:
    """The Doc, with the trfviz vectors that spaCy's serialization drops put back.

    Call it on a Doc read back with ``Doc.from_bytes``, ``from_disk``,
    ``DocBin.get_docs`` or from ``nlp.pipe(..., n_process=n)``: it registers the
    ``doc._.trfviz`` extension if this process has not yet, and where a trfviz
    component set vectors (``set_vectors=True``) it sets ``doc.tensor`` from that
    component's stored extraction again and re-installs the vector and similarity
    hooks. A Doc without trfviz vectors is returned unchanged, so it can be mapped
    over any stream of Docs. Calling it twice is harmless.

    Raises:
        ValueError: the Doc says its vectors came from a key that ``doc._.trfviz``
            does not hold, or that extraction does not cover the Doc's tokens.
    """
    _register_extensions()
    key = doc.user_data.get(VECTORS_KEY)
    if key is None:
        return doc
    store = doc._.get(EXTENSION) or {}
    if key not in store:
        raise ValueError(
            f"the Doc's trfviz vectors came from {key!r}, but doc._.trfviz holds "
            f"{sorted(store)}: was the Doc serialized without its user_data "
            "(use DocBin(store_user_data=True))?"
        )
    extraction = store[key]
    if extraction.n_tokens != len(doc):
        raise ValueError(
            f"doc._.trfviz[{key!r}] covers {extraction.n_tokens} tokens but the Doc has "
            f"{len(doc)}: the Doc was changed after the trfviz component ran"
        )
    _set_vectors(doc, extraction, key)
    return doc


def _use_one_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _register_extensions() -> None:
    if not Doc.has_extension(EXTENSION):
        Doc.set_extension(EXTENSION, default=None)


def _set_vectors(doc: Doc, extraction: Extraction, key: str) -> None:
    if len(doc) == 0:
        return
    doc.tensor = extraction.token_states(-1)
    present = ~extraction.missing
    doc.user_data[VECTORS_KEY] = key
    doc.user_data[PRESENT_KEY] = present
    doc.user_hooks["vector"] = _doc_vector
    doc.user_hooks["has_vector"] = lambda d: True
    doc.user_hooks["vector_norm"] = lambda d: float(np.linalg.norm(_doc_vector(d)))
    doc.user_hooks["similarity"] = _similarity
    doc.user_span_hooks["vector"] = _span_vector
    doc.user_span_hooks["has_vector"] = lambda s: True
    doc.user_span_hooks["vector_norm"] = lambda s: float(np.linalg.norm(_span_vector(s)))
    doc.user_span_hooks["similarity"] = _similarity
    doc.user_token_hooks["vector"] = _token_vector
    doc.user_token_hooks["has_vector"] = lambda t: bool(t.doc.user_data[PRESENT_KEY][t.i])
    doc.user_token_hooks["vector_norm"] = lambda t: float(np.linalg.norm(_token_vector(t)))
    doc.user_token_hooks["similarity"] = _similarity


def _mean_rows(doc: Doc, start: int, end: int) -> np.ndarray:
    rows = doc.tensor[start:end][doc.user_data[PRESENT_KEY][start:end]]
    if len(rows) == 0:
        return np.zeros(doc.tensor.shape[1], dtype=np.float32)
    return np.asarray(rows.mean(axis=0), dtype=np.float32)


def _doc_vector(doc: Doc) -> np.ndarray:
    return _mean_rows(doc, 0, len(doc))


def _span_vector(span: Span) -> np.ndarray:
    return _mean_rows(span.doc, span.start, span.end)


def _token_vector(token: Token) -> np.ndarray:
    return np.asarray(token.doc.tensor[token.i], dtype=np.float32)


def _similarity(a: Doc | Span | Token, b: Doc | Span | Token) -> float:
    """Cosine similarity of the transformer vectors (0.0 where either is all zeros)."""
    va, vb = np.asarray(a.vector), np.asarray(b.vector)
    norm = float(np.linalg.norm(va) * np.linalg.norm(vb))
    return float(va @ vb / norm) if norm > 0 else 0.0
