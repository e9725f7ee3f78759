"""Driving the widget in a real browser: Jupyter on loopback and headless Debian Chromium.

JupyterLab 4 or Jupyter Notebook 7 (``app="lab"`` or ``"notebook"``) runs from
this venv (so notebook kernels use its python), in a temporary directory with
its own config, data, runtime and settings dirs, a random token, and everything
that would reach the network turned off. Both front ends expose their
application as ``window.jupyterapp``, so a notebook is driven the same way in
either. Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright. The
pytest fixtures in ``conftest.py`` and ``benchmarks/bench_widget.py`` both use
these helpers.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

CHROMIUM = os.environ.get("TRFVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
STARTUP_TIMEOUT_S = 120

App = Literal["lab", "notebook"]


@dataclass(frozen=True)
class Jupyter:
    """A running JupyterLab or Notebook: which, where it serves, its token, what it serves."""

    app: App
    url: str
    token: str
    root: Path
    log: Path

    def notebook_url(self, name: str) -> str:
        if self.app == "lab":
            return f"{self.url}/lab/tree/{name}?token={self.token}&reset"
        return f"{self.url}/notebooks/{name}?token={self.token}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"Jupyter exited with {process.returncode}:\n{log.read_text()}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # loopback only
        ):
            if response.status == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"Jupyter did not answer within {STARTUP_TIMEOUT_S} s:\n{log.read_text()}")


@contextlib.contextmanager
def start_jupyter(home: Path, *, app: App = "lab") -> Iterator[Jupyter]:
    """JupyterLab or Notebook on 127.0.0.1 serving ``home/notebooks``; killed, kernels too, on exit.

    Args:
        home: an empty directory for its config, data, runtime, settings and notebooks.
        app: ``"lab"`` (JupyterLab 4) or ``"notebook"`` (Jupyter Notebook 7).
    """
    root = home / "notebooks"
    root.mkdir(parents=True, exist_ok=True)
    config = home / "config"
    (config / "labconfig").mkdir(parents=True, exist_ok=True)
    # No announcements/news toast, no extension manager: nothing reaches out (the page
    # config is read by both front ends).
    (config / "labconfig" / "page_config.json").write_text(
        json.dumps(
            {
                "disabledExtensions": {
                    "@jupyterlab/apputils-extension:announcements": True,
                    "@jupyterlab/extensionmanager-extension": True,
                }
            }
        )
    )
    token = secrets.token_hex(16)
    port = _free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
        # The repository only: a tests/ folder on the path would shadow stdlib names (html).
        "PYTHONPATH": str(REPO),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    command = [
        sys.executable,
        "-m",
        "jupyterlab" if app == "lab" else "notebook",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        # JupyterLab's server extension also runs under Notebook 7: its news stay off too.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    front_end = "LabApp" if app == "lab" else "JupyterNotebookApp"
    command += [
        f"--{front_end}.expose_app_in_browser=True",
        f"--{front_end}.user_settings_dir={home / 'settings'}",
        f"--{front_end}.workspaces_dir={home / 'workspaces'}",
    ]
    if app == "lab":
        command.append("--LabApp.extension_manager=readonly")
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
        command.append("--allow-root")
    log = home / f"jupyter-{app}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/api/status?token={token}", process, log)
        yield Jupyter(app=app, url=url, token=token, root=root, log=log)
    finally:
        # SIGTERM lets the server shut its kernels down; any kernel still running after
        # (a killed server leaves them: they run in sessions of their own) is found by its
        # connection file in this lab's runtime directory and killed by process id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
        _kill_kernels(home / "runtime")


def _kill_kernels(runtime: Path) -> None:
    """Kills the kernel processes whose command line names a connection file in ``runtime``."""
    proc = Path("/proc")
    if not proc.is_dir() or not runtime.is_dir():
        return
    marker = str(runtime).encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"ipykernel" in command and marker in command:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry.name), signal.SIGKILL)


@contextlib.contextmanager
def launch_chromium(executable: str = CHROMIUM) -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def write_notebook(server: Jupyter, name: str, cells: list[str]) -> str:
    """Writes a notebook of code cells into the server's root; returns its name."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, server.root / name)
    return name


def run_notebook(page: Any, server: Jupyter, name: str, *, timeout_s: float = 240) -> Any:
    """Opens a notebook in the page, runs all its cells; returns the explorer's root locator."""
    page.goto(server.notebook_url(name), wait_until="domcontentloaded")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell && "
        "document.querySelector('.jp-NotebookPanel') !== null",
        timeout=timeout_s * 1000,
    )
    # Wait for the kernel before running, so "run all" does not race its start.
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const k = w && w.sessionContext && w.sessionContext.session &&
                w.sessionContext.session.kernel;
            return k && k.connectionStatus === 'connected' && k.status === 'idle';
        }""",
        timeout=timeout_s * 1000,
    )
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    root = page.locator(".trfviz-explorer[data-ready='true']").first
    root.wait_for(state="visible", timeout=timeout_s * 1000)
    return root


def kernel_print(page: Any, expression: str) -> str:
    """What ``print(expression)`` writes in the kernel of the notebook open in the page.

    Sent on the same connection as the widget's messages, after them, so it sees the
    state they left in the kernel.
    """
    return str(
        page.evaluate(
            """async (code) => {
                const panel = window.jupyterapp.shell.currentWidget;
                const kernel = panel.sessionContext.session.kernel;
                const future = kernel.requestExecute({ code, store_history: false });
                let out = "";
                future.onIOPub = (msg) => {
                    if (msg.header.msg_type === "stream") out += msg.content.text;
                    if (msg.header.msg_type === "error") out += msg.content.ename;
                };
                await future.done;
                return out;
            }""",
            f"print(({expression}))",
        )
    ).strip()


def wait_kernel_value(page: Any, expression: str, expected: str, timeout: float = 10.0) -> str:
    """``kernel_print(page, expression)``, asked again until it equals ``expected`` or time is up.

    Widget state reaches the kernel over the comm asynchronously (the front end may
    batch or delay ``save_changes``), so one read right after a change can see the
    state before it.
    """
    deadline = time.monotonic() + timeout
    value = kernel_print(page, expression)
    while value != expected and time.monotonic() < deadline:
        page.wait_for_timeout(100)
        value = kernel_print(page, expression)
    return value


def screenshot(page: Any, locator: Any, name: str) -> Path:
    """Saves a screenshot of ``locator`` under tests/artifacts/; returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    locator.screenshot(path=str(path))
    return path


def wait_until(page: Any, condition: str, arg: Any = None) -> None:
    """Waits (up to 60 s) until the JavaScript ``condition(arg)`` is true in the page."""
    page.wait_for_function(condition, arg=arg, timeout=60_000)


def pin_token(page: Any, root: Any, index: int) -> None:
    """Pins token ``index`` of the explorer (a click toggles, so only when not pinned yet)."""
    token = root.locator(".tv-panel").first.locator(f".tv-token[data-index='{index}']")
    if "tv-selected" not in str(token.get_attribute("class")):
        token.click()
    wait_until(
        page,
        "(i) => { const r = document.querySelector('.trfviz-explorer');"
        " return r.dataset.focus === String(i) &&"
        " r.querySelector(`.tv-panel .tv-token.tv-selected[data-index='${i}']`) !== null; }",
        index,
    )
    page.mouse.move(0, 0)  # the pin stays when the pointer leaves
