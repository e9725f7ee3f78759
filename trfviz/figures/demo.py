"""A representative set of paper figures for a Doc and its extractions (``trfviz demo``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.naming import short_model_name

if TYPE_CHECKING:
    from spacy.tokens import Doc

    from trfviz.extraction import Extraction
    from trfviz.parse import SentenceParse

__all__ = ["export_demo_figures", "parse_head_scores"]


def parse_head_scores(attention: np.ndarray, parse: SentenceParse) -> np.ndarray:
    """float ``[layer, head]``: mean attention from each dependent to its syntactic head.

    A quick way to find heads that track the parse (Clark et al. 2019 measure
    accuracy of the arg-max instead); NaN where the sentence has no arcs.
    """
    att = np.asarray(attention, dtype=float)
    if not parse.arcs:
        return np.full(att.shape[:2], np.nan)
    dependents = np.array([a.dependent for a in parse.arcs])
    heads = np.array([a.head for a in parse.arcs])
    return att[:, :, dependents, heads].mean(axis=-1)


def _interest(extractions: Mapping[str, Extraction], index: int) -> int:
    total = 0
    for extraction in extractions.values():
        alignment = extraction.sentences[index].alignment
        total += int((alignment.token_counts > 1).sum()) + 2 * int(
            (alignment.piece_counts > 1).sum()
        )
    return total


def file_stem(name: str) -> str:
    """The model's part of the demo's file names: its short name, lower case, ``-`` separated.

    >>> file_stem("sentence-transformers/all-MiniLM-L6-v2")
    'all-minilm-l6-v2'
    """
    return re.sub(r"[^a-z0-9]+", "-", short_model_name(name).lower()).strip("-") or "model"


def export_demo_figures(
    doc: Doc,
    extractions: Mapping[str, Extraction],
    out_dir: str | Path,
    *,
    formats: tuple[str, ...] = (".pdf", ".png"),
) -> list[Path]:
    """The files written: paper figures for ``doc`` as each model sees it, in ``out_dir``.

    Writes, each as PDF and PNG: the aligned tokenization of the sentence the
    models cut most differently (plus an HTML version); per model, a head
    grid framed by :func:`parse_head_scores` (attention from dependents to their
    syntactic heads), a heatmap of the head scoring best, and the arcs figure
    of that head from the root of the most entity-rich sentence; and, for the
    first two models, their best heads compared (side by side and difference).
    """
    import matplotlib.pyplot as plt

    from trfviz.figures.arcs import plot_attention_arcs
    from trfviz.figures.comparison import plot_model_comparison
    from trfviz.figures.export import save_figure
    from trfviz.figures.grid import plot_head_grid
    from trfviz.figures.heatmap import plot_attention_heatmap
    from trfviz.figures.pieces import aligned_tokenization_from
    from trfviz.figures.tokenization import plot_aligned_tokenization
    from trfviz.html.tokenization import render_aligned_tokenization_html
    from trfviz.parse import parse_doc

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not extractions:
        return []
    written: list[Path] = []

    def save(fig: Any, stem: str, preset: str) -> None:
        try:
            for suffix in formats:
                written.append(save_figure(fig, out / f"{stem}{suffix}", preset=preset))
        finally:
            plt.close(fig)

    parses = parse_doc(doc)
    n_sentences = min(len(e.sentences) for e in extractions.values())
    n_sentences = min(n_sentences, len(parses))
    if n_sentences == 0:
        return []
    tok_index = max(range(n_sentences), key=lambda i: (_interest(extractions, i), -i))
    tokens, models = aligned_tokenization_from(
        {name: e.sentences[tok_index] for name, e in extractions.items()}
    )
    fig, _ = plot_aligned_tokenization(tokens, models, preset="two-column")
    save(fig, "aligned_tokenization", "two-column")
    html_path = out / "aligned_tokenization.html"
    render_aligned_tokenization_html(tokens, models).save(str(html_path))
    written.append(html_path)

    arc_index = max(
        range(n_sentences),
        key=lambda i: (len(parses[i].entities), len(parses[i].arcs), -i),
    )
    parse = parses[arc_index]
    best: dict[str, tuple[int, int]] = {}
    for name, extraction in extractions.items():
        sentence = extraction.sentences[arc_index]
        if sentence.attention is None:
            continue
        slug, short = file_stem(name), short_model_name(name)
        n = sentence.n_tokens
        scores = parse_head_scores(sentence.attention[:, :, :n, :n], parse)
        layer, head = (
            np.unravel_index(int(np.nanargmax(scores)), scores.shape)
            if np.isfinite(scores).any()
            else (0, 0)
        )
        layer, head = int(layer), int(head)
        best[name] = (layer, head)
        fig, _ = plot_head_grid(
            sentence.attention,
            sentence.labels,
            scores=scores,
            score_label="attention to syntactic head",
            scale="head",
            preset="two-column",
            title=f"{name}: every head on “{_short(sentence.tokens)}”",
        )
        save(fig, f"head_grid_{slug}", "two-column")
        fig, _ = plot_attention_heatmap(
            sentence.attention[layer, head],
            sentence.labels,
            n_special=len(sentence.special_labels),
            preset="one-column",
            title=f"{short} L{layer} H{head}",
        )
        save(fig, f"heatmap_{slug}", "one-column")
        root = _root(parse)
        fig, _ = plot_attention_arcs(
            parse,
            sentence.attention[layer, head],
            source=root,
            special_labels=sentence.special_labels,
            preset="two-column",
            title=f"{short} L{layer} H{head}: attention from “{parse.words[root]}”",
        )
        save(fig, f"arcs_{slug}", "two-column")
    names = [n for n in extractions if n in best]
    if len(names) >= 2:
        a, b = names[:2]
        sa, sb = extractions[a].sentences[arc_index], extractions[b].sentences[arc_index]
        assert sa.attention is not None and sb.attention is not None
        fig, _ = plot_model_comparison(
            sa.attention[best[a]],
            sb.attention[best[b]],
            sa.tokens,
            names=(
                f"{short_model_name(a)} L{best[a][0]} H{best[a][1]}",
                f"{short_model_name(b)} L{best[b][0]} H{best[b][1]}",
            ),
            mode="all",
            preset="two-column",
        )
        save(fig, "comparison", "two-column")
    return written


def _root(parse: SentenceParse) -> int:
    dependents = {a.dependent for a in parse.arcs}
    roots = [i for i in range(len(parse.words)) if i not in dependents]
    return roots[0] if roots else 0


def _short(tokens: tuple[str, ...], limit: int = 6) -> str:
    text = " ".join(tokens[:limit])
    return text + (" …" if len(tokens) > limit else "")
