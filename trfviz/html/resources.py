"""The HTML templates and style sheets shipped with trfviz, read as package resources.

Templates are :class:`string.Template` files under ``templates/`` (``${name}``
placeholders, filled with text the caller has already escaped); style sheets
under ``css/`` take the palette's colours the same way.

>>> "${body}" in template("page").template
True
"""

from __future__ import annotations

import functools
from importlib import resources
from string import Template

__all__ = ["stylesheet", "template"]


@functools.cache
def _read(folder: str, name: str) -> str:
    path = resources.files("trfviz.html").joinpath(folder, name)
    if not path.is_file():
        raise ValueError(f"trfviz ships no {folder}/{name}")
    return path.read_text(encoding="utf-8").strip()


def template(name: str) -> Template:
    """The template ``templates/<name>.html``."""
    return Template(_read("templates", f"{name}.html"))


def stylesheet(name: str, **colors: str) -> str:
    """The style sheet ``css/<name>.css`` with its ``${...}`` colours filled in from ``colors``."""
    return Template(_read("css", f"{name}.css")).substitute(colors)
