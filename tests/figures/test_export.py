"""save_figure: formats by suffix, TrueType fonts, identical bytes, presets, no global state."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trfviz.figures import (
    interactive_heatmap,
    plot_attention_heatmap,
    save_figure,
)
from trfviz.figures.style import PRESETS

TOKENS = ["The", "old", "man", "the", "boat", "."]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def pdf_text(data: bytes) -> list[str]:
    """The strings drawn in a matplotlib PDF (Type 42 fonts: UTF-16BE strings), one per text object.

    Content streams are zlib-deflated; each ``BT … ET`` block holds the string
    (split by kerning into ``[(a) 0.3 (b)] TJ`` pieces) of one text artist.
    """
    texts = []
    for match in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(match.group(1))
        except zlib.error:
            continue
        for block in re.findall(rb"BT(.*?)ET", content, re.S):
            raw = b"".join(_literal_strings(block))
            if raw:
                texts.append(raw.decode("utf-16-be", errors="replace"))
    return texts


def _literal_strings(block: bytes) -> list[bytes]:
    """The PDF literal strings ``( … )`` in ``block``, escapes resolved."""
    out, i = [], 0
    while i < len(block):
        if block[i : i + 1] != b"(":
            i += 1
            continue
        i += 1
        depth, buf = 1, bytearray()
        while i < len(block):
            c = block[i : i + 1]
            if c == b"\\":
                nxt = block[i + 1 : i + 2]
                octal = re.match(rb"[0-7]{1,3}", block[i + 1 : i + 4])
                if octal:
                    buf.append(int(octal.group(), 8))
                    i += 1 + len(octal.group())
                    continue
                buf += {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(
                    nxt, nxt
                )
                i += 2
                continue
            if c == b"(":
                depth += 1
            elif c == b")":
                depth -= 1
                if depth == 0:
                    i += 1
                    break
            buf += c
            i += 1
        out.append(bytes(buf))
    return out


def heatmap(labels=TOKENS, **kwargs):
    n = len(labels)
    attention = np.random.default_rng(0).dirichlet(np.ones(n), size=n)
    return plot_attention_heatmap(attention, labels, **kwargs)[0]


@pytest.mark.parametrize("suffix", [".pdf", ".svg", ".png"])
def test_two_saves_are_byte_identical(tmp_path: Path, suffix: str) -> None:
    fig = heatmap(title="layer 3 head 7")
    first = save_figure(fig, tmp_path / f"a{suffix}").read_bytes()
    second = save_figure(fig, tmp_path / f"b{suffix}").read_bytes()
    assert first == second
    # a figure made again from the same data gives the same file too
    third = save_figure(heatmap(title="layer 3 head 7"), tmp_path / f"c{suffix}").read_bytes()
    assert third == first


def test_pdf_is_vector_with_truetype_fonts_and_the_tokens(tmp_path: Path) -> None:
    labels = ["The", "old", "man", "<b>", "&", "$5"]
    data = save_figure(heatmap(labels), tmp_path / "fig.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    assert b"/FontFile2" in data  # embedded TrueType program
    assert b"/Subtype /Type3" not in data and b"/Subtype/Type3" not in data
    assert b"CreationDate" not in data
    assert b"/Subtype /Image" not in data  # cells are vector paths, not a bitmap
    texts = pdf_text(data)
    for token in labels:
        assert token in texts


def test_svg_parses_and_holds_the_token_text(tmp_path: Path) -> None:
    labels = ["The", "old", "man", "<b>", "&"]
    path_mode = save_figure(heatmap(labels), tmp_path / "paths.svg").read_text()
    ET.fromstring(path_mode)  # well-formed XML
    assert "<dc:date>" not in path_mode
    comments = re.findall(r"<!-- (.*?) -->", path_mode)
    for token in ["The", "old", "man", "&lt;b&gt;", "&amp;"]:
        assert token in comments
    text_mode = save_figure(heatmap(labels), tmp_path / "text.svg", svg_text="text").read_text()
    root = ET.fromstring(text_mode)
    drawn = {"".join(el.itertext()) for el in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(labels) <= drawn


def test_png_width_follows_the_preset(tmp_path: Path) -> None:
    fig = heatmap(preset="one-column")
    data = save_figure(fig, tmp_path / "fig.png", preset="one-column", dpi=100).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width <= PRESETS["one-column"].width * 100 + 2
    # A short sentence's heatmap is narrower than the column (its size follows the tokens).
    assert width >= fig.get_size_inches()[0] * 100 * 0.8


def test_saving_at_another_preset_restores_the_figure(tmp_path: Path) -> None:
    fig = heatmap()
    size = tuple(fig.get_size_inches())
    fonts = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)]
    save_figure(fig, tmp_path / "fig.png", preset="one-column", dpi=50)
    assert tuple(fig.get_size_inches()) == size
    assert [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text)] == fonts


def test_global_rcparams_are_untouched(tmp_path: Path) -> None:
    before = dict(matplotlib.rcParams)
    fig = heatmap(preset="two-column")
    save_figure(fig, tmp_path / "fig.pdf", preset="two-column")
    save_figure(fig, tmp_path / "fig.svg", svg_text="text")
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


def test_unknown_suffix_and_preset_are_refused(tmp_path: Path) -> None:
    fig = heatmap()
    with pytest.raises(ValueError, match="cannot save"):
        save_figure(fig, tmp_path / "fig.jpg")
    with pytest.raises(ValueError, match="unknown preset"):
        save_figure(fig, tmp_path / "fig.pdf", preset="a4")


@pytest.mark.skipif(
    any(shutil.which(t) for t in ("xelatex", "pdflatex", "lualatex")), reason="LaTeX present"
)
def test_pgf_without_latex_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="LaTeX"):
        save_figure(heatmap(), tmp_path / "fig.pgf")


@pytest.mark.skipif(
    not any(shutil.which(t) for t in ("xelatex", "pdflatex", "lualatex")), reason="no LaTeX"
)
def test_pgf_with_latex_holds_the_tokens(tmp_path: Path) -> None:
    text = save_figure(heatmap(), tmp_path / "fig.pgf").read_text()
    assert all(token in text for token in ["old", "boat"])


def test_plotly_figure_saves_identical_html_beside_one_plotly_js(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    fig = interactive_heatmap(np.eye(3), ["<b>", "&", "x"])
    first = save_figure(fig, tmp_path / "a.html").read_bytes()
    second = save_figure(fig, tmp_path / "b.html").read_bytes()
    assert first == second
    page = first.decode()
    # plotly.js once in the folder, beside the pages: no CDN, nothing inline.
    assert re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", page) == ["plotly.min.js"]
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    assert len(page) < 100_000
    assert "&lt;b&gt;" in page and "<b>" not in page.split("<body>")[1].split("<script")[0]
    with pytest.raises(ValueError, match="html"):
        save_figure(fig, tmp_path / "a.pdf")
