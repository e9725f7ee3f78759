"""trfviz: what transformers attend to, in linguistic terms.

Runs Hugging Face transformers over spaCy Docs, aligns every wordpiece to the
spaCy tokens it covers, and gives attention and hidden states per spaCy token
for every layer and head.
"""

from trfviz import datasets, extraction_codec  # noqa: F401  (registers the srsly codec)
from trfviz.alignment import Alignment, align_spans, align_texts
from trfviz.component import restore_doc
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.extractor import extract, extract_docs, sentences_of
from trfviz.loading import (
    LoadedModel,
    ModelNotAvailableError,
    ModelPathNotFoundError,
    UnsupportedModelError,
    load_model,
    load_pipeline,
)
from trfviz.parse import Arc, EntitySpan, SentenceParse, parse_doc, parse_sentence
from trfviz.pooling import pool_attention, pool_states
from trfviz.view import ViewSpec

__version__ = "0.1.0"

__all__ = [
    "Alignment",
    "Arc",
    "EntitySpan",
    "Extraction",
    "ExtractionOptions",
    "LoadedModel",
    "ModelNotAvailableError",
    "ModelPathNotFoundError",
    "SentenceExtraction",
    "SentenceParse",
    "UnsupportedModelError",
    "ViewSpec",
    "align_spans",
    "align_texts",
    "datasets",
    "extract",
    "extract_docs",
    "load_model",
    "load_pipeline",
    "parse_doc",
    "parse_sentence",
    "pool_attention",
    "pool_states",
    "restore_doc",
    "sentences_of",
]
