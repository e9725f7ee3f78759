"""Models and pipelines shared by the tests, loaded once per test process."""

from __future__ import annotations

from functools import lru_cache

import trfviz

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
SMOLLM = "HuggingFaceTB/SmolLM2-135M-Instruct"


@lru_cache(maxsize=1)
def nlp():  # type: ignore[no-untyped-def]
    """The en_core_web_sm pipeline."""
    return trfviz.load_pipeline("en_core_web_sm")


def minilm() -> trfviz.LoadedModel:
    """all-MiniLM-L6-v2 (WordPiece, 6 x 12), from the installed package."""
    return trfviz.load_model(MINILM)


def smollm() -> trfviz.LoadedModel:
    """SmolLM2-135M-Instruct (byte-level BPE, causal, 30 x 9), from the packaged GGUF."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return trfviz.load_model(SMOLLM)
