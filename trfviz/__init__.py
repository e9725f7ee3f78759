"""trfviz: what transformers attend to, in linguistic terms.

Runs Hugging Face transformers over spaCy Docs, aligns every wordpiece to the
spaCy tokens it covers, and gives attention and hidden states per spaCy token
for every layer and head; for encoder-decoder models (T5, BART, Marian), encoder,
decoder and cross-attention between a source and a target (:func:`extract_pair`).
"""

from trfviz import datasets, extraction_codec  # noqa: F401  (registers the srsly codec)
from trfviz.alignment import Alignment, align_spans, align_texts
from trfviz.component import restore_doc
from trfviz.extraction import Extraction, ExtractionOptions, SentenceExtraction
from trfviz.extractor import extract, extract_docs, sentences_of
from trfviz.loading import (
    LoadedModel,
    LoadedSeq2SeqModel,
    ModelNotAvailableError,
    ModelPathNotFoundError,
    UnsupportedModelError,
    load_model,
    load_pipeline,
    load_seq2seq_model,
)
from trfviz.parse import Arc, EntitySpan, SentenceParse, parse_doc, parse_sentence
from trfviz.pooling import pool_attention, pool_states
from trfviz.seq2seq import (
    GeneratedPair,
    PairExtraction,
    PairSide,
    SentencePairExtraction,
    extract_pair,
    generate_pair,
)
from trfviz.view import ViewSpec

__version__ = "0.1.0"

__all__ = [
    "Alignment",
    "Arc",
    "EntitySpan",
    "Extraction",
    "ExtractionOptions",
    "GeneratedPair",
    "LoadedModel",
    "LoadedSeq2SeqModel",
    "ModelNotAvailableError",
    "ModelPathNotFoundError",
    "PairExtraction",
    "PairSide",
    "SentenceExtraction",
    "SentencePairExtraction",
    "SentenceParse",
    "UnsupportedModelError",
    "ViewSpec",
    "align_spans",
    "align_texts",
    "datasets",
    "extract",
    "extract_docs",
    "extract_pair",
    "generate_pair",
    "load_model",
    "load_pipeline",
    "load_seq2seq_model",
    "parse_doc",
    "parse_sentence",
    "pool_attention",
    "pool_states",
    "restore_doc",
    "sentences_of",
]
