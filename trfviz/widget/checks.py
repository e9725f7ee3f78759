"""The explorer's checks on its settings: layer, head, sentence, token, model, measure valid.

:class:`ExplorerChecks` holds the trait validators of
:class:`~trfviz.widget.AttentionExplorer` (a mixin: the explorer supplies the
data they check against); :class:`ExplorerValueError` is what they raise.
"""

from __future__ import annotations

from typing import Any

import traitlets as t

from trfviz.widget.payload import HeadChoice, LayerChoice

__all__ = ["ExplorerChecks", "ExplorerValueError", "head_trait", "layer_trait"]


class ExplorerValueError(t.TraitError, ValueError):
    """A widget setting out of range (layer, head, sentence, token, model).

    A ``traitlets.TraitError``, so the widget rolls the change back, and a
    ``ValueError``, as trfviz raises for bad input everywhere else.
    """


def layer_trait(default: LayerChoice = 0) -> t.Union:
    """A synced layer trait: an index or ``"mean"``."""
    return t.Union([t.Int(), t.Enum(["mean"])], default_value=default).tag(sync=True)


def head_trait(default: HeadChoice = 0) -> t.Union:
    """A synced head trait: an index, ``"mean"`` or ``"all"``."""
    return t.Union([t.Int(), t.Enum(["mean", "all"])], default_value=default).tag(sync=True)


class ExplorerChecks:
    """The explorer's trait validators (a mixin; ``self`` is the explorer)."""

    @t.validate("model")
    def _valid_model(self: Any, proposal: t.Bunch) -> str:
        value = proposal["value"]
        if value not in self._extractions:
            raise ExplorerValueError(
                f"model must be one of {list(self._extractions)}, got {value!r}"
            )
        return str(value)

    @t.validate("compare")
    def _valid_compare(self: Any, proposal: t.Bunch) -> str:
        value = proposal["value"]
        if value and value not in self._extractions:
            raise ExplorerValueError(f"compare must be '' or one of {list(self._extractions)}")
        return str(value)

    @t.validate("sentence")
    def _valid_sentence(self: Any, proposal: t.Bunch) -> int:
        value = int(proposal["value"])
        if not 0 <= value < len(self._parses):
            raise ExplorerValueError(f"sentence must be 0..{len(self._parses) - 1}, got {value}")
        return value

    @t.validate("layer", "compare_layer")
    def _valid_layer(self: Any, proposal: t.Bunch) -> LayerChoice:
        value = proposal["value"]
        key = self.model if proposal["trait"].name == "layer" else self.compare
        n_layers = self._shapes[key][0] if key in self._shapes else None
        if value != "mean" and n_layers is not None and not 0 <= value < n_layers:
            raise ExplorerValueError(f"layer must be 0..{n_layers - 1} or 'mean', got {value!r}")
        return value

    @t.validate("head", "compare_head")
    def _valid_head(self: Any, proposal: t.Bunch) -> HeadChoice:
        value = proposal["value"]
        key = self.model if proposal["trait"].name == "head" else self.compare
        n_heads = self._shapes[key][1] if key in self._shapes else None
        if not isinstance(value, str) and n_heads is not None and not 0 <= value < n_heads:
            raise ExplorerValueError(
                f"head must be 0..{n_heads - 1}, 'mean' or 'all', got {value!r}"
            )
        return value

    @t.validate("selected", "hovered")
    def _valid_token(self: Any, proposal: t.Bunch) -> int:
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

    @t.validate("measure")
    def _valid_measure(self: Any, proposal: t.Bunch) -> str:
        value = proposal["value"]
        available = self._measures_for(self._shown_keys())
        if value not in available:
            raise ExplorerValueError(
                f"measure must be one given for every model shown, {available}, got {value!r}; "
                "pass measures=[...] (trfviz.measures results) to the explorer"
            )
        return str(value)

    @t.validate("hidden_heads")
    def _valid_hidden(self: Any, proposal: t.Bunch) -> dict[str, list[int]]:
        value = dict(proposal["value"])
        unknown = [key for key in value if key not in self._extractions]
        if unknown:
            raise ExplorerValueError(
                f"hidden_heads maps model keys to head lists; unknown {unknown}, "
                f"models are {list(self._extractions)}"
            )
        return {key: sorted({int(h) for h in heads}) for key, heads in value.items()}

    @t.validate("window")
    def _valid_window(self: Any, proposal: t.Bunch) -> tuple[int, int] | None:
        value = proposal["value"]
        if value is None:
            return None
        start, end = (int(x) for x in value)
        if not 0 <= start < end:
            raise ExplorerValueError(
                f"window must be None or (start, end) with 0 <= start < end, got {tuple(value)}"
            )
        return start, end
