"""Real sentences of given lengths (UD English EWT dev, gold parses) through MiniLM and SmolLM2.

Used by the layout browser tests (run in the notebook's kernel) to build explorers of
two real models over real 12-, 40- and 64-token sentences.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests._shared import minilm, smollm


def ewt_sentence(n_tokens: int) -> Any:
    """The first sentence of UD English EWT dev with exactly ``n_tokens`` tokens, as a Doc."""
    from trfviz.datasets import ud_english_ewt

    for doc in ud_english_ewt("dev"):
        if len(doc) == n_tokens:
            return doc
    raise ValueError(f"UD English EWT dev has no sentence of {n_tokens} tokens; choose another")


def explorers(lengths: Iterable[int], **options: Any) -> dict[int, Any]:
    """Per length, an explorer of MiniLM vs SmolLM2 on an EWT sentence of that many tokens."""
    import trfviz
    from trfviz.widget import explore

    models = {"MiniLM": minilm(), "SmolLM2": smollm()}
    out = {}
    for n in lengths:
        doc = ewt_sentence(n)
        extractions = {name: trfviz.extract(doc, model) for name, model in models.items()}
        out[n] = explore(doc, extractions, compare="SmolLM2", **options)
    return out
