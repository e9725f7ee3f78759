"""The layout shows the architecture: compute never imports views, views never run models.

Every ``import`` in the package is read with :mod:`ast` (imports inside functions
included, since a lazy import is still a dependency) and checked against the
two paths of ARCHITECTURE.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "trfviz"
REPO = PACKAGE.parent

#: The view layer: takes plain data, draws it.
VIEWS = ("trfviz.figures", "trfviz.widget", "trfviz.html", "trfviz.view")
#: What views must never use: loading models and running them.
RUNNING = ("trfviz.loading", "trfviz.extractor", "trfviz.component")
#: Entry points that may use both paths.
ENTRY_POINTS = ("trfviz.cli", "trfviz.notebooks", "trfviz")
#: The most lines a module may have (one idea per module).
MAX_LINES = 450


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> set[str]:
    """Every trfviz module ``path`` imports, absolute names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "trfviz" or name.startswith("trfviz.")}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


MODULES = sorted(PACKAGE.rglob("*.py"))
VIEW_MODULES = [p for p in MODULES if within(module_name(p), VIEWS)]
COMPUTE_MODULES = [
    p
    for p in MODULES
    if not within(module_name(p), VIEWS)
    and not within(module_name(p), ("trfviz.cli",))
    and module_name(p) not in ENTRY_POINTS
]


def test_the_two_paths_cover_the_package() -> None:
    assert len(VIEW_MODULES) > 10 and len(COMPUTE_MODULES) > 30


@pytest.mark.parametrize("path", COMPUTE_MODULES, ids=[module_name(p) for p in COMPUTE_MODULES])
def test_compute_never_imports_views(path: Path) -> None:
    offenders = sorted(m for m in imported_modules(path) if within(m, VIEWS))
    assert offenders == [], f"{module_name(path)} (compute) imports views"


@pytest.mark.parametrize("path", VIEW_MODULES, ids=[module_name(p) for p in VIEW_MODULES])
def test_views_never_load_or_run_a_model(path: Path) -> None:
    offenders = sorted(m for m in imported_modules(path) if within(m, RUNNING))
    assert offenders == [], f"{module_name(path)} (a view) loads or runs models"


@pytest.mark.parametrize("path", MODULES, ids=[module_name(p) for p in MODULES])
def test_each_module_says_its_idea_and_stays_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(text))
    assert docstring, f"{module_name(path)} has no module docstring"
    assert len(text.splitlines()) <= MAX_LINES, f"{module_name(path)} is over {MAX_LINES} lines"


def test_architecture_document_names_every_package() -> None:
    document = (REPO / "ARCHITECTURE.md").read_text(encoding="utf-8")
    packages = sorted(p.parent.relative_to(REPO).as_posix() for p in PACKAGE.rglob("__init__.py"))
    missing = [p for p in packages if f"{p.removeprefix('trfviz/')}/" not in document]
    assert missing == [], f"ARCHITECTURE.md does not mention {missing}"
