"""The synthetic gold corpus the corpus tests share."""

from __future__ import annotations

import pytest
from spacy.tokens import Doc

from tests.analysis.corpus.corpus_helper import synthetic_docs


@pytest.fixture(scope="module")
def gold_docs() -> list[Doc]:
    return synthetic_docs(23)
