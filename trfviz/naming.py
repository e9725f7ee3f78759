"""Short names of models for labels, and safe file names for them.

>>> short_model_name("sentence-transformers/all-MiniLM-L6-v2")
'all-MiniLM-L6-v2'
>>> short_model_name("/models/my-bert/")
'my-bert'
>>> model_slug("HuggingFaceTB/SmolLM2-135M-Instruct")
'HuggingFaceTB--SmolLM2-135M-Instruct'
"""

from __future__ import annotations

import re

__all__ = ["model_slug", "short_model_name"]


def short_model_name(name: str) -> str:
    """The last part of a hub id or path: what a legend or a column header shows."""
    return name.rstrip("/\\").replace("\\", "/").rsplit("/", 1)[-1] or name


def model_slug(name: str) -> str:
    """``name`` as one safe file-name part (``/`` and other unsafe characters become ``--``)."""
    return re.sub(r"[^A-Za-z0-9._=+-]+", "--", name).strip(".-") or "model"
