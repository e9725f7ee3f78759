"""Fixtures for the real-browser tests (``@pytest.mark.browser``); helpers in harness.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import CHROMIUM, Jupyter, launch_chromium, start_jupyter


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """The Chromium executable; a skip when it or Playwright is missing (a failure in CI).

    CI sets ``TRFVIZ_REQUIRE_BROWSER=1`` so that a missing browser fails loudly
    instead of skipping the tests that matter most for the widget.
    """
    required = os.environ.get("TRFVIZ_REQUIRE_BROWSER") == "1"
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "browser tests need playwright (pip install playwright)"
    if problem and required:
        pytest.fail(f"{problem}; TRFVIZ_REQUIRE_BROWSER=1 forbids skipping")
    if problem:
        pytest.skip(problem)
    return CHROMIUM


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Jupyter]:
    """A JupyterLab 4 server on 127.0.0.1 for the session, killed with its kernels at the end."""
    with start_jupyter(tmp_path_factory.mktemp("lab"), app="lab") as running:
        yield running


@pytest.fixture(scope="session")
def notebook7(tmp_path_factory: pytest.TempPathFactory, chromium_path: str) -> Iterator[Jupyter]:
    """A Jupyter Notebook 7 server on 127.0.0.1, started only for the tests that ask for it."""
    try:
        from notebook import __version__ as version
    except ImportError:
        version = "none"
    if not version.split(".")[0].isdigit() or int(version.split(".")[0]) < 7:
        problem = f"the Notebook 7 test needs notebook>=7,<8 (found {version})"
        if os.environ.get("TRFVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{problem}; TRFVIZ_REQUIRE_BROWSER=1 forbids skipping")
        pytest.skip(problem)
    with start_jupyter(tmp_path_factory.mktemp("notebook7"), app="notebook") as running:
        yield running


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """A headless Chromium for the session."""
    with launch_chromium(chromium_path) as launched:
        yield launched


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; page errors, dialogs and requests are recorded on ``page.trfviz_log``."""
    context = browser.new_context(viewport={"width": 1400, "height": 2400})
    new_page = context.new_page()
    log: dict[str, list[str]] = {"errors": [], "dialogs": [], "requests": []}
    new_page.on("pageerror", lambda error: log["errors"].append(str(error)))

    def on_dialog(dialog: Any) -> None:
        log["dialogs"].append(dialog.message)
        dialog.dismiss()

    new_page.on("dialog", on_dialog)
    new_page.on("request", lambda request: log["requests"].append(request.url))
    new_page.trfviz_log = log
    try:
        yield new_page
    finally:
        context.close()
