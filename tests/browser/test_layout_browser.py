"""The explorer's layout at real lengths: two real models on 12-, 40- and 64-token EWT sentences.

In a 1280x800 JupyterLab window: the view fits the cell (no sideways scrolling), both
models share one token axis (the same word at the same x in each model's band), one colour
scale unless per-model is chosen, labels never overlap and are never clipped, the compact
mode shows every word, the unfocused overview draws at most one arc per word. Screenshots
per length land in tests/artifacts/; render and head-switch times in layout-timings.json.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.harness import ARTIFACTS, Jupyter, run_notebook, write_notebook

pytestmark = [pytest.mark.browser, pytest.mark.model]

LENGTHS = (12, 40, 64)
CELLS = [
    "import transformers\ntransformers.utils.logging.disable_progress_bar()",
    f"from tests.browser.real_lengths import explorers\nexplorers = explorers({LENGTHS!r})",
    *[f"explorers[{n}]" for n in LENGTHS],
]

# The geometry of one explorer, measured in the page.
MEASURE = """root => {
  const out = root.closest('.jp-OutputArea-output') || root.parentElement;
  const rect = (n) => {
    const r = n.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom];
  };
  const svg = root.querySelector('.tv-aligned-svg');
  const visible = (n) => n.getAttribute('visibility') !== 'hidden';
  const strips = {};
  for (const s of root.querySelectorAll('.tv-aligned .tv-strip')) {
    const c = s.closest('.tv-token').dataset.column;
    (strips[c] = strips[c] || {})[s.dataset.model] = rect(s);
  }
  const heat = [...root.querySelectorAll('.tv-heatmap')].map((h) => ({
    box: rect(h),
    rows: [...h.querySelectorAll('.tv-row-label')].filter(visible).map(rect),
    cols: [...h.querySelectorAll('.tv-col-label')].filter(visible)
      .map((t) => Number(t.getAttribute('x'))),
    colBoxes: [...h.querySelectorAll('.tv-col-label')].filter(visible).map(rect),
  }));
  return {
    outScroll: out.scrollWidth, outClient: out.clientWidth,
    rootScroll: root.scrollWidth, rootClient: root.clientWidth,
    svg: svg ? rect(svg) : null, out: rect(out),
    labels: [...root.querySelectorAll('.tv-aligned .tv-token-text')].map(rect),
    mode: root.querySelector('.tv-aligned').dataset.labels,
    strips, heat,
    legends: root.querySelectorAll('.tv-aligned .tv-legend').length,
    nColumns: root.querySelectorAll('.tv-aligned .tv-token').length,
  };
}"""


@pytest.fixture(scope="module")
def opened(lab: Jupyter, browser: Any) -> Iterator[tuple[Any, list[Any]]]:
    """The notebook of three explorers open in a 1280x800 page, its cells run."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    name = write_notebook(lab, "layout.ipynb", CELLS)
    run_notebook(page, lab, name, timeout_s=600)
    page.wait_for_function(
        f"() => document.querySelectorAll(\".trfviz-explorer[data-ready='true'] .tv-aligned\")"
        f".length === {len(LENGTHS)}",
        timeout=600_000,
    )
    roots = [page.locator(".trfviz-explorer").nth(i) for i in range(len(LENGTHS))]
    page.trfviz_errors = errors
    try:
        yield page, roots
    finally:
        context.close()


def screenshot(page: Any, root: Any, name: str) -> None:
    """A screenshot of the whole explorer under tests/artifacts/, taken in a window as wide
    (1280 px, so the same layout) and tall enough to hold it; the window is 800 px again after."""
    from tests.browser.harness import screenshot as take

    page.set_viewport_size({"width": 1280, "height": 2400})
    root.scroll_into_view_if_needed()
    try:
        take(page, root, name)
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})


def _overlap(a: list[float], b: list[float], tol: float = 0.5) -> bool:
    return a[0] < b[2] - tol and b[0] < a[2] - tol and a[1] < b[3] - tol and b[1] < a[3] - tol


