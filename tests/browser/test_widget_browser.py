"""The explorer in JupyterLab 4 and Notebook 7 in headless Chromium: render, drive, escape."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.harness import (
    Jupyter,
    run_notebook,
    screenshot,
    wait_kernel_value,
    write_notebook,
)

pytestmark = pytest.mark.browser

SYNTHETIC_CELLS = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    "from tests.browser.widget_data import make_document\n"
    "from trfviz.widget import AttentionExplorer\n"
    "parses, extractions = make_document()\n"
    "import numpy as np\n"
    "scores = {'tiny-bert': np.arange(6, dtype=float).reshape(2, 3)}\n"
    "explorer = AttentionExplorer(parses, extractions, head_scores=scores,\n"
    "                             export_path='exported.svg')\n"
    "explorer",
]

MODEL_CELLS = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    "import trfviz\n"
    "from trfviz.widget import explore\n"
    "nlp = trfviz.load_pipeline('en_core_web_sm')\n"
    "doc = nlp('Anna saw the man with the telescope in Paris. The old man the boat.')\n"
    "extractions = {\n"
    "    'MiniLM': trfviz.extract(doc, 'sentence-transformers/all-MiniLM-L6-v2'),\n"
    "    'SmolLM2': trfviz.extract(doc, 'HuggingFaceTB/SmolLM2-135M-Instruct'),\n"
    "}\n"
    "explorer = explore(doc, extractions)\n"
    "explorer",
]


# Notebook 7's own shortcut-settings race (jupyter/notebook#7862), thrown on opening any
# notebook, one holding only ``1 + 1`` too: not the widget's.
NOTEBOOK7_OWN_ERRORS = ("Cannot read properties of undefined (reading 'schema')",)


def _view_key(root: Any) -> str:
    return str(root.get_attribute("data-view-key"))


def _wait_key_change(page: Any, old: str, prefix: str = "") -> str:
    """The view key once it differs from ``old`` (and starts with ``prefix``)."""
    page.wait_for_function(
        "([old, prefix]) => { const r = document.querySelector('.trfviz-explorer');"
        " const key = r && r.dataset.viewKey;"
        " return key && key !== old && key.startsWith(prefix); }",
        arg=[old, prefix],
        timeout=30_000,
    )
    return str(page.locator(".trfviz-explorer").first.get_attribute("data-view-key"))


def _choose_now(root: Any, trait: str, value: str) -> str:
    """Chooses ``value`` in the control of ``trait``; the view key right after, same task.

    Read before the page can take any message from the kernel: a view drawn by then
    was drawn from what the page already held.
    """
    return str(
        root.locator(f"select[data-trait={trait}]").evaluate(
            "(select, value) => { select.value = value;"
            " select.dispatchEvent(new Event('change'));"
            " return select.closest('.trfviz-explorer').dataset.viewKey; }",
            value,
        )
    )


def _weights(root: Any) -> list[str]:
    """The attention weights shown on the first panel's tokens for the focused token."""
    return [
        str(w)
        for w in root.locator(".tv-panel")
        .first.locator(".tv-token[data-weight]")
        .evaluate_all("nodes => nodes.map(n => n.getAttribute('data-weight'))")
    ]


def _drive(page: Any, root: Any, *, first_model: str, second_model: str, layer: str) -> None:
    """Change layer and head, hover a token, toggle the parse, switch model; assert on the DOM."""
    panel = root.locator(".tv-panel").first
    assert panel.get_attribute("data-model") == first_model

    # Arcs and entity labels are drawn, labelled.
    assert root.locator(".tv-arc").count() > 0
    arc_labels = root.locator(".tv-arc-label").all_text_contents()
    assert "nsubj" in arc_labels
    assert root.locator(".tv-entity").count() > 0

    # Hover a token: attention from it is highlighted, with its wordpieces in the read-out.
    tokens = panel.locator(".tv-token")
    tokens.nth(1).hover()
    page.wait_for_function("() => document.querySelector('.trfviz-explorer').dataset.focus === '1'")
    before = _weights(root)
    assert len(before) == tokens.count()
    assert root.locator(".tv-info-pieces .tv-piece").count() >= 1
    assert root.locator(".tv-line").count() > 0
    assert panel.locator(".tv-focus-summary").count() == 1

    # Change layer: the view comes back from Python and the highlighted weights change.
    key = _view_key(root)
    root.locator("select[data-trait=layer]").select_option(layer)
    key = _wait_key_change(page, key)
    assert f"{first_model}/{layer}/0" in key
    tokens.nth(1).hover()
    after_layer = _weights(root)
    assert after_layer != before

    # Change head: drawn at once from the layer the page holds, without waiting for the
    # kernel (the new view is there within the change event); Python's head follows.
    key = _choose_now(root, "head", "1")
    assert f"{first_model}/{layer}/1" in key
    panel = root.locator(".tv-panel").first
    tokens = panel.locator(".tv-token")
    tokens.nth(1).hover()
    after_head = _weights(root)
    assert after_head != after_layer
    assert panel.locator(".tv-badge").first.get_attribute("data-head") == "1"
    assert _choose_now(root, "head", "mean").startswith(f"{first_model}/{layer}/mean")
    tokens.nth(1).hover()
    assert _weights(root) not in (after_head, after_layer)
    assert _choose_now(root, "head", "1") == key
    state = wait_kernel_value(page, "explorer.layer, explorer.head", f"({layer}, 1)")
    assert state == f"({layer}, 1)"

    # Toggle the parse off and on.
    n_arcs = root.locator(".tv-arc").count()
    root.locator("button[data-trait=show_parse]").click()
    page.wait_for_function(
        "() => document.querySelectorAll('.trfviz-explorer .tv-arc').length === 0"
    )
    root.locator("button[data-trait=show_parse]").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('.trfviz-explorer .tv-arc').length === {n_arcs}"
    )

    # Switch model.
    root.locator("select[data-trait=model]").select_option(second_model)
    key = _wait_key_change(page, key)
    assert key.startswith(f"{second_model}/")
    assert root.locator(".tv-panel").first.get_attribute("data-model") == second_model


