"""An anywidget explorer of attention per spaCy token, over the parse, for one or more models.

:class:`AttentionExplorer` takes plain data (sentence parses and per-sentence
extractions) and never a model or a ``Doc``; :func:`explore` is the shortcut
from a parsed ``Doc`` and its extractions. Only the current layer is sent to the
browser (see :mod:`trfviz.widget.payload`); the front end lives in
``explorer.js`` and ``explorer.css`` beside this file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets as t

from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.palette import palette_payload
from trfviz.parse import SentenceParse
from trfviz.view import ViewSpec
from trfviz.widget.checks import ExplorerChecks, ExplorerValueError, head_trait, layer_trait
from trfviz.widget.export import (
    ExplorerView,
    ViewPanel,
    compose_view,
    draw_view,
    head_spec,
    layer_spec,
    save_view,
)
from trfviz.widget.fallback import with_fallback
from trfviz.widget.inputs import check_inputs, check_scores, inputs_from_doc
from trfviz.widget.payload import map_layer
from trfviz.widget.state import ExplorerData

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from spacy.tokens import Doc

__all__ = ["AttentionExplorer", "ExplorerValueError", "ExplorerView", "ViewPanel", "explore"]

_HERE = Path(__file__).parent


class AttentionExplorer(ExplorerChecks, ExplorerData, anywidget.AnyWidget):
    """A notebook widget: attention per spaCy token over the parse, for one or more models.

    Choose a model (and a second one side by side or as a difference), a layer
    (or the mean over layers) and a head (or the mean or all heads of the
    layer); hover or click a token to see the attention from and to it and its
    wordpieces; toggle dependency arcs, entities, the heatmap and a grid of
    head thumbnails; move between sentences; export the view as a figure.

    Args:
        sentences: one parse per sentence (:func:`trfviz.parse.parse_doc`).
        extractions: per model key, one :class:`SentenceExtraction` per sentence,
            with attention kept; every model must cover the same spaCy tokens.
        head_scores: optional per model key a float ``[layer, head]`` score
            (dependency accuracy, say) colouring the head grid.
        model: the model shown first (default: the first key).
        compare: a second model key shown beside it, or None.
        **traits: initial values of the other traits (``layer``, ``head``,
            ``sentence``, ``show_parse``...).

    Traits (synced with the browser; set them from Python to drive the widget):
        ``model``, ``compare`` (``""`` for none), ``mode`` (``"side"`` or
        ``"difference"``); ``layer`` (index or ``"mean"``), ``head`` (index,
        ``"mean"`` or ``"all"``); ``compare_layer``/``compare_head`` for the
        second model, which follow ``layer``/``head`` at the same relative depth
        while ``link`` is True; ``sentence``; ``selected`` and ``hovered`` (token
        index, -1 for none); ``show_parse``, ``show_entities``, ``show_heatmap``,
        ``show_grid``; ``threshold`` (lightest attention line drawn); ``compact``,
        ``per_model_scale``, ``window`` (the zoom, ``(start, end)`` or None) and
        ``hidden_heads`` (left out of the overlay of all heads);
        ``export_path``, ``export_preset`` (what the Export button writes) and
        ``status`` (its last result).

    Only the current layer crosses to the browser: all heads of the layer shown
    (and their mean) for each panel, one byte per value, sent when the layer,
    model or sentence changes; the sentence once per sentence; head-grid
    thumbnails only while the grid is shown. The browser draws a head switch (and
    the difference mode) from the layer it holds without waiting for the kernel;
    the ``head`` traits still follow, so Python's state is always the view's.

    Example
    -------
    >>> explorer = AttentionExplorer(parses, {"MiniLM": minilm.sentences})  # doctest: +SKIP
    >>> explorer.layer, explorer.head = 3, "mean"  # doctest: +SKIP
    """

    _esm = _HERE / "explorer.js"
    _css = _HERE / "explorer.css"

    models = t.List(t.Unicode(), read_only=True).tag(sync=True)
    model = t.Unicode().tag(sync=True)
    compare = t.Unicode("").tag(sync=True)
    mode = t.Enum(["side", "difference"], default_value="side").tag(sync=True)
    layer = layer_trait()
    head = head_trait()
    link = t.Bool(True).tag(sync=True)
    compare_layer = layer_trait()
    compare_head = head_trait()
    sentence = t.Int(0).tag(sync=True)
    n_sentences = t.Int(0, read_only=True).tag(sync=True)
    selected = t.Int(-1).tag(sync=True)
    hovered = t.Int(-1).tag(sync=True)
    show_parse = t.Bool(True).tag(sync=True)
    show_entities = t.Bool(True).tag(sync=True)
    show_heatmap = t.Bool(True).tag(sync=True)
    show_grid = t.Bool(False).tag(sync=True)
    threshold = t.Float(0.05, min=0.0, max=1.0).tag(sync=True)
    #: The sentence as wrapping text, each word shaded by the attention it receives
    #: (readable at any length) instead of the arcs.
    compact = t.Bool(False).tag(sync=True)
    #: Each model on its own colour scale (each labelled); default: one scale for both.
    per_model_scale = t.Bool(False).tag(sync=True)
    export_path = t.Unicode("").tag(sync=True)
    export_preset = t.Unicode("two-column").tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    # The difference compares the two models over the same words: specials always left out,
    # the first word too (the attention sink of causal models) while this is on.
    exclude_sink = t.Bool(True).tag(sync=True)
    # The head grid's colouring: a score name from _grid's "scores", or "" for the patterns.
    grid_score = t.Unicode("").tag(sync=True)
    # Heads hidden in the overlay of all heads of a layer (head "all").
    hidden_heads = t.List(t.Int()).tag(sync=True)
    #: The zoom window over the token axis, ``(start, end)`` columns (the words, then the
    #: models' special tokens), or None for all; set by the browser's zoom, or from here.
    window = t.Tuple(t.Int(), t.Int(), default_value=None, allow_none=True).tag(sync=True)
    # The raw wordpiece attention behind the selected word's pooled row (for extractions
    # made with piece_attention=True): the "Wordpieces" toggle.
    show_pieces = t.Bool(False).tag(sync=True)

    # What the browser draws: the sentence (once per sentence), every head of the current
    # layer per panel (per layer change; heads are picked in the browser) and the head
    # grid (only while shown).
    _sentence_data = t.Dict().tag(sync=True)
    _layers = t.Dict().tag(sync=True)
    _grid = t.Dict().tag(sync=True)
    # For a difference: the JS divergence per query word for every head pair of the layers.
    _difference = t.Dict().tag(sync=True)
    # The one palette (trfviz.palette), sent once: the widget colours as the figures do.
    _palette = t.Dict().tag(sync=True)
    # The selected word's wordpieces at the current layers, while show_pieces is on.
    _pieces = t.Dict().tag(sync=True)

    def __init__(
        self,
        sentences: Sequence[SentenceParse],
        extractions: Mapping[str, Sequence[SentenceExtraction]],
        *,
        head_scores: Mapping[str, np.ndarray] | None = None,
        head_score_name: str = "relation accuracy",
        model: str | None = None,
        compare: str | None = None,
        **traits: Any,
    ) -> None:
        self._parses = tuple(sentences)
        self._extractions = {key: tuple(value) for key, value in extractions.items()}
        self._shapes = check_inputs(self._parses, self._extractions)
        self._scores = check_scores(head_scores or {}, self._shapes)
        self._score_name = str(head_score_name)
        keys = list(self._extractions)
        super().__init__()
        with self.hold_sync():
            self.set_trait("models", keys)
            self.set_trait("n_sentences", len(self._parses))
            self._palette = palette_payload()
            self.model = model if model is not None else keys[0]
            if compare:
                self.compare = compare
            if self._scores and "grid_score" not in traits:
                self.grid_score = self._score_name  # the caller's scores fill the grid
            for name, value in traits.items():
                if not self.has_trait(name) or name.startswith("_"):
                    raise TypeError(f"AttentionExplorer got an unexpected option {name!r}")
                setattr(self, name, value)
            self._ready = True
            self._refresh(sentence=True, grid=True)
        self.on_msg(self._on_message)

    # -- reacting to changes (validators: ExplorerChecks; data: ExplorerData) ------------

    @t.observe("model")
    def _on_model(self, change: t.Bunch) -> None:
        old, new = change["old"], change["new"]
        # One message: the browser picks the head from the layer it holds, so it must never
        # see the new model's layer or head before the new model's data.
        with self.hold_sync():
            with self._quiet():
                if old in self._shapes:
                    # Keep the same relative depth; the head mean if the head is gone.
                    self.layer = map_layer(self.layer, self._shapes[old][0], self._shapes[new][0])
                    if isinstance(self.head, int) and self.head >= self._shapes[new][1]:
                        self.head = "mean"
                if self.compare == new:
                    self.compare = ""
            self._refresh(sentence=True, grid=True)

    @t.observe("compare")
    def _on_compare(self, change: t.Bunch) -> None:
        with self.hold_sync():
            with self._quiet():
                if not change["new"] and self.mode == "difference":
                    self.mode = "side"
                if change["new"]:
                    # A new comparison starts from the linked choice, valid for its shape.
                    self.compare_layer, self.compare_head = self._linked_choice()
            self._refresh(sentence=True, grid=True)

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        """Changes traits without sending data for each; the caller refreshes once after."""
        ready, self._ready = getattr(self, "_ready", False), False
        try:
            yield
        finally:
            self._ready = ready

    @t.observe("sentence")
    def _on_sentence(self, change: t.Bunch) -> None:
        with self.hold_sync():
            self.selected = -1
            self.hovered = -1
            self.set_trait("window", None)
            self._refresh(sentence=True, grid=True)

    @t.observe("layer", "head", "mode", "link", "compare_layer", "compare_head")
    def _on_choice(self, change: t.Bunch) -> None:
        self._refresh()

    @t.observe("show_grid")
    def _on_grid(self, change: t.Bunch) -> None:
        self._refresh(view=False, grid=True)

    @t.observe("show_pieces", "selected")
    def _on_pieces(self, change: t.Bunch) -> None:
        if getattr(self, "_ready", False):
            self._update_pieces()

    @t.observe("exclude_sink")
    def _on_sink(self, change: t.Bunch) -> None:
        self._refresh(grid=True)

    def _on_message(self, widget: Any, content: Mapping[str, Any], buffers: Any) -> None:
        if not isinstance(content, Mapping) or content.get("type") != "export":
            return
        try:
            path = self.save_figure(self.export_path or None, preset=self.export_preset)
        except Exception as error:  # shown in the widget: the button has no other way to report
            self.status = f"Export failed: {type(error).__name__}: {error}"
        else:
            self.status = f"Saved {path}"

    def view_spec(self) -> ViewSpec:
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
            hidden_heads=tuple(self.hidden_heads) if "all" in heads else (),
            compact=self.compact,
        )

    def _word_window(self) -> tuple[int, int] | None:
        """The zoom window over the words (the axis's special-token columns left out)."""
        if self.window is None:
            return None
        n = len(self._parses[self.sentence].words)
        start = min(self.window[0], n - 1)
        end = max(min(self.window[1], n), start + 1)
        return None if (start, end) == (0, n) else (start, end)

    def _view_data(self, spec: ViewSpec) -> tuple[SentenceParse, dict[str, SentenceExtraction]]:
        index = spec.sentence
        return self._parses[index], {key: self._extractions[key][index] for key in spec.models}

    def get_view(self) -> ExplorerView:
        """The current view at full precision (what :meth:`save_figure` draws)."""
        spec = self.view_spec()
        return compose_view(spec, *self._view_data(spec))

    # -- export -----------------------------------------------------------------------------

    def save_figure(
        self, path: str | os.PathLike[str] | None = None, *, preset: str = "two-column"
    ) -> Path:
        """The path the current view was saved to, as a paper figure (PDF, SVG, PNG or PGF).

        Draws exactly what is shown (the sentence, model(s), layer, head, mode,
        the selected token, the line threshold, the parse and entity toggles,
        the zoom window, the heads hidden from the overlay, the colour scales)
        from :meth:`view_spec` with :func:`trfviz.widget.export.save_view`, at the
        ``preset``'s width (``"one-column"``, ``"two-column"``, ``"slide"``).
        Without a path the file goes to ``trfviz-output/`` with a name that
        says what it shows. The widget's "Export figure" button calls this with
        :attr:`export_path` and :attr:`export_preset`.
        """
        spec = self.view_spec()
        return save_view(spec, *self._view_data(spec), path, scores=self._scores, preset=preset)

    def export(
        self, path: str | os.PathLike[str] | None = None, *, preset: str = "two-column"
    ) -> Path:
        """The path the view on screen was written to (``explorer.export("fig.pdf")``).

        The same as :meth:`save_figure`: the figure is drawn from :meth:`view_spec`.
        """
        return self.save_figure(path, preset=preset)

    def draw_figure(self, *, preset: str | None = None) -> Figure:
        """A matplotlib Figure of the current view (:func:`trfviz.widget.export.draw_view`)."""
        spec = self.view_spec()
        return draw_view(spec, *self._view_data(spec), scores=self._scores, preset=preset)

    #: Add a static picture of the view to the output (nbconvert HTML, GitHub).
    static_fallback: bool = True

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's mimebundle plus a picture of the view (:mod:`trfviz.widget.fallback`)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        return with_fallback(bundle, self) if self.static_fallback else bundle

    # -- alternative constructor ------------------------------------------------------------

    @classmethod
    def from_doc(
        cls,
        doc: Doc,
        extractions: Mapping[str, Extraction] | Sequence[Extraction] | Extraction,
        **options: Any,
    ) -> AttentionExplorer:
        """An explorer for a parsed ``doc`` and its extractions (keyed by name, or by model)."""
        parses, sentences = inputs_from_doc(doc, extractions)
        return cls(parses, sentences, **options)


def explore(
    doc: Doc,
    extractions: Mapping[str, Extraction] | Sequence[Extraction] | Extraction,
    **options: Any,
) -> AttentionExplorer:
    """An :class:`AttentionExplorer` of ``doc`` for one or more models' extractions.

    ``extractions`` is a mapping of display name to :class:`~trfviz.Extraction`,
    or extractions keyed by their model's short name. Options are those of
    :class:`AttentionExplorer` (``head_scores``, ``compare``, ``layer``...).
    """
    return AttentionExplorer.from_doc(doc, extractions, **options)