def _inside(inner: list[float], outer: list[float], tol: float = 0.5) -> bool:
    return (
        inner[0] >= outer[0] - tol
        and inner[1] >= outer[1] - tol
        and inner[2] <= outer[2] + tol
        and inner[3] <= outer[3] + tol
    )


def _check_geometry(
    g: dict[str, Any], n_columns: int, models: tuple[str, ...] = ("MiniLM", "SmolLM2")
) -> None:
    # Nothing scrolls sideways: neither the cell's output area nor the explorer.
    assert g["outScroll"] <= g["outClient"], (g["outScroll"], g["outClient"])
    assert g["rootScroll"] <= g["rootClient"], (g["rootScroll"], g["rootClient"])
    assert g["svg"][2] <= g["out"][2] + 0.5
    assert g["nColumns"] == n_columns
    # One axis: each column's strip in model A's band and in model B's has the same x centre.
    assert len(g["strips"]) == n_columns
    for column, bands in g["strips"].items():
        assert sorted(bands) == sorted(models), column
        if len(models) == 2:
            a, b = bands[models[0]], bands[models[1]]
            assert abs((a[0] + a[2]) / 2 - (b[0] + b[2]) / 2) <= 0.5, column
    # Word labels: none overlaps another, none is clipped by the view.
    labels = g["labels"]
    assert labels
    for i in range(len(labels) - 1):
        assert not _overlap(labels[i], labels[i + 1]), (i, labels[i], labels[i + 1])
    for box in labels:
        assert _inside(box, g["svg"]), box
    # Heatmaps: thinned row labels never overlap; rotated column labels are far enough
    # apart that their text lines (13 px across) do not touch; all inside the heatmap.
    for heat in g["heat"]:
        rows = heat["rows"]
        for i in range(len(rows) - 1):
            assert not _overlap(rows[i], rows[i + 1]), (i, rows[i], rows[i + 1])
        xs = heat["cols"]
        assert all(b - a >= 13 / 0.819 - 0.01 for a, b in itertools.pairwise(xs)), xs
        for box in rows + heat["colBoxes"]:
            assert _inside(box, heat["box"]), box
        assert heat["box"][2] <= g["out"][2] + 0.5


@pytest.mark.parametrize("index", range(len(LENGTHS)))
def test_fits_and_aligns(opened: tuple[Any, list[Any]], index: int) -> None:
    page, roots = opened
    n = LENGTHS[index]
    root = roots[index]
    root.scroll_into_view_if_needed()
    assert root.get_attribute("data-view-key").endswith(";side")
    columns = n + 2  # MiniLM's [CLS] and [SEP] after the words; SmolLM2 has no specials
    g = root.evaluate(MEASURE)
    _check_geometry(g, columns)
    # Every word labelled at these lengths in this window (rotated where columns are narrow);
    # a label cut short ends in an ellipsis and keeps the whole word for its tooltip.
    aligned = root.locator(".tv-aligned")
    assert aligned.get_attribute("data-label-step") == "1", aligned.get_attribute(
        "data-column-width"
    )
    assert len(g["labels"]) == columns
    for full, text in root.locator(".tv-aligned .tv-token-text").evaluate_all(
        "ns => ns.map(n => [n.dataset.full || null, n.textContent])"
    ):
        assert full is None or (text.endswith("…") and full.startswith(text[:-1]))
    assert g["legends"] == 1  # one colour scale for both models
    assert root.locator(".tv-aligned").get_attribute("data-scale") == "shared"

    # Unfocused: an overview of at most one arc per token and model, its threshold on screen.
    for key in ("MiniLM", "SmolLM2"):
        count = root.locator(f".tv-band[data-model={key}] .tv-line").count()
        assert 0 < count <= columns, (key, count)
    note = root.locator(".tv-overview-note").text_content()
    assert "strongest arc" in note and ".05" in note
    screenshot(page, root, f"layout-{n}-overview.png")

    # Focus a word: both bands show its arcs, the strips its weights, per model.
    root.locator(".tv-aligned .tv-token").nth(2).click()
    page.wait_for_function(
        "r => r.dataset.focus === '2'", arg=root.element_handle(), timeout=10_000
    )
    page.mouse.move(0, 0)
    assert root.locator(".tv-token[data-weight]").count() == columns
    assert root.locator(".tv-token[data-weight-b]").count() == n  # SmolLM2: words only
    _check_geometry(root.evaluate(MEASURE), columns)
    screenshot(page, root, f"layout-{n}-focus.png")


