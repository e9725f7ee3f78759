"""``trfviz demo``: example sentences through the default models, results written to a folder."""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trfviz.cli.align import DEFAULT_MODELS, check_text_and_models, format_alignment
from trfviz.naming import model_slug, short_model_name

if TYPE_CHECKING:
    from trfviz.extraction import Extraction

__all__ = ["DEFAULT_MODELS", "DEMO_TEXT", "add_demo_command", "run_demo", "run_demo_command"]

DEMO_TEXT = (
    "I saw the man with the telescope. "
    "The old man the boat. "
    "Apple isn't buying the U.K. startup in New York for $1 billion."
)


def add_demo_command(subparsers: Any) -> argparse.ArgumentParser:
    """The ``demo`` sub-command, added to ``subparsers`` (from ``add_subparsers``)."""
    parser = subparsers.add_parser(
        "demo", help="parse example sentences, extract per-token results for the default models"
    )
    parser.add_argument("--text", default=DEMO_TEXT, help="text to analyse")
    parser.add_argument(
        "--model", action="append", help="model (repeatable); default: MiniLM, SmolLM2"
    )
    parser.add_argument("-o", "--out", default="trfviz-output", help="output folder")
    parser.add_argument(
        "--notebooks",
        metavar="DIR",
        help="also execute the notebooks in DIR and write them as HTML into the output folder",
    )
    parser.set_defaults(run=run_demo_command)
    return parser


def _check_arguments(args: argparse.Namespace) -> None:
    """Refuse empty text and model names and a bad output folder before anything loads."""
    check_text_and_models("--text", args.text, args.model or ())
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"-o/--out {out} is a file; give a folder for the results")
    if args.notebooks is not None and not Path(args.notebooks).is_dir():
        raise ValueError(f"--notebooks {args.notebooks}: no such folder")


def run_demo_command(args: argparse.Namespace) -> int:
    """Runs ``trfviz demo`` from parsed arguments."""
    _check_arguments(args)
    run_demo(
        text=args.text,
        models=tuple(args.model or DEFAULT_MODELS),
        out=Path(args.out),
        notebooks=Path(args.notebooks) if args.notebooks else None,
    )
    return 0


def run_demo(
    *,
    text: str = DEMO_TEXT,
    models: Sequence[str] = DEFAULT_MODELS,
    out: Path = Path("trfviz-output"),
    notebooks: Path | None = None,
) -> list[Path]:
    """Parse ``text``, extract every model, print a summary and write results to ``out``.

    Writes ``alignment.csv`` (each token's pieces per model), ``attention_top.csv``
    (per model, sentence, layer and token: the token it attends to most, heads
    averaged), one stored extraction per model (``*.trfviz``, see
    :mod:`trfviz.storage`), figures for papers when the figures package is
    installed, and the executed notebooks as HTML when ``notebooks`` is given.
    Returns the paths written.
    """
    import transformers

    import trfviz
    from trfviz.storage import save_extraction
    from trfviz.tokenization import tokenization_table

    transformers.utils.logging.disable_progress_bar()
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    started = time.perf_counter()
    nlp = trfviz.load_pipeline()
    doc = nlp(text)
    print(
        f"spaCy: {len(doc)} tokens, {len(list(doc.sents))} sentences, entities: "
        + ", ".join(f"{e.text} ({e.label_})" for e in doc.ents)
    )
    extractions = {}
    for model in models:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = trfviz.load_model(model)
            extraction = trfviz.extract(doc, loaded)
        for warning in caught:
            print(f"note: {warning.message}")
        extractions[model] = extraction
        path = save_extraction(extraction, out / f"{model_slug(model)}.trfviz")
        written.append(path)
        first = extraction.sentences[0]
        print(
            f"{model}: {extraction.n_layers} layers x {extraction.n_heads} heads; "
            f"sentence 1 attention {first.attention.shape if first.attention is not None else None}"
            f", states {first.states.shape if first.states is not None else None}"
        )

    tables = []
    for i in range(len(extractions[models[0]].sentences)):
        table = tokenization_table({m: e.sentences[i] for m, e in extractions.items()})
        table.insert(0, "sentence", i)
        tables.append(table)
        print(format_alignment(table))
    alignment = pd.concat(tables, ignore_index=True)
    alignment["pieces"] = alignment["pieces"].map(" ".join)
    written.append(_write_csv(alignment, out / "alignment.csv"))
    top = _top_attended(extractions)
    written.append(_write_csv(top, out / "attention_top.csv"))
    last = top[top.layer == top.groupby("model").layer.transform("max")]
    print("\nThe other word each word attends to most in the last layer (heads averaged):")
    wide = last.pivot_table(
        index=["sentence", "token_index", "token"],
        columns="model",
        values="attends_to",
        aggfunc="first",
    )[list(models)]
    wide.columns = [short_model_name(m) for m in wide.columns]
    print(wide.reset_index(level=1, drop=True).to_string())

    if importlib.util.find_spec("trfviz.figures.demo") is not None:
        from trfviz.figures.demo import export_demo_figures

        figures = export_demo_figures(doc, extractions, out / "figures")
        written.extend(figures)
        print(f"\n{len(figures)} figures written to {out / 'figures'}")
    if notebooks is not None:
        from trfviz.notebooks import render_notebooks

        # Notebooks that export figures put them beside the demo's own figures.
        previous = os.environ.get("TRFVIZ_FIGURES")
        os.environ["TRFVIZ_FIGURES"] = str((out / "figures").resolve())
        try:
            print(f"\nexecuting the notebooks in {notebooks}:")
            pages = render_notebooks(notebooks, out / "notebooks", progress=True)
        finally:
            if previous is None:
                del os.environ["TRFVIZ_FIGURES"]
            else:
                os.environ["TRFVIZ_FIGURES"] = previous
        written.extend(pages)
        print(f"{len(pages)} notebooks executed and written as HTML to {out / 'notebooks'}")
    print(f"\nwrote {len(written)} files to {out}/ in {time.perf_counter() - started:.1f} s")
    return written


def _top_attended(extractions: dict[str, Extraction]) -> pd.DataFrame:
    rows = []
    for model, extraction in extractions.items():
        for s, sentence in enumerate(extraction.sentences):
            if sentence.attention is None:
                continue
            n = sentence.n_tokens
            # [layer, query, key] over the words only, heads averaged; a word's
            # attention to itself is left out so the answer names another word.
            mean = sentence.attention.mean(axis=1)[:, :n, :n].copy()
            mean[:, np.arange(n), np.arange(n)] = 0.0
            for layer in range(mean.shape[0]):
                target = mean[layer].argmax(axis=-1)
                for q in range(n):
                    rows.append(
                        {
                            "model": model,
                            "sentence": s,
                            "layer": layer,
                            "token_index": q,
                            "token": sentence.tokens[q],
                            # A causal model's first word sees no other word.
                            "attends_to": sentence.tokens[target[q]]
                            if mean[layer, q, target[q]] > 0
                            else "",
                            "weight": float(mean[layer, q, target[q]]),
                        }
                    )
    return pd.DataFrame(rows)


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, float_format="%.6g")
    return path
