"""Session fixtures for the encoder-decoder tests: tiny T5 and BART saved once, and a pipeline."""

from __future__ import annotations

import warnings

import pytest

import trfviz
from tests.seq2seq.tiny_models import build_bart, build_marian, build_t5


def _quiet_build(build, directory):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build(directory)


@pytest.fixture(scope="session")
def t5_path(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Directory of a 2-layer, 2-head random T5 with a Unigram tokenizer trained for the session."""
    return _quiet_build(build_t5, tmp_path_factory.mktemp("tiny-t5"))


@pytest.fixture(scope="session")
def bart_path(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Directory of a 2-layer, 4-head random BART with a byte-level BPE tokenizer."""
    return _quiet_build(build_bart, tmp_path_factory.mktemp("tiny-bart"))


@pytest.fixture(scope="session")
def marian_path(tmp_path_factory):  # type: ignore[no-untyped-def]
    """Directory of a 2-layer random Marian with its slow tokenizer (two SentencePiece models)."""
    return _quiet_build(build_marian, tmp_path_factory.mktemp("tiny-marian"))


@pytest.fixture(scope="session", params=["t5", "bart", "marian"])
def seq2seq(request) -> trfviz.LoadedSeq2SeqModel:  # type: ignore[no-untyped-def]
    """Each tiny model, loaded as a user loads one."""
    path = request.getfixturevalue(f"{request.param}_path")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Marian's tokenizer recommends sacremoses
        return trfviz.load_seq2seq_model(str(path), device="cpu")


@pytest.fixture(scope="session")
def sentencized():  # type: ignore[no-untyped-def]
    """``spacy.blank("en")`` with a sentencizer: sentence boundaries, no parse."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    return nlp