def test_per_model_scale_labels_each(opened: tuple[Any, list[Any]]) -> None:
    page, roots = opened
    root = roots[-1]
    root.locator("button[data-trait=per_model_scale]").click()
    page.wait_for_function(
        "r => r.querySelector('.tv-aligned').dataset.scale === 'per-model'",
        arg=root.element_handle(),
        timeout=30_000,
    )
    items = root.locator(".tv-legend-item")
    assert items.count() == 2
    assert items.all_text_contents()[0].startswith("MiniLM")
    assert items.all_text_contents()[1].startswith("SmolLM2")
    root.locator("button[data-trait=per_model_scale]").click()
    page.wait_for_function(
        "r => r.querySelector('.tv-aligned').dataset.scale === 'shared'",
        arg=root.element_handle(),
        timeout=30_000,
    )
    assert root.locator(".tv-aligned .tv-legend").count() == 1


def test_zoom_and_pan(opened: tuple[Any, list[Any]]) -> None:
    page, roots = opened
    root = roots[-1]
    n = LENGTHS[-1] + 2
    aligned = root.locator(".tv-aligned")
    root.locator("button[data-action=zoom-in]").click()
    root.locator("button[data-action=zoom-in]").click()
    start, end = int(aligned.get_attribute("data-start")), int(aligned.get_attribute("data-end"))
    assert 0 <= start < end <= n and end - start < n
    assert root.locator(".tv-aligned .tv-token").count() == end - start
    assert "of 66" in root.locator(".tv-window-label").text_content()
    # Pan by dragging the view's background.
    box = root.locator(".tv-aligned-view").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.8, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 20, steps=5)
    page.mouse.up()
    assert int(aligned.get_attribute("data-start")) > start
    shown = int(aligned.get_attribute("data-end")) - int(aligned.get_attribute("data-start"))
    _check_geometry(root.evaluate(MEASURE), shown)
    screenshot(page, root, "layout-64-zoomed.png")
    root.locator("button[data-action=zoom-all]").click()
    assert root.locator(".tv-aligned .tv-token").count() == n


def test_compact_mode_shows_every_word(opened: tuple[Any, list[Any]]) -> None:
    page, roots = opened
    for n, root in zip(LENGTHS, roots, strict=True):
        root.scroll_into_view_if_needed()
        root.locator("button[data-trait=compact]").click()
        root.locator(".tv-compact").wait_for()
        words = root.locator(".tv-cword-text").all_text_contents()
        assert len(words) == n + 2
        assert root.locator(".tv-cstrip").count() == 2 * (n + 2)
        boxes = root.locator(".tv-cword").evaluate_all(
            "ns => ns.map(n => { const r = n.getBoundingClientRect();"
            " return [r.left, r.top, r.right, r.bottom]; })"
        )
        for i in range(len(boxes) - 1):
            assert not _overlap(boxes[i], boxes[i + 1]), i
        g = root.evaluate(
            "r => { const o = r.closest('.jp-OutputArea-output');"
            " return [o.scrollWidth, o.clientWidth]; }"
        )
        assert g[0] <= g[1]
        root.locator(".tv-cword").nth(1).hover()
        page.wait_for_function("r => r.dataset.focus === '1'", arg=root.element_handle())
        assert "receives from" in root.locator(".tv-compact-caption").text_content()
        screenshot(page, root, f"layout-{n}-compact.png")
        root.locator("button[data-trait=compact]").click()
        root.locator(".tv-aligned-svg").wait_for()


