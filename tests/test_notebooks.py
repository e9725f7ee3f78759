"""Every notebook runs top to bottom on the embedded default models, and is committed clean."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import pytest

from trfviz.notebooks import KERNEL_NAME, execute_notebook, kernel_manager

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell.get("outputs", []) == [], f"{path.name} has outputs"
            assert cell.get("execution_count") is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_cell_has_a_unique_id(path: Path) -> None:
    # nbformat 4.5 requires cell ids (nbconvert warns in the demo's console without them).
    ids = [cell.get("id") for cell in json.loads(path.read_text())["cells"]]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: cells without a unique id"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_names_the_trfviz_kernel(path: Path) -> None:
    assert json.loads(path.read_text())["metadata"]["kernelspec"]["name"] == KERNEL_NAME


def test_make_setup_registered_the_kernel_in_this_environment() -> None:
    if not (Path(sys.prefix) / ".trfviz-installed").exists():
        pytest.skip("not the environment `make setup` builds")
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME / "kernel.json"
    argv = json.loads(spec.read_text())["argv"]
    assert Path(argv[0]).parent.resolve() == Path(sys.executable).parent.resolve()


def test_a_kernel_of_the_same_name_from_another_checkout_is_not_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "user" / "kernels" / KERNEL_NAME
    elsewhere.mkdir(parents=True)
    stranger = "/elsewhere/checkout/.venv/bin/python"
    (elsewhere / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [stranger, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "trfviz elsewhere",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "user"))
    argv = kernel_manager().kernel_spec.argv
    assert argv[0] != stranger
    assert Path(argv[0]).parent.resolve() == Path(sys.executable).parent.resolve()


@pytest.mark.notebook
@pytest.mark.model
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    notebook = execute_notebook(path, cwd=tmp_path)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    assert any(cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")


@pytest.mark.notebook
def test_rendering_says_once_that_live_plotly_outputs_are_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import nbformat

    from trfviz.notebooks import render_notebooks

    source = tmp_path / "source"
    source.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "x",
        "language": "python",
    }
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from IPython.display import display\n"
            "display({'application/vnd.plotly.v1+json': {'data': [], 'layout': {}}}, raw=True)\n"
            "print('after the figure')"
        )
    ]
    nbformat.write(notebook, source / "live.ipynb")
    with warnings.catch_warnings():
        # nbconvert's template warning must not reach the console.
        warnings.filterwarnings("error", message=".*not able to be represented")
        (page,) = render_notebooks(source, tmp_path / "out", progress=True)
    assert "after the figure" in page.read_text(encoding="utf-8")
    console = capsys.readouterr().out
    assert console.count("interactive plotly outputs show in JupyterLab") == 1
