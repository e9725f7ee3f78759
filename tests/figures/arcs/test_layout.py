"""The arcs figure's geometry as plain maths: a fake text measure, no drawing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from trfviz.figures.arcs.layout import (
    ATT_STEP_FLOOR,
    DEP_STEP_FLOOR,
    ArcScene,
    DrawnArc,
    arc_ends,
    layout_scene,
    line_levels,
)
from trfviz.figures.arcs.selection import fit_height, fit_note, format_weight
from trfviz.figures.arcs.vertical import (
    DEEPEST_WORD,
    VERTICAL_PITCH,
    shorten,
    vertical_capacity,
    vertical_columns,
    vertical_margin,
)
from trfviz.figures.layout import measure_text


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
    layout = layout_scene(scene(words, arcs), font=10.0, wrap=3.0, measure=measure, upright=False)
    assert len(layout.lines) > 1 and layout.columns is None
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


def _nested(n: int = 8) -> ArcScene:
    """Arcs from word 0 to every other word: ``n - 1`` nested levels, labelled weights below."""
    words = [f"w{i}" for i in range(n)]
    deps = [dep(0, i) for i in range(1, n)]
    att = [DrawnArc(0, i, f".{i:02d}", f"att-arc-0-{i}", i / 100) for i in range(1, n)]
    return scene(words, deps, att_arcs=att, source=0, show_weights=True)


def test_levels_squeeze_to_a_height_and_no_closer_than_labels_allow() -> None:
    natural = layout_scene(_nested(), font=10.0, wrap=None, measure=measure)
    assert natural.squeeze == 1.0
    target = natural.height * 0.85
    squeezed = layout_scene(_nested(), font=10.0, wrap=None, measure=measure, max_height=target)
    assert squeezed.height == pytest.approx(target, abs=0.5) and squeezed.height <= target
    assert squeezed.dep_step < natural.dep_step and squeezed.att_step < natural.att_step
    assert squeezed.squeeze < 1.0
    # Only the spacing changes: words, lines and levels stay where they were.
    np.testing.assert_allclose(squeezed.lines[0].x, natural.lines[0].x)
    assert squeezed.lines[0].dep_levels == natural.lines[0].dep_levels
    # Asked for less than the floors allow, the levels stop at them and the layout stays taller.
    tight = layout_scene(_nested(), font=10.0, wrap=None, measure=measure, max_height=10.0)
    assert tight.dep_step == pytest.approx(tight.small * DEP_STEP_FLOOR)
    assert tight.att_step == pytest.approx(tight.small * ATT_STEP_FLOOR)
    assert tight.height > 10.0
    # A label (a small font high, weights 0.85 of one) clears the label a level below it.
    assert tight.dep_step > tight.small * 1.17 and tight.att_step > tight.small * 0.85 * 1.17


def test_the_weakest_arcs_are_left_out_only_as_far_as_needed() -> None:
    whole = _nested()
    weights = {a.gid: a.weight for a in whole.att_arcs}
    floor = layout_scene(whole, font=10.0, wrap=None, measure=measure, max_height=1.0)
    # Just under the squeezed height: leaving out the weakest arc or two is enough.
    target = floor.height - 0.5
    fitted, layout, cut = fit_height(whole, 10.0, None, target, weights, measure)
    assert cut is not None and layout.height <= target
    kept = {a.gid for a in fitted.att_arcs}
    assert kept == {g for g, w in weights.items() if w > cut}  # one cut, weakest first
    assert 0 < len(whole.att_arcs) - len(kept) < len(whole.att_arcs)
    assert fitted.dep_arcs == whole.dep_arcs  # the parse is never thinned
    assert fitted.note_lines == 2  # a line to say so, under the weights' note
    # Leaving out one arc fewer would not fit.
    more = [a for a in whole.att_arcs if weights[a.gid] >= cut]
    fuller = dataclasses.replace(whole, att_arcs=more, note_lines=2)
    assert layout_scene(fuller, 10.0, None, measure, max_height=target).height > target
    # Room enough: nothing is left out; no room at all: nothing either (a window is needed).
    assert fit_height(whole, 10.0, None, floor.height + 1, weights, measure)[2] is None
    same, _, none = fit_height(whole, 10.0, None, 5.0, weights, measure)
    assert none is None and same == whole


def test_fit_note_says_the_cut_in_the_room_it_has() -> None:
    assert fit_note(0.071, 400, 7) == "attention ≤ .07 not drawn, to fit the height"
    short = fit_note(0.071, 60, 7)
    assert ".07" in short and measure_text(short, 7) <= 60


def test_an_open_arcs_label_may_run_over_the_lines_own_words() -> None:
    words = [f"w{i}" for i in range(8)]
    label = "a-rather-long-label"

    def first_x(arc: DrawnArc) -> float:
        layout = layout_scene(scene(words, [arc], window=(2, 7)), 10.0, None, measure)
        return float(layout.lines[0].x[0])

    room = measure(label, 10.0 * 0.78) + 10.0 * 0.78 * 1.6
    near, far = first_x(dep(0, 2, label)), first_x(dep(0, 6, label))
    assert near >= room  # ending at the line's first word: the whole label before it
    assert far < near  # ending further in: half its run over the words counts


def test_words_too_wide_for_one_line_stand_upright_in_equal_columns() -> None:
    words = [f"word{i}" for i in range(30)]
    arcs = [dep(i, i + 1) for i in range(29)]
    flat = layout_scene(scene(words[:4], arcs[:3]), font=10.0, wrap=3.0, measure=measure)
    assert flat.columns is None  # four words fit lying down
    layout = layout_scene(scene(words, arcs), font=10.0, wrap=3.0, measure=measure)
    (line,) = layout.lines  # one line, one word axis
    assert layout.columns is not None and layout.width <= 3.0 * 72 + 1e-6
    pitch = np.diff(line.x)
    assert np.allclose(pitch, pitch[0])  # equal columns, a word each
    assert pitch[0] >= layout.word_font * VERTICAL_PITCH - 1e-9
    # The word block is as deep as the longest word (bold, for the focus) written upright.
    assert -layout.block_bottom >= measure("word29", layout.word_font, "bold")


def test_upright_words_are_shortened_only_to_fit_a_height() -> None:
    words = ["internationalisation", *(f"w{i}" for i in range(40))]
    arcs: list[DrawnArc] = []  # no levels to squeeze: only the words can give height
    roomy = layout_scene(scene(words, arcs), font=10.0, wrap=6.9, measure=measure)
    assert roomy.columns is not None
    deepest = roomy.columns.font * DEEPEST_WORD
    assert roomy.columns.labels[0] == shorten(words[0], deepest, measure, roomy.columns.font)
    assert roomy.columns.labels[1:] == tuple(words[1:])  # short words are never cut
    tight = layout_scene(
        scene(words, arcs), font=10.0, wrap=6.9, measure=measure, max_height=roomy.height - 5
    )
    assert tight.columns is not None and tight.columns.labels[0].endswith("…")
    assert len(tight.columns.labels[0]) < len(roomy.columns.labels[0])
    assert tight.height < roomy.height


def test_vertical_capacity_is_the_most_words_at_the_smallest_size() -> None:
    for width in (3.3, 6.9):
        fits = vertical_capacity(9.0, width, 6.0)
        usable = width * 72 - 2 * vertical_margin(9.0)
        assert fits * 6.0 * VERTICAL_PITCH <= usable < (fits + 1) * 6.0 * VERTICAL_PITCH
        columns = vertical_columns(["w"] * fits, 9.0, width * 72, measure)
        assert columns.font >= 6.0 - 1e-9
        assert vertical_columns(["w"] * (fits + 1), 9.0, width * 72, measure).font < 6.0
