"""The arcs figure's geometry as plain maths: a fake text measure, no drawing."""

from __future__ import annotations

import numpy as np
import pytest

from trfviz.figures.arcs.layout import (
    ArcScene,
    DrawnArc,
    arc_ends,
    format_weight,
    layout_scene,
    line_levels,
)


def measure(text: str, size: float, weight: str = "normal") -> float:
    """Every character half the font size wide (bold a little wider)."""
    return len(text) * size * (0.6 if weight == "bold" else 0.5)


def dep(head: int, dependent: int, label: str = "dep") -> DrawnArc:
    return DrawnArc(head, dependent, label, f"dep-arc-{head}-{dependent}")


def scene(words, arcs=(), **kwargs) -> ArcScene:
    values = {
        "tags": (),
        "dep_arcs": tuple(arcs),
        "att_arcs": (),
        "entities": (),
        "window": (0, len(words)),
        "source": None,
        "show_weights": False,
    }
    values.update(kwargs)
    return ArcScene(words=tuple(words), **values)


def test_words_never_overlap_and_labels_fit_on_short_arcs() -> None:
    words = ["a", "verylongword", "b", "c"]
    arcs = [dep(0, 1, "a-long-label"), dep(2, 3, "x")]
    layout = layout_scene(scene(words, arcs), font=10.0, wrap=None, measure=measure)
    (line,) = layout.lines
    widths = layout.widths
    for i in range(len(words) - 1):
        assert line.x[i + 1] - line.x[i] >= (widths[i] + widths[i + 1]) / 2
    room = measure("a-long-label", layout.small) + layout.small * 1.6
    assert line.x[1] - line.x[0] >= room


def test_wrapped_lines_cover_the_window_in_order_and_fit() -> None:
    words = [f"word{i}" for i in range(30)]
    arcs = [dep(i, i + 1) for i in range(29)]
    layout = layout_scene(scene(words, arcs), font=10.0, wrap=3.0, measure=measure)
    assert len(layout.lines) > 1
    assert layout.lines[0].start == 0
    for before, after in zip(layout.lines, layout.lines[1:], strict=False):
        assert before.end == after.start and after.y < before.y
    assert layout.lines[-1].end == 30
    assert layout.width <= 3.0 * 72 + 1e-6
    ends = [line.end - line.start for line in layout.lines]
    assert max(ends) - min(ends) <= max(ends) // 2 + 1  # balanced, not one long and one stub


def test_window_lays_out_only_its_tokens() -> None:
    words = [f"w{i}" for i in range(8)]
    layout = layout_scene(scene(words, window=(2, 5)), font=10.0, wrap=None, measure=measure)
    (line,) = layout.lines
    assert (line.start, line.end) == (2, 5) and len(line.x) == 3
    assert line.x_of(0) == line.left and line.x_of(7) == line.right


def test_line_levels_clip_arcs_leaving_the_line() -> None:
    arcs = [dep(0, 5), dep(3, 4), dep(6, 7)]
    levels = line_levels(arcs, 3, 6)
    assert set(levels) == {"dep-arc-0-5", "dep-arc-3-4"}
    assert levels["dep-arc-3-4"] < levels["dep-arc-0-5"]


def test_arcs_meeting_at_a_word_leave_from_distinct_points() -> None:
    words = ["a", "b", "c", "d"]
    arcs = [dep(0, 1), dep(0, 2), dep(0, 3), dep(3, 2)]
    layout = layout_scene(scene(words, arcs), font=10.0, wrap=None, measure=measure)
    (line,) = layout.lines
    ends = arc_ends(arcs, line.dep_levels, layout, line)
    starts = [ends[a.gid][0] for a in arcs[:3]]
    # All leave word 0 rightwards, from its right half; higher arcs nearer its centre.
    assert all(x > line.x_of(0) for x in starts)
    assert starts[0] > starts[1] > starts[2]
    # At word 3, the arc to the left leaves from its left half.
    assert ends["dep-arc-3-2"][0] < line.x_of(3)


@pytest.mark.parametrize(("weight", "text"), [(0.25, ".25"), (1.0, "1.00"), (0.0, ".00")])
def test_format_weight(weight: float, text: str) -> None:
    assert format_weight(weight) == text


def test_a_second_models_arcs_lift_the_parse_into_its_own_band() -> None:
    words = ["a", "b", "c", "d"]
    above = [
        DrawnArc(1, 3, ".40", "above-att-arc-1-3", 0.4),
        DrawnArc(1, 2, ".30", "above-att-arc-1-2", 0.3),
    ]
    plain = layout_scene(scene(words, [dep(1, 0)]), font=10.0, wrap=None, measure=measure)
    lifted = layout_scene(
        scene(words, [dep(1, 0)], above_arcs=above), font=10.0, wrap=None, measure=measure
    )
    (line,), (two,) = plain.lines, lifted.lines
    assert line.dep_lift == 0.0 and not line.above_levels
    assert two.above_levels == {"above-att-arc-1-3": 2, "above-att-arc-1-2": 1}
    # The parse starts above the second level of arcs, clear of it.
    assert two.dep_lift == pytest.approx(2 * lifted.att_step + lifted.small * 1.2)
    assert lifted.height == pytest.approx(plain.height + two.dep_lift)
    np.testing.assert_allclose(two.x, line.x)  # the words stay where they were
