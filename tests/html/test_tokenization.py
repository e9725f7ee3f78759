"""The aligned-tokenization HTML: escaped text, joined cells, the page, the shipped files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.figures.test_tokenization import isnt_models
from trfviz.alignment import align_spans
from trfviz.html import render_aligned_tokenization_html
from trfviz.html.resources import stylesheet, template
from trfviz.palette import PIECE_COLORS


def test_html_escapes_tokens_pieces_and_names() -> None:
    tokens = ["<b>", "&", "x"]
    alignment = align_spans([(0, 3), (4, 5), (6, 7)], [(0, 1), (1, 2), (2, 3), (4, 5), (6, 7)])
    pieces = ["<", "b", ">", "&", "x"]
    html = render_aligned_tokenization_html(
        tokens, {"<i>model</i>": (pieces, alignment)}, title="a & <b>"
    )._repr_html_()
    assert "<b>" not in html and "<i>" not in html
    assert "&lt;b&gt;" in html and "&amp;" in html and "&lt;i&gt;model&lt;/i&gt;" in html
    assert html.count("class='piece split'") == 3


def test_html_cell_spans_tokens_joined_by_a_shared_piece() -> None:
    tokens, models = isnt_models()
    html = render_aligned_tokenization_html(tokens, models)._repr_html_()
    assert html.count("grid-column:span 2") == 2  # one joined cell per model
    assert "BERT (+2 special)" in html


def test_colours_come_from_the_palette() -> None:
    tokens, models = isnt_models()
    html = render_aligned_tokenization_html(tokens, models)._repr_html_()
    for color in PIECE_COLORS.values():
        assert color in html
    assert "${" not in html  # every placeholder filled


def test_save_writes_a_standalone_page(tmp_path: Path) -> None:
    tokens, models = isnt_models()
    view = render_aligned_tokenization_html(tokens, models, title="is n't")
    path = view.save(tmp_path / "tok.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
    assert view.html in page and '<meta charset="utf-8">' in page


def test_resources_are_package_files() -> None:
    assert "${body}" in template("page").template
    css = stylesheet("aligned_tokenization", whole="#000001", split="#000002", shared="#000003")
    assert "#000001" in css and "#000003" in css
    with pytest.raises(ValueError, match="ships no"):
        template("no-such-template")
    with pytest.raises(KeyError):
        stylesheet("aligned_tokenization")  # colours missing
