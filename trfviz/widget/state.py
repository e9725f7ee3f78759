"""The explorer's data for the browser: what is shown, refreshed when a choice changes.

:class:`ExplorerData` (a mixin of :class:`~trfviz.widget.AttentionExplorer`)
works out the models, layers and heads shown and packs what the browser draws
into the private synced traits (``_sentence_data``, ``_layers``,
``_difference``, ``_grid``, ``_pieces``, ``_neurons``, ``_logit_lens``) with
:mod:`trfviz.widget.payload`, in one message per change so the browser never
mixes one sentence's tokens with another's weights. The values drawn are the
``measure`` chosen (attention or one of :mod:`trfviz.widget.measures`), with the
special tokens kept or dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from trfviz.naming import short_model_name
from trfviz.view import DISTRIBUTIONS, MEASURE_LABELS, WORD_MEASURES
from trfviz.widget.grid_scores import RELATION_ACCURACY, relation_accuracy, share_score_ranges
from trfviz.widget.lens import lens_payload
from trfviz.widget.measures import without_specials
from trfviz.widget.neurons import neurons_payload
from trfviz.widget.payload import (
    HeadChoice,
    LayerChoice,
    head_scores,
    layers_key,
    map_layer,
    pack_difference,
    pack_grid,
    pack_layers,
    pack_sentence,
)
from trfviz.widget.pieces import pieces_payload

__all__ = ["ExplorerData"]


class ExplorerData:
    """Refreshing the explorer's browser data (a mixin; ``self`` is the explorer)."""

    def _refresh(
        self: Any, *, sentence: bool = False, view: bool = True, grid: bool = False
    ) -> None:
        if not getattr(self, "_ready", False):
            return
        # One message for the sentence, layers and grid together, so the browser never draws
        # a new sentence's tokens with the old sentence's weights.
        with self.hold_sync():
            self._update_data(sentence=sentence, view=view, grid=grid)

    def _update_data(self: Any, *, sentence: bool, view: bool, grid: bool) -> None:
        if self.compare and self.link:
            # Linked: the comparison follows the main layer/head (layer at the same depth).
            self.compare_layer, self.compare_head = self._linked_choice()
        keys = self._shown_keys()
        index = self.sentence
        variant = self._variant()
        if sentence:
            shown = {key: self._extractions[key][index] for key in keys}
            if self.special_tokens == "drop":  # the axes hold the words alone
                shown = {k: dataclasses.replace(e, special_labels=()) for k, e in shown.items()}
            self._sentence_data = {
                **pack_sentence(
                    index, self._parses[index], shown, {key: self._shapes[key] for key in keys}
                ),
                "measure": self.measure,
            }
        if view:
            # Heads and the mode are chosen in the browser: only a new layer, model or
            # sentence sends data.
            layers = {key: choice[0] for key, choice in self._choices().items()}
            if self._layers.get("key") != layers_key(index, layers, variant=variant):
                self._layers = pack_layers(
                    {key: self._attention(key) for key in keys},
                    layers,
                    sentence=index,
                    variant=variant,
                )
            self._update_difference(layers)
        self._update_pieces()
        self._update_neurons()
        self._update_lens()
        if grid:
            what = MEASURE_LABELS[self.measure]  # names the thumbnails' values
            # One colour range per score over the models' grids: the same colour, the same value.
            self._grid = (
                share_score_ranges(
                    {
                        key: {
                            **pack_grid(self._attention(key), scores=self._grid_scores(key)),
                            "measure": what,
                        }
                        for key in keys
                    }
                )
                if self.show_grid
                else {}
            )

    def _update_difference(self: Any, layers: Mapping[str, LayerChoice]) -> None:
        variant = self._variant()
        key = f"{layers_key(self.sentence, layers, variant=variant)};sink={int(self.exclude_sink)}"
        compared = len(layers) == 2 and self.measure in DISTRIBUTIONS
        if compared and self._difference.get("key") != key:
            self._difference = pack_difference(
                {k: self._attention(k) for k in layers},
                layers,
                sentence=self.sentence,
                n_tokens=len(self._parses[self.sentence].words),
                exclude_sink=self.exclude_sink,
                variant=variant,
            )
        elif not compared and self._difference:
            self._difference = {}

    def _update_pieces(self: Any) -> None:
        index, word = self.sentence, self.selected if self.show_pieces else -1
        layers = {key: choice[0] for key, choice in self._choices().items()}
        key = f"{layers_key(index, layers, variant=self._variant())};w{word}"
        if self._pieces.get("key") != key:
            # The wordpieces behind pooled attention: not for the other measures.
            shown = (
                {k: (self._extractions[k][index], layer) for k, layer in layers.items()}
                if self.measure == "attention"
                else {}
            )
            self._pieces = {"key": key, **pieces_payload(index, word, shown)}

    def _update_neurons(self: Any) -> None:
        """The neuron panel's data for the selected word at the current layer and head."""
        if not self._neuron_data:
            return
        index, word = self.sentence, self.selected if self.show_neurons else -1
        choices = self._choices()
        parts = [f"{k}/{la}/{h}" for k, (la, h) in choices.items() if k in self._neuron_data]
        drop = self.special_tokens == "drop"
        key = ";".join([f"s{index}", f"w{word}", *parts, "drop" if drop else "keep"])
        if self._neurons.get("key") != key:
            shown = {
                k: (self._neuron_data[k][index], layer, head)
                for k, (layer, head) in choices.items()
                if k in self._neuron_data
            }
            payload = neurons_payload(
                index, word, shown, list(self._neuron_data), drop_specials=drop
            )
            self._neurons = {"key": key, **payload}

    def _update_lens(self: Any) -> None:
        """The logit-lens panel's tables: the current sentence, for the models shown with one."""
        if not self._lens_data:
            return
        index = self.sentence
        keys = (
            [k for k in self._shown_keys() if k in self._lens_data] if self.show_logit_lens else []
        )
        key = ";".join([f"s{index}", *keys])
        if self._logit_lens.get("key") != key:
            shown = {k: self._lens_data[k][index] for k in keys}
            self._logit_lens = {"key": key, **lens_payload(index, shown, list(self._lens_data))}

    def _variant(self: Any) -> str:
        """What besides the layers the packed values depend on: the measure, the specials."""
        parts = [self.measure] if self.measure != "attention" else []
        return "/".join(parts + (["drop"] if self.special_tokens == "drop" else []))

    @property
    def _shapes(self: Any) -> dict[str, tuple[int, int]]:
        """Per model key with the current measure its ``(n_layers, n_heads)``."""
        shapes: dict[str, tuple[int, int]] = self._all_shapes[self.measure]
        return shapes

    def _measures_for(self: Any, keys: list[str]) -> list[str]:
        """The measures every model in ``keys`` has (attention always)."""
        return [m for m, shapes in self._all_shapes.items() if all(k in shapes for k in keys)]

    def _reset_measure(self: Any) -> None:
        self.measure = "attention"
        self._fit_choices()

    def _fit_choices(self: Any) -> None:
        """Layers, heads and mode made valid for the measure (rollout: one head...)."""
        if self.mode == "difference" and self.measure not in DISTRIBUTIONS:
            self.mode = "side"
        if self.measure in WORD_MEASURES:
            self.compact = True  # one value per word: shaded words
        for key, layer_name, head_name in (
            (self.model, "layer", "head"),
            (self.compare, "compare_layer", "compare_head"),
        ):
            if key not in self._shapes:
                continue
            n_layers, n_heads = self._shapes[key]
            layer, head = getattr(self, layer_name), getattr(self, head_name)
            if isinstance(layer, int) and layer >= n_layers:
                setattr(self, layer_name, n_layers - 1)
            if (isinstance(head, int) and head >= n_heads) or (head == "all" and n_heads == 1):
                setattr(self, head_name, 0 if n_heads == 1 else "mean")

    def _grid_scores(self: Any, key: str) -> dict[str, np.ndarray]:
        if self.measure not in DISTRIBUTIONS:
            return {}  # entropy, mass on specials, JS: scores of distributions only
        others = [k for k in self._shown_keys() if k != key]
        other = (short_model_name(others[0]), self._attention(others[0])) if others else None
        given, name = self._scores.get(key), self._score_name
        if given is None:  # the parse shown scores the heads (Clark et al.'s accuracy)
            given, name = self._relation_accuracy(key), RELATION_ACCURACY
        return head_scores(
            self._attention(key),
            len(self._parses[self.sentence].words),
            given=given if self.measure == "attention" else None,
            given_name=name,
            other=other,
            exclude_sink=self.exclude_sink,
        )

    def _relation_accuracy(self: Any, key: str) -> np.ndarray | None:
        """``key``'s relation accuracy on the current sentence's parse (cached per sentence)."""
        cache = self.__dict__.setdefault("_relation_cache", {})
        if (key, self.sentence) not in cache:
            cache[key, self.sentence] = relation_accuracy(
                self._extractions[key][self.sentence], self._parses[self.sentence]
            )
        scores: np.ndarray | None = cache[key, self.sentence]
        return scores

    def _shown_keys(self: Any) -> list[str]:
        return [self.model, self.compare] if self.compare else [self.model]

    def _linked_choice(self: Any) -> tuple[LayerChoice, HeadChoice]:
        (n_layers, _), (n_layers_b, n_heads_b) = (
            self._shapes[self.model],
            self._shapes[self.compare],
        )
        layer = map_layer(self.layer, n_layers, n_layers_b)
        head: HeadChoice = self.head
        if isinstance(head, int) and head >= n_heads_b:
            head = "mean"
        return layer, head

    def _choices(self: Any) -> dict[str, tuple[LayerChoice, HeadChoice]]:
        choices = {self.model: (self.layer, self.head)}
        if self.compare:
            choices[self.compare] = (
                self._linked_choice() if self.link else (self.compare_layer, self.compare_head)
            )
        return choices

    def _attention(self: Any, key: str) -> np.ndarray:
        """``[layer, head, query, key]`` of the measure shown for ``key`` (specials as chosen)."""
        if self.measure == "attention":
            values = self._extractions[key][self.sentence].attention
            if values is None:  # checked in __init__; kept for the type checker
                raise ValueError(f"{key} has no attention")
        else:
            values = self._measure_values[self.measure][key][self.sentence]
        if self.special_tokens == "drop":
            n = len(self._parses[self.sentence].words)
            return without_specials(values, n, renormalise=self.measure in DISTRIBUTIONS)
        return np.asarray(values)