def test_synthetic_explorer_renders_and_responds(lab: Jupyter, page: Any) -> None:
    name = write_notebook(lab, "synthetic.ipynb", SYNTHETIC_CELLS)
    root = run_notebook(page, lab, name)
    assert _view_key(root) == "tiny-bert/0/0;side"
    assert float(str(root.get_attribute("data-render-ms"))) > 0
    _drive(page, root, first_model="tiny-bert", second_model="tiny-gpt", layer="1")

    # Keyboard: arrows move between heads and layers.
    # Read the key before the change: the redraw can land before a read after it.
    before = _view_key(root)
    root.locator("select[data-trait=model]").select_option("tiny-bert")
    key = _wait_key_change(page, before)
    assert key == "tiny-bert/1/1;side"  # back from tiny-gpt's layer 3 at the same depth
    root.locator(".tv-panel-title").first.click()
    page.keyboard.press("ArrowRight")
    key = _wait_key_change(page, key)
    assert key == "tiny-bert/1/2;side"
    page.keyboard.press("ArrowUp")
    key = _wait_key_change(page, key)
    assert key == "tiny-bert/0/2;side"

    # Side by side, then difference mode.
    root.locator("select[data-trait=compare]").select_option("tiny-gpt")
    key = _wait_key_change(page, key)
    # Side by side: one panel, both models' bands over one token axis (aligned.js).
    assert root.locator(".tv-aligned .tv-band").count() == 2
    root.locator("button[data-mode=difference]").click()
    key = _wait_key_change(page, key)
    assert key.endswith(";difference")
    assert root.locator(".tv-panel[data-kind=difference]").count() == 1
    assert root.locator(".tv-legend[data-kind=difference]").count() == 1

    # Head grid: thumbnails coloured by score; clicking one jumps to that head.
    root.locator("button[data-trait=show_grid]").click()
    root.locator(".tv-grid-cell").first.wait_for()
    assert root.locator(".tv-grid-model").count() == 2
    # tiny-bert by the scores given, tiny-gpt (none given) by its relation accuracy on the parse.
    assert root.locator(".tv-grid-cell.tv-scored").count() == 6 + 4 * 2
    root.locator(".tv-grid-model").first.locator(
        ".tv-grid-cell[data-layer='1'][data-head='2']"
    ).click()
    key = _wait_key_change(page, key, "tiny-bert/1/2;")
    # A head switch in difference mode is drawn in the page too (linked: tiny-gpt's mean).
    assert _choose_now(root, "head", "0") == "tiny-bert/1/0;tiny-gpt/3/0;difference"
    assert _choose_now(root, "head", "2") == "tiny-bert/1/2;tiny-gpt/3/mean;difference"
    assert root.locator("select[data-trait=compare_head]").input_value() == "mean"

    # Next sentence: the tokens change.
    root.locator("button[data-action=next]").click()
    page.wait_for_function(
        "() => document.querySelector('.trfviz-explorer .tv-token-text')"
        ".textContent.startsWith('<script>')"
    )
    screenshot(page, root, "widget-synthetic.png")

    # The export button asks Python to save the view; the status line reports the file.
    root.locator("button[data-action=export]").click()
    page.wait_for_function(
        "() => document.querySelector('.trfviz-explorer .tv-status').textContent"
        ".startsWith('Saved')",
        timeout=60_000,
    )
    assert (lab.root / "exported.svg").read_text().startswith("<?xml")
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]


