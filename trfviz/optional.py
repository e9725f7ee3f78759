"""Importing optional dependencies with a message that says which extra installs them.

>>> require("json", extra="views").__name__
'json'
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingDependencyError", "require"]


class MissingDependencyError(ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, *, extra: str) -> ModuleType:
    """The module ``module``, imported; raises :class:`MissingDependencyError` naming ``extra``."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingDependencyError(
            f"{module} is needed here but is not installed: pip install 'trfviz[{extra}]'"
        ) from error
