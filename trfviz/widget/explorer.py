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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anywidget
import numpy as np
import traitlets as t

from trfviz.extraction import Extraction, SentenceExtraction
from trfviz.parse import SentenceParse, parse_doc
from trfviz.widget.payload import (
    HeadChoice,
    LayerChoice,
    layers_key,
    map_layer,
    pack_grid,
    pack_layers,
    pack_sentence,
    select_attention,
    short_name,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from spacy.tokens import Doc

__all__ = ["AttentionExplorer", "ExplorerValueError", "ExplorerView", "ViewPanel", "explore"]

_HERE = Path(__file__).parent


@dataclass(frozen=True)
class ViewPanel:
    """One panel of the explorer's current view, at full precision.

    Attributes:
        model: the model key (``"A - B"`` for a difference of A and B).
        kind: ``"attention"``, ``"heads"`` (all heads of a layer; ``attention``
            is their mean) or ``"difference"`` (first model minus second).
        layer: the layer shown (an index or ``"mean"``).
        head: the head shown (an index, ``"mean"`` or ``"all"``).
        labels: the labels of both attention axes, ``n`` of them.
        attention: float32 ``[query, key]`` (``n`` by ``n``).
        heads: float32 ``[head, query, key]`` for ``kind == "heads"``, else None.
    """

    model: str
    kind: Literal["attention", "heads", "difference"]
    layer: LayerChoice
    head: HeadChoice
    labels: tuple[str, ...]
    attention: np.ndarray
    heads: np.ndarray | None = None


@dataclass(frozen=True)
class ExplorerView:
    """What the explorer shows right now: the sentence, its parse and the panels.

    Attributes:
        sentence: index of the sentence shown.
        parse: its words, arcs and entities.
        panels: one per model side by side, or one difference panel.
        mode: ``"side"`` or ``"difference"``.
        focus: the selected token (sentence index) or None.
        threshold: the weight under which attention lines are hidden.
    """

    sentence: int
    parse: SentenceParse
    panels: tuple[ViewPanel, ...]
    mode: Literal["side", "difference"]
    focus: int | None
    threshold: float


class ExplorerValueError(t.TraitError, ValueError):
    """A widget setting out of range (layer, head, sentence, token, model).

    A ``traitlets.TraitError``, so the widget rolls the change back, and a
    ``ValueError``, as trfviz raises for bad input everywhere else.
    """


def _layer_trait(default: LayerChoice = 0) -> t.Union:
    return t.Union([t.Int(), t.Enum(["mean"])], default_value=default).tag(sync=True)


def _head_trait(default: HeadChoice = 0) -> t.Union:
    return t.Union([t.Int(), t.Enum(["mean", "all"])], default_value=default).tag(sync=True)


class AttentionExplorer(anywidget.AnyWidget):
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
        ``show_grid``; ``threshold`` (lightest attention line drawn);
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
    layer = _layer_trait()
    head = _head_trait()
    link = t.Bool(True).tag(sync=True)
    compare_layer = _layer_trait()
    compare_head = _head_trait()
    sentence = t.Int(0).tag(sync=True)
    n_sentences = t.Int(0, read_only=True).tag(sync=True)
    selected = t.Int(-1).tag(sync=True)
    hovered = t.Int(-1).tag(sync=True)
    show_parse = t.Bool(True).tag(sync=True)
    show_entities = t.Bool(True).tag(sync=True)
    show_heatmap = t.Bool(True).tag(sync=True)
    show_grid = t.Bool(False).tag(sync=True)
    threshold = t.Float(0.05, min=0.0, max=1.0).tag(sync=True)
    export_path = t.Unicode("").tag(sync=True)
    export_preset = t.Unicode("two-column").tag(sync=True)
    status = t.Unicode("").tag(sync=True)

    # What the browser draws: the sentence (once per sentence), every head of the current
    # layer per panel (per layer change; heads are picked in the browser) and the head
    # grid (only while shown).
    _sentence_data = t.Dict().tag(sync=True)
    _layers = t.Dict().tag(sync=True)
    _grid = t.Dict().tag(sync=True)

    def __init__(
        self,
        sentences: Sequence[SentenceParse],
        extractions: Mapping[str, Sequence[SentenceExtraction]],
        *,
        head_scores: Mapping[str, np.ndarray] | None = None,
        model: str | None = None,
        compare: str | None = None,
        **traits: Any,
    ) -> None:
        self._parses = tuple(sentences)
        self._extractions = {key: tuple(value) for key, value in extractions.items()}
        self._shapes = _check_inputs(self._parses, self._extractions)
        self._scores = _check_scores(head_scores or {}, self._shapes)
        keys = list(self._extractions)
        super().__init__()
        with self.hold_sync():
            self.set_trait("models", keys)
            self.set_trait("n_sentences", len(self._parses))
            self.model = model if model is not None else keys[0]
            if compare:
                self.compare = compare
            for name, value in traits.items():
                if not self.has_trait(name) or name.startswith("_"):
                    raise TypeError(f"AttentionExplorer got an unexpected option {name!r}")
                setattr(self, name, value)
            self._ready = True
            self._refresh(sentence=True, grid=True)
        self.on_msg(self._on_message)

    # -- validation -------------------------------------------------------------------------

    @t.validate("model")
    def _valid_model(self, proposal: t.Bunch) -> str:
        value = proposal["value"]
        if value not in self._extractions:
            raise ExplorerValueError(
                f"model must be one of {list(self._extractions)}, got {value!r}"
            )
        return str(value)

    @t.validate("compare")
    def _valid_compare(self, proposal: t.Bunch) -> str:
        value = proposal["value"]
        if value and value not in self._extractions:
            raise ExplorerValueError(f"compare must be '' or one of {list(self._extractions)}")
        return str(value)

    @t.validate("sentence")
    def _valid_sentence(self, proposal: t.Bunch) -> int:
        value = int(proposal["value"])
        if not 0 <= value < len(self._parses):
            raise ExplorerValueError(f"sentence must be 0..{len(self._parses) - 1}, got {value}")
        return value

    @t.validate("layer", "compare_layer")
    def _valid_layer(self, proposal: t.Bunch) -> LayerChoice:
        value = proposal["value"]
        key = self.model if proposal["trait"].name == "layer" else self.compare
        n_layers = self._shapes[key][0] if key in self._shapes else None
        if value != "mean" and n_layers is not None and not 0 <= value < n_layers:
            raise ExplorerValueError(f"layer must be 0..{n_layers - 1} or 'mean', got {value!r}")
        return value

    @t.validate("head", "compare_head")
    def _valid_head(self, proposal: t.Bunch) -> HeadChoice:
        value = proposal["value"]
        key = self.model if proposal["trait"].name == "head" else self.compare
        n_heads = self._shapes[key][1] if key in self._shapes else None
        if not isinstance(value, str) and n_heads is not None and not 0 <= value < n_heads:
            raise ExplorerValueError(
                f"head must be 0..{n_heads - 1}, 'mean' or 'all', got {value!r}"
            )
        return value

    @t.validate("selected", "hovered")
    def _valid_token(self, proposal: t.Bunch) -> int:
        value = int(proposal["value"])
        if value < 0:
            return -1
        n = len(self._parses[self.sentence].words)
        if value >= n:
            if proposal["trait"].name == "hovered":
                return -1  # a pointer left over from the previous sentence: nothing hovered
            raise ExplorerValueError(
                f"selected must be -1 (no token) or 0..{n - 1} (a token of sentence "
                f"{self.sentence}), got {value}"
            )
        return value

    # -- reacting to changes ----------------------------------------------------------------

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
            self._refresh(sentence=True, grid=True)

    @t.observe("layer", "head", "mode", "link", "compare_layer", "compare_head")
    def _on_choice(self, change: t.Bunch) -> None:
        self._refresh()

    @t.observe("show_grid")
    def _on_grid(self, change: t.Bunch) -> None:
        self._refresh(view=False, grid=True)

    def _refresh(self, *, sentence: bool = False, view: bool = True, grid: bool = False) -> None:
        if not getattr(self, "_ready", False):
            return
        # One message for the sentence, layers and grid together, so the browser never draws
        # a new sentence's tokens with the old sentence's weights.
        with self.hold_sync():
            self._update_data(sentence=sentence, view=view, grid=grid)

    def _update_data(self, *, sentence: bool, view: bool, grid: bool) -> None:
        if self.compare and self.link:
            # Linked: the comparison follows the main layer/head (layer at the same depth).
            self.compare_layer, self.compare_head = self._linked_choice()
        keys = self._shown_keys()
        index = self.sentence
        if sentence:
            self._sentence_data = pack_sentence(
                index,
                self._parses[index],
                {key: self._extractions[key][index] for key in keys},
                {key: self._shapes[key] for key in keys},
            )
        if view:
            # Heads and the mode are chosen in the browser: only a new layer, model or
            # sentence sends data.
            layers = {key: choice[0] for key, choice in self._choices().items()}
            if self._layers.get("key") != layers_key(index, layers):
                self._layers = pack_layers(
                    {key: self._attention(key) for key in keys}, layers, sentence=index
                )
        if grid:
            self._grid = (
                {key: pack_grid(self._attention(key), scores=self._scores.get(key)) for key in keys}
                if self.show_grid
                else {}
            )

    def _on_message(self, widget: Any, content: Mapping[str, Any], buffers: Any) -> None:
        if not isinstance(content, Mapping) or content.get("type") != "export":
            return
        try:
            path = self.save_figure(self.export_path or None, preset=self.export_preset)
        except Exception as error:  # shown in the widget: the button has no other way to report
            self.status = f"Export failed: {type(error).__name__}: {error}"
        else:
            self.status = f"Saved {path}"

    # -- data -------------------------------------------------------------------------------

    def _shown_keys(self) -> list[str]:
        return [self.model, self.compare] if self.compare else [self.model]

    def _linked_choice(self) -> tuple[LayerChoice, HeadChoice]:
        (n_layers, _), (n_layers_b, n_heads_b) = (
            self._shapes[self.model],
            self._shapes[self.compare],
        )
        layer = map_layer(self.layer, n_layers, n_layers_b)
        head: HeadChoice = self.head
        if isinstance(head, int) and head >= n_heads_b:
            head = "mean"
        return layer, head

    def _choices(self) -> dict[str, tuple[LayerChoice, HeadChoice]]:
        choices = {self.model: (self.layer, self.head)}
        if self.compare:
            choices[self.compare] = (
                self._linked_choice() if self.link else (self.compare_layer, self.compare_head)
            )
        return choices

    def _attention(self, key: str) -> np.ndarray:
        attention = self._extractions[key][self.sentence].attention
        if attention is None:  # checked in __init__; kept for the type checker
            raise ValueError(f"{key} has no attention")
        return attention

    def get_view(self) -> ExplorerView:
        """The current view at full precision (what :meth:`save_figure` draws)."""
        index = self.sentence
        parse = self._parses[index]
        n_tokens = len(parse.words)
        choices = self._choices()
        keys = self._shown_keys()
        panels: list[ViewPanel] = []
        if self.mode == "difference" and len(keys) == 2:
            a_key, b_key = keys
            a = select_attention(self._attention(a_key), *choices[a_key])
            b = select_attention(self._attention(b_key), *choices[b_key])
            a = a.mean(axis=0) if a.ndim == 3 else a
            b = b.mean(axis=0) if b.ndim == 3 else b
            panels.append(
                ViewPanel(
                    model=f"{a_key} - {b_key}",
                    kind="difference",
                    layer=choices[a_key][0],
                    head=choices[a_key][1],
                    labels=parse.words,
                    attention=a[:n_tokens, :n_tokens] - b[:n_tokens, :n_tokens],
                )
            )
            mode: Literal["side", "difference"] = "difference"
        else:
            for key in keys:
                layer, head = choices[key]
                selected = select_attention(self._attention(key), layer, head)
                labels = self._extractions[key][index].labels
                if selected.ndim == 3:
                    panels.append(
                        ViewPanel(key, "heads", layer, head, labels, selected.mean(0), selected)
                    )
                else:
                    panels.append(ViewPanel(key, "attention", layer, head, labels, selected))
            mode = "side"
        focus = self.selected if self.selected >= 0 else None
        return ExplorerView(index, parse, tuple(panels), mode, focus, self.threshold)

    # -- export -----------------------------------------------------------------------------

    def save_figure(
        self, path: str | os.PathLike[str] | None = None, *, preset: str = "two-column"
    ) -> Path:
        """The path the current view was saved to, as a paper figure (PDF, SVG, PNG or PGF).

        Draws exactly what is shown (the sentence, model(s), layer, head, mode,
        the selected token, the line threshold, the parse and entity toggles)
        with :mod:`trfviz.figures` and writes it with its ``save_figure`` at the
        ``preset``'s width (``"one-column"``, ``"two-column"``, ``"slide"``).
        Without a path the file goes to ``trfviz-output/`` with a name that
        says what it shows. The widget's "Export figure" button calls this with
        :attr:`export_path` and :attr:`export_preset`.
        """
        import matplotlib.pyplot as plt

        from trfviz.figures import save_figure

        target = Path(path) if path is not None else Path("trfviz-output") / self._figure_name()
        figure = self.draw_figure(preset=preset)
        try:
            return Path(save_figure(figure, target, preset=preset))
        finally:
            plt.close(figure)

    def draw_figure(self, *, preset: str | None = None) -> Figure:
        """A matplotlib Figure of the current view, drawn with :mod:`trfviz.figures`.

        Two models give their comparison (side by side or the difference);
        all heads of a layer give a grid of the heads; one head (or a mean)
        gives the sentence with its parse and the attention arcs, with the
        heatmap under it while the heatmap is shown.
        """
        from trfviz.figures import (
            plot_attention_arcs,
            plot_attention_heatmap,
            plot_head_grid,
            plot_model_comparison,
        )

        view = self.get_view()
        parse = view.parse
        n = len(parse.words)
        keys = self._shown_keys()
        if len(keys) == 2:
            a_key, b_key = keys
            figure, _ = plot_model_comparison(
                self._matrix_of(a_key)[:n, :n],
                self._matrix_of(b_key)[:n, :n],
                parse.words,
                names=(short_name(a_key), short_name(b_key)),
                mode="difference" if view.mode == "difference" else "side_by_side",
                title=self._figure_title(),
                preset=preset,
            )
            return figure
        panel = view.panels[0]
        n_special = len(panel.labels) - n
        if panel.heads is not None:
            # Every head of the layer, framed by the caller's head scores when given.
            key = keys[0]
            whole = isinstance(panel.layer, int)
            figure, _ = plot_head_grid(
                self._attention(key) if whole else panel.heads[None],
                panel.labels,
                scores=self._scores.get(key) if whole else None,
                layers=[int(panel.layer)] if whole else None,
                scale="head",
                title=self._figure_title(),
                preset=preset,
            )
            return figure
        special_labels = panel.labels[n:]
        # Without a source token only strong weights are drawn, or every arc would show.
        threshold = view.threshold if view.focus is not None else max(view.threshold, 0.25)

        def draw_arcs(ax: Axes | None = None) -> Figure:
            figure, _ = plot_attention_arcs(
                parse,
                panel.attention,
                source=view.focus,
                threshold=threshold,
                show_parse=self.show_parse,
                show_entities=self.show_entities,
                special_labels=special_labels,
                ax=ax,
                preset=preset,
            )
            return figure

        if not self.show_heatmap:
            return draw_arcs()
        # The sentence over its heatmap, as in the widget: size each at its own layout first.
        import matplotlib.pyplot as plt

        alone = draw_arcs()
        heat, _ = plot_attention_heatmap(
            panel.attention, panel.labels, n_special=n_special, preset=preset
        )
        (w1, h1), (w2, h2) = alone.get_size_inches(), heat.get_size_inches()
        plt.close(alone)
        plt.close(heat)
        figure = plt.figure(figsize=(max(w1, w2), h1 + h2), layout="constrained")
        top, bottom = figure.subfigures(2, 1, height_ratios=[h1, h2])  # type: ignore[misc]
        top.suptitle(self._figure_title())
        draw_arcs(top.subplots())
        plot_attention_heatmap(
            panel.attention, panel.labels, n_special=n_special, ax=bottom.subplots(), preset=preset
        )
        return figure

    def _matrix_of(self, key: str) -> np.ndarray:
        selected = select_attention(self._attention(key), *self._choices()[key])
        return selected.mean(axis=0) if selected.ndim == 3 else selected

    def _figure_name(self) -> str:
        def part(key: str) -> str:
            layer, head = self._choices()[key]
            return f"{short_name(key)}-L{layer}-H{head}"

        keys = self._shown_keys()
        joined = "-vs-".join(part(key) for key in keys)
        suffix = "-diff" if self.mode == "difference" and len(keys) == 2 else ""
        return f"attention-s{self.sentence}-{joined}{suffix}.pdf"

    def _figure_title(self) -> str:
        def part(key: str) -> str:
            layer, head = self._choices()[key]
            layer_text = "layer mean" if layer == "mean" else f"layer {layer}"
            head_text = {"mean": "head mean", "all": "all heads"}.get(str(head), f"head {head}")
            return f"{short_name(key)} {layer_text}, {head_text}"

        return " vs ".join(part(key) for key in self._shown_keys())

    # -- alternative constructor ------------------------------------------------------------

    @classmethod
    def from_doc(
        cls,
        doc: Doc,
        extractions: Mapping[str, Extraction] | Sequence[Extraction] | Extraction,
        **options: Any,
    ) -> AttentionExplorer:
        """An explorer for a parsed ``doc`` and its extractions (keyed by name, or by model)."""
        if isinstance(extractions, Extraction):
            extractions = [extractions]
        if not isinstance(extractions, Mapping):
            extractions = {short_name(getattr(e, "model", "?")): e for e in extractions}
        parses = parse_doc(doc)
        for key, extraction in extractions.items():
            if not isinstance(extraction, Extraction):
                raise TypeError(
                    f"extractions[{key!r}] must be a trfviz.Extraction (from trfviz.extract); "
                    f"got {type(extraction).__name__}"
                )
            if extraction.text != doc.text:
                raise ValueError(
                    f"the extraction {key!r} was made from another text than the Doc's; "
                    "extract this Doc (trfviz.extract(doc, model)) and explore that"
                )
        return cls(parses, {key: e.sentences for key, e in extractions.items()}, **options)


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


def _check_inputs(
    parses: Sequence[SentenceParse], extractions: Mapping[str, Sequence[SentenceExtraction]]
) -> dict[str, tuple[int, int]]:
    if not extractions:
        raise ValueError("give at least one model's extractions")
    if not parses:
        raise ValueError("give at least one sentence")
    shapes = {}
    for key, sentences in extractions.items():
        if len(sentences) != len(parses):
            raise ValueError(
                f"{key}: {len(sentences)} sentence extractions for {len(parses)} sentences"
            )
        shape = None
        for i, (parse, sentence) in enumerate(zip(parses, sentences, strict=True)):
            if tuple(sentence.tokens) != tuple(parse.words):
                raise ValueError(f"{key}: sentence {i} has tokens that differ from the parse's")
            if sentence.attention is None:
                raise ValueError(f"{key}: sentence {i} kept no attention (attention=False)")
            n = len(sentence.labels)
            if sentence.attention.ndim != 4 or sentence.attention.shape[2:] != (n, n):
                raise ValueError(
                    f"{key}: sentence {i} attention must be [layer, head, {n}, {n}], "
                    f"got {sentence.attention.shape}"
                )
            shape = shape or sentence.attention.shape[:2]
            if sentence.attention.shape[:2] != shape:
                raise ValueError(f"{key}: sentences differ in their number of layers or heads")
        assert shape is not None
        shapes[key] = (int(shape[0]), int(shape[1]))
    return shapes


def _check_scores(
    scores: Mapping[str, np.ndarray], shapes: Mapping[str, tuple[int, int]]
) -> dict[str, np.ndarray]:
    checked = {}
    for key, value in scores.items():
        if key not in shapes:
            raise ValueError(f"head_scores for unknown model {key!r}; models are {list(shapes)}")
        array = np.asarray(value, dtype=np.float64)
        if array.shape != shapes[key]:
            raise ValueError(f"head_scores[{key!r}] must be [layer, head] = {shapes[key]}")
        checked[key] = array
    return checked
