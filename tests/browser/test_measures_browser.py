"""Measures beside attention, special tokens, per-model hidden heads and the neuron panel, in
JupyterLab (headless Chromium).

Synthetic norms, rollout and attributions and a neuron stand-in drive each control and are
checked against Python; MiniLM and SmolLM2 with real value-weighted norms
(``trfviz.measures.attention_norms``) on a 40-word UD English EWT sentence leave screenshots
in tests/artifacts/ (measures-*.png).
"""

from __future__ import annotations

import json
from typing import Any

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

pytestmark = pytest.mark.browser

SYNTHETIC = [
    "from tests.browser.widget_data import make_document\n"
    "from tests.widget.measure_data import synthetic_measures, synthetic_neurons\n"
    "from trfviz.widget import AttentionExplorer\n"
    "parses, extractions = make_document()\n"
    "measures = [m for name in ('norms', 'rollout', 'attributions')\n"
    "            for m in synthetic_measures(extractions, name)]\n"
    "neurons = [synthetic_neurons(k, v) for k, v in extractions.items()]\n"
    "explorer = AttentionExplorer(parses, extractions, measures=measures, neurons=neurons,\n"
    "                             compare='tiny-gpt')\n"
    "explorer",
]


def _no_overflow(page: Any) -> None:
    width = page.evaluate(
        "() => { const r = document.querySelector('.trfviz-explorer');"
        " return [r.scrollWidth, r.clientWidth]; }"
    )
    assert width[0] <= width[1] + 1, f"the explorer overflows its cell: {width}"


def _tall_shot(page: Any, locator: Any, name: str) -> None:
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2400})
    try:
        screenshot(page, locator, name)
    finally:
        page.set_viewport_size(size)


def test_measures_specials_heads_and_neurons(lab: Jupyter, page: Any) -> None:
    name = write_notebook(lab, "measures.ipynb", SYNTHETIC)
    root = run_notebook(page, lab, name)
    measure = root.locator("select[data-trait=measure]")
    measure.wait_for(state="visible")
    options = measure.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert options == ["attention", "norms", "rollout", "attributions"]

    # Norms: the colour bar says so, and no difference of non-distributions is offered.
    measure.select_option("norms")
    wait_until(page, "() => document.querySelector('.tv-aligned').dataset.measure === 'norm'")
    captions = root.locator(".tv-legend").evaluate_all("ls => ls.map(l => l.dataset.caption)")
    assert captions and all(c.startswith("attention norm") for c in captions)
    assert root.locator("button[data-mode=difference]").is_disabled()
    pin_token(page, root, 6)  # "telescope"
    weight = float(str(root.locator(".tv-token[data-index='2']").get_attribute("data-weight")))
    expected = float(
        kernel_print(page, "explorer._measure_values['norms']['tiny-bert'][0][0, 0, 6, 2]")
    )
    assert weight == pytest.approx(expected, rel=1e-3)
    screenshot(page, root, "measures-norms-synthetic.png")
    # Norms are not distributions: choosing them gave each panel its own scale, and each
    # legend names its model, says it is its own, and the measure.
    wait_until(page, "() => document.querySelector('.tv-aligned').dataset.scale === 'per-model'")
    items = root.locator(".tv-legend-item").all_text_contents()
    assert len(items) == 2 and all("(own scale)" in t for t in items), items
    assert kernel_print(page, "explorer.view_spec().shared_range") == "False"
    # One shared scale is still one click away.
    root.locator("button[data-trait=per_model_scale]").click()
    wait_until(page, "() => document.querySelector('.tv-aligned').dataset.scale === 'shared'")
    assert kernel_print(page, "explorer.view_spec().shared_range") == "True"

    # Attributions: shaded words on a signed scale, the value of each word whatever the focus.
    measure.select_option("attributions")
    wait_until(page, "() => document.querySelector('.tv-compact[data-signed=true]') !== null")
    shown = root.locator(".tv-cstrip[data-model='tiny-bert']").evaluate_all(
        "ss => ss.map(s => Number(s.dataset.weight))"
    )
    values = json.loads(
        kernel_print(
            page,
            "__import__('json').dumps(explorer._measure_values['attributions']"
            "['tiny-bert'][0][0, 0, 0].tolist())",
        )
    )
    assert shown[: len(values)] == pytest.approx(values, abs=1e-3)
    assert "symmetric about 0" in root.locator(".tv-compact-caption").inner_text()
    screenshot(page, root, "measures-attributions-synthetic.png")

    # Back to attention: drop the specials, then all heads with heads hidden per model.
    measure.select_option("attention")
    root.locator("button[data-trait=compact]").click()  # attributions turned it on
    assert wait_kernel_value(page, "explorer.compact", "False") == "False"
    wait_until(page, "() => document.querySelector('.tv-token.tv-special') !== null")
    root.locator("button[data-trait=special_tokens]").click()
    assert wait_kernel_value(page, "explorer.special_tokens", "drop") == "drop"
    wait_until(page, "() => document.querySelector('.tv-token.tv-special') === null")
    assert kernel_print(page, "explorer.view_spec().special_tokens") == "drop"
    root.locator("select[data-trait=head]").select_option("all")
    root.locator("input[data-trait=link]").wait_for(state="visible")
    root.locator("select[data-trait=compare_head]").select_option("all")
    wait_until(page, "() => document.querySelectorAll('.tv-head-chips').length === 2")
    root.locator(".tv-head-chips[data-model='tiny-gpt'] .tv-head-chip[data-head='1']").click()
    got = wait_kernel_value(page, "explorer.hidden_heads", "{'tiny-gpt': [1]}")
    assert got == "{'tiny-gpt': [1]}"
    spec = kernel_print(page, "explorer.view_spec().hidden_heads")
    assert spec == "((), (1,))"
    wait_until(
        page,
        "() => document.querySelectorAll(\".tv-head-line[data-model='tiny-gpt'][data-head='1']\")"
        ".length === 0",
    )

    # The neuron panel: the pinned word's query against each key at the heads shown.
    root.locator("select[data-trait=head]").select_option("2")
    root.locator("select[data-trait=compare_head]").select_option("0")
    root.locator("button.tv-neurons-toggle").click()
    wait_until(page, "() => document.querySelectorAll('.tv-neuron-panel[data-head]').length === 2")
    panel = root.locator(".tv-neuron-panel[data-model='tiny-bert']")
    assert panel.get_attribute("data-head") == "2" and panel.get_attribute("data-word") == "6"
    scores = panel.locator(".tv-neuron-score").evaluate_all(
        "ss => ss.map(s => Number(s.dataset.score))"
    )
    expected_scores = json.loads(
        kernel_print(
            page,
            "__import__('json').dumps(explorer._neuron_data['tiny-bert'][0]"
            f".scores({kernel_print(page, 'explorer.layer')}, 2, 6).tolist())",
        )
    )
    # "Drop specials" is on: the words' keys only, as in the attention view.
    assert kernel_print(page, "explorer.special_tokens") == "drop"
    n_words = int(kernel_print(page, "len(explorer._neuron_data['tiny-bert'][0].tokens)"))
    assert scores == pytest.approx(expected_scores[:n_words], abs=1e-3)
    assert panel.locator("canvas.tv-neuron-strip").count() == 3  # query, keys, products
    _no_overflow(page)
    _tall_shot(page, root, "measures-neurons-synthetic.png")
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]


