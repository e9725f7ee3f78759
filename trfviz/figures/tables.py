"""Checks on the tidy result tables that the analysis figures draw.

The analysis figures (syntax, similarity, ambiguity) take the DataFrames the
analyses return; these helpers say clearly when a table is not one of them.

>>> import pandas as pd
>>> table = pd.DataFrame({"model": ["a", "a"], "layer": [0, 1]})
>>> require_columns(table, ["model", "layer"])
>>> single_value(table, "model", "?"), single_value(table, "metric", "?")
('a', '?')
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

__all__ = ["require_columns", "single_value"]


def require_columns(table: pd.DataFrame, columns: Sequence[str]) -> None:
    """Returns None; raises ValueError naming the ``columns`` that ``table`` lacks."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame; got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"the table lacks column(s) {missing}")


def single_value(table: pd.DataFrame, column: str, default: str) -> str:
    """The one value of ``column`` in ``table`` as text (``default`` without the column or rows).

    Raises ValueError when the table mixes several values (several models in a
    table drawn as one model's figure): filter it first.
    """
    if column not in table.columns or table.empty:
        return default
    values = table[column].unique()
    if len(values) > 1:
        raise ValueError(f"the table mixes several {column} values {list(values)}; filter it first")
    return str(values[0])
