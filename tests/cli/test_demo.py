"""The command line: the demo writes what the README says; align prints the alignment."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests._shared import MINILM, SMOLLM
from trfviz.cli import main
from trfviz.storage import load_extraction

pytestmark = pytest.mark.model


def test_demo_writes_results_for_each_model(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["demo", "--model", MINILM, "--model", SMOLLM, "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "all-MiniLM-L6-v2" in out and "SmolLM2-135M-Instruct" in out
    stored = {p.name for p in tmp_path.glob("*.trfviz")}
    assert stored == {f"{MINILM.replace('/', '--')}.trfviz", f"{SMOLLM.replace('/', '--')}.trfviz"}
    ext = load_extraction(tmp_path / f"{MINILM.replace('/', '--')}.trfviz")
    assert ext.model == MINILM and len(ext.sentences) == 3
    with open(tmp_path / "alignment.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["model"] for r in rows} == {MINILM, SMOLLM}
    isnt = [r for r in rows if r["model"] == SMOLLM and r["token"] in {"is", "n't"}]
    assert [r["shared"] for r in isnt] == ["True", "True"]
    with open(tmp_path / "attention_top.csv", newline="") as handle:
        top = list(csv.DictReader(handle))
    assert {int(r["layer"]) for r in top if r["model"] == SMOLLM} == set(range(30))
    assert all(r["attends_to"] != r["token"] or r["token"] in {"the", "."} for r in top)
    first_words = [r for r in top if r["model"] == SMOLLM and r["token_index"] == "0"]
    assert all(r["attends_to"] == "" for r in first_words)  # causal: nothing else to see
    assert list((tmp_path / "figures").glob("*.pdf"))


def test_align_prints_each_models_pieces(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["align", "It isn't here.", "--model", MINILM, "--model", SMOLLM]) == 0
    out = capsys.readouterr().out
    assert "Ġisn 't" in out and "isn ' t" in out


def test_errors_are_reported_not_raised(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["align", "Hi.", "--model", "no-such-org/no-such-model-xyz"]) == 2
    assert "cannot load model" in capsys.readouterr().err


@pytest.mark.notebook
def test_demo_renders_notebooks_as_html(tmp_path: Path, capfd) -> None:  # type: ignore[no-untyped-def]
    import shutil

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb", notebooks)
    out = tmp_path / "out"
    assert main(["demo", "--model", MINILM, "-o", str(out), "--notebooks", str(notebooks)]) == 0
    page = (out / "notebooks" / "quickstart.html").read_text()
    assert "every attention row sums to 1" in page  # an executed cell's output
    assert not list(out.rglob("trfviz-output"))  # nothing nested under the output folder
    console = capfd.readouterr()
    assert "[1/1] quickstart.ipynb ... done in" in console.out
    # The kernel's connection notices are not the user's business.
    assert "IPKernelApp" not in console.err and "without encryption" not in console.err


def test_notebooks_write_their_files_where_the_demo_tells_them() -> None:
    """A notebook's own files go to $TRFVIZ_FIGURES, so the demo never nests output folders."""
    for path in sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        relative = text.count('\\"trfviz-output\\"')
        governed = text.count('os.environ.get(\\"TRFVIZ_FIGURES\\") or \\"trfviz-output\\"')
        assert relative == governed, path.name
