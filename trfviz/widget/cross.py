"""A small notebook widget for encoder-decoder cross-attention: source above, target below.

:class:`CrossAttentionExplorer` shows one pair of a
:class:`~trfviz.seq2seq.results.PairExtraction` as the figure
:func:`~trfviz.figures.plot_cross_attention` draws it: source words in a row
above, target words below, a line per weight at or above ``threshold``, each
parse as arcs in its own band. Choose the pair, the decoder layer and a head (or
the mean over heads); hover or click a target word to keep only its lines.
Rows wider than the cell (64 words in a JupyterLab cell) fit it without
scrolling sideways: each word gets an equal column, written upwards.
Only the shown ``[target, source]`` matrix is sent to the browser, rounded to
four decimals; :meth:`CrossAttentionExplorer.to_figure` draws the same view at
full precision for a paper. The front end is ``js/cross.js``, bundled into
``cross.js`` beside this file by ``make widget-js``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import numpy as np
import traitlets as t

from trfviz.palette import palette_payload
from trfviz.seq2seq.results import PairExtraction, SentencePairExtraction

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from trfviz.figures.style import Preset

__all__ = ["CrossAttentionExplorer"]

_HERE = Path(__file__).parent


class CrossAttentionExplorer(anywidget.AnyWidget):
    """A notebook widget: an encoder-decoder model's cross-attention between two parsed sentences.

    Args:
        extraction: from :func:`trfviz.extract_pair` or ``generate_pair(...).extraction``.
        **traits: initial values of the traits below.

    Traits (synced with the browser; set them from Python to drive the widget):
        ``pair`` (which sentence pair), ``layer`` (decoder layer; negative counts
        from the last), ``head`` (index, or ``"mean"`` over the layer's heads),
        ``threshold`` (lightest weight drawn), ``selected`` (a target word whose
        lines alone are shown, -1 for all), ``show_parse``.
    """

    _esm = _HERE / "cross.js"

    pair = t.Int(0).tag(sync=True)
    n_pairs = t.Int(0, read_only=True).tag(sync=True)
    layer = t.Int(-1).tag(sync=True)
    n_layers = t.Int(0, read_only=True).tag(sync=True)
    head = t.Union([t.Int(), t.Unicode()], default_value="mean").tag(sync=True)
    n_heads = t.Int(0, read_only=True).tag(sync=True)
    threshold = t.Float(0.1, min=0.0, max=1.0).tag(sync=True)
    selected = t.Int(-1).tag(sync=True)
    show_parse = t.Bool(True).tag(sync=True)
    # What the browser draws: the pair's words and arcs, and the shown [target, source] matrix.
    _pair_data = t.Dict().tag(sync=True)
    _weights: t.List[list[float]] = t.List().tag(sync=True)
    _palette = t.Dict().tag(sync=True)

    def __init__(self, extraction: PairExtraction, **traits: Any) -> None:
        if not isinstance(extraction, PairExtraction):
            raise TypeError(
                "extraction must be a trfviz.PairExtraction (trfviz.extract_pair(...)); "
                f"got {type(extraction).__name__}"
            )
        if not extraction.pairs:
            raise ValueError("the extraction has no pairs: there is nothing to show")
        self._extraction = extraction
        super().__init__()
        self.set_trait("n_pairs", len(extraction.pairs))
        self.set_trait("n_layers", extraction.decoder_layers)
        self.set_trait("n_heads", extraction.decoder_heads)
        self._palette = palette_payload()
        with self.hold_trait_notifications():
            for name, value in traits.items():
                if not self.has_trait(name) or name.startswith("_") or name.startswith("n_"):
                    raise TypeError(f"CrossAttentionExplorer has no trait {name!r} to set")
                setattr(self, name, value)
        self._refresh_pair()

    @property
    def current(self) -> SentencePairExtraction:
        """The pair shown."""
        return self._extraction.pairs[self.pair]

    def weights(self) -> np.ndarray:
        """float32 ``[target_word, source_word]``: the shown layer and head (or mean), unrounded."""
        pair = self.current
        layer = pair.cross_attention[self.layer]
        matrix = layer.mean(axis=0) if self.head == "mean" else layer[int(self.head)]
        return np.asarray(matrix[: pair.target.n_tokens, : pair.source.n_tokens], np.float32)

    def view_title(self) -> str:
        """What is shown, in words: ``"<model> · layer 2 · mean of 8 heads"``."""
        layer = self.layer % self.n_layers + 1
        head = (
            f"mean of {self.n_heads} heads" if self.head == "mean" else f"head {int(self.head) + 1}"
        )
        return f"{self._extraction.model} · decoder layer {layer} · {head}"

    def to_figure(
        self, *, preset: str | Preset = "two-column", ax: Axes | None = None
    ) -> tuple[Figure, Axes]:
        """The view as a paper figure (:func:`~trfviz.figures.plot_cross_attention`)."""
        from trfviz.figures.cross_attention import plot_cross_attention

        pair = self.current
        return plot_cross_attention(
            pair.source.parse,
            pair.target.parse,
            self.weights(),
            threshold=self.threshold,
            show_parse=self.show_parse,
            title=self.view_title(),
            preset=preset,
            ax=ax,
        )

    def export(self, path: str | os.PathLike[str], *, preset: str = "two-column") -> Path:
        """The path the view on screen was written to (PDF, SVG, PNG or PGF, by the suffix).

        The same figure as :meth:`to_figure` (pair, layer, head, threshold, parse
        toggle), saved by :func:`trfviz.figures.save_figure` at the ``preset``'s width.
        """
        import matplotlib.pyplot as plt

        from trfviz.figures import save_figure

        figure, _ = self.to_figure(preset=preset)
        try:
            return Path(save_figure(figure, Path(path), preset=preset))
        finally:
            plt.close(figure)

    @t.validate("pair")
    def _check_pair(self, proposal: Any) -> int:
        return _index("pair", proposal["value"], len(self._extraction.pairs))

    @t.validate("layer")
    def _check_layer(self, proposal: Any) -> int:
        value = proposal["value"]
        _index("layer", value, self._extraction.decoder_layers)
        return int(value)

    @t.validate("head")
    def _check_head(self, proposal: Any) -> int | str:
        value = proposal["value"]
        if value == "mean":
            return "mean"
        if isinstance(value, str):
            raise t.TraitError(f"head must be a head index or 'mean'; got {value!r}")
        return _index("head", value, self._extraction.decoder_heads)

    @t.validate("selected")
    def _check_selected(self, proposal: Any) -> int:
        value = int(proposal["value"])
        n = self.current.target.n_tokens
        if not -1 <= value < n:
            raise t.TraitError(f"selected must be a target word index (0 to {n - 1}) or -1")
        return value

    @t.observe("pair")
    def _on_pair(self, change: Any) -> None:
        self.selected = -1
        self._refresh_pair()

    @t.observe("layer", "head")
    def _on_view(self, change: Any) -> None:
        self._weights = np.round(self.weights(), 4).tolist()

    def _refresh_pair(self) -> None:
        pair = self.current
        self._pair_data = {
            "source": pair.source.parse.to_dict(),
            "target": pair.target.parse.to_dict(),
            "model": self._extraction.model,
        }
        self._weights = np.round(self.weights(), 4).tolist()


def _index(name: str, value: Any, size: int) -> int:
    """``value`` as an index below ``size`` (negative allowed for layers), or a TraitError."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise t.TraitError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if not -size <= int(value) < size:
        raise t.TraitError(f"{name} {value} is out of range: there are {size}")
    return int(value) % size if name != "layer" else int(value)