@pytest.mark.parametrize("mode", ["difference", "overlay"])
def test_difference_and_overlay_fit(opened: tuple[Any, list[Any]], mode: str) -> None:
    """The difference and all heads overlaid use the same fitted axis: nothing scrolls."""
    page, roots = opened
    for n, root in zip(LENGTHS, roots, strict=True):
        root.scroll_into_view_if_needed()
        if mode == "difference":
            root.locator("button[data-mode=difference]").click()
            kind, columns, models = "difference", n, ("MiniLM",)  # the words compared
        else:
            root.locator("select[data-trait=head]").select_option("all")
            kind, columns, models = "heads", n + 2, ("MiniLM", "SmolLM2")
        page.wait_for_function(
            "([r, kind]) => r.querySelector(`.tv-aligned[data-kind=${kind}] .tv-aligned-svg`)",
            arg=[root.element_handle(), kind],
            timeout=60_000,
        )
        token = root.locator(".tv-aligned .tv-token").nth(2)
        if "tv-selected" not in str(token.get_attribute("class")):  # a click toggles the pin
            token.click()
        page.mouse.move(0, 0)
        page.wait_for_function(
            "r => r.dataset.focus === '2'", arg=root.element_handle(), timeout=10_000
        )
        g = root.evaluate(MEASURE)
        _check_geometry(g, columns, models)
        if mode == "difference":
            assert root.locator(".tv-difference-note").count() == 1
            assert root.locator(".tv-aligned .tv-line").count() > 0
        else:
            lines = root.locator(".tv-aligned .tv-head-line")
            assert lines.count() > 0 and root.locator(".tv-aligned .tv-line").count() == 0
            heads = set(lines.evaluate_all("ns => ns.map(n => n.dataset.head)"))
            assert len(heads) > 1  # several heads, each in its own colour
            assert root.locator(".tv-head-chips").count() == 2
        screenshot(page, root, f"layout-{n}-{mode}.png")
        if mode == "difference":
            root.locator("button[data-mode=side]").click()
        else:
            root.locator("select[data-trait=head]").select_option("0")
        page.wait_for_function(
            "r => r.querySelector('.tv-aligned[data-kind=attention]')",
            arg=root.element_handle(),
            timeout=60_000,
        )


def test_zoom_window_is_synced(opened: tuple[Any, list[Any]]) -> None:
    """The zoom window is the explorer's `window` trait, both ways (what export draws)."""
    from tests.browser.harness import kernel_print, wait_kernel_value

    page, roots = opened
    root = roots[-1]
    root.scroll_into_view_if_needed()
    aligned = root.locator(".tv-aligned")
    root.locator("button[data-action=zoom-in]").click()
    start, end = int(aligned.get_attribute("data-start")), int(aligned.get_attribute("data-end"))
    shown = wait_kernel_value(page, "explorers[64].window", f"({start}, {end})")
    assert shown == f"({start}, {end})"
    kernel_print(page, "setattr(explorers[64], 'window', (10, 30))")  # from Python: the view
    page.wait_for_function(
        "r => r.querySelector('.tv-aligned').dataset.start === '10'"
        " && r.querySelector('.tv-aligned').dataset.end === '30'",
        arg=root.element_handle(),
        timeout=30_000,
    )
    assert root.locator(".tv-aligned .tv-token").count() == 20
    root.locator("button[data-action=zoom-all]").click()
    assert wait_kernel_value(page, "explorers[64].window", "None") == "None"


def test_speed_recorded(opened: tuple[Any, list[Any]]) -> None:
    """First render and head-switch times at each length (recorded; budgets in bench_widget)."""
    page, roots = opened
    timings = {}
    for n, root in zip(LENGTHS, roots, strict=True):
        switches = []
        for head in ("1", "2", "3", "4", "5", "0"):
            switches.append(
                root.locator("select[data-trait=head]").evaluate(
                    "(select, value) => { const t0 = performance.now(); select.value = value;"
                    " select.dispatchEvent(new Event('change'));"
                    " return performance.now() - t0; }",
                    head,
                )
            )
        timings[n] = {
            "first_render_ms": float(root.get_attribute("data-render-ms")),
            "head_switch_ms": sorted(switches)[len(switches) // 2],
            "head_switch_max_ms": max(switches),
        }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "layout-timings.json").write_text(json.dumps(timings, indent=2))
    assert all(t["head_switch_ms"] > 0 for t in timings.values())
    assert not page.trfviz_errors, page.trfviz_errors
