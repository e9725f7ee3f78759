"""Attention read against the parse: the sentence on one line, arcs above and below.

:func:`plot_attention_arcs` checks its input, lays the sentence out
(:mod:`.layout`), fits it to the caller's axes and draws it (:mod:`.drawing`).

Dependency arcs are drawn above the words with their labels (displaCy's look),
attention arcs below them, their width and opacity growing with the weight,
and named entities as coloured spans with their label (displaCy's colours).

Geometry is laid out in points from the measured width of every word and
label, so labels never overlap words and arcs never cut through a word: an arc
leaves a word vertically and nested or crossing arcs are stacked at distinct
heights. A sentence wider than ``wrap`` inches is broken into several lines
at word boundaries; an arc between two lines is drawn on each line as an open
arc running to the line's edge. ``window=(start, end)`` instead shows only
those tokens, with arcs to tokens outside it drawn open the same way.

Every artist has a ``gid`` (``"word-3"``, ``"dep-arc-1-0"``, ``"dep-label-1-0"``,
``"att-arc-2-5"``, ``"entity-0-2"``, ``"entity-label-0-2"``) so that SVG output
can be styled or checked and tests can read the figure back.

Example
-------
>>> import numpy as np
>>> from trfviz.parse import Arc, SentenceParse
>>> parse = SentenceParse(words=("Anna", "saw", "Bob"), tags=("", "", ""),
...                       arcs=(Arc(1, 0, "nsubj"), Arc(1, 2, "obj")), entities=())
>>> fig, ax = plot_attention_arcs(parse, np.eye(3), source=1)
>>> sorted(a.get_gid() for a in ax.patches if a.get_gid().startswith("dep-arc"))
['dep-arc-1-0', 'dep-arc-1-2']
"""

from __future__ import annotations

import dataclasses
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from trfviz.figures.arcs.drawing import draw_scene
from trfviz.figures.arcs.layout import SMALLEST_TEXT_SHARE, ArcScene, DrawnArc, layout_scene
from trfviz.figures.arcs.selection import (
    fit_height,
    fit_note,
    format_weight,
    select_attention_arcs,
    select_incoming_arcs,
)
from trfviz.figures.arcs.vertical import vertical_capacity, vertical_margin
from trfviz.figures.export import RIGID_ATTR
from trfviz.figures.heatmap import check_window, window_note
from trfviz.figures.layout import caption, displayable, measure_text, new_figure, wrap_text
from trfviz.figures.style import MIN_TEXT_SIZE, Preset, get_preset, paper_style
from trfviz.palette import ATTENTION_COLOR, TO_COLOR
from trfviz.parse import SentenceParse
from trfviz.validation import check_index, check_int

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_attention_arcs"]


