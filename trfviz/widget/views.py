"""The explorer's current view as a :class:`~trfviz.view.ViewSpec`, and that view exported.

:class:`ExplorerViews` (a mixin of :class:`~trfviz.widget.AttentionExplorer`)
reads the widget's traits into one :class:`~trfviz.view.ViewSpec` (what is on
screen: models, layers, heads, measure, focus, specials, scales, hidden heads,
zoom) and hands it with the sentence's data to :mod:`trfviz.widget.export`, so
the exported figure is the view.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trfviz.extraction import SentenceExtraction
from trfviz.parse import SentenceParse
from trfviz.view import ViewSpec
from trfviz.widget.export import (
    ExplorerView,
    compose_view,
    draw_view,
    head_spec,
    layer_spec,
    save_view,
)
from trfviz.widget.measures import as_extraction

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ExplorerViews"]


class ExplorerViews:
    """The explorer's view as a spec, and its export (a mixin; ``self`` is the explorer)."""

    def view_spec(self: Any) -> ViewSpec:
        """The current view as a :class:`~trfviz.view.ViewSpec` (what export draws)."""
        choices = self._choices()
        keys = self._shown_keys()
        heads = tuple(head_spec(choices[key][1]) for key in keys)
        return ViewSpec(
            models=tuple(keys),
            layers=tuple(layer_spec(choices[key][0]) for key in keys),
            heads=heads,
            sentence=self.sentence,
            mode="difference" if self.mode == "difference" and len(keys) == 2 else "attention",
            focus=self.selected if self.selected >= 0 else None,
            threshold=self.threshold,
            show_parse=self.show_parse,
            show_entities=self.show_entities,
            show_heatmap=self.show_heatmap,
            exclude_sink=self.exclude_sink,
            shared_range=not self.per_model_scale,
            window=self._word_window(),
            hidden_heads=tuple(
                tuple(self.hidden_heads.get(key, ())) if head == "all" else ()
                for key, head in zip(keys, heads, strict=True)
            ),
            compact=self.compact,
            special_tokens=self.special_tokens,
            measure=self.measure,
            logit_lens=(
                self.logit_lens_color
                if self.show_logit_lens and any(k in self._lens_data for k in keys)
                else None
            ),
            show_grid=self.show_grid,
            grid_score=self.grid_score,
        )

    def _word_window(self: Any) -> tuple[int, int] | None:
        """The zoom window over the words (the axis's special-token columns left out)."""
        if self.window is None:
            return None
        n = len(self._parses[self.sentence].words)
        start = min(self.window[0], n - 1)
        end = max(min(self.window[1], n), start + 1)
        return None if (start, end) == (0, n) else (start, end)

    def _view_data(
        self: Any, spec: ViewSpec
    ) -> tuple[SentenceParse, dict[str, SentenceExtraction]]:
        """The sentence's parse and per model its extraction, holding the measure drawn."""
        index = spec.sentence
        sentences = {key: self._extractions[key][index] for key in spec.models}
        if spec.measure != "attention":
            values = self._measure_values[spec.measure]
            sentences = {k: as_extraction(s, values[k][index]) for k, s in sentences.items()}
        return self._parses[index], sentences

    def _view_lenses(self: Any, spec: ViewSpec) -> dict[str, Any]:
        """Per model shown with a logit lens, its sentence's lens (while the panel is shown)."""
        if spec.logit_lens is None:
            return {}
        data = self._lens_data
        return {key: data[key][spec.sentence] for key in spec.models if key in data}

    def get_view(self: Any) -> ExplorerView:
        """The current view at full precision (what :meth:`save_figure` draws)."""
        spec = self.view_spec()
        return compose_view(spec, *self._view_data(spec))

    # -- export -----------------------------------------------------------------------------

    def save_figure(
        self: Any, path: str | os.PathLike[str] | None = None, *, preset: str = "two-column"
    ) -> Path:
        """The path the current view was saved to, as a paper figure (PDF, SVG, PNG or PGF).

        Draws exactly what is shown (the sentence, model(s), layer, head, mode,
        the selected token, the line threshold, the parse and entity toggles,
        the zoom window, the heads hidden from the overlay, the colour scales, the
        logit-lens panel)
        from :meth:`view_spec` with :func:`trfviz.widget.export.save_view`, at the
        ``preset``'s width (``"one-column"``, ``"two-column"``, ``"slide"``).
        Without a path the file goes to ``trfviz-output/`` with a name that
        says what it shows. The widget's "Export figure" button calls this with
        :attr:`export_path` and :attr:`export_preset`.
        """
        spec = self.view_spec()
        parse, sentences = self._view_data(spec)
        return save_view(
            spec,
            parse,
            sentences,
            path,
            scores=self._scores,
            preset=preset,
            lenses=self._view_lenses(spec),
        )

    def export(
        self: Any, path: str | os.PathLike[str] | None = None, *, preset: str = "two-column"
    ) -> Path:
        """The path the view on screen was written to (``explorer.export("fig.pdf")``).

        The same as :meth:`save_figure`: the figure is drawn from :meth:`view_spec`.
        """
        return self.save_figure(path, preset=preset)

    def draw_figure(self: Any, *, preset: str | None = None) -> Figure:
        """A matplotlib Figure of the current view (:func:`trfviz.widget.export.draw_view`)."""
        spec = self.view_spec()
        return draw_view(
            spec,
            *self._view_data(spec),
            scores=self._scores,
            preset=preset,
            lenses=self._view_lenses(spec),
        )
