"""The "Wordpieces" toggle in JupyterLab (headless Chromium): the raw wordpiece attention
behind the selected word's pooled values, and those values equal to the view's.

Synthetic data checks each piece and number against Python; MiniLM and SmolLM2 on a real
40-word UD English EWT sentence leave a screenshot in tests/artifacts/ (pieces-*.png).
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
    "from tests.browser.pieces_data import make_piece_document\n"
    "from trfviz.widget import AttentionExplorer\n"
    "parses, extractions = make_piece_document()\n"
    "explorer = AttentionExplorer(parses, extractions, compare='tiny-gpt')\n"
    "explorer",
    "def _pieces_expected(e, word, head):\n"
    "    import json\n"
    "    s = e._extractions[e.model][e.sentence]\n"
    "    row = s.attention[e.layer].mean(0) if head == 'mean' else s.attention[e.layer, head]\n"
    "    return json.dumps({'pieces': [s.pieces[p] for p in s.alignment.pieces_of(word)],\n"
    "                       'row': row[word].tolist(), 'labels': list(s.labels)})\n",
]


def _table(root: Any, model: str) -> dict[str, Any]:
    panel = root.locator(f".tv-pieces-panel[data-model='{model}']")
    return {
        "word": panel.get_attribute("data-word"),
        "head": panel.get_attribute("data-head"),
        "rows": panel.locator("th.tv-pieces-from").all_text_contents(),
        "labels": panel.locator("th.tv-pieces-label").all_text_contents(),
        "pooled": panel.locator("td.tv-pieces-pooled").evaluate_all(
            "ns => ns.map(n => [n.closest('tr').dataset.word, Number(n.dataset.pooled),"
            " Number(n.dataset.shown), n.classList.contains('tv-warn')])"
        ),
        "cells": panel.locator("td.tv-pieces-cell").count(),
        "rule": panel.locator(".tv-pieces-rule").get_attribute("data-rule"),
    }


def _check_against_python(page: Any, root: Any, word: int, head: Any) -> dict[str, Any]:
    table = _table(root, "tiny-bert")
    expected = json.loads(kernel_print(page, f"_pieces_expected(explorer, {word}, {head!r})"))
    assert table["word"] == str(word) and table["head"] == str(head)
    assert table["rows"] == expected["pieces"]
    assert table["rule"] == "mean"
    assert table["pooled"], "each word's pooled value is shown"
    for index, pooled, shown, warned in table["pooled"]:
        assert pooled == pytest.approx(expected["row"][int(index)], abs=1e-5)
        assert shown == pytest.approx(expected["row"][int(index)], abs=1e-5)
        assert not warned
    return table


def _no_overflow(page: Any) -> None:
    width = page.evaluate(
        "() => { const r = document.querySelector('.trfviz-explorer');"
        " return [r.scrollWidth, r.clientWidth]; }"
    )
    assert width[0] <= width[1] + 1, f"the explorer overflows its cell: {width}"


def test_wordpieces_toggle_shows_the_split_words_pieces(lab: Jupyter, page: Any) -> None:
    name = write_notebook(lab, "pieces.ipynb", SYNTHETIC)
    root = run_notebook(page, lab, name)
    toggle = root.locator("button.tv-pieces-toggle")
    toggle.wait_for(state="visible")  # tiny-bert kept its pieces: the toggle is offered
    assert toggle.get_attribute("aria-pressed") == "false"
    assert root.locator(".tv-pieces-panel").count() == 0
    toggle.click()
    assert wait_kernel_value(page, "explorer.show_pieces", "True") == "True"
    wait_until(
        page, "() => document.querySelector('.tv-pieces-hint').textContent.includes('Click')"
    )

    pin_token(page, root, 1)  # "saw": "s" + "##aw"
    wait_until(page, "() => document.querySelector(\".tv-pieces-panel[data-word='1']\") !== null")
    assert root.locator(".tv-pieces-panel").count() == 1  # tiny-gpt kept no pieces
    table = _check_against_python(page, root, 1, 0)
    assert table["rows"] == ["s", "##aw"]
    assert len(table["labels"]) == 8  # the 8 strongest of 10 words and specials
    root.locator(".tv-pieces-more").click()
    wait_until(page, "() => document.querySelectorAll('th.tv-pieces-label').length === 10")

    # A head switch is drawn from the payload held (no new data): the values follow.
    root.locator("select[data-trait=head]").select_option("2")
    wait_until(page, "() => document.querySelector('.tv-pieces-panel').dataset.head === '2'")
    _check_against_python(page, root, 1, 2)
    root.locator("select[data-trait=head]").select_option("mean")
    wait_until(page, "() => document.querySelector('.tv-pieces-panel').dataset.head === 'mean'")
    _check_against_python(page, root, 1, "mean")
    _no_overflow(page)
    screenshot(page, root, "pieces-synthetic.png")

    # Another layer sends that layer's pieces; unpinning or toggling off clears the table.
    root.locator("select[data-trait=layer]").select_option("1")
    assert wait_kernel_value(page, "explorer._pieces['panels'][0]['layer']", "1") == "1"
    _check_against_python(page, root, 1, "mean")
    toggle.click()
    wait_until(page, "() => document.querySelectorAll('.tv-pieces-panel').length === 0")
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]


REAL = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    "import trfviz\nfrom tests.browser.real_lengths import ewt_sentence\n"
    "from tests._shared import minilm, smollm\n"
    "from trfviz.widget import explore\n"
    "doc = ewt_sentence(40)\n"
    "extractions = {'MiniLM': trfviz.extract(doc, minilm(), piece_attention=True),\n"
    "               'SmolLM2': trfviz.extract(doc, smollm(), piece_attention=True)}\n"
    "s = extractions['MiniLM'].sentences[0]\n"
    "split = max(range(s.n_tokens),\n"
    "            key=lambda t: (len(s.alignment.pieces_of(t)), len(s.tokens[t])))\n"
    "explorer = explore(doc, extractions, compare='SmolLM2', show_pieces=True, layer=2)\n"
    "explorer",
    "import json\n"
    "def _real_expected(e, word):\n"
    "    return json.dumps({k: [e._extractions[k][0].pieces[p]\n"
    "                           for p in e._extractions[k][0].alignment.pieces_of(word)]\n"
    "                       for k in e._shown_keys()})\n",
]


@pytest.mark.model
def test_two_real_models_show_a_split_words_pieces(lab: Jupyter, page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    name = write_notebook(lab, "pieces-real.ipynb", REAL)
    root = run_notebook(page, lab, name, timeout_s=600)
    split = int(kernel_print(page, "split"))
    pin_token(page, root, split)
    wait_until(page, "() => document.querySelectorAll('.tv-pieces-panel').length === 2")
    expected = json.loads(kernel_print(page, f"_real_expected(explorer, {split})"))
    assert len(expected["MiniLM"]) > 1, "the sentence has a word MiniLM splits"
    for model in ("MiniLM", "SmolLM2"):
        table = _table(root, model)
        assert table["rows"] == expected[model]
        assert table["rule"] == "mean"
        for _, pooled, shown, warned in table["pooled"]:
            assert pooled == pytest.approx(shown, abs=1e-4) and not warned
    _no_overflow(page)
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 2400})
    try:
        screenshot(page, root.locator(".tv-pieces"), "pieces-real-40.png")
        screenshot(page, root, "pieces-real-40-whole.png")
    finally:
        page.set_viewport_size(size)
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]
