"""Draws a laid-out arcs figure with matplotlib: entities, words, tags, arcs and arrows.

Takes an :class:`~trfviz.figures.arcs.layout.ArcScene` and the
:class:`~trfviz.figures.arcs.layout.ArcLayout` computed for it; data units
are points, so what the layout measured is what is drawn. Every artist gets
a ``gid`` (``"word-3"``, ``"dep-arc-1-0"``, ``"att-arc-2-5"``, ``"entity-0-2"``;
``-part<i>`` on a wrapped line) so SVG output and tests can find it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from trfviz.figures.arcs.layout import ArcLayout, ArcLine, ArcScene, DrawnArc, arc_ends
from trfviz.palette import DEPENDENCY_COLOR, entity_color

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["draw_scene"]


def draw_scene(
    ax: Axes,
    scene: ArcScene,
    layout: ArcLayout,
    *,
    color: str,
    entity_colors: Mapping[str, str] | None,
    above_color: str | None = None,
) -> None:
    """Draws every line of ``layout`` on ``ax`` (data units are points).

    ``above_color``: the colour of ``scene.above_arcs`` (default ``color``).
    """
    ax.set_xlim(0, layout.width)
    ax.set_ylim(-layout.height, 0)
    ax.set_aspect("equal", adjustable="box")
    ax.set_axis_off()
    for index, line in enumerate(layout.lines):
        _draw_line(ax, scene, layout, line, index, color, entity_colors, above_color or color)


def _draw_line(
    ax: Axes,
    scene: ArcScene,
    layout: ArcLayout,
    line: ArcLine,
    index: int,
    color: str,
    entity_colors: Mapping[str, str] | None,
    above_color: str,
) -> None:
    from matplotlib.patches import FancyBboxPatch

    font, small = layout.font, layout.small
    y = line.y
    suffix = f"-part{index}" if len(layout.lines) > 1 else ""
    x_of = line.x_of

    columns = layout.columns
    for s, e, label in scene.entities:
        lo, hi = max(s, line.start), min(e, line.end)
        if lo >= hi:
            continue
        pad = font * 0.3 if columns is None else -columns.pitch * 0.04
        x0 = x_of(lo) - layout.widths[lo] / 2 - pad
        x1 = x_of(hi - 1) + layout.widths[hi - 1] / 2 + pad
        box_bottom = y + layout.block_bottom + small * 0.15
        top = y + font * 0.75 if columns is None else y + small * 0.15
        fill = entity_color(label, entity_colors)
        ax.add_patch(
            FancyBboxPatch(
                (x0, box_bottom),
                x1 - x0,
                top - box_bottom,
                boxstyle=f"round,pad=0,rounding_size={min(font * 0.3, (x1 - x0) / 2)}",
                facecolor=fill,
                edgecolor="none",
                zorder=0,
                gid=f"entity-{s}-{e}{suffix}",
            )
        )
        upright = columns is not None  # the label upright under the first word, in its column
        ax.text(
            x_of(lo) if upright else x0 + small * 0.35,
            box_bottom + small * 0.25,
            label,
            fontsize=columns.font if columns is not None else small * 0.85,
            fontweight="bold",
            rotation=90 if upright else 0,
            ha="center" if upright else "left",
            va="bottom",
            color="#222222",
            zorder=3,
            parse_math=False,
            gid=f"entity-label-{s}-{e}{suffix}",
        )

    for token in range(line.start, line.end):
        is_source = token == scene.source
        word = scene.words[token]
        if columns is not None:  # upright, hanging from the line, a column each
            ax.text(
                x_of(token),
                y,
                columns.labels[token - scene.window[0]],
                fontsize=columns.font,
                rotation=90,
                ha="center",
                va="top",
                zorder=3,
                parse_math=False,
                fontweight="bold" if is_source else "normal",
                color=color if is_source else "#111111",
                gid=f"word-{token}",
            )
            if scene.tags:
                ax.text(
                    x_of(token),
                    y - columns.depth - small * 0.4,
                    scene.tags[token],
                    fontsize=columns.font,
                    rotation=90,
                    ha="center",
                    va="top",
                    color="#666666",
                    zorder=3,
                    parse_math=False,
                    gid=f"tag-{token}",
                )
            continue
        ax.text(
            x_of(token),
            y,
            word,
            fontsize=font,
            ha="center",
            va="center_baseline",
            zorder=3,
            parse_math=False,
            fontweight="bold" if is_source else "normal",
            color=color if is_source else "#111111",
            gid=f"word-{token}",
        )
        if scene.tags:
            ax.text(
                x_of(token),
                y - font * 0.45 - small * 0.6,
                scene.tags[token],
                fontsize=small * 0.9,
                ha="center",
                va="center_baseline",
                color="#666666",
                zorder=3,
                parse_math=False,
                gid=f"tag-{token}",
            )

    dep_shown = [a for a in scene.dep_arcs if a.gid in line.dep_levels]
    att_shown = [a for a in scene.att_arcs if a.gid in line.att_levels]
    dep_ends = arc_ends(dep_shown, line.dep_levels, layout, line)
    att_ends = arc_ends(att_shown, line.att_levels, layout, line)
    if line.dep_lift and dep_shown:  # the parse's own band: a baseline with a tick per word
        base = y + layout.dep_base + line.dep_lift
        ax.plot(
            [line.x_of(line.start) - font * 0.5, line.x_of(line.end - 1) + font * 0.5],
            [base, base],
            color="#bbbbbb",
            linewidth=0.5,
            zorder=0,
            gid=f"parse-base{suffix}",
        )
        ticks = [line.x_of(t) for t in range(line.start, line.end)]
        ax.scatter(ticks, [base] * len(ticks), s=2, color="#999999", linewidths=0, zorder=0)
    above_shown = [a for a in scene.above_arcs if a.gid in line.above_levels]
    above_ends = arc_ends(above_shown, line.above_levels, layout, line)
    for arc in above_shown:
        weight = min(arc.weight, 1.0)
        _draw_arc(
            ax,
            arc,
            above_ends[arc.gid],
            y + layout.dep_base,
            line.above_levels[arc.gid] * layout.att_step,
            +1,
            line,
            above_color,
            (0.35 + 2.6 * weight) * font / 10,
            0.3 + 0.7 * weight,
            small * 0.85 if scene.show_weights else 0.0,
            suffix,
            label_color=above_color,
            fit_labels=columns is not None,
        )
    for arc in scene.above_arcs:
        if arc.a == arc.b and line.start <= arc.a < line.end:
            ax.scatter(
                [x_of(arc.a)],
                [y + layout.dep_base + small * 0.3],
                s=(2 + 40 * arc.weight) * (font / 10) ** 2,
                color=above_color,
                alpha=0.3 + 0.7 * min(arc.weight, 1.0),
                linewidths=0,
                zorder=2,
                gid=f"above-att-self-{arc.a}{suffix}",
            )
    for arc in dep_shown:
        level = line.dep_levels[arc.gid]
        _draw_arc(
            ax,
            arc,
            dep_ends[arc.gid],
            y + layout.dep_base + line.dep_lift,
            level * layout.dep_step,
            +1,
            line,
            DEPENDENCY_COLOR,
            0.9 * font / 10,
            1.0,
            small,
            suffix,
            fit_labels=columns is not None,
        )
    for arc in att_shown:
        level = line.att_levels[arc.gid]
        _draw_arc(
            ax,
            arc,
            att_ends[arc.gid],
            y + layout.att_base,
            level * layout.att_step,
            -1,
            line,
            color,
            (0.35 + 2.6 * min(arc.weight, 1.0)) * font / 10,
            0.3 + 0.7 * min(arc.weight, 1.0),
            small * 0.85 if scene.show_weights else 0.0,
            suffix,
            fit_labels=columns is not None,
        )
    for arc in scene.att_arcs:
        if arc.a == arc.b and line.start <= arc.a < line.end:
            ax.scatter(
                [x_of(arc.a)],
                [y + layout.att_base - small * 0.3],
                s=(2 + 40 * arc.weight) * (font / 10) ** 2,
                color=color,
                alpha=0.3 + 0.7 * min(arc.weight, 1.0),
                linewidths=0,
                zorder=2,
                gid=f"att-self-{arc.a}{suffix}",
            )


def _draw_arc(
    ax: Axes,
    arc: DrawnArc,
    ends: tuple[float, float],
    base: float,
    height: float,
    direction: int,
    line: ArcLine,
    color: str,
    width: float,
    alpha: float,
    label_size: float,
    suffix: str,
    label_color: str | None = None,
    fit_labels: bool = False,
) -> None:
    """One arc; with ``fit_labels`` its label only where it fits on the arc's flat top."""
    from matplotlib.patches import PathPatch, Polygon
    from matplotlib.path import Path

    if arc.color is not None:  # an arc of its own colour (attention to the focus)
        color = label_color = arc.color
    xa, xb = ends
    x1, x2 = min(xa, xb), max(xa, xb)
    top = base + direction * height
    radius = min(height * 0.6, (x2 - x1) / 2)
    inside_1 = line.start <= min(arc.a, arc.b) < line.end
    inside_2 = line.start <= max(arc.a, arc.b) < line.end
    codes, verts = [], []
    if inside_1:
        codes += [Path.MOVETO, Path.LINETO, Path.CURVE3, Path.CURVE3]
        verts += [
            (x1, base),
            (x1, top - direction * radius),
            (x1, top),
            (x1 + radius, top),
        ]
    else:
        codes += [Path.MOVETO]
        verts += [(x1, top)]
    if inside_2:
        codes += [Path.LINETO, Path.CURVE3, Path.CURVE3, Path.LINETO]
        verts += [(x2 - radius, top), (x2, top), (x2, top - direction * radius), (x2, base)]
    else:
        codes += [Path.LINETO]
        verts += [(x2, top)]
    ax.add_patch(
        PathPatch(
            Path(verts, codes),
            fill=False,
            edgecolor=color,
            linewidth=width,
            alpha=alpha,
            capstyle="butt",
            joinstyle="round",
            zorder=1,
            gid=f"{arc.gid}{suffix}",
        )
    )
    if line.start <= arc.b < line.end:
        tip_x = xb
        size = max(width * 1.6, label_size * 0.45, 2.5)
        ax.add_patch(
            Polygon(
                [
                    (tip_x - size / 2, base + direction * size),
                    (tip_x + size / 2, base + direction * size),
                    (tip_x, base),
                ],
                closed=True,
                facecolor=color,
                edgecolor="none",
                alpha=alpha,
                zorder=1,
                gid=f"{arc.gid.replace('arc', 'arrow')}{suffix}",
            )
        )
    left = x1 + (radius if inside_1 else 0.0)
    right = x2 - (radius if inside_2 else 0.0)
    if label_size and (not fit_labels or _fits(arc.label, label_size, right - left)):
        ax.text(
            (left + right) / 2,
            top,
            arc.label,
            fontsize=label_size,
            ha="center",
            va="center_baseline",
            color=label_color or (color if direction < 0 else "#222222"),
            zorder=2,
            parse_math=False,
            gid=f"{arc.gid.replace('arc', 'label')}{suffix}",
            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none"},
        )


def _fits(label: str, size: float, room: float) -> bool:
    """Whether ``label`` at ``size`` points fits a flat top ``room`` points long."""
    from trfviz.figures.layout import measure_text

    return measure_text(label, size) + size * 0.4 <= room
