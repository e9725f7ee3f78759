"""Writes the README's pictures into docs/: the explorer in JupyterLab, and a paper figure.

    .venv/bin/python docs/make_screenshots.py

``explorer-two-models-64.png``: MiniLM and SmolLM2 on one token axis over the first
sentence of the shipped UD English EWT dev set with exactly 64 tokens, focused on *hurt*,
as headless Chromium shows it in a 1280x800 JupyterLab window (the browser tests' harness,
tests/browser/harness.py: JupyterLab on loopback, Debian's chromium through Playwright).
``figure-arcs-64.png``: the same sentence as a two-column paper figure (trfviz.figures).
Both are stored as 8-bit palette PNGs to stay small. Needs the models, JupyterLab, Chromium
and Playwright that ``make setup`` installs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))

from tests.browser.harness import (  # noqa: E402  (the repository is on the path first)
    launch_chromium,
    run_notebook,
    start_jupyter,
    write_notebook,
)

N_TOKENS = 64
FOCUS = "hurt"
# MiniLM's head that best follows this sentence's gold parse (trfviz.figures.parse_head_scores).
LAYER, HEAD = 2, 8
SETUP = f"""\
import transformers
transformers.utils.logging.disable_progress_bar()
import trfviz
from trfviz.widget import explore

doc = next(d for d in trfviz.datasets.ud_english_ewt("dev") if len(d) == {N_TOKENS})
extractions = {{
    "MiniLM": trfviz.extract(doc, "sentence-transformers/all-MiniLM-L6-v2"),
    "SmolLM2": trfviz.extract(doc, "HuggingFaceTB/SmolLM2-135M-Instruct"),
}}
focus = [t.text for t in doc].index({FOCUS!r})"""
SHOW = f'explore(doc, extractions, compare="SmolLM2", layer={LAYER}, head={HEAD}, selected=focus)'


def compress(path: Path) -> Path:
    """Rewrites the PNG at ``path`` with an adaptive 256-colour palette; returns the path."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    return path


def explorer_screenshot(out: Path) -> Path:
    """The explorer's screenshot in a 1280x800 JupyterLab window, saved at ``out``."""
    with tempfile.TemporaryDirectory() as home, start_jupyter(Path(home)) as lab:
        name = write_notebook(lab, "readme.ipynb", [SETUP, SHOW])
        with launch_chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            root = run_notebook(page, lab, name, timeout_s=600)
            page.wait_for_function(
                "r => r.querySelector('.tv-aligned') && r.dataset.focus !== undefined"
                " && r.dataset.focus !== '-1'",
                arg=root.element_handle(),
                timeout=120_000,
            )
            page.mouse.move(0, 0)
            # As tall as the explorer, as wide as the laptop window: the same layout, whole.
            height = int(root.evaluate("r => r.getBoundingClientRect().height"))
            page.set_viewport_size({"width": 1280, "height": max(800, height + 200)})
            root.scroll_into_view_if_needed()
            root.screenshot(path=str(out))
    return compress(out)


def paper_figure(out: Path) -> Path:
    """MiniLM's attention from the focus word over the parse, at the two-column preset."""
    import matplotlib

    matplotlib.use("Agg")
    import trfviz
    from trfviz.figures import plot_attention_arcs, save_figure

    doc = next(d for d in trfviz.datasets.ud_english_ewt("dev") if len(d) == N_TOKENS)
    sentence = trfviz.extract(doc, "sentence-transformers/all-MiniLM-L6-v2").sentences[0]
    assert sentence.attention is not None  # extract keeps attention by default
    fig, _ = plot_attention_arcs(
        trfviz.parse_doc(doc)[0],
        sentence.attention[LAYER, HEAD],
        source=[t.text for t in doc].index(FOCUS),
        special_labels=sentence.special_labels,
        preset="two-column",
        title=f"MiniLM layer {LAYER}, head {HEAD}: attention from “{FOCUS}”",
    )
    save_figure(fig, out, preset="two-column", dpi=110)
    return compress(out)


def main() -> None:
    for path in (
        explorer_screenshot(DOCS / f"explorer-two-models-{N_TOKENS}.png"),
        paper_figure(DOCS / f"figure-arcs-{N_TOKENS}.png"),
    ):
        print(f"{path.relative_to(REPO)}: {path.stat().st_size / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
