"""The explorer's data for the browser: what is shown, refreshed when a choice changes.

:class:`ExplorerData` (a mixin of :class:`~trfviz.widget.AttentionExplorer`)
works out the models, layers and heads shown and packs what the browser draws
into the private synced traits (``_sentence_data``, ``_layers``,
``_difference``, ``_grid``) with :mod:`trfviz.widget.payload`, in one message
per change so the browser never mixes one sentence's tokens with another's
weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from trfviz.naming import short_model_name
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
            self._update_difference(layers)
        self._update_pieces()
        if grid:
            self._grid = (
                {
                    key: pack_grid(self._attention(key), scores=self._grid_scores(key))
                    for key in keys
                }
                if self.show_grid
                else {}
            )

    def _update_difference(self: Any, layers: Mapping[str, LayerChoice]) -> None:
        key = f"{layers_key(self.sentence, layers)};sink={int(self.exclude_sink)}"
        if len(layers) == 2 and self._difference.get("key") != key:
            self._difference = pack_difference(
                {k: self._attention(k) for k in layers},
                layers,
                sentence=self.sentence,
                n_tokens=len(self._parses[self.sentence].words),
                exclude_sink=self.exclude_sink,
            )
        elif len(layers) != 2 and self._difference:
            self._difference = {}

    def _update_pieces(self: Any) -> None:
        index, word = self.sentence, self.selected if self.show_pieces else -1
        layers = {key: choice[0] for key, choice in self._choices().items()}
        if self._pieces.get("key") != (key := f"{layers_key(index, layers)};w{word}"):
            shown = {k: (self._extractions[k][index], layer) for k, layer in layers.items()}
            self._pieces = {"key": key, **pieces_payload(index, word, shown)}

    def _grid_scores(self: Any, key: str) -> dict[str, np.ndarray]:
        others = [k for k in self._shown_keys() if k != key]
        other = (short_model_name(others[0]), self._attention(others[0])) if others else None
        return head_scores(
            self._attention(key),
            len(self._parses[self.sentence].words),
            given=self._scores.get(key),
            given_name=self._score_name,
            other=other,
            exclude_sink=self.exclude_sink,
        )

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
        attention = self._extractions[key][self.sentence].attention
        if attention is None:  # checked in __init__; kept for the type checker
            raise ValueError(f"{key} has no attention")
        return attention
