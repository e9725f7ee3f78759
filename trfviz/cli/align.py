"""``trfviz align``: how each model cuts the spaCy tokens of a text into wordpieces."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import pandas as pd

from trfviz.naming import short_model_name
from trfviz.validation import MODEL_HINT, check_text

__all__ = [
    "DEFAULT_MODELS",
    "add_align_command",
    "check_text_and_models",
    "format_alignment",
    "run_align_command",
]

#: The two models the demo and notebooks use: a WordPiece encoder and a byte-level BPE decoder.
DEFAULT_MODELS = ("sentence-transformers/all-MiniLM-L6-v2", "HuggingFaceTB/SmolLM2-135M-Instruct")


def add_align_command(subparsers: Any) -> argparse.ArgumentParser:
    """The ``align`` sub-command, added to ``subparsers`` (from ``add_subparsers``)."""
    parser = subparsers.add_parser("align", help="show how each model cuts the spaCy tokens")
    parser.add_argument("text")
    parser.add_argument("--model", action="append", help="model (repeatable)")
    parser.set_defaults(run=run_align_command)
    return parser


def check_text_and_models(name: str, text: str, models: Sequence[str]) -> None:
    """Refuse empty text and model names before anything loads (minutes for a model)."""
    check_text(name, text)
    for model in models:
        check_text("a --model name", model, hint=MODEL_HINT)


def run_align_command(args: argparse.Namespace) -> int:
    """Runs ``trfviz align`` from parsed arguments: one table per sentence on stdout."""
    check_text_and_models("TEXT", args.text, args.model or ())
    import trfviz
    from trfviz.tokenization import tokenization_table

    nlp = trfviz.load_pipeline()
    doc = nlp(args.text)
    models = tuple(args.model or DEFAULT_MODELS)
    extractions = {m: trfviz.extract(doc, m, attention=False, states=False) for m in models}
    for i in range(len(extractions[models[0]].sentences)):
        table = tokenization_table({m: e.sentences[i] for m, e in extractions.items()})
        print(format_alignment(table))
    return 0


def format_alignment(table: pd.DataFrame) -> str:
    """A :func:`~trfviz.tokenization.tokenization_table` as text: rows tokens, columns models."""
    models = list(dict.fromkeys(table["model"]))
    wide = table.pivot_table(
        index=["token_index", "token"], columns="model", values="pieces", aggfunc="first"
    )
    wide = wide[models].map(lambda p: " ".join(p) if isinstance(p, tuple) else str(p))
    wide.columns = [short_model_name(m) for m in models]
    return "\n" + wide.reset_index(level=0, drop=True).to_string()
