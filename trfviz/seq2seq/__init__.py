"""Encoder-decoder models (T5, BART, Marian): a source and a target read together.

Sibling of :mod:`trfviz.extractor` for models with cross-attention:

- :mod:`trfviz.seq2seq.pairing`: which source span is read with which target
  span, and both encoded (the target shifted right for the decoder);
- :mod:`trfviz.seq2seq.cross`: cross-attention pooled onto spaCy tokens;
- :mod:`trfviz.seq2seq.extraction`: :func:`extract_pair`, the forward pass and pooling;
- :mod:`trfviz.seq2seq.generation`: :func:`generate_pair`, generation then parse;
- :mod:`trfviz.seq2seq.results`: the frozen result classes.
"""

from trfviz.seq2seq.cross import pool_cross_attention
from trfviz.seq2seq.extraction import extract_pair
from trfviz.seq2seq.generation import generate_pair
from trfviz.seq2seq.pairing import PAIRINGS, Pairing, pair_spans, shift_right
from trfviz.seq2seq.results import (
    GeneratedPair,
    PairExtraction,
    PairSide,
    SentencePairExtraction,
)

__all__ = [
    "PAIRINGS",
    "GeneratedPair",
    "PairExtraction",
    "PairSide",
    "Pairing",
    "SentencePairExtraction",
    "extract_pair",
    "generate_pair",
    "pair_spans",
    "pool_cross_attention",
    "shift_right",
]
