"""The logit-lens panel with SmolLM2's real logit lens, in JupyterLab (headless Chromium).

MiniLM beside SmolLM2 on real 12-, 40- and 64-token UD English EWT sentences, in a
1280x800 window: only the causal model gets a table, which names it; the table never
scrolls the cell sideways (a long sentence shows a window of words that follows the
focus); the cells shown are the lens's own numbers; the shading choice reaches the view
spec and the export draws the table. Screenshots and the exported figure are kept in
tests/artifacts/ (lens-real-*.png, lens-export-12.png).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from tests.browser.harness import (
    ARTIFACTS,
    Jupyter,
    kernel_print,
    run_notebook,
    wait_kernel_value,
    write_notebook,
)
from tests.browser.harness import screenshot as take

pytestmark = [pytest.mark.browser, pytest.mark.model]

LENGTHS = (12, 40, 64)
CELLS = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    "import trfviz\n"
    "from trfviz.measures import logit_lens\n"
    "from trfviz.widget import explore\n"
    "from tests._shared import minilm, smollm\n"
    "from tests.browser.real_lengths import ewt_sentence\n"
    "models = {'MiniLM': minilm(), 'SmolLM2': smollm()}\n"
    "def lens_explorer(n):\n"
    "    doc = ewt_sentence(n)\n"
    "    extractions = {k: trfviz.extract(doc, m) for k, m in models.items()}\n"
    "    lens = logit_lens(doc, models['SmolLM2'])\n"
    "    return explore(doc, extractions, compare='SmolLM2', logit_lens=lens,\n"
    "                   show_logit_lens=True)\n"
    f"explorers = {{n: lens_explorer(n) for n in {LENGTHS!r}}}",
    *[f"explorers[{n}]" for n in LENGTHS],
]


@pytest.fixture(scope="module")
def opened(lab: Jupyter, browser: Any) -> Iterator[tuple[Any, list[Any]]]:
    """The notebook of three explorers open in a 1280x800 page, its cells run."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    name = write_notebook(lab, "lens.ipynb", CELLS)
    run_notebook(page, lab, name, timeout_s=600)
    page.wait_for_function(
        f"() => document.querySelectorAll(\".trfviz-explorer[data-ready='true'] .tv-aligned\")"
        f".length === {len(LENGTHS)}",
        timeout=600_000,
    )
    page.trfviz_errors = errors
    try:
        yield page, [page.locator(".trfviz-explorer").nth(i) for i in range(len(LENGTHS))]
    finally:
        context.close()


def _shot(page: Any, root: Any, name: str) -> None:
    """The whole explorer, in a window as wide (the same layout) and tall enough to hold it."""
    page.set_viewport_size({"width": 1280, "height": 2400})
    root.scroll_into_view_if_needed()
    try:
        take(page, root, name)
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


GEOMETRY = """(root) => {
  const out = root.closest('.jp-OutputArea-output') || root.parentElement;
  const panel = root.querySelector('.tv-lens-panel');
  const table = panel.querySelector('.tv-lens-table');
  const cells = [...table.querySelectorAll('td.tv-lens-cell')]
    .map((c) => c.getBoundingClientRect());
  return {
    outScroll: out.scrollWidth, outClient: out.clientWidth,
    rootScroll: root.scrollWidth, rootClient: root.clientWidth,
    table: table.getBoundingClientRect().right, panel: panel.getBoundingClientRect().right,
    narrowest: Math.min(...cells.map((r) => r.width)),
    font: parseFloat(getComputedStyle(table.querySelector('td')).fontSize),
    start: Number(panel.dataset.start), end: Number(panel.dataset.end), n: Number(panel.dataset.n),
  };
}"""


def _as_shown(piece: str) -> str:
    """A piece as a cell shows it (lens.js): newlines and tabs as signs, spaces as ␣ if alone."""
    text = piece.replace("\n", "↵").replace("\t", "⇥")
    return text.strip() or text.replace(" ", "␣")


def _lens_cell(page: Any, n: int, layer: int, word: int) -> dict[str, Any]:
    """The lens's own numbers for one cell, from the kernel."""
    expression = (
        f"(lambda s: __import__('json').dumps({{'piece': s.top_pieces[s.layers.index({layer})]"
        f"[{word}][0], 'prob': float(s.top_probs[s.layers.index({layer}), {word}, 0]), "
        f"'rank': int(s.next_rank[s.layers.index({layer}), {word}]), 'layers': list(s.layers)}}))"
        f"(explorers[{n}]._lens_data['SmolLM2'][0])"
    )
    return dict(json.loads(kernel_print(page, expression)))


