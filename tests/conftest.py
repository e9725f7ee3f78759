"""Session fixtures shared by the tests: the offline tokenizers and a blank spaCy pipeline."""

from __future__ import annotations

import os

# The tests run without the model hub: say so before transformers is imported, so a
# name that is not installed fails at once instead of after the hub's retries.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
from hypothesis import HealthCheck, settings

from tests.tokenizer_fixtures import load_byte_level_bpe, load_wordpiece, train_unigram

# Hypothesis profiles: "dev" keeps a developer's run quick; "ci" (.ci/run sets
# TRFVIZ_HYPOTHESIS_PROFILE=ci) runs the alignment and pooling properties, which take
# their example count from the profile, with 2,000 examples for each tokenizer family.
# Tests that set max_examples themselves keep their own count under both profiles.
settings.register_profile("dev", max_examples=150, deadline=None)
settings.register_profile(
    "ci",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("TRFVIZ_HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def wordpiece():
    """MiniLM's BERT WordPiece tokenizer (``[CLS]`` first)."""
    return load_wordpiece()


@pytest.fixture(scope="session")
def byte_level_bpe(tmp_path_factory):
    """GPT-2's byte-level BPE tokenizer (leading spaces in the pieces, no specials)."""
    return load_byte_level_bpe(tmp_path_factory.mktemp("gpt2-tokenizer"))


@pytest.fixture(scope="session")
def unigram():
    """A Unigram tokenizer trained for the session, XLNet layout (``<sep> <cls>`` last)."""
    return train_unigram()


@pytest.fixture(scope="session")
def tokenizers_by_family(wordpiece, byte_level_bpe, unigram):
    """The three tokenizer families by name (see :data:`FAMILIES`)."""
    return {"wordpiece": wordpiece, "byte_level_bpe": byte_level_bpe, "unigram": unigram}


@pytest.fixture(scope="session")
def blank_nlp():
    """``spacy.blank("en")``: spaCy's English tokenizer, nothing else."""
    import spacy

    return spacy.blank("en")
