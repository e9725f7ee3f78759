"""ViewSpec: one description of a view, as checked plain data."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import pytest

from trfviz.view import ViewSpec


def test_defaults_and_derived_scale() -> None:
    one = ViewSpec(models=("a",), layers=(2,), heads=(None,))
    assert (one.mode, one.scale, one.focus, one.comparing) == (
        "attention",
        "sequential",
        None,
        False,
    )
    assert one.per_model == (("a", 2, None),)
    two = ViewSpec(models=["a", "b"], layers=[0, None], heads=["all", 1], mode="difference")  # type: ignore[arg-type]
    assert two.models == ("a", "b") and two.layers == (0, None)  # lists become tuples
    assert (two.scale, two.comparing) == ("diverging", True)
    assert ViewSpec(models=("a",), layers=(0,), heads=(0,), scale="score").scale == "score"
    with pytest.raises(FrozenInstanceError):
        one.focus = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "error", "phrase"),
    [
        ({"models": ()}, ValueError, "one or two model keys"),
        (
            {"models": ("a", "b", "c"), "layers": (0,) * 3, "heads": (0,) * 3},
            ValueError,
            "one or two",
        ),
        ({"layers": (0, 1)}, ValueError, "one entry per model"),
        ({"heads": ()}, ValueError, "one entry per model"),
        ({"layers": (-1,)}, ValueError, "layer must be at least 0"),
        ({"layers": ("mean",)}, TypeError, "layer must be an integer or None"),
        ({"heads": ("mean",)}, TypeError, "head must be an integer or None"),
        ({"mode": "difference"}, ValueError, "needs two models"),
        ({"mode": "side"}, ValueError, "mode must be one of"),
        ({"focus": -1}, ValueError, "focus must be at least 0"),
        ({"threshold": 2.0}, ValueError, "threshold must be a number in"),
        ({"show_parse": "no"}, TypeError, "show_parse must be True or False"),
        ({"special_tokens": "strip"}, ValueError, "special_tokens must be one of"),
        ({"scale": "rainbow"}, ValueError, "scale must be one of"),
        ({"value_range": (1.0, 0.0)}, ValueError, "low < high"),
    ],
)
def test_bad_specs_are_refused(options: dict, error: type[Exception], phrase: str) -> None:
    base: dict = {"models": ("a",), "layers": (0,), "heads": (0,)}
    with pytest.raises(error, match=phrase):
        ViewSpec(**{**base, **options})


def test_two_models_share_one_colour_range_by_default() -> None:
    spec = ViewSpec(models=("a", "b"), layers=(0, 0), heads=(0, 0))
    assert spec.shared_range is True
    assert (
        ViewSpec(models=("a", "b"), layers=(0, 0), heads=(0, 0), shared_range=False).shared_range
        is False
    )
