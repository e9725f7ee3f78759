"""Checks of user input shared by the public entry points, each raising one clear error.

Every check raises :class:`TypeError` for a value of the wrong type and
:class:`ValueError` (or :class:`IndexOutOfRangeError`, which is both a
``ValueError`` and an ``IndexError``) for a value of the right type that makes
no sense, with a message naming the argument, what it got and what is valid.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "MODEL_HINT",
    "IndexOutOfRangeError",
    "check_bool",
    "check_choice",
    "check_doc",
    "check_index",
    "check_int",
    "check_text",
]

#: What to do about an empty model name.
MODEL_HINT = "give a hub id (sentence-transformers/all-MiniLM-L6-v2) or a local model path"


class IndexOutOfRangeError(IndexError, ValueError):
    """An index (layer, head, token, sentence ...) outside its valid range.

    Both an ``IndexError`` (what indexing raises) and a ``ValueError`` (what
    trfviz raises for bad input), so either ``except`` catches it.
    """


def check_int(
    name: str, value: Any, *, minimum: int | None = None, allow_none: bool = False
) -> Any:
    """``value`` as an ``int``, after checking it is an integer (not a bool) ≥ ``minimum``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        expected = "an integer or None" if allow_none else "an integer"
        raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """``value``, after checking it is a bool (``"no"`` would otherwise count as true)."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False; got {type(value).__name__} {value!r}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """``value``, after checking it is one of the strings ``choices``."""
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {', '.join(map(repr, choices))}; "
            f"got {type(value).__name__} {value!r}"
        )
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_index(name: str, value: Any, size: int, *, negative: bool = True) -> int:
    """``value`` as an index in ``0..size - 1``; with ``negative``, ``-1`` counts from the end.

    Raises:
        TypeError: ``value`` is not an integer.
        IndexOutOfRangeError: ``value`` is outside the range; the message names it.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer index; got {type(value).__name__} {value!r}")
    index = int(value)
    low = -size if negative else 0
    if not low <= index < size:
        if size == 0:
            raise IndexOutOfRangeError(f"{name} {index} is out of range: there are none")
        valid = f"0..{size - 1}" + (f" (or -{size}..-1 from the end)" if negative else "")
        raise IndexOutOfRangeError(f"{name} {index} is out of range: valid are {valid}")
    return index % size


def check_doc(value: Any, name: str = "doc") -> None:
    """Check that ``value`` is a spaCy ``Doc``; a string or list gets a hint how to make one."""
    from spacy.tokens import Doc

    if isinstance(value, Doc):
        return
    hint = ""
    if isinstance(value, str):
        hint = ": parse the text first, e.g. nlp = trfviz.load_pipeline(); doc = nlp(text)"
    elif isinstance(value, list | tuple):
        hint = ": for several Docs use trfviz.extract_docs(docs, model)"
    raise TypeError(f"{name} must be a spaCy Doc; got {type(value).__name__}{hint}")


def check_text(name: str, value: Any, *, hint: str = "give some text to analyse") -> str:
    """``value``, after checking it is a string with something besides whitespace in it."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {type(value).__name__} {value!r}")
    if not value.strip():
        raise ValueError(f"{name} is empty or only whitespace; {hint}")
    return value