REAL = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    "import trfviz\nfrom trfviz.measures import attention_norms\n"
    "from tests.browser.real_lengths import ewt_sentence\n"
    "from tests._shared import minilm, smollm\n"
    "from trfviz.widget import explore\n"
    "doc = ewt_sentence(40)\n"
    "models = {'MiniLM': minilm(), 'SmolLM2': smollm()}\n"
    "extractions = {k: trfviz.extract(doc, m) for k, m in models.items()}\n"
    "norms = [attention_norms(doc, m) for m in models.values()]\n"
    "explorer = explore(doc, extractions, measures=norms, compare='SmolLM2', layer=2,\n"
    "                   measure='norms')\n"
    "explorer",
]


@pytest.mark.model
def test_two_real_models_show_their_attention_norms(lab: Jupyter, page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    name = write_notebook(lab, "measures-real.ipynb", REAL)
    root = run_notebook(page, lab, name, timeout_s=600)
    wait_until(page, "() => document.querySelector('.tv-aligned').dataset.measure === 'norm'")
    pin_token(page, root, 3)
    for key, attribute in (("MiniLM", "data-weight"), ("SmolLM2", "data-weight-b")):
        layer = kernel_print(page, f"explorer._choices()['{key}'][0]")
        expected = float(
            kernel_print(
                page,
                f"explorer._measure_values['norms']['{key}'][0][{layer}, 0, 3, 5]",
            )
        )
        token = root.locator(".tv-token[data-index='5']")
        assert float(str(token.get_attribute(attribute))) == pytest.approx(expected, rel=2e-3)
    captions = root.locator(".tv-legend").evaluate_all("ls => ls.map(l => l.dataset.caption)")
    # Norms follow each model's own scale (MiniLM's peak near 0.6, SmolLM2's near 15), so
    # each panel has its own legend, named.
    assert captions == ["attention norm ‖αf(x)‖"] * 2
    items = root.locator(".tv-legend-item").all_text_contents()
    assert len(items) == 2 and all("(own scale)" in t for t in items), items
    assert any("MiniLM" in t for t in items) and any("SmolLM2" in t for t in items), items
    # On its own scale each model draws its lines: the threshold is a share of its own top.
    for key in ("MiniLM", "SmolLM2"):
        drawn = root.locator(f".tv-line[data-model='{key}']").count()
        assert drawn > 0, f"{key} draws no line from the pinned word"
    _no_overflow(page)
    _tall_shot(page, root, "measures-norms-real-40.png")
    # The export draws the same measure.
    spec = kernel_print(page, "explorer.view_spec().measure")
    assert spec == "norms"
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]
