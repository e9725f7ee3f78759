"""Where the shared research data (UD treebanks, SyntaxGym suites) lives."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["shared_data_dir"]


def shared_data_dir() -> Path:
    """The shared data directory: ``$TRFVIZ_DATA``, else ``../shared/data`` beside the checkout.

    Raises:
        FileNotFoundError: none of the candidates exists.
    """
    candidates = []
    if os.environ.get("TRFVIZ_DATA"):
        candidates.append(Path(os.environ["TRFVIZ_DATA"]))
    candidates.append(Path.cwd() / ".." / "shared" / "data")
    candidates.append(Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"shared data not found (tried {tried}); set TRFVIZ_DATA to the folder holding ud/ "
        "and syntaxgym/"
    )