@pytest.mark.parametrize("index", range(len(LENGTHS)))
def test_the_table_fits_follows_the_focus_and_holds_the_lens(
    opened: tuple[Any, list[Any]], index: int
) -> None:
    page, roots = opened
    n, root = LENGTHS[index], roots[index]
    root.scroll_into_view_if_needed()
    # Only the causal model has a lens, and its panel says which model it is.
    root.locator(".tv-lens-panel").first.wait_for(state="visible")
    panels = root.locator(".tv-lens-panel").evaluate_all("ps => ps.map(p => p.dataset.model)")
    assert panels == ["SmolLM2"]
    assert "SmolLM2" in root.locator(".tv-lens-title").inner_text()
    # Focus a word late in the sentence (from Python): the window moves to hold it.
    word = n - 3
    kernel_print(page, f"setattr(explorers[{n}], 'selected', {word})")
    root.locator(f".tv-lens-word.tv-lens-focus[data-index='{word}']").last.wait_for()
    g = root.evaluate(GEOMETRY)
    assert g["outScroll"] <= g["outClient"] and g["rootScroll"] <= g["rootClient"], g
    assert g["table"] <= g["panel"] + 0.5, g
    assert g["start"] <= word < g["end"] and g["n"] == n, g
    assert g["narrowest"] >= 50 and g["font"] >= 11, g  # eight characters a cell, legible
    if n == 12:
        assert (g["start"], g["end"]) == (0, 12), "a short sentence is shown whole"
    else:
        assert g["end"] - g["start"] < n, "a long sentence is windowed, not squeezed"
    # The cell shown is the lens's: top-1 guess, its probability, the next word's rank.
    for layer in (0, 15, 30):
        expected = _lens_cell(page, n, layer, word)
        cell = root.locator(f"tr[data-layer='{layer}'] td.tv-lens-cell[data-index='{word}']")
        assert cell.get_attribute("data-piece") == expected["piece"]
        assert np.float32(float(str(cell.get_attribute("data-prob")))) == np.float32(
            expected["prob"]
        )
        assert int(str(cell.get_attribute("data-rank"))) == expected["rank"]
        text = cell.inner_text()
        assert text == _as_shown(expected["piece"])
    # Hovering a cell reads it out: the guess and the next word's rank.
    cell = root.locator(f"tr[data-layer='30'] td.tv-lens-cell[data-index='{word}']")
    cell.hover()
    readout = root.locator(".tv-lens-readout").inner_text()
    assert readout.startswith("layer 30") and f"rank {expected['rank']}" in readout, readout
    _shot(page, root, f"lens-real-{n}.png")
    if n == 64:
        # ‹ pages back by half a window, to the words before (the focus is left behind).
        root.locator(".tv-lens-nav button").first.click()
        page.wait_for_function(
            "(start) => Number(document.querySelectorAll('.trfviz-explorer')[2]"
            ".querySelector('.tv-lens-panel').dataset.start) < start",
            arg=g["start"],
        )
    assert not page.trfviz_errors, page.trfviz_errors


def test_shading_reaches_the_spec_and_the_export_draws_the_lens(
    opened: tuple[Any, list[Any]],
) -> None:
    page, roots = opened
    root = roots[0]
    root.scroll_into_view_if_needed()
    assert kernel_print(page, "explorers[12].view_spec().logit_lens") == "top"
    root.locator("button[data-trait=logit_lens_color][data-value=next]").click()
    assert wait_kernel_value(page, "explorers[12].logit_lens_color", "next") == "next"
    assert kernel_print(page, "explorers[12].view_spec().logit_lens") == "next"
    target = ARTIFACTS / "lens-export-12.png"
    saved = kernel_print(page, f"explorers[12].save_figure({str(target)!r}, preset='two-column')")
    assert saved == str(target) and target.exists()
    titles = kernel_print(
        page,
        "[a.get_title() for a in explorers[12].draw_figure(preset='two-column').get_axes()"
        " if 'logit lens' in a.get_title()]",
    )
    assert "SmolLM2" in titles
    # Closing the panel: the spec says so, and the table is gone from the page.
    root.locator("button.tv-lens-toggle").click()
    assert wait_kernel_value(page, "explorers[12].view_spec().logit_lens", "None") == "None"
    assert root.locator(".tv-lens-panel").count() == 0
    assert not page.trfviz_errors, page.trfviz_errors


def test_a_narrower_cell_shows_fewer_words_and_still_fits(opened: tuple[Any, list[Any]]) -> None:
    page, roots = opened
    root = roots[2]
    root.scroll_into_view_if_needed()
    kernel_print(page, "setattr(explorers[64], 'selected', 60)")  # the window comes to it
    root.locator(".tv-lens-word.tv-lens-focus[data-index='60']").last.wait_for()
    panel = root.locator(".tv-lens-panel")
    wide = int(str(panel.get_attribute("data-end"))) - int(str(panel.get_attribute("data-start")))
    page.set_viewport_size({"width": 900, "height": 800})
    try:
        # The panel is redrawn (a new element): ask the page for the one shown now.
        page.wait_for_function(
            "(wide) => { const p = document.querySelectorAll('.trfviz-explorer')[2]"
            ".querySelector('.tv-lens-panel');"
            " return p && Number(p.dataset.end) - Number(p.dataset.start) < wide; }",
            arg=wide,
            timeout=20_000,
        )
        g = root.evaluate(GEOMETRY)
        assert g["table"] <= g["panel"] + 0.5 and g["narrowest"] >= 50, g
        assert g["start"] <= 60 < g["end"], g  # still around the focus
        # Nothing of the panel reaches past the explorer's right edge (in a cell this
        # narrow, 468 px, the toolbar and the attention view may; the lens must not).
        wide = root.evaluate(
            "(root) => { const edge = root.getBoundingClientRect().left + root.clientWidth;"
            " return [...root.querySelectorAll('.tv-lens, .tv-lens *')]"
            ".filter((e) => e.getBoundingClientRect().right > edge + 1)"
            ".map((e) => e.className); }"
        )
        assert wide == [], wide
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
    assert not page.trfviz_errors, page.trfviz_errors
