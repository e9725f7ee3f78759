"""One description of a view: which attention (or measure) of which models, and how drawn.

A :class:`ViewSpec` is plain, frozen data that the notebook widget produces from
its state (:meth:`trfviz.widget.AttentionExplorer.view_spec`) and that the
export path draws from, so "what is on screen" and "what goes in the paper" are
one value. It names models by key and holds no arrays: the data it points at
(the sentence's parse and extractions) travels beside it.

>>> spec = ViewSpec(models=("MiniLM",), layers=(3,), heads=(None,), focus=2)
>>> spec.mode, spec.scale, spec.comparing
('attention', 'sequential', False)
>>> ViewSpec(models=("A", "B"), layers=(0, 5), heads=(1, 1), mode="difference").scale
'diverging'
>>> both = ViewSpec(models=("A", "B"), layers=(0, 0), heads=("all", "all"))
>>> both.hidden_heads, ViewSpec(**{**both.__dict__, "hidden_heads": [[3, 1], ()]}).hidden_heads
(((), ()), ((1, 3), ()))
>>> ViewSpec(models=("A",), layers=(None,), heads=(0,), measure="attributions").scale
'diverging'
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from trfviz.palette import SCALES, ScaleName
from trfviz.validation import check_bool, check_choice, check_int

__all__ = [
    "DISTRIBUTIONS",
    "MEASURES",
    "MEASURE_LABELS",
    "SIGNED",
    "WORD_MEASURES",
    "HeadSpec",
    "LayerSpec",
    "ViewMode",
    "ViewSpec",
]

#: A layer index, or None for the mean over layers.
LayerSpec = int | None
#: A head index, None for the mean over the layer's heads, ``"all"`` for every head.
HeadSpec = int | Literal["all"] | None
#: ``"attention"`` draws each model's attention (side by side for two models);
#: ``"difference"`` draws the first model's minus the second's.
ViewMode = Literal["attention", "difference"]

_MODES = ("attention", "difference")

#: What a view can draw: attention weights, or a measure of :mod:`trfviz.measures`.
MEASURES = ("attention", "norms", "rollout", "flow", "attributions")
#: Measures whose query rows are distributions over the keys (they sum to 1): only these
#: have an honest difference view (both rows renormalised over the same words).
DISTRIBUTIONS = frozenset({"attention", "rollout"})
#: Measures with signed values, drawn on a diverging scale symmetric about 0.
SIGNED = frozenset({"attributions"})
#: Measures with one value per word (no query axis): drawn as shaded words.
WORD_MEASURES = frozenset({"attributions"})
#: The name of each measure's values, for colour bars and read-outs.
MEASURE_LABELS = {
    "attention": "attention weight",
    "norms": "attention norm ‖αf(x)‖",
    "rollout": "attention rollout",
    "flow": "attention flow",
    "attributions": "attribution",
}
_SPECIAL_TOKENS = ("keep", "drop")


@dataclass(frozen=True)
class ViewSpec:
    """One view of attention over a sentence, as plain data.

    Attributes:
        models: the model keys shown, one or two (the first is the main model).
        layers: per model, the layer shown (None: the mean over layers).
        heads: per model, the head shown (None: the mean over heads; ``"all"``:
            every head of the layer).
        sentence: index of the sentence shown.
        mode: ``"attention"`` or ``"difference"`` (two models only).
        focus: the token whose attention is traced (index into the sentence), or None.
        threshold: the weight under which attention lines are hidden.
        show_parse: draw the dependency arcs.
        show_entities: draw the named-entity bands.
        show_heatmap: draw the ``[query, key]`` heatmap under the sentence.
        special_tokens: ``"keep"`` special pieces as pseudo-tokens or ``"drop"`` them.
        scale: the palette scale colouring weights (:data:`trfviz.palette.SCALES`);
            by default sequential for attention and diverging for a difference.
        value_range: ``(low, high)`` of the colour scale, or None for the data's
            range (0 to the largest weight shown; symmetric about 0 for a difference).
        shared_range: one range across both models' panels (the default, so equal
            colours mean equal weights); False gives each panel its own, labelled so.
        exclude_sink: for a difference, leave the first word (the attention sink
            of causal models) out with the special tokens before renormalising
            both models' rows over the same words (:mod:`trfviz.widget.compare`).
        window: ``(start, end)``: only words ``start`` to ``end - 1`` are drawn
            (the zoom window, marked in the figure), or None for every word.
        hidden_heads: per model, the heads left out of its overlay of all heads
            (``"all"``): a tuple of head tuples, one per model (``()`` hides none
            for every model).
        measure: what is drawn (:data:`MEASURES`): ``"attention"`` weights, or a
            measure of :mod:`trfviz.measures` (``"norms"``, ``"rollout"``,
            ``"flow"``, ``"attributions"``). Rollout and flow have one "head"
            (flow one "layer" too); attributions one value per word, drawn as
            shaded words on a diverging scale; a difference only for
            distributions (:data:`DISTRIBUTIONS`).
        compact: the sentence shown as text, each word shaded by the attention
            it receives, instead of the arcs.
        logit_lens: the logit-lens panel of the models that have a lens (each
            layer's next-word guess after every word, :mod:`trfviz.measures.logit_lens`),
            its cells shaded by the guess's probability (``"top"``) or by the actual
            next word's (``"next"``); None when it is not shown.
        show_grid: draw each model's head grid (layers × heads) under the heatmaps.
        grid_score: the score filling the head grid (the caller's head scores'
            name, ``"entropy (bits)"``, ``"attention to specials"``, ``"JS
            distance to <model>"``), or ``""`` for the heads' attention.
    """

    models: tuple[str, ...]
    layers: tuple[LayerSpec, ...]
    heads: tuple[HeadSpec, ...]
    sentence: int = 0
    mode: ViewMode = "attention"
    focus: int | None = None
    threshold: float = 0.05
    show_parse: bool = True
    show_entities: bool = True
    show_heatmap: bool = True
    special_tokens: Literal["keep", "drop"] = "keep"
    scale: ScaleName | None = None
    value_range: tuple[float, float] | None = None
    shared_range: bool = True
    exclude_sink: bool = True
    window: tuple[int, int] | None = None
    hidden_heads: tuple[tuple[int, ...], ...] = ()
    compact: bool = False
    measure: str = "attention"
    logit_lens: Literal["top", "next"] | None = None
    show_grid: bool = False
    grid_score: str = ""

    def __post_init__(self) -> None:
        models = tuple(self.models)
        if not 1 <= len(models) <= 2 or not all(isinstance(m, str) and m for m in models):
            raise ValueError(f"models must be one or two model keys (strings); got {models!r}")
        for name, values in (("layers", self.layers), ("heads", self.heads)):
            if len(tuple(values)) != len(models):
                raise ValueError(
                    f"{name} must hold one entry per model ({len(models)}); got {values!r}"
                )
        for layer in self.layers:
            check_int("layer", layer, minimum=0, allow_none=True)
        for head in self.heads:
            if head != "all":
                check_int("head", head, minimum=0, allow_none=True)
        check_int("sentence", self.sentence, minimum=0)
        check_choice("mode", self.mode, _MODES)
        if self.mode == "difference" and len(models) != 2:
            raise ValueError("mode 'difference' needs two models; give a second model key")
        check_int("focus", self.focus, minimum=0, allow_none=True)
        if not isinstance(self.threshold, numbers.Real) or not 0 <= self.threshold <= 1:
            raise ValueError(f"threshold must be a number in [0, 1]; got {self.threshold!r}")
        flags = ("show_parse", "show_entities", "show_heatmap", "shared_range", "exclude_sink")
        for flag in (*flags, "compact", "show_grid"):
            check_bool(flag, getattr(self, flag))
        if self.window is not None:
            if len(tuple(self.window)) != 2:
                raise ValueError(f"window must be (start, end); got {self.window!r}")
            start, end = (check_int("window", x, minimum=0) for x in self.window)
            if not start < end:
                raise ValueError(f"window must be (start, end), start < end; got {self.window!r}")
            object.__setattr__(self, "window", (start, end))
        object.__setattr__(self, "hidden_heads", _hidden_heads(self.hidden_heads, len(models)))
        if not isinstance(self.grid_score, str):
            raise ValueError(
                f"grid_score must be a score's name (a string); got {self.grid_score!r}"
            )
        check_choice("special_tokens", self.special_tokens, _SPECIAL_TOKENS)
        check_choice("measure", self.measure, MEASURES)
        if self.logit_lens is not None:
            check_choice("logit_lens", self.logit_lens, ("top", "next"))
        if self.mode == "difference" and self.measure not in DISTRIBUTIONS:
            raise ValueError(
                f"mode 'difference' compares distributions ({sorted(DISTRIBUTIONS)}); "
                f"{self.measure!r} is not one: show the models side by side instead"
            )
        signed = self.mode == "difference" or self.measure in SIGNED
        scale = self.scale or ("diverging" if signed else "sequential")
        check_choice("scale", scale, tuple(SCALES))
        if self.value_range is not None:
            low, high = (float(x) for x in self.value_range)
            if not low < high:
                raise ValueError(f"value_range must be (low, high), low < high; got {low, high}")
            object.__setattr__(self, "value_range", (low, high))
        object.__setattr__(self, "models", models)
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "heads", tuple(self.heads))
        object.__setattr__(self, "scale", scale)

    @property
    def measure_label(self) -> str:
        """The name of the values drawn (the colour bar's label)."""
        return MEASURE_LABELS[self.measure]

    @property
    def comparing(self) -> bool:
        """True when two models are shown (side by side or as a difference)."""
        return len(self.models) == 2

    @property
    def per_model(self) -> tuple[tuple[str, LayerSpec, HeadSpec], ...]:
        """``(model, layer, head)`` for each model shown, in panel order."""
        return tuple(zip(self.models, self.layers, self.heads, strict=True))


def _hidden_heads(value: Iterable[Any], n_models: int) -> tuple[tuple[int, ...], ...]:
    """``hidden_heads`` checked: one sorted tuple of head indices per model."""
    entries: tuple[Any, ...] = tuple(value)
    if not entries:
        return ((),) * n_models
    if len(entries) != n_models or not all(
        isinstance(e, tuple | list | set | frozenset) for e in entries
    ):
        raise ValueError(
            f"hidden_heads must hold one tuple of head indices per model ({n_models}), "
            f"e.g. ((1, 3),) * {n_models}; got {value!r}"
        )
    return tuple(
        tuple(sorted({check_int("hidden head", h, minimum=0) for h in e})) for e in entries
    )
