"""The research data trfviz ships, and loaders that read a user's own copies the same way.

Two datasets travel inside the package, each with its licence and a ``SOURCE.md``
saying where it comes from:

- ``data/ud/``: Universal Dependencies English EWT, dev split (2,001 gold-parsed
  sentences; CC BY-SA 4.0), read by :func:`ud_english_ewt`;
- ``data/syntaxgym/``: the SyntaxGym test suites (MIT), read by :func:`syntaxgym_suite`
  and listed by :func:`syntaxgym_suites`.

A user's own CoNLL-U file goes through :func:`read_conllu` (which
:func:`ud_english_ewt` calls), and a user's own suite JSON through
:func:`syntaxgym_suite` with a path. The readers live beside the data:
:mod:`trfviz.datasets.conllu` (CoNLL-U to gold-parsed Docs) and
:mod:`trfviz.datasets.syntaxgym` (suites, their items, conditions and regions).

>>> len(syntaxgym_suites()) > 30
True
>>> docs = ud_english_ewt("dev", limit=2)
>>> docs[0].text
'From the AP comes this story :'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from trfviz.datasets.conllu import read_conllu

if TYPE_CHECKING:
    from spacy.tokens import Doc
    from spacy.vocab import Vocab

    from trfviz.datasets.syntaxgym import Suite

__all__ = [
    "DATA_DIR",
    "read_conllu",
    "syntaxgym_dir",
    "syntaxgym_suite",
    "syntaxgym_suites",
    "ud_english_ewt",
    "ud_english_ewt_path",
]

#: The folder holding the shipped data (``ud/``, ``syntaxgym/``).
DATA_DIR = Path(__file__).resolve().parent / "data"

_EWT_SPLITS = {"dev": "en_ewt-ud-dev.conllu"}


def ud_english_ewt_path(split: str = "dev") -> Path:
    """The path of the shipped UD English EWT ``split`` (only ``"dev"`` ships).

    Raises:
        ValueError: a split that does not ship with trfviz.
    """
    if split not in _EWT_SPLITS:
        raise ValueError(
            f"UD English EWT split {split!r} does not ship with trfviz (shipped: "
            f"{', '.join(sorted(_EWT_SPLITS))}); for another split, download it from "
            "universaldependencies.org and read it with trfviz.datasets.read_conllu(path)"
        )
    return DATA_DIR / "ud" / _EWT_SPLITS[split]


def ud_english_ewt(
    split: str = "dev", *, vocab: Vocab | None = None, limit: int | None = None
) -> list[Doc]:
    """One gold-parsed ``Doc`` per sentence of UD English EWT ``split`` (see read_conllu)."""
    return read_conllu(ud_english_ewt_path(split), vocab, limit=limit)


def syntaxgym_dir() -> Path:
    """The folder of the shipped SyntaxGym suites."""
    return DATA_DIR / "syntaxgym"


def syntaxgym_suites(directory: str | os.PathLike[str] | None = None) -> tuple[str, ...]:
    """The names of the SyntaxGym suites in ``directory`` (default: the shipped ones), sorted."""
    from trfviz.datasets.syntaxgym import list_suites

    return list_suites(None if directory is None else Path(directory))


def syntaxgym_suite(name_or_path: str | os.PathLike[str]) -> Suite:
    """A SyntaxGym suite: a shipped one by name (``"npz_ambig"``), or a suite JSON file by path."""
    from trfviz.datasets.syntaxgym import load_suite

    return load_suite(name_or_path if isinstance(name_or_path, str) else Path(name_or_path))
