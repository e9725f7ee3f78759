"""The committed widget bundle (trfviz/widget/explorer.js) is the build of trfviz/widget/js/.

anywidget loads one ES module, so the explorer's modules are bundled with esbuild
(pinned in package.json) and the bundle is committed. This test rebuilds it into a
temporary file and compares: an edit of the sources without ``make widget-js`` fails.
It needs Node.js and ``npm ci`` (``make js``); without them it is skipped, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "trfviz" / "widget" / "js" / "build.mjs"
BUNDLE = REPO / "trfviz" / "widget" / "explorer.js"


def test_committed_bundle_is_the_build_of_the_sources(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: install it and run `make js` to check the bundle")
    if not (REPO / "node_modules" / "esbuild" / "package.json").exists():
        pytest.skip("esbuild is not installed: run `make js` (npm ci) to check the bundle")
    out = tmp_path / "explorer.js"
    subprocess.run([node, str(BUILD), str(out)], cwd=tmp_path, check=True, timeout=120)
    assert out.read_text(encoding="utf-8") == BUNDLE.read_text(encoding="utf-8"), (
        "trfviz/widget/explorer.js is not the build of trfviz/widget/js/: run `make widget-js`"
    )
