"""How several models cut the same spaCy tokens into wordpieces, as a table."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from trfviz.extraction import SentenceExtraction

__all__ = ["tokenization_table"]


def tokenization_table(sentences: Mapping[str, SentenceExtraction]) -> pd.DataFrame:
    """A tidy table of each spaCy token's wordpieces, one row per token and model.

    Args:
        sentences: the same sentence as extracted by each model, keyed by model name.

    Returns:
        Columns ``model``, ``token_index`` (in the sentence), ``token``,
        ``pieces`` (the token's wordpieces, a tuple), ``n_pieces``, ``split``
        (more than one piece), ``shared`` (some piece also covers another
        token: a many-to-many alignment), ``missing`` (no piece covers it).

    Example:
        >>> table = tokenization_table({"MiniLM": ext_a.sentences[0]})  # doctest: +SKIP
        >>> table.pivot(index="token", columns="model", values="pieces")  # doctest: +SKIP
    """
    rows = []
    for model, sentence in sentences.items():
        alignment = sentence.alignment
        piece_counts = alignment.piece_counts
        for i, token in enumerate(sentence.tokens):
            pieces = alignment.pieces_of(i)
            rows.append(
                {
                    "model": model,
                    "token_index": i,
                    "token": token,
                    "pieces": tuple(sentence.pieces[p] for p in pieces),
                    "n_pieces": len(pieces),
                    "split": len(pieces) > 1,
                    "shared": bool((piece_counts[pieces] > 1).any()),
                    "missing": bool(alignment.missing[i]),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "token_index",
            "token",
            "pieces",
            "n_pieces",
            "split",
            "shared",
            "missing",
        ],
    )
