"""The neuron panel with MiniLM's real queries and keys, in JupyterLab (headless Chromium).

``trfviz.measures.neuron_view`` on a real 12-token UD English EWT sentence: a word pinned
and a head chosen in the page, the panel's scores and softmax weights (as data and as the
numbers it prints) are the ``NeuronExtraction``'s for that word, layer and head. The
screenshot is kept in tests/artifacts/neurons-real-minilm.png.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from tests.browser.harness import (
    Jupyter,
    kernel_print,
    pin_token,
    run_notebook,
    screenshot,
    wait_kernel_value,
    wait_until,
    write_notebook,
)

pytestmark = [pytest.mark.browser, pytest.mark.model]

CELLS = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    "import trfviz\n"
    "from trfviz.measures import neuron_view\n"
    "from trfviz.widget import explore\n"
    "from tests._shared import minilm\n"
    "from tests.browser.real_lengths import ewt_sentence\n"
    "doc = ewt_sentence(12)\n"
    "model = minilm()\n"
    "neurons = neuron_view(doc, model)\n"
    "explorer = explore(doc, {'MiniLM': trfviz.extract(doc, model)}, neurons=neurons, layer=3)\n"
    "explorer",
]

WORD, HEAD = 4, 7


def _shown(text: str) -> float:
    """A number as the panel prints it (``fmt`` in dom.js: ``.31``, ``-2.05``, ``4.1e-4``)."""
    return math.nan if text == "–" else float(text)


def test_the_panel_shows_the_extractions_scores(lab: Jupyter, page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    name = write_notebook(lab, "neurons-real.ipynb", CELLS)
    root = run_notebook(page, lab, name, timeout_s=600)
    pin_token(page, root, WORD)
    root.locator("select[data-trait=head]").select_option(str(HEAD))
    assert wait_kernel_value(page, "explorer.head", str(HEAD)) == str(HEAD)
    root.locator("button.tv-neurons-toggle").click()
    wait_until(
        page,
        f'() => document.querySelector(\'.tv-neuron-panel[data-head="{HEAD}"]'
        f'[data-word="{WORD}"]\') !== null',
    )
    panel = root.locator(".tv-neuron-panel[data-model='MiniLM']")
    assert panel.get_attribute("data-layer") == "3"
    expected = np.array(
        json.loads(
            kernel_print(
                page,
                f"__import__('json').dumps(neurons.sentences[0].scores(3, {HEAD}, {WORD})"
                ".tolist())",
            )
        )
    )
    labels = json.loads(kernel_print(page, "__import__('json').dumps(neurons.sentences[0].labels)"))
    weights = np.exp(expected - expected.max())
    weights /= weights.sum()
    rows = panel.locator(".tv-neuron-score")
    assert rows.count() == len(labels) == len(expected)
    data = rows.evaluate_all(
        "rs => rs.map(r => [Number(r.dataset.score), Number(r.dataset.weight), r.innerText])"
    )
    for (score, weight, text), want, want_weight in zip(data, expected, weights, strict=True):
        assert score == pytest.approx(want, abs=1e-4)
        assert weight == pytest.approx(want_weight, abs=1e-5)
        # What the user reads, within the display's rounding (two decimals, or two digits).
        printed_score, printed_weight = (_shown(x.strip()) for x in text.split("→"))
        assert abs(printed_score - want) <= 0.005 + 0.05 * abs(want), (text, want)
        assert abs(printed_weight - want_weight) <= 0.005 + 0.05 * want_weight, (text, want_weight)
    title = panel.locator(".tv-neuron-title").inner_text()
    assert f"head {HEAD}" in title and f"“{labels[WORD]}”" in title, title
    page.mouse.move(0, 0)  # the pinned word is the focus, not what the pointer rests on
    page.set_viewport_size({"width": 1280, "height": 2400})  # the whole explorer, one shot
    root.scroll_into_view_if_needed()
    screenshot(page, root, "neurons-real-minilm.png")
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]
