"""A saved notebook shows a picture of the explorer where a widget cannot run.

The explorer's output carries, beside its widget mimetype, an inline SVG (in
``text/html``) and a PNG of the view (:mod:`trfviz.widget.fallback`). Executed
with nbclient and converted with nbconvert (no widget state saved, as for a
notebook opened on GitHub or exported to HTML), the explorer's place holds an
``<svg>`` with the sentence's words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.browser.widget_data import TELESCOPE, make_document
from trfviz.widget import AttentionExplorer

REPO = Path(__file__).resolve().parents[2]


def test_the_mimebundle_carries_a_picture_of_the_view() -> None:
    parses, extractions = make_document()
    explorer = AttentionExplorer(parses, extractions, compare="tiny-gpt")
    data, _ = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    svg = data["text/html"]
    assert svg.count("<svg") == 1 and "<?xml" not in svg  # inline, not a document
    texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
    assert {"telescope", "Anna"} <= {t.strip() for t in texts}  # words as text, not paths
    assert data["image/png"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    explorer.static_fallback = False
    data, _ = explorer._repr_mimebundle_()
    assert "text/html" not in data and "image/png" not in data


@pytest.mark.notebook
def test_an_executed_notebook_exported_to_html_shows_the_view(tmp_path: Path) -> None:
    import nbformat

    from trfviz.notebooks import execute_notebook, html_exporter

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            f"import sys\nsys.path.insert(0, {str(REPO)!r})\n"
            "from tests.browser.widget_data import make_document\n"
            "from trfviz.widget import AttentionExplorer\n"
            "parses, extractions = make_document()\n"
            "AttentionExplorer(parses, extractions, compare='tiny-gpt')"
        )
    ]
    path = tmp_path / "explorer.ipynb"
    nbformat.write(notebook, path)
    executed = execute_notebook(path, cwd=tmp_path, timeout=300)
    (output,) = executed.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in output["data"]
    assert executed.metadata["widgets"]  # nbclient saved the widget state ...
    html, _ = html_exporter().from_notebook_node(executed)  # ... the picture still shows
    # Where the explorer was: its picture, with the sentence's words in it.
    start = html.index('class="trfviz-static"')
    picture = html[start : html.index("</figure>", start)]
    assert "<svg" in picture
    texts = {t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", picture)}
    assert set(TELESCOPE[0][:3]) <= texts, texts


def test_the_picture_fits_the_cell_carries_no_date_and_is_small() -> None:
    from trfviz.widget.fallback import MAX_SVG_BYTES

    parses, extractions = make_document()
    explorer = AttentionExplorer(parses, extractions, compare="tiny-gpt")
    explorer.selected = 1
    first, _ = explorer._repr_mimebundle_()
    again, _ = explorer._repr_mimebundle_()
    page = first["text/html"]
    assert "max-width:100%" in page.split(">", 2)[1] or 'style="max-width:100%' in page
    assert "<dc:date>" not in page and "dc:date" not in page  # a save changes nothing
    assert page == again["text/html"] and first["image/png"] == again["image/png"]
    assert len(page) <= MAX_SVG_BYTES + 2_000
    width = re.search(r'<svg[^>]*width="([0-9.]+)pt"', page)
    assert width is not None and float(width.group(1)) <= 6.9 * 72 + 0.5  # the page's width
