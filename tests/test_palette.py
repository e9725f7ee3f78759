"""The one palette: scales, entities, and the same colours for figures and the widget."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

from trfviz.naming import model_slug, short_model_name
from trfviz.optional import MissingDependencyError, require
from trfviz.palette import (
    SCALES,
    colormap,
    entity_color,
    palette_payload,
    scale_color,
)


@pytest.mark.parametrize("scale", list(SCALES))
def test_scale_ends_are_its_first_and_last_stops(scale) -> None:
    assert scale_color(scale, 0.0) == SCALES[scale][0]
    assert scale_color(scale, 1.0) == SCALES[scale][-1]
    assert scale_color(scale, -3.0) == SCALES[scale][0]  # clipped
    assert scale_color(scale, 7.0) == SCALES[scale][-1]


@pytest.mark.parametrize("scale", list(SCALES))
def test_matplotlib_colormap_passes_through_the_same_stops(scale) -> None:
    cmap = colormap(scale)
    stops = SCALES[scale]
    for i, stop in enumerate(stops):
        x = i / (len(stops) - 1)
        # matplotlib samples the map at 256 levels: within 3/255 of each stop.
        assert _close(to_hex(cmap(x)), stop, tolerance=3)
        assert scale_color(scale, x) == stop


def test_interpolation_halfway_between_two_stops() -> None:
    # Halfway between Blues' first two stops, channel by channel.
    x = 0.5 / (len(SCALES["sequential"]) - 1)
    assert scale_color("sequential", x) == "#eaf3fb"  # (0xf7 + 0xde) / 2 = 234.5 → 234


def test_diverging_scale_is_white_at_zero() -> None:
    assert scale_color("diverging", 0.5) == "#f7f7f7"


def test_unknown_scale_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="sequential"):
        scale_color("rainbow", 0.3)  # type: ignore[arg-type]


def test_entities_and_payload() -> None:
    assert entity_color("ORG") == "#7aecec"
    assert entity_color("ORG", {"ORG": "#000000"}) == "#000000"
    assert entity_color("SOMETHING") == "#dddddd"
    payload = palette_payload()
    assert payload["scales"]["diverging"] == list(SCALES["diverging"])
    assert payload["entities"]["PERSON"] == "#aa9cfc"


def test_model_names() -> None:
    assert short_model_name("sentence-transformers/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2"
    assert short_model_name("C:\\models\\bert\\") == "bert"
    assert short_model_name("plain") == "plain"
    assert model_slug("a/b c") == "a--b--c"
    assert model_slug("///") == "model"


def test_missing_optional_dependency_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"trfviz\[views\]"):
        require("no_such_module_trfviz", extra="views")


def _close(a: str, b: str, *, tolerance: int) -> bool:
    ra = np.array([int(a[i : i + 2], 16) for i in (1, 3, 5)])
    rb = np.array([int(b[i : i + 2], 16) for i in (1, 3, 5)])
    return bool(np.abs(ra - rb).max() <= tolerance)