def test_token_text_is_escaped(lab: Jupyter, page: Any) -> None:
    cells = [
        "from tests.browser.widget_data import make_document, NASTY\n"
        "from trfviz.widget import AttentionExplorer\n"
        "words = ['<script>alert(1)</script>', '<b>', '<img src=x onerror=\"alert(2)\">', 'x']\n"
        "nasty = (words, [1, 1, 1, 1], ['<i>dep</i>', 'ROOT', 'x', 'y'], [(0, 2, '<u>ENT</u>')])\n"
        "parses, extractions = make_document([nasty])\n"
        "AttentionExplorer(parses, extractions, compare='tiny-gpt')",
    ]
    name = write_notebook(lab, "escape.ipynb", cells)
    root = run_notebook(page, lab, name)
    # A label cut to fit its column keeps the whole word in data-full (and its tooltip).
    texts = (
        root.locator(".tv-panel")
        .first.locator(".tv-token-text")
        .evaluate_all("ns => ns.map(n => n.dataset.full || n.textContent)")
    )
    assert texts[:3] == ["<script>alert(1)</script>", "<b>", '<img src=x onerror="alert(2)">']
    root.locator(".tv-token").first.hover()
    page.wait_for_timeout(300)
    # Nothing parsed as markup, nothing ran.
    for tag in ("script", "b", "img", "i", "u"):
        assert root.locator(tag).count() == 0, tag
    assert "<i>dep</i>" in root.locator(".tv-arc-label").all_text_contents()
    assert "<u>ENT</u>" in root.locator(".tv-entity-label").all_text_contents()
    assert page.trfviz_log["dialogs"] == []
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]


@pytest.mark.model
def test_real_models_explorer(lab: Jupyter, page: Any) -> None:
    name = write_notebook(lab, "models.ipynb", MODEL_CELLS)
    root = run_notebook(page, lab, name, timeout_s=400)
    assert root.locator(".tv-arc-label").all_text_contents()
    assert "GPE" in root.locator(".tv-entity-label").all_text_contents()
    _drive(page, root, first_model="MiniLM", second_model="SmolLM2", layer="3")
    # MiniLM's special tokens are kept as pseudo-tokens; SmolLM2 has none.
    before = _view_key(root)
    root.locator("select[data-trait=model]").select_option("MiniLM")
    key = _wait_key_change(page, before)
    assert root.locator(".tv-panel .tv-special").count() == 2
    root.locator("select[data-trait=compare]").select_option("SmolLM2")
    _wait_key_change(page, key)
    root.locator(".tv-panel").first.locator(".tv-token").nth(6).click()
    page.mouse.move(0, 0)
    page.wait_for_function("() => document.querySelector('.trfviz-explorer').dataset.focus === '6'")
    assert root.locator(".tv-info-pieces").count() == 2
    assert root.locator(".tv-panel .tv-focus-summary").count() == 2
    screenshot(page, root, "widget-models.png")
    outside = [
        url
        for url in page.trfviz_log["requests"]
        if not url.startswith((lab.url, f"blob:{lab.url}", "data:"))
    ]
    assert outside == []
    assert not page.trfviz_log["errors"], page.trfviz_log["errors"]


def test_explorer_in_notebook7(notebook7: Jupyter, page: Any) -> None:
    """The widget renders and responds in Jupyter Notebook 7 as well as in JupyterLab."""
    cells = [
        "from tests.browser.widget_data import make_document\n"
        "from trfviz.widget import AttentionExplorer\n"
        "parses, extractions = make_document()\n"
        "explorer = AttentionExplorer(parses, extractions)\n"
        "explorer",
    ]
    name = write_notebook(notebook7, "notebook7.ipynb", cells)
    root = run_notebook(page, notebook7, name)
    assert page.locator(".jp-LabShell").count() == 0  # Notebook 7's shell, not Lab's
    assert _view_key(root) == "tiny-bert/0/0;side"
    texts = root.locator(".tv-panel").first.locator(".tv-token-text").all_text_contents()
    assert texts[:3] == ["Anna", "saw", "the"]
    assert "nsubj" in root.locator(".tv-arc-label").all_text_contents()
    assert root.locator(".tv-line").count() > 0
    root.locator(".tv-token").nth(1).hover()
    before = _weights(root)
    root.locator("select[data-trait=layer]").select_option("1")
    _wait_key_change(page, "tiny-bert/0/0;side", "tiny-bert/1/0;")
    root.locator(".tv-token").nth(1).hover()
    assert _weights(root) != before
    assert _choose_now(root, "head", "2") == "tiny-bert/1/2;side"
    assert wait_kernel_value(page, "explorer.layer, explorer.head", "(1, 2)") == "(1, 2)"
    screenshot(page, root, "widget-notebook7.png")
    outside = [
        url
        for url in page.trfviz_log["requests"]
        if not url.startswith((notebook7.url, f"blob:{notebook7.url}", "data:"))
    ]
    assert outside == []
    errors = [e for e in page.trfviz_log["errors"] if e not in NOTEBOOK7_OWN_ERRORS]
    assert not errors, errors