def plot_attention_arcs(
    parse: SentenceParse,
    attention: np.ndarray,
    *,
    source: int | None = None,
    threshold: float | None = None,
    top_k: int | None = None,
    show_parse: bool = True,
    show_entities: bool = True,
    show_tags: bool = False,
    show_weights: bool | None = None,
    special_labels: Sequence[str] = (),
    window: tuple[int, int] | slice | None = None,
    wrap: float | None = None,
    title: str | None = None,
    entity_colors: Mapping[str, str] | None = None,
    color: str = ATTENTION_COLOR,
    attention_above: np.ndarray | None = None,
    special_labels_above: Sequence[str] = (),
    above_color: str | None = None,
    band_names: tuple[str, str] | None = None,
    weight_top: float | tuple[float, float] = 1.0,
    ax: Axes | None = None,
    preset: str | Preset | None = None,
    max_height: float | None = None,
    leave_out: bool = True,
    incoming: bool = False,
    incoming_color: str = TO_COLOR,
) -> tuple[Figure, Axes]:
    """``(figure, axes)``: the sentence with its parse above and attention arcs below.

    Args:
        parse: the sentence's words, dependency arcs and entities.
        attention: float ``[query, key]`` over at least ``len(parse.words)``
            tokens; columns past the words (special pseudo-tokens) are not drawn
            as arcs, but with a ``source`` their total weight is written below.
        source: draw the attention *from* this token (index in the sentence) to
            every token; without it, draw every query→key weight above the threshold.
        threshold: smallest weight drawn (default 0.05 with a source, else 0.25).
        top_k: draw at most this many of the largest weights.
        show_parse: draw the dependency arcs and labels above the words.
        show_entities: draw named entities as coloured spans with their labels.
        show_tags: write each word's fine-grained tag under it.
        show_weights: write the weight on each attention arc (default: with a source).
        special_labels: names of the columns past the words (``["[CLS]", "[SEP]"]``).
        window: ``(start, end)`` or ``slice(start, end)``: draw only those tokens,
            marked ``"…tokens 21–40 of 64…"`` at the top right; arcs to tokens
            outside it run open to the edge.
        wrap: break the sentence into lines at most this many inches wide
            (default: the preset's width; no wrapping without a preset).
        title: text above the figure.
        entity_colors: colours overriding displaCy's for some labels.
        color: colour of the attention arcs.
        attention_above: a second model's ``[query, key]`` over the same words,
            drawn above the words on the same axis (same source, threshold and
            top_k); the parse then sits in its own band above it. Its arcs'
            gids start ``"above-"`` (``"above-att-arc-2-5"``).
        special_labels_above: names of ``attention_above``'s columns past the words.
        above_color: colour of the arcs above (default ``color``).
        band_names: ``(above, below)`` names written before each model's note
            of weight on special tokens.
        weight_top: the weight drawn at full width and opacity (1: weights as
            they are, one scale for both models); ``(above, below)`` gives each
            model its own.
        ax: draw into these axes; the drawing is scaled down to fit them.
        preset: lay out for a paper width (``"one-column"``, ``"two-column"``).
        max_height: the tallest the figure may be, in inches (default: the
            preset's ``max_height``; no limit without a preset). Past it the arc
            levels are drawn closer together, down to a spacing that keeps their
            labels apart; if that is not enough, the weakest attention arcs are
            left out (both models cut at one weight) and the note under the
            figure says which; if even that does not fit, nothing is left out
            and a warning says to show a ``window``.
        leave_out: whether the weakest arcs may be left out, and long upright
            words shortened, to fit ``max_height`` (False: only the levels are squeezed).
        incoming: with a ``source``, draw the attention *to* it as well (every
            word's weight on the source, the same threshold and top_k), in
            ``incoming_color``; a note line says which colour is which.
            Their gids are ``"att-in-arc-5-2"`` (word 5 to the source 2).
        incoming_color: colour of the arcs to the source.

    Words that do not fit on one line ``wrap`` inches wide are written upright,
    a column each, on one line (one word axis; labels that do not fit their arc
    are left off). If even upright words would be under 6 pt, only as many words
    as fit legibly are drawn, around the source (the window marked in the title,
    and a note says so and how to see the rest).

    Arrows point at the dependent (parse) and at the key (attention).
    Self-attention of a token is drawn as a dot under it, sized by weight.
    """
    if not isinstance(parse, SentenceParse):
        raise TypeError(
            "parse must be a trfviz.SentenceParse (trfviz.parse_sentence(span) or "
            f"trfviz.parse_doc(doc)[i]); got {type(parse).__name__}"
        )
    words = [displayable(w) for w in parse.words]
    n = len(words)
    matrix = np.asarray(attention, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] < n or matrix.shape[1] < n:
        raise ValueError(f"attention has shape {matrix.shape}; the parse has {n} words")
    if source is not None:
        source = check_index("source", source, n)
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold {threshold}: an attention weight is between 0 and 1")
    check_int("top_k", top_k, minimum=1, allow_none=True)
    start, end = check_window(window, n) if window is not None else (0, n)
    if source is not None and not start <= source < end:
        raise ValueError(f"source {source} is outside the window {window}")
    tops = weight_top if isinstance(weight_top, tuple) else (weight_top, weight_top)
    if not all(t > 0 for t in tops):
        raise ValueError(f"weight_top must be positive; got {weight_top!r}")
    selected = select_attention_arcs(
        matrix[:n, :n], source=source, threshold=threshold, top_k=top_k
    )
    into: list[DrawnArc] = []
    if incoming and source is not None:
        into = select_incoming_arcs(
            matrix[:n, :n], source, threshold=threshold, top_k=top_k, color=incoming_color
        )
    selected = [*selected, *into]
    weights = {arc.gid: arc.weight for arc in selected}  # as labelled, before scaling
    att_arcs = _scaled(selected, tops[1], "")
    above_matrix = None if attention_above is None else np.asarray(attention_above, dtype=float)
    above_arcs: list[DrawnArc] = []
    if above_matrix is not None:
        if above_matrix.ndim != 2 or min(above_matrix.shape) < n:
            raise ValueError(
                f"attention_above has shape {above_matrix.shape}; the parse has {n} words"
            )
        chosen = select_attention_arcs(
            above_matrix[:n, :n], source=source, threshold=threshold, top_k=top_k
        )
        if incoming and source is not None:
            into_above = select_incoming_arcs(
                above_matrix[:n, :n], source, threshold=threshold, top_k=top_k, color=incoming_color
            )
            chosen, into = [*chosen, *into_above], [*into, *into_above]
        weights.update({"above-" + arc.gid: arc.weight for arc in chosen})
        above_arcs = _scaled(chosen, tops[0], "above-")
    dep_arcs = [
        DrawnArc(a.head, a.dependent, a.label, f"dep-arc-{a.head}-{a.dependent}")
        for a in (parse.arcs if show_parse else ())
    ]
    entities = list(parse.entities) if show_entities else []
    tags = list(parse.tags) if show_tags else []
    if show_weights is None:
        show_weights = source is not None

    with paper_style(preset):
        import matplotlib

        font = get_preset(preset).font_size if preset else float(matplotlib.rcParams["font.size"])
        if preset is not None:
            # Arc labels and weights are the smallest text: keep them at 6 pt or more.
            font = max(font, math.ceil(MIN_TEXT_SIZE / SMALLEST_TEXT_SHARE * 20) / 20)
        if wrap is None and preset is not None:
            wrap = get_preset(preset).width
        extra: list[str] = []  # note lines known before the layout
        if wrap is not None and end - start > vertical_capacity(font, wrap, MIN_TEXT_SIZE):
            # Too many words to write legibly even upright: as many as fit, around the source.
            fits = vertical_capacity(font, wrap, MIN_TEXT_SIZE)
            middle = source if source is not None else start + fits // 2
            first = min(max(middle - fits // 2, start), end - fits)
            text = (
                f"{wrap:g} in holds {fits} words legibly: words {first + 1}–{first + fits} "
                f"of {end - start} shown; use a wider preset, or zoom in, to choose which."
            )
            room = wrap * 72 - 2 * vertical_margin(font)
            extra += wrap_text(text, font * 0.78, room).split("\n")
            start, end = first, first + fits
            window = (start, end)
        if window is not None:  # the window is marked in the title: "…tokens 21–40 of 64…"
            mark = f"{'…' if start > 0 else ''}{window_note(start, end, n)}{'…' if end < n else ''}"
            title = f"{title} ({mark})" if title else mark
        if into and color == ATTENTION_COLOR:
            extra.append(f"blue: attention from “{words[source]}”; orange: to it")  # type: ignore[index]
        title_size = font
        if title and wrap is not None and measure_text(title, font) > wrap * 72 * 0.95:
            title, title_size = _title_lines(title, font, wrap * 72 * 0.95)
        scene = ArcScene(
            words=words,
            tags=tags,
            dep_arcs=dep_arcs,
            att_arcs=att_arcs,
            entities=[(e.start, e.end, e.label) for e in entities],
            window=(start, end),
            source=source,
            show_weights=show_weights,
            has_title=bool(title),
            title_lines=title.count("\n") + 1 if title else 1,
            above_arcs=above_arcs,
            note_lines=int(source is not None) + len(extra),
        )
        if max_height is None and preset is not None:
            max_height = get_preset(preset).max_height
        limit = max_height * 72 if max_height is not None else None
        layout = layout_scene(scene, font, wrap, max_height=limit, shorten=leave_out)
        if title and max(measure_text(t, font) for t in title.split("\n")) > layout.width * 0.95:
            # Narrower than the page (a short window): the title wraps to the drawing.
            title, title_size = _title_lines(title.replace("\n", " "), font, layout.width * 0.95)
            scene = dataclasses.replace(scene, title_lines=title.count("\n") + 1)
            layout = layout_scene(scene, font, wrap, max_height=limit, shorten=leave_out)
        cut = None
        if limit is not None and leave_out:  # still too tall: leave out the weakest, say so
            scene, layout, cut = fit_height(scene, font, wrap, limit, weights)
        if limit is not None and ax is None and layout.height > limit + 1e-6:
            where = f" at {get_preset(preset).name!r}" if preset is not None else ""
            warnings.warn(
                f"{end - start} words drawn{where} make a figure {layout.height / 72:.1f} in "
                f"tall (more than {max_height} in); show part of the sentence with "
                "window=(start, end), or use a wider preset",
                stacklevel=2,
            )
        if ax is not None:
            # Fit the caller's axes: try one line and lines as wide as the axes, keep
            # whichever needs less shrinking (the layout is linear in the font size).
            bbox = ax.get_window_extent().transformed(
                ax.get_figure().dpi_scale_trans.inverted()  # type: ignore[union-attr]
            )
            best_scale, best = 0.0, layout
            room = bbox.height * 72
            for width in dict.fromkeys([wrap, bbox.width]):
                # Levels squeeze to the axes' height before anything is scaled down; a
                # scale within rounding of 1 (axes of the size measured) is no scaling.
                trial = layout_scene(scene, font, width, max_height=room, shorten=leave_out)
                scale = min(1.0, bbox.width * 72 / trial.width, room / trial.height)
                scale = 1.0 if scale > 1.0 - 1e-6 else scale
                if scale > best_scale + 1e-9:
                    wider = width / scale if width else None
                    best_scale, best = (
                        scale,
                        (
                            trial
                            if scale >= 1.0
                            else layout_scene(
                                scene, font * scale, wider, max_height=room, shorten=leave_out
                            )
                        ),
                    )
            layout = best
        created = ax is None
        fig, ax = new_figure(ax, width=layout.width / 72, height=layout.height / 72, preset=preset)
        if created:
            ax.set_position((0.0, 0.0, 1.0, 1.0))
        setattr(fig, RIGID_ATTR, True)
        draw_scene(
            ax,
            scene,
            layout,
            color=color,
            entity_colors=entity_colors,
            above_color=above_color,
        )
        notes = []
        bands = [(above_matrix, special_labels_above, 0)] if above_matrix is not None else []
        for band, labels, side in [*bands, (matrix, special_labels, 1)]:
            if source is None or band is None:
                continue
            rest = band[source, n:]
            names = list(labels) or [f"special {i}" for i in range(len(rest))]
            parts = [f"{name} {format_weight(w)}" for name, w in zip(names, rest, strict=False)]
            if window is not None:
                outside = float(band[source, :start].sum() + band[source, end:n].sum())
                parts.append(f"outside window {format_weight(outside)}")
            if parts and band_names and bands:  # two models: say whose weights these are
                parts[0] = f"{band_names[side]}: {parts[0]}"
            notes += parts
        room = layout.width - 2 * layout.margin
        lines = [fit_note(cut, room, layout.small)] if cut is not None else []
        lines += extra
        if notes:
            lines.append(_fitted_note(words[source], notes, room, layout.small))  # type: ignore[index]
        if lines:
            bottom = (layout.margin, -layout.height + layout.small * 0.4)
            caption(
                ax,
                bottom,
                "\n".join(lines),
                size=layout.small,
                gid="note",
                va="bottom",
                color="#555555",
            )
        if title:
            top = (layout.width / 2, -layout.small * 0.3)
            size = layout.font * title_size / font  # the layout may be scaled to the axes
            caption(ax, top, title, size=size, gid="title", ha="center", va="top")
    return fig, ax


def _title_lines(title: str, size: float, width: float) -> tuple[str, float]:
    """``(text, size)``: ``title`` in at most two lines ``width`` points wide where it can be.

    Never broken inside a model's label (``"MiniLM L0 H3"``), before its ``"(above)"``
    or inside the window mark ``(…tokens 21–40 of 64…)``; two models' titles
    break after ``" vs "`` first. A title still over two lines is set smaller,
    down to :data:`~trfviz.figures.style.MIN_TEXT_SIZE` plus one point.
    """
    nbsp = "\u00a0"
    text = re.sub(r"\b(L\w+) (H\w+|all heads)", rf"\1{nbsp}\2", title.replace("\n", " "))
    text = re.sub(r" \((above|below)", rf"{nbsp}(\1", text)
    text = re.sub(rf"(\S+) (L\w+{nbsp})", rf"\1{nbsp}\2", text)  # the model's name with it
    head, _, mark = text.rpartition(" (")
    if head and mark.lstrip("…").startswith("tokens "):
        text = f"{head} (" + mark.replace(" ", nbsp)
    trial = size
    while True:
        tries = [text.replace(" vs ", " vs\n", 1)] if " vs " in text else []
        tries = [_wrapped(t, trial, width) for t in [*tries, text]]
        lines = min(tries, key=lambda t: t.count("\n"))  # the first of the fewest lines
        if lines.count("\n") < 2 or trial <= MIN_TEXT_SIZE + 1:
            return lines, trial
        trial = max(trial - 0.5, MIN_TEXT_SIZE + 1)


def _wrapped(text: str, size: float, width: float) -> str:
    """``text`` broken at plain spaces only (measured with its no-break spaces as spaces)."""
    lines: list[str] = []
    for line in text.split("\n"):
        start = len(lines)
        for word in line.split(" "):
            word = word.replace("\u00a0", " ")
            if len(lines) > start and measure_text(f"{lines[-1]} {word}", size) <= width:
                lines[-1] = f"{lines[-1]} {word}"
            else:
                lines.append(word)
    return "\n".join(lines)


def _scaled(arcs: Sequence[DrawnArc], top: float, prefix: str) -> list[DrawnArc]:
    """``arcs`` drawn as if ``top`` were a weight of 1 (labels keep the weight); gids prefixed."""
    return [dataclasses.replace(arc, weight=arc.weight / top, gid=prefix + arc.gid) for arc in arcs]


def _fitted_note(word: str, notes: Sequence[str], width: float, size: float) -> str:
    """The note under the arcs, shortened until it fits ``width`` points at ``size``."""
    for head in (f"from “{word}” also to: ", "also: "):
        for keep in range(len(notes), 0, -1):
            text = head + ", ".join(notes[:keep]) + (", …" if keep < len(notes) else "")
            if measure_text(text, size) <= width:
                return text
    return "also: …"
