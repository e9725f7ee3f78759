"""The logit-lens panel in the explorer's export: one table per model shown with a lens.

While the explorer shows its logit-lens panel (:attr:`trfviz.view.ViewSpec.logit_lens`)
the exported figure holds it too, under the sentence and the heatmaps: each
model's layers × words table drawn by :func:`trfviz.figures.plot_logit_lens`,
shaded as on screen, over the words the view shows (at a paper preset as many
as fit, centred on the focus, as the panel centres its window on it). At a
preset the table shows at most :data:`LENS_LAYERS` layers (every n-th, the last
kept) and is added under the view, which is laid out as without it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from trfviz.naming import short_model_name
from trfviz.view import ViewSpec

if TYPE_CHECKING:
    from trfviz.measures.logit_lens import SentenceLogitLens

__all__ = ["LensPart", "lens_parts"]

#: The most layers the exported table shows at a preset (every n-th, the last kept).
LENS_LAYERS = 8

#: ``(width, height, draw)``: inches, and what draws the table into a subfigure.
LensPart = tuple[float, float, Callable[[Any], None]]


def lens_parts(
    spec: ViewSpec, lenses: Mapping[str, SentenceLogitLens] | None, preset: str | None
) -> list[LensPart]:
    """The logit-lens tables ``spec`` shows, one per model shown with a lens (none if off).

    Raises:
        ValueError: the spec shows the logit lens but no model it shows has one given.
    """
    from trfviz.figures.logit_lens import logit_lens_layout, plot_logit_lens

    if spec.logit_lens is None:
        return []
    shown = [(key, lens) for key, lens in (lenses or {}).items() if key in spec.models]
    if not shown:
        raise ValueError(
            f"the view shows the logit lens but none was given for {list(spec.models)}: pass "
            "lenses={model key: SentenceLogitLens}, or a spec with logit_lens=None"
        )
    centre = spec.focus
    if centre is None and spec.window is not None:
        centre = (spec.window[0] + spec.window[1]) // 2
    parts: list[LensPart] = []
    for key, lens in shown:
        title = f"{short_model_name(key)}: logit lens (each layer's next-word guess)"
        window, layers, width, height = logit_lens_layout(
            lens,
            focus=centre,
            window=spec.window if preset is None else None,
            preset=preset,
            title=title,
            max_layers=LENS_LAYERS if preset is not None else None,
        )

        def draw(
            part: Any,
            lens: Any = lens,
            window: Any = window,
            layers: Any = layers,
            title: str = title,
        ) -> None:
            _, ax = plot_logit_lens(
                lens,
                color_by=spec.logit_lens or "top",
                window=window,
                layers=layers,
                ax=part.subplots(),
                title=title,
                preset=preset,
            )
            if spec.focus is not None and window[0] <= spec.focus < window[1]:
                # The focused word, as the panel outlines its column.
                ax.get_xticklabels()[spec.focus - window[0]].set_fontweight("bold")

        parts.append((width, height, draw))
    return parts
