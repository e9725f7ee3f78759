"""The one palette every view uses: figures, HTML and the notebook widget.

Colours are plain hex strings here, so the widget receives exactly the stops the
figures interpolate (``palette_payload`` for the browser, ``colormap`` for
matplotlib): the same weight has the same colour on screen and in a paper.

- **Scales** (:data:`SCALES`): ``sequential`` for weights in [0, 1] (ColorBrewer
  Blues), ``diverging`` for signed values such as differences and attributions
  (ColorBrewer PuOr, purple for negative, orange for positive, white at 0), and
  ``score`` for per-head scores (viridis).
- **Entities** (:data:`ENTITY_COLORS`): displaCy's colours, so an entity looks the
  same in trfviz as in displaCy.
- **Heads** (:data:`HEAD_COLORS`): a categorical set, one colour per head when
  all heads of a layer are overlaid (cycled past its length).
- **Marks**: attention arcs, dependency arcs, the focused word's outgoing and
  incoming attention, and the three kinds of wordpiece.

>>> entity_color("PERSON"), entity_color("NOT_A_LABEL")
('#aa9cfc', '#dddddd')
>>> scale_color("sequential", 0.0), scale_color("sequential", 1.0)
('#f7fbff', '#08306b')
>>> scale_color("diverging", 0.5)
'#f7f7f7'
>>> head_color(0) == HEAD_COLORS[0] == head_color(len(HEAD_COLORS))
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "ATTENTION_COLOR",
    "DEFAULT_ENTITY_COLOR",
    "DEPENDENCY_COLOR",
    "ENTITY_COLORS",
    "FROM_COLOR",
    "HEAD_COLORS",
    "NO_DATA_COLOR",
    "PIECE_COLORS",
    "SCALES",
    "TO_COLOR",
    "ScaleName",
    "colormap",
    "entity_color",
    "head_color",
    "palette_payload",
    "scale_color",
]

ScaleName = Literal["sequential", "diverging", "score"]

#: Colour stops of each scale, from its lowest value to its highest.
SCALES: Mapping[ScaleName, tuple[str, ...]] = {
    # ColorBrewer Blues, 9 classes.
    "sequential": (
        "#f7fbff",
        "#deebf7",
        "#c6dbef",
        "#9ecae1",
        "#6baed6",
        "#4292c6",
        "#2171b5",
        "#08519c",
        "#08306b",
    ),
    # ColorBrewer PuOr, 9 classes, negative (purple) to positive (orange).
    "diverging": (
        "#542788",
        "#8073ac",
        "#b2abd2",
        "#d8daeb",
        "#f7f7f7",
        "#fee0b6",
        "#fdb863",
        "#e08214",
        "#b35806",
    ),
    # viridis, 8 stops.
    "score": (
        "#440154",
        "#46327e",
        "#365c8d",
        "#277f8e",
        "#1fa187",
        "#4ac16d",
        "#a0da39",
        "#fde725",
    ),
}

#: One colour per head when a layer's heads are overlaid: Tableau 10, then the two
#: darkest distinct ColorBrewer Paired hues; head ``h`` takes ``HEAD_COLORS[h % 12]``.
HEAD_COLORS: tuple[str, ...] = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
    "#6a3d9a",
    "#b15928",
)

#: displaCy's default entity colours (``spacy.displacy.render.DEFAULT_LABEL_COLORS``).
ENTITY_COLORS: Mapping[str, str] = {
    "ORG": "#7aecec",
    "PRODUCT": "#bfeeb7",
    "GPE": "#feca74",
    "LOC": "#ff9561",
    "PERSON": "#aa9cfc",
    "NORP": "#c887fb",
    "FAC": "#9cc9cc",
    "EVENT": "#ffeb80",
    "LAW": "#ff8197",
    "LANGUAGE": "#ff8197",
    "WORK_OF_ART": "#f0d0ff",
    "DATE": "#bfe1d9",
    "TIME": "#bfe1d9",
    "MONEY": "#e4e7d2",
    "QUANTITY": "#e4e7d2",
    "ORDINAL": "#e4e7d2",
    "CARDINAL": "#e4e7d2",
    "PERCENT": "#e4e7d2",
}

#: displaCy's colour for labels it has no colour for.
DEFAULT_ENTITY_COLOR = "#dddddd"

#: Colours of the three kinds of wordpiece in the aligned-tokenization view.
PIECE_COLORS: Mapping[str, str] = {
    "whole": "#e8e8e8",  # one piece is one spaCy token
    "split": "#b9d7f0",  # one of several pieces of a spaCy token
    "shared": "#f7c68b",  # a piece covering several spaCy tokens (many-to-many)
}

#: Attention arcs, and dependency arcs of the parse.
ATTENTION_COLOR = "#1f5fa8"
DEPENDENCY_COLOR = "#333333"

#: Attention from the focused word, and attention to it.
FROM_COLOR = "#1d4ed8"
TO_COLOR = "#c2410c"

#: A cell with no value (NaN): a difference row with no weight left to compare.
NO_DATA_COLOR = "#bdbdbd"


def entity_color(label: str, colors: Mapping[str, str] | None = None) -> str:
    """The colour of an entity label (``colors`` overrides the defaults)."""
    if colors and label in colors:
        return colors[label]
    return ENTITY_COLORS.get(label, DEFAULT_ENTITY_COLOR)


def head_color(head: int) -> str:
    """The overlay colour of head ``head`` (the categorical set cycled)."""
    return HEAD_COLORS[int(head) % len(HEAD_COLORS)]


def scale_color(scale: ScaleName, x: float) -> str:
    """The hex colour at ``x`` in [0, 1] along ``scale``, interpolated linearly in RGB."""
    stops = _stops(scale)
    x = min(max(float(x), 0.0), 1.0) * (len(stops) - 1)
    low = min(int(x), len(stops) - 2)
    t = x - low
    a, b = _rgb(stops[low]), _rgb(stops[low + 1])
    return "#" + "".join(f"{round(p + (q - p) * t):02x}" for p, q in zip(a, b, strict=True))


def colormap(scale: ScaleName) -> Any:
    """A matplotlib colormap through the stops of ``scale`` (named ``trfviz-<scale>``).

    NaN ("no data", e.g. a difference's row with nothing left to compare) is drawn in
    :data:`NO_DATA_COLOR`, as the widget draws it.
    """
    from matplotlib.colors import LinearSegmentedColormap

    cmap = LinearSegmentedColormap.from_list(f"trfviz-{scale}", list(_stops(scale)), N=256)
    return cmap.with_extremes(bad=NO_DATA_COLOR)


def palette_payload() -> dict[str, Any]:
    """The palette as plain JSON-able data, for the widget's front end."""
    return {
        "scales": {name: list(stops) for name, stops in SCALES.items()},
        "entities": dict(ENTITY_COLORS),
        "default_entity": DEFAULT_ENTITY_COLOR,
        "pieces": dict(PIECE_COLORS),
        "heads": list(HEAD_COLORS),
        "attention": ATTENTION_COLOR,
        "dependency": DEPENDENCY_COLOR,
        "from": FROM_COLOR,
        "to": TO_COLOR,
        "no_data": NO_DATA_COLOR,
    }


def _stops(scale: ScaleName) -> tuple[str, ...]:
    try:
        return SCALES[scale]
    except KeyError:
        names = ", ".join(map(repr, SCALES))
        raise ValueError(f"unknown colour scale {scale!r}; choose one of {names}") from None


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
