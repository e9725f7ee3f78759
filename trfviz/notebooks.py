"""Executing the project's notebooks and writing them out as HTML."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["execute_notebook", "render_notebooks"]


def execute_notebook(
    path: str | os.PathLike[str], *, cwd: str | os.PathLike[str], timeout: int = 900
) -> Any:
    """The notebook at ``path``, executed top to bottom in ``cwd`` (an ``nbformat`` node).

    Raises:
        nbclient.exceptions.CellExecutionError: a cell failed; the message shows which.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return notebook


def render_notebooks(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
) -> list[Path]:
    """Execute every notebook in ``source`` with ``out`` as working directory; write HTML there.

    Files the notebooks write with relative paths land in ``out`` too. Returns
    the HTML paths, in name order.
    """
    from nbconvert import HTMLExporter

    source, target = Path(source), Path(out)
    target.mkdir(parents=True, exist_ok=True)
    paths = sorted(source.glob("*.ipynb"))
    if names is not None:
        paths = [p for p in paths if p.stem in names or p.name in names]
    exporter = HTMLExporter()
    written = []
    for path in paths:
        notebook = execute_notebook(path, cwd=target)
        body, _ = exporter.from_notebook_node(notebook)
        page = target / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        written.append(page)
    return written
