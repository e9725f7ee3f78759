"""The explorer's neuron panel: the focused word's query against every key, sent on demand.

With random queries and keys (tests/widget/measure_data.py):
nothing but the list of models with neurons crosses before the panel is opened
and a word selected; then only that word at the current layer and head, whose
products and scores are the contract's.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.browser.widget_data import make_document
from tests.widget.measure_data import synthetic_neurons
from trfviz.widget import AttentionExplorer
from trfviz.widget.payload import PackedMatrix, count_message_bytes


def _explorer(**traits: object) -> AttentionExplorer:
    parses, extractions = make_document()
    neurons = [synthetic_neurons(k, v, seed=i) for i, (k, v) in enumerate(extractions.items())]
    return AttentionExplorer(parses, extractions, neurons=neurons, **traits)


def _unpack(packed: dict) -> np.ndarray:
    return PackedMatrix(
        packed["data"], tuple(packed["shape"]), packed["lo"], packed["scale"], packed["bits"]
    ).unpack()


def test_first_view_sends_no_neurons() -> None:
    parses, extractions = make_document()
    plain = AttentionExplorer(parses, extractions, compare="tiny-gpt")
    explorer = _explorer(compare="tiny-gpt")
    assert explorer._neurons["panels"] == [] and explorer._neurons["available"] == [
        "tiny-bert",
        "tiny-gpt",
    ]
    assert count_message_bytes(explorer._neurons)["buffers"] == 0
    assert plain._neurons == {}
    explorer.selected = 2  # selected, but the panel is closed: still nothing
    assert explorer._neurons["panels"] == []


def test_the_panel_holds_the_word_layer_and_head_shown() -> None:
    explorer = _explorer(compare="tiny-gpt", layer=1, head=2, link=False, compare_layer=3)
    explorer.compare_head = 1
    explorer.show_neurons, explorer.selected = True, 3
    first, second = explorer._neurons["panels"]
    assert (first["model"], first["layer"], first["head"], first["word"]) == ("tiny-bert", 1, 2, 3)
    assert (second["layer"], second["head"]) == (3, 1)
    neurons = explorer._neuron_data["tiny-bert"][0]
    products = neurons.products(1, 2, 3)
    np.testing.assert_allclose(
        _unpack(first["products"]), products, atol=first["products"]["scale"] / 2 + 1e-6
    )
    np.testing.assert_allclose(
        _unpack(first["keys"]), neurons.keys[1, 2], atol=first["keys"]["scale"] / 2 + 1e-6
    )
    np.testing.assert_allclose(first["query"], neurons.queries[1, 2, 3], atol=1e-5)
    # The scores are the products' sums, scaled; the weights their softmax.
    np.testing.assert_allclose(first["scores"], products.sum(-1) * neurons.scale, atol=1e-4)
    assert sum(first["softmax"]) == pytest.approx(1.0, abs=1e-5)
    assert first["labels"] == list(neurons.labels)
    # A head switch sends the new head only; a head mean has no neurons to show.
    explorer.head = 0
    assert explorer._neurons["panels"][0]["head"] == 0
    explorer.head = "mean"
    assert explorer._neurons["panels"][0]["reason"] == "choose one layer and one head"


def test_dropping_specials_leaves_their_keys_out_and_renormalises() -> None:
    explorer = _explorer(layer=1, head=2)
    explorer.show_neurons, explorer.selected = True, 3
    neurons = explorer._neuron_data["tiny-bert"][0]
    assert neurons.special_labels, "the synthetic sentence has special tokens"
    kept = explorer._neurons["panels"][0]
    assert kept["labels"] == list(neurons.labels)
    explorer.special_tokens = "drop"
    dropped = explorer._neurons["panels"][0]
    n = len(neurons.tokens)
    assert dropped["labels"] == list(neurons.tokens)
    assert _unpack(dropped["keys"]).shape == (n, neurons.keys.shape[-1])
    assert dropped["scores"] == kept["scores"][:n]
    scores = np.asarray(kept["scores"][:n])
    expected = np.exp(scores - scores.max())
    np.testing.assert_allclose(dropped["softmax"], expected / expected.sum(), atol=1e-5)
    explorer.special_tokens = "keep"
    assert explorer._neurons["panels"][0]["labels"] == list(neurons.labels)


def test_neurons_are_checked() -> None:
    parses, extractions = make_document()
    neurons = synthetic_neurons("tiny-bert", extractions["tiny-bert"])
    with pytest.raises(ValueError, match="matches no model"):
        AttentionExplorer(
            parses, extractions, neurons=synthetic_neurons("x", extractions["tiny-bert"])
        )
    short = neurons.__class__(**{**neurons.__dict__, "sentences": neurons.sentences[:1]})
    with pytest.raises(ValueError, match="1 sentences for 2"):
        AttentionExplorer(parses, extractions, neurons={"tiny-bert": short})
