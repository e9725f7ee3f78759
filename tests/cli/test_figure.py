"""``trfviz figure`` and the demo's figure export, on the embedded models."""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trfviz.cli.figure import FIGURE_KINDS, _token_index, add_figure_command


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="trfviz")
    add_figure_command(top.add_subparsers(dest="command"))
    return top


def test_figure_command_arguments() -> None:
    args = parser().parse_args(
        ["figure", "The old man the boat.", "--layer", "3", "--head", "7", "-o", "fig.pdf"]
    )
    assert (args.text, args.layer, args.head, args.out) == (
        "The old man the boat.",
        3,
        7,
        "fig.pdf",
    )
    assert args.kind == "arcs" and args.preset == "one-column" and callable(args.run)
    for kind in FIGURE_KINDS:
        assert parser().parse_args(["figure", "x", "--kind", kind, "-o", "f.png"]).kind == kind
    with pytest.raises(SystemExit):
        parser().parse_args(["figure", "x", "--kind", "pie", "-o", "f.png"])
    with pytest.raises(SystemExit):
        parser().parse_args(["figure", "x"])  # -o is required


def test_source_by_index_or_word() -> None:
    tokens = ("The", "old", "man", "the", "boat")
    assert _token_index("man", tokens) == 2
    assert _token_index("2", tokens) == 2
    assert _token_index("-1", tokens) == 4
    assert _token_index("THE", tokens) == 0
    assert _token_index(None, tokens) is None
    with pytest.raises(ValueError, match="not a token"):
        _token_index("ship", tokens)


@pytest.mark.model
@pytest.mark.parametrize("kind", ["arcs", "heatmap"])
def test_figure_command_writes_a_pdf_with_the_tokens(tmp_path: Path, kind: str) -> None:
    from tests.figures.test_export import pdf_text
    from trfviz.cli import main

    out = tmp_path / f"{kind}.pdf"
    status = main(
        [
            "figure",
            "The old man the boat.",
            "--kind",
            kind,
            "--layer",
            "3",
            "--head",
            "7",
            "--source",
            "man",
            "-o",
            str(out),
        ]
    )
    assert status == 0
    texts = pdf_text(out.read_bytes())
    for token in ["The", "old", "man", "the", "boat"]:
        assert token in texts


@pytest.mark.model
def test_figure_command_reports_bad_layers(tmp_path: Path, capsys) -> None:
    from trfviz.cli import main

    status = main(["figure", "The old man.", "--layer", "40", "-o", str(tmp_path / "f.png")])
    assert status == 2
    assert "--layer 40" in capsys.readouterr().err
