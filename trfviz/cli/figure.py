"""``trfviz figure``: a paper figure straight from a sentence.

The command parses the sentence and runs the models (the CLI may load models),
then hands plain arrays and parses to :mod:`trfviz.figures`, which never does.

    trfviz figure "The old man the boat." --model sentence-transformers/all-MiniLM-L6-v2 \\
        --layer 3 --head 7 --kind arcs --source man --preset one-column -o fig.pdf
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trfviz.naming import short_model_name
from trfviz.validation import (
    MODEL_HINT,
    IndexOutOfRangeError,
    check_index,
    check_int,
    check_text,
)

__all__ = ["FIGURE_KINDS", "add_figure_command", "make_figure"]

FIGURE_KINDS = ("arcs", "heatmap", "grid", "tokenization", "comparison")
DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def add_figure_command(subparsers: Any) -> argparse.ArgumentParser:
    """The ``figure`` sub-command, added to ``subparsers`` (from ``add_subparsers``)."""
    parser = subparsers.add_parser(
        "figure",
        help="make a paper figure (PDF, SVG, PNG, PGF) from a sentence",
        description="Parse TEXT with spaCy, run the model(s) and save one figure.",
    )
    parser.add_argument("text", help="the sentence (or text: see --sentence)")
    parser.add_argument(
        "--model",
        action="append",
        help=f"model name or path (repeat for tokenization/comparison); default {DEFAULT_MODEL}",
    )
    parser.add_argument("--kind", choices=FIGURE_KINDS, default="arcs", help="figure (arcs)")
    parser.add_argument("--layer", type=int, default=-1, help="layer, from 0; -1 the last")
    parser.add_argument(
        "--head", type=int, default=None, help="head, from 0; default: the mean over heads"
    )
    parser.add_argument("--sentence", type=int, default=0, help="which sentence of TEXT (0)")
    parser.add_argument(
        "--source",
        default=None,
        help="arcs: the token whose attention is drawn (index or word); default: every "
        "weight above --threshold",
    )
    parser.add_argument("--threshold", type=float, default=None, help="arcs: smallest weight")
    parser.add_argument(
        "--preset", default="one-column", help="one-column, two-column, slide or none"
    )
    parser.add_argument("--pipeline", default="en_core_web_sm", help="spaCy pipeline")
    parser.add_argument("-o", "--out", required=True, help="output file (.pdf .svg .png .pgf)")
    parser.set_defaults(run=run_figure_command)
    return parser


def run_figure_command(args: argparse.Namespace) -> int:
    """Runs ``trfviz figure`` from parsed arguments; prints the path written."""
    path = make_figure(
        args.text,
        models=tuple(args.model or (DEFAULT_MODEL,)),
        kind=args.kind,
        layer=args.layer,
        head=args.head,
        sentence=args.sentence,
        source=args.source,
        threshold=args.threshold,
        preset=None if args.preset in ("none", "") else args.preset,
        pipeline=args.pipeline,
        out=Path(args.out),
    )
    print(path)
    return 0


def make_figure(
    text: str,
    *,
    models: Sequence[str],
    out: Path,
    kind: str = "arcs",
    layer: int = -1,
    head: int | None = None,
    sentence: int = 0,
    source: str | int | None = None,
    threshold: float | None = None,
    preset: str | None = "one-column",
    pipeline: str = "en_core_web_sm",
) -> Path:
    """The path written: one figure of ``kind`` for ``text`` parsed and run through ``models``."""
    import matplotlib.pyplot as plt

    import trfviz
    from trfviz.figures import aligned_tokenization_from, plot_aligned_tokenization
    from trfviz.figures.arcs import plot_attention_arcs
    from trfviz.figures.comparison import plot_model_comparison
    from trfviz.figures.export import save_figure
    from trfviz.figures.grid import plot_head_grid
    from trfviz.figures.heatmap import plot_attention_heatmap
    from trfviz.parse import parse_sentence

    _check_arguments(
        text,
        models=models,
        out=out,
        kind=kind,
        sentence=sentence,
        threshold=threshold,
        preset=preset,
        layer=layer,
        head=head,
    )
    nlp = trfviz.load_pipeline(pipeline)
    doc = nlp(text)
    need_attention = kind != "tokenization"
    extractions = {
        m: trfviz.extract(doc, m, attention=need_attention, states=False) for m in models
    }
    n_sentences = len(next(iter(extractions.values())).sentences)
    if not 0 <= sentence < n_sentences:
        raise ValueError(
            f"--sentence {sentence}: the text has {n_sentences} sentence(s), "
            f"so 0..{n_sentences - 1} are valid"
        )
    sents = {m: e.sentences[sentence] for m, e in extractions.items()}
    first_name = models[0]
    first = sents[first_name]
    short = short_model_name(first_name)

    def matrix(name: str) -> Any:
        att = sents[name].attention
        if att is None:
            raise RuntimeError(f"{name} returned no attention")
        try:
            check_index("--layer", layer, att.shape[0])
            if head is not None:
                check_index("--head", head, att.shape[1])
        except IndexOutOfRangeError as error:
            raise IndexOutOfRangeError(f"{error} for {name}") from None
        return att[layer].mean(axis=0) if head is None else att[layer, head]

    n_layers = extractions[first_name].n_layers
    what = f"L{layer % n_layers if n_layers else layer}"
    what += " mean of heads" if head is None else f" H{head}"
    if kind == "arcs":
        span = list(doc.sents)[sentence] if doc.has_annotation("SENT_START") else doc[:]
        parse = parse_sentence(span)
        fig, _ = plot_attention_arcs(
            parse,
            matrix(first_name),
            source=_token_index(source, first.tokens),
            threshold=threshold,
            special_labels=first.special_labels,
            preset=preset,
            title=f"{short} {what}",
        )
    elif kind == "heatmap":
        fig, _ = plot_attention_heatmap(
            matrix(first_name),
            first.labels,
            n_special=len(first.special_labels),
            preset=preset,
            title=f"{short} {what}",
        )
    elif kind == "grid":
        assert first.attention is not None
        fig, _ = plot_head_grid(first.attention, first.labels, preset=preset, title=short)
    elif kind == "tokenization":
        tokens, pieces = aligned_tokenization_from(sents)
        fig, _ = plot_aligned_tokenization(tokens, pieces, preset=preset)
    else:
        a, b = models
        fig, _ = plot_model_comparison(
            matrix(a),
            matrix(b),
            first.tokens,
            mode="all",
            preset=preset,
            names=(short_model_name(a), short_model_name(b)),
            title=what,
        )
    try:
        return save_figure(fig, out, preset=preset)
    finally:
        plt.close(fig)


def _check_arguments(
    text: str,
    *,
    models: Sequence[str],
    out: Path,
    kind: str,
    sentence: int,
    threshold: float | None,
    preset: str | None,
    layer: int,
    head: int | None,
) -> None:
    """Refuse arguments that make no sense before the pipeline and models load (minutes)."""
    from trfviz.figures.export import FORMATS
    from trfviz.figures.style import get_preset

    check_text("TEXT", text)
    if kind not in FIGURE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FIGURE_KINDS)}; got {kind!r}")
    if isinstance(models, str) or not models:
        raise TypeError("models must be a non-empty sequence of model names")
    for model in models:
        check_text("a --model name", model, hint=MODEL_HINT)
    if kind == "comparison" and len(models) != 2:
        raise ValueError("--kind comparison needs two --model options")
    if Path(out).suffix.lower() not in FORMATS:
        raise ValueError(f"cannot save {Path(out).name!r}: use one of {', '.join(FORMATS)}")
    check_int("--sentence", sentence, minimum=0)
    check_int("--layer", layer)
    check_int("--head", head, allow_none=True)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"--threshold {threshold}: an attention weight is between 0 and 1")
    if preset is not None:
        get_preset(preset)


def _token_index(source: str | int | None, tokens: Sequence[str]) -> int | None:
    """The index of ``source`` among ``tokens``: an index, or the first token with that text."""
    if source is None:
        return None
    if isinstance(source, int) or source.lstrip("-").isdigit():
        index = int(source)
        if not -len(tokens) <= index < len(tokens):
            raise ValueError(f"--source {source}: the sentence has {len(tokens)} tokens")
        return index % len(tokens)
    for i, token in enumerate(tokens):
        if token == source:
            return i
    for i, token in enumerate(tokens):
        if token.lower() == source.lower():
            return i
    raise ValueError(f"--source {source!r} is not a token of the sentence: {' '.join(tokens)}")
