"""What the explorer shows, in JupyterLab in headless Chromium: the honest difference's
read-out, the scored head grid, and all heads of a layer overlaid.

Synthetic data drives each control; two real models (MiniLM, SmolLM2) on real UD English
EWT sentences of 40 and 64 words check the read-out against Python's maths and leave
screenshots in tests/artifacts/ (content-*.png).
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
    "from trfviz.widget import AttentionExplorer\n"
    "import numpy as np\n"
    "parses, extractions = make_document()\n"
    "scores = {'tiny-bert': np.arange(6, dtype=float).reshape(2, 3)}\n"
    "explorer = AttentionExplorer(parses, extractions, head_scores=scores, compare='tiny-gpt',\n"
    "                             mode='difference', show_grid=True)\n"
    "explorer",
]


def _shoot(page: Any, locator: Any, name: str) -> None:
    """A screenshot of ``locator`` whole: the page made tall enough for it, then put back."""
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2600})
    try:
        screenshot(page, locator, name)
    finally:
        page.set_viewport_size(size)


def _difference_readout(root: Any) -> dict[str, Any]:
    """The focused word's read-out under the difference: JS and each word's two values."""
    summary = root.locator(".tv-panel[data-kind=difference] .tv-focus-summary")
    return {
        "js": float(str(summary.locator(".tv-js").get_attribute("data-js"))),
        "rows": summary.locator(".tv-diff-weight").evaluate_all(
            "nodes => nodes.map(n => [Number(n.dataset.index), Number(n.dataset.a),"
            " Number(n.dataset.b), n.textContent])"
        ),
        "excluded": summary.locator(".tv-excluded").all_text_contents(),
    }


def _python_comparison(page: Any, focus: int) -> dict[str, Any]:
    """Python's compare_rows for the explorer's current difference, the focused row."""
    return dict(json.loads(kernel_print(page, f"_content_compare(explorer, {focus})")))


HELPERS = (
    "from trfviz.widget.export import head_choice, layer_choice\n"
    "from trfviz.widget.payload import select_attention\n"
    "def _content_matrices(e):\n"
    "    spec = e.view_spec()\n"
    "    _, sentences = e._view_data(spec)\n"
    "    out = []\n"
    "    for key, layer, head in spec.per_model:\n"
    "        m = select_attention(sentences[key].attention, layer_choice(layer),"
    " head_choice(head))\n"
    "        out.append(m.mean(0) if m.ndim == 3 else m)\n"
    "    return out\n"
    "def _content_compare(e, focus):\n"
    "    import json\n"
    "    from trfviz.widget.compare import compare_rows\n"
    "    _, sentences = e._view_data(e.view_spec())\n"
    "    specials = [l for s in sentences.values() for l in s.special_labels]\n"
    "    c = compare_rows(*_content_matrices(e), e._parses[e.sentence].words,\n"
    "                     specials=specials, exclude_sink=e.exclude_sink)\n"
    "    return json.dumps({'js': float(c.divergence[focus]), 'a': c.a[focus].tolist(),\n"
    "                       'b': c.b[focus].tolist(), 'excluded': list(c.excluded)})\n"
)


def _check_readout_against_python(page: Any, root: Any, focus: int) -> None:
    shown = _difference_readout(root)
    expected = _python_comparison(page, focus)
    if expected["js"] == expected["js"]:  # not NaN
        assert shown["js"] == pytest.approx(expected["js"], abs=2e-4)
    assert shown["rows"], "the read-out shows the words that differ most"
    for index, a, b, text in shown["rows"]:
        assert a == pytest.approx(expected["a"][index], abs=1e-3)
        assert b == pytest.approx(expected["b"][index], abs=1e-3)
        assert " vs " in text  # both values, side by side
    for label in expected["excluded"]:
        assert label in shown["excluded"][0]


def test_difference_grid_and_overlay_respond(lab: Jupyter, page: Any) -> None:
    name = write_notebook(lab, "content.ipynb", [*SYNTHETIC, HELPERS])
    root = run_notebook(page, lab, name)
    wait_until(page, "() => document.querySelector('.tv-panel[data-kind=difference]') !== null")

    # The difference: mean JS over words, what was left out, and the sink switch.
    note = root.locator(".tv-difference-note")
    assert "JS divergence" in note.inner_text()
    assert "[CLS]" in note.inner_text() and "Anna" in note.inner_text()  # specials, sink
    pin_token(page, root, 3)
    _check_readout_against_python(page, root, 3)
    before = _difference_readout(root)
    root.locator("input[data-trait=exclude_sink]").uncheck()
    assert wait_kernel_value(page, "explorer.exclude_sink", "False") == "False"
    wait_until(
        page,
        "() => !document.querySelector('.tv-difference-note').textContent"
        ".includes('first word, the sink')",
    )
    after = _difference_readout(root)
    assert after["js"] != before["js"]
    _check_readout_against_python(page, root, 3)

    # The head grid: filled by the given score, a colour bar with its name; choose another.
    grid = root.locator(".tv-grid-model").first
    assert grid.get_attribute("data-score") == "relation accuracy"
    assert grid.locator(".tv-grid-cell[data-score]").count() == 6
    assert grid.locator(".tv-score-bar").count() == 1
    assert grid.locator(".tv-grid-score-name").inner_text() == "relation accuracy"
    fills = grid.locator(".tv-grid-cell").evaluate_all(
        "nodes => nodes.map(n => getComputedStyle(n).backgroundColor)"
    )
    assert len(set(fills)) == 6  # six scores, six colours
    grid.locator("select[data-trait=grid_score]").select_option("entropy (bits)")
    wait_until(
        page, "() => document.querySelector('.tv-grid-model').dataset.score === 'entropy (bits)'"
    )
    assert wait_kernel_value(page, "explorer.grid_score", "entropy (bits)") == "entropy (bits)"
    second = root.locator(".tv-grid-model").nth(1)
    assert second.locator(".tv-grid-cell[data-score]").count() == 2 * 4  # tiny-gpt: 4 layers x 2
    grid.locator("select[data-trait=grid_score]").select_option("")
    wait_until(page, "() => document.querySelector('.tv-grid-model canvas') !== null")
    # Click a cell: that head is shown.
    grid.locator(".tv-grid-cell[data-layer='1'][data-head='2']").click()
    assert wait_kernel_value(page, "explorer.layer, explorer.head", "(1, 2)") == "(1, 2)"

    # All heads overlaid: each head's lines in its own colour; a chip hides a head.
    root.locator("button[data-mode=side]").click()
    root.locator("select[data-trait=head]").select_option("all")
    wait_until(page, "() => document.querySelector('.tv-panel[data-kind=heads]') !== null")
    panel = root.locator(".tv-panel[data-kind=heads]").first
    pin_token(page, root, 1)
    lines = panel.locator(".tv-head-line")
    heads_drawn = set(lines.evaluate_all("ns => ns.map(n => n.dataset.head)"))
    assert heads_drawn == {"0", "1", "2"}
    colours = {
        h: set(
            panel.locator(f".tv-head-line[data-head='{h}']").evaluate_all(
                "ns => ns.map(n => n.getAttribute('stroke'))"
            )
        )
        for h in heads_drawn
    }
    assert all(len(c) == 1 for c in colours.values())
    assert len(set().union(*colours.values())) == 3  # one colour per head
    assert panel.locator(".tv-line").count() == 0  # the heads' own lines, not their mean
    # One row of chips per model, each hiding that model's head only.
    panel.locator(".tv-head-chip[data-head='1']").first.click()
    bert_1 = ".tv-head-line[data-model='tiny-bert'][data-head='1']"
    wait_until(page, f'() => document.querySelectorAll("{bert_1}").length === 0')
    bert = panel.locator(".tv-head-line[data-model='tiny-bert']")
    assert {"0", "2"} == set(bert.evaluate_all("ns => ns.map(n => n.dataset.head)"))
    gpt_chips = panel.locator(".tv-head-chips[data-model='tiny-gpt'] .tv-head-chip.tv-on")
    assert gpt_chips.count() == 2  # tiny-gpt's heads all still shown
    hidden = "{'tiny-bert': [1]}"
    assert wait_kernel_value(page, "explorer.hidden_heads", hidden) == hidden
    panel.locator(".tv-head-chip[data-head='1']").first.click()
    wait_until(page, f'() => document.querySelectorAll("{bert_1}").length > 0')
    _shoot(page, root, "content-synthetic-overlay.png")


def _real_cells(n_words: tuple[int, ...]) -> list[str]:
    return [
        "import transformers\ntransformers.utils.logging.disable_progress_bar()",
        "import trfviz\nfrom trfviz.datasets import ud_english_ewt\n"
        "from trfviz.widget import AttentionExplorer\nfrom trfviz.parse import parse_doc\n"
        "docs = ud_english_ewt('dev')\n"
        f"wanted = {n_words!r}\n"
        "picked = [min(docs, key=lambda d: (abs(len(d) - n), len(d))) for n in wanted]\n"
        "parses, sentences = [], {'MiniLM': [], 'SmolLM2': []}\n"
        "models = {'MiniLM': 'sentence-transformers/all-MiniLM-L6-v2',\n"
        "          'SmolLM2': 'HuggingFaceTB/SmolLM2-135M-Instruct'}\n"
        "for doc in picked:\n"
        "    parses += parse_doc(doc)\n"
        "    for key, name in models.items():\n"
        "        sentences[key] += trfviz.extract(doc, name).sentences\n"
        "explorer = AttentionExplorer(parses, sentences, compare='SmolLM2', mode='difference',\n"
        "                             show_grid=True, grid_score='JS distance to SmolLM2')\n"
        "explorer",
        HELPERS,
    ]


@pytest.mark.model
def test_two_real_models_at_40_and_64_words(lab: Jupyter, page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    name = write_notebook(lab, "content-real.ipynb", _real_cells((40, 64)))
    root = run_notebook(page, lab, name, timeout_s=600)
    for sentence, n in ((0, 40), (1, 64)):
        if sentence:
            kernel_print(page, "setattr(explorer, 'sentence', 1)")
            wait_until(
                page,
                "(n) => document.querySelectorAll("
                "'.tv-panel[data-kind=difference] .tv-token').length === n",
                n,
            )
        wait_until(page, "() => document.querySelector('.tv-panel[data-kind=difference]') !== null")
        words = root.locator(".tv-panel[data-kind=difference] .tv-token").count()
        assert words == n
        # SmolLM2's sink is left out and the rows renormalised: the read-out agrees with
        # Python, shows both values and the divergence.
        pin_token(page, root, 5)
        _check_readout_against_python(page, root, 5)
        shown = _difference_readout(root)
        assert all(0 < r[1] < 1 or 0 < r[2] < 1 for r in shown["rows"])
        _shoot(page, root.locator(".tv-panel").first, f"content-difference-{n}.png")
        grid = root.locator(".tv-grid-model").first
        assert grid.get_attribute("data-score") == "JS distance to SmolLM2"
        assert grid.locator(".tv-grid-cell[data-score]").count() == 6 * 12
        _shoot(page, root.locator(".tv-grid"), f"content-grid-{n}.png")
        width = page.evaluate(
            "() => { const g = document.querySelector('.tv-grid');"
            " return [g.scrollWidth, g.clientWidth]; }"
        )
        assert width[0] <= width[1] + 1, f"the head grid overflows its cell: {width}"
    root.locator("button[data-mode=side]").click()
    root.locator("select[data-trait=head]").select_option("all")
    wait_until(page, "() => document.querySelector('.tv-panel[data-kind=heads]') !== null")
    pin_token(page, root, 5)
    panel = root.locator(".tv-panel[data-kind=heads]").first
    assert panel.locator(".tv-head-line").count() > 0
    _shoot(page, panel, "content-overlay-64.png")


REVIEW_HELPERS = (
    "def _review_rows(e):\n"
    "    import json\n"
    "    import numpy as np\n"
    "    from trfviz.widget.compare import compare_rows\n"
    "    _, sentences = e._view_data(e.view_spec())\n"
    "    c = compare_rows(*_content_matrices(e), e._parses[e.sentence].words,\n"
    "                     exclude_sink=e.exclude_sink)\n"
    "    empty = (c.a.sum(-1) <= 0) | (c.b.sum(-1) <= 0)\n"
    "    return json.dumps({'empty': np.flatnonzero(empty).tolist(),\n"
    "                       'mean': float(np.nanmean(c.divergence))})\n"
    "def _review_top(e, model, word):\n"
    "    import json\n"
    "    import numpy as np\n"
    "    m = _content_matrices(e)[model]\n"
    "    return json.dumps(np.argsort(-m[word], kind='stable')[:5].tolist())\n"
)


def test_what_the_review_found_is_fixed(lab: Jupyter, page: Any) -> None:
    """A causal model (tiny-gpt) beside a BERT-like one: the sink, no-data rows, the grid's
    shared scale and computed relation accuracy, the read-out's weight on the word itself."""
    name = write_notebook(lab, "review-fixes.ipynb", [*SYNTHETIC, HELPERS, REVIEW_HELPERS])
    root = run_notebook(page, lab, name)
    wait_until(page, "() => document.querySelector('.tv-panel[data-kind=difference]') !== null")
    expected = json.loads(kernel_print(page, "_review_rows(explorer)"))
    # tiny-gpt's first word attends only to itself, the sink: no weight left, no data.
    assert 0 in expected["empty"]
    cells = root.locator(".tv-panel[data-kind=difference] .tv-cells")
    shown = str(cells.get_attribute("data-no-data-rows"))
    assert [int(x) for x in shown.split(",") if x] == expected["empty"]
    # The mean JS divergence leaves those rows out (NaN), as Python's nanmean.
    js = float(str(root.locator(".tv-js-mean").get_attribute("data-js")))
    assert js == pytest.approx(expected["mean"], abs=2e-4)
    assert "tiny-gpt is causal" in root.locator(".tv-causal-note").inner_text()
    assert "no data" in root.locator(".tv-no-data-note").inner_text()

    # The head grid: relation accuracy for tiny-gpt too (no head_scores given for it), and
    # one colour range per score over both models' grids.
    grids = root.locator(".tv-grid-model")
    assert grids.count() == 2
    options = grids.nth(1).locator("select[data-trait=grid_score] option").all_text_contents()
    assert "relation accuracy" in options
    grids.first.locator("select[data-trait=grid_score]").select_option("entropy (bits)")
    wait_until(
        page,
        "() => [...document.querySelectorAll('.tv-grid-model')]"
        ".every((g) => g.dataset.score === 'entropy (bits)')",
    )
    legends = [grids.nth(i).locator(".tv-grid-legend").inner_text() for i in range(2)]
    assert legends[0] == legends[1] and "one scale for both models" in legends[0]

    # Side by side, unfocused: no strongest arc ends on the sink while it is left out.
    root.locator("button[data-mode=side]").click()
    wait_until(page, "() => document.querySelector('.tv-aligned[data-kind=attention]') !== null")
    gpt = ".tv-band[data-model=tiny-gpt] .tv-line"
    assert root.locator(gpt).count() > 0
    assert root.locator(f"{gpt}[data-k='0']").count() == 0
    note = root.locator(".tv-overview-note")
    assert "attention sink) left out" in note.inner_text()
    note.locator("input[data-trait=exclude_sink]").uncheck()
    assert wait_kernel_value(page, "explorer.exclude_sink", "False") == "False"
    wait_until(page, f"() => document.querySelectorAll(\"{gpt}[data-k='0']\").length > 0")
    assert "left out" not in root.locator(".tv-overview-note").inner_text()

    # The read-out's five strongest weights from a word are Python's, the word itself included.
    pin_token(page, root, 3)
    summary = root.locator(".tv-focus-summary[data-model=tiny-bert] .tv-from .tv-weight")
    listed = summary.evaluate_all("ns => ns.map((n) => Number(n.dataset.index))")
    assert listed == json.loads(kernel_print(page, "_review_top(explorer, 0, 3)"))
    if 3 in listed:
        assert "(itself)" in summary.nth(listed.index(3)).inner_text()
    _shoot(page, root, "content-review-fixes.png")
