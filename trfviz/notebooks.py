"""Executing the project's notebooks and writing them out as HTML.

Notebooks run in the ``trfviz`` kernel that ``make setup`` registers inside this
checkout's environment (``.venv/share/jupyter/kernels/trfviz``), looked up
there and nowhere else, so a kernel of the same name that another checkout
installed for the user cannot stand in for it. Without that kernel (trfviz
installed by pip), the current interpreter's own ``python3`` kernel is used.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["KERNEL_NAME", "execute_notebook", "html_exporter", "kernel_manager", "render_notebooks"]

#: The name ``make setup`` registers this checkout's kernel under; the notebooks name it.
KERNEL_NAME = "trfviz"


def kernel_manager() -> Any:
    """A ``jupyter_client`` kernel manager for this environment's ``trfviz`` kernel.

    Only this interpreter's ``share/jupyter/kernels`` is searched; where it has no
    ``trfviz`` kernel, the manager starts ``python3`` on this interpreter.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    kernels = str(Path(sys.prefix) / "share" / "jupyter" / "kernels")
    specs = KernelSpecManager(kernel_dirs=[kernels])
    name = KERNEL_NAME if KERNEL_NAME in specs.find_kernel_specs() else "python3"
    return KernelManager(kernel_name=name, kernel_spec_manager=specs)


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
    manager = kernel_manager()
    client = NotebookClient(
        notebook,
        km=manager,
        timeout=timeout,
        resources={"metadata": {"path": str(cwd)}},
        # The kernel's start-up chatter (plain-TCP notices) is not the user's business;
        # its errors still reach the cells' outputs and the console.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    try:
        client.execute()
    finally:
        # A kernel manager passed in is not shut down by nbclient itself.
        if manager.has_kernel:
            manager.shutdown_kernel(now=False)
    return notebook


def html_exporter() -> Any:
    """An nbconvert ``HTMLExporter`` that shows an output's picture before a live widget.

    nbclient saves the widgets' state, so plain nbconvert would embed each
    explorer as a widget that only renders with a CDN (an empty box offline);
    the explorer's output also carries a picture of its view (``text/html``
    with an inline SVG, :mod:`trfviz.widget.fallback`), preferred here. Widgets
    without a picture are still embedded as widgets.
    """
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    widget = "application/vnd.jupyter.widget-view+json"
    priority = [m for m in HTMLExporter().default_config.NbConvertBase.display_data_priority]
    priority.remove(widget)
    priority.insert(priority.index("text/html") + 1, widget)
    return HTMLExporter(config=Config({"NbConvertBase": {"display_data_priority": priority}}))


def render_notebooks(
    source: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    names: Sequence[str] | None = None,
    progress: bool = False,
) -> list[Path]:
    """Execute every notebook in ``source`` with ``out`` as working directory; write HTML there.

    Files the notebooks write with relative paths land in ``out`` too. With
    ``progress``, one line per notebook says which is running and how long it
    took. Returns the HTML paths, in name order.
    """
    source, target = Path(source), Path(out)
    target.mkdir(parents=True, exist_ok=True)
    paths = sorted(source.glob("*.ipynb"))
    if names is not None:
        paths = [p for p in paths if p.stem in names or p.name in names]
    exporter = html_exporter()
    written = []
    for number, path in enumerate(paths, start=1):
        started = time.perf_counter()
        if progress:
            print(f"  [{number}/{len(paths)}] {path.name} ...", end="", flush=True)
        notebook = execute_notebook(path, cwd=target)
        if progress:
            print(f" done in {time.perf_counter() - started:.0f} s", flush=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            body, _ = exporter.from_notebook_node(notebook)
        # A live plotly figure has no static form nbconvert can show; say so once, plainly,
        # instead of nbconvert's template warning.
        if any("vnd.plotly" in str(w.message) for w in caught) and progress:
            print(
                f"    note: {path.name}'s interactive plotly outputs show in JupyterLab; "
                "the HTML page leaves them out (the notebook saves them as .html files)",
                flush=True,
            )
        for warning in caught:
            if "vnd.plotly" not in str(warning.message):
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        page = target / f"{path.stem}.html"
        page.write_text(body, encoding="utf-8")
        written.append(page)
    return written
