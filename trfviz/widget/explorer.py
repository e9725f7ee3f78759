"""An anywidget explorer of attention per spaCy token, over the parse, for one or more models.

:class:`AttentionExplorer` takes plain data (sentence parses and per-sentence
extractions) and never a model or a ``Doc``; :func:`explore` is the shortcut
from a parsed ``Doc`` and its extractions. Only the current layer is sent to the
browser (see :mod:`trfviz.widget.payload`); the front end lives in
``explorer.js`` and ``explorer.css`` beside this file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets as t

from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.palette import palette_payload
from trfviz.parse import SentenceParse
from trfviz.view import DISTRIBUTIONS
from trfviz.widget.checks import ExplorerChecks, ExplorerValueError, head_trait, layer_trait
from trfviz.widget.export import ExplorerView, ViewPanel
from trfviz.widget.fallback import with_fallback
from trfviz.widget.inputs import check_inputs, check_scores, inputs_from_doc
from trfviz.widget.lens import match_lens
from trfviz.widget.measures import MeasureInput, match_measures, measure_notes, measures_payload
from trfviz.widget.neurons import match_neurons
from trfviz.widget.payload import map_layer
from trfviz.widget.state import ExplorerData
from trfviz.widget.views import ExplorerViews

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["AttentionExplorer", "ExplorerValueError", "ExplorerView", "ViewPanel", "explore"]

_HERE = Path(__file__).parent


class AttentionExplorer(ExplorerChecks, ExplorerData, ExplorerViews, anywidget.AnyWidget):
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
        measures: optional measures of :mod:`trfviz.measures` to draw instead of
            attention (the ``measure`` trait): a ``MeasureExtraction``, a list of
            them (each matched to the model whose name is its ``model``), or per
            model key one or a list. Each must cover the same sentences and labels.
        neurons: optional per model the queries and keys behind its attention
            (a ``trfviz.measures.neuron.NeuronExtraction``, a list matched by
            ``model``, or per model key one) for the neuron panel (``show_neurons``).
        logit_lens: optional per causal model its logit lens (a
            ``trfviz.measures.logit_lens.LogitLens``, a list matched by ``model``, or per
            model key one) for the logit-lens panel (``show_logit_lens``): each layer's
            next-word guess after every word.
        model_names: per model key its full model name, for matching ``measures``,
            ``neurons`` and ``logit_lens`` (by default the key itself; :func:`explore`
            fills it).
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
        ``hidden_heads`` (per model key, the heads left out of its overlay of all
        heads); ``special_tokens`` (``"keep"`` or ``"drop"``: specials left out and
        distributions renormalised over the words); ``measure`` (``"attention"`` or
        a measure given in ``measures``); ``show_neurons`` (the neuron panel);
        ``show_logit_lens`` (the logit-lens panel) and ``logit_lens_color`` (its cells
        shaded by the guess's probability, ``"top"``, or the actual next word's, ``"next"``);
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
    # Per model key, the heads hidden in its overlay of all heads of a layer (head "all").
    hidden_heads = t.Dict(value_trait=t.List(t.Int())).tag(sync=True)
    #: Special tokens kept as pseudo-tokens, or dropped (distributions renormalised).
    special_tokens = t.Enum(["keep", "drop"], default_value="keep").tag(sync=True)
    #: What is drawn: "attention", or a measure given to the constructor (``measures=``).
    measure = t.Unicode("attention").tag(sync=True)
    #: The neuron panel (query, keys, products, scores) for the selected word and head.
    show_neurons = t.Bool(False).tag(sync=True)
    #: The logit-lens panel (each layer's next-word guess after every word), causal models only.
    show_logit_lens = t.Bool(False).tag(sync=True)
    #: Its cells shaded by the top guess's probability ("top") or the actual next word's ("next").
    logit_lens_color = t.Enum(["top", "next"], default_value="top").tag(sync=True)
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
    # The measures given beside attention: how to draw each (trfviz.widget.measures).
    _measures = t.Dict().tag(sync=True)
    # The neuron panel's data: the selected word at the current layer/head, while shown.
    _neurons = t.Dict().tag(sync=True)
    # The logit-lens panel's data: the current sentence's tables, while shown.
    _logit_lens = t.Dict().tag(sync=True)

    def __init__(
        self,
        sentences: Sequence[SentenceParse],
        extractions: Mapping[str, Sequence[SentenceExtraction]],
        *,
        head_scores: Mapping[str, np.ndarray] | None = None,
        head_score_name: str = "relation accuracy",
        model: str | None = None,
        compare: str | None = None,
        measures: MeasureInput | None = None,
        neurons: Any | None = None,
        logit_lens: Any | None = None,
        model_names: Mapping[str, str] | None = None,
        **traits: Any,
    ) -> None:
        self._parses = tuple(sentences)
        self._extractions = {key: tuple(value) for key, value in extractions.items()}
        shapes = check_inputs(self._parses, self._extractions)
        self._scores = check_scores(head_scores or {}, shapes)
        self._score_name = str(head_score_name)
        keys = list(self._extractions)
        names = {key: (model_names or {}).get(key, key) for key in keys}
        self._measure_values = (
            match_measures(measures, self._parses, self._extractions, names) if measures else {}
        )
        self._all_shapes = {"attention": shapes} | {
            name: {key: values[0].shape[:2] for key, values in by_key.items()}
            for name, by_key in self._measure_values.items()
        }
        self._neuron_data = match_neurons(neurons, self._parses, keys, names) if neurons else {}
        self._lens_data = (
            match_lens(logit_lens, self._parses, self._extractions, names) if logit_lens else {}
        )
        super().__init__()
        with self.hold_sync():
            self.set_trait("models", keys)
            self.set_trait("n_sentences", len(self._parses))
            self._palette = palette_payload()
            if self._measure_values:
                notes = measure_notes(measures, keys, names)
                self._measures = measures_payload(self._measure_values, notes)
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
                if self.measure not in self._measures_for(self._shown_keys()):
                    self._reset_measure()
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
                if self.measure not in self._measures_for(self._shown_keys()):
                    self._reset_measure()
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

    @t.observe("measure")
    def _on_measure(self, change: t.Bunch) -> None:
        with self.hold_sync():
            with self._quiet():
                self._fit_choices()
                # Norms, flow and attributions are not distributions: their sizes follow each
                # model's own scale (MiniLM's norms peak near 0.6, SmolLM2's near 15), so one
                # shared colour scale would hide one model. Choosing one gives each panel its
                # own, labelled scale; back to a distribution, one shared scale again.
                self.per_model_scale = self.measure not in DISTRIBUTIONS
            self._refresh(sentence=True, grid=True)

    @t.observe("special_tokens")
    def _on_special_tokens(self, change: t.Bunch) -> None:
        self._refresh(sentence=True, grid=True)

    @t.observe("show_neurons", "selected")
    def _on_neurons(self, change: t.Bunch) -> None:
        if getattr(self, "_ready", False):
            self._update_neurons()

    @t.observe("show_logit_lens")
    def _on_lens(self, change: t.Bunch) -> None:
        if getattr(self, "_ready", False):
            self._update_lens()

    def _on_message(self, widget: Any, content: Mapping[str, Any], buffers: Any) -> None:
        if not isinstance(content, Mapping) or content.get("type") != "export":
            return
        try:
            path = self.save_figure(self.export_path or None, preset=self.export_preset)
        except Exception as error:  # shown in the widget: the button has no other way to report
            self.status = f"Export failed: {type(error).__name__}: {error}"
        else:
            self.status = f"Saved {path}"

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
        if isinstance(extractions, Mapping):
            names = {key: e.model for key, e in extractions.items()}
            options.setdefault("model_names", names)
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
