"""The demo's paper figures: file names per model, and every figure written and closed."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pytest
from spacy.tokens import Doc
from spacy.vocab import Vocab

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from tests.factories import random_attention, synthetic_extraction, synthetic_sentence
from trfviz.figures import export_demo_figures
from trfviz.figures.demo import file_stem


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2"),
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2-135m-instruct"),
        ("MiniLM", "minilm"),
        ("gpt2", "gpt2"),
        ("///", "model"),
    ],
)
def test_file_stem_keeps_the_demo_file_names(name: str, stem: str) -> None:
    assert file_stem(name) == stem


def test_demo_figures_from_synthetic_extractions(tmp_path: Path) -> None:
    words = ["Anna", "saw", "Bob", "."]
    doc = Doc(
        Vocab(),
        words=words,
        heads=[1, 1, 1, 1],
        deps=["nsubj", "ROOT", "obj", "punct"],
        ents=["B-PERSON", "O", "B-PERSON", "O"],
        sent_starts=[True, False, False, False],
    )
    extractions = {
        name: synthetic_extraction(
            [
                synthetic_sentence(
                    random_attention(np.random.default_rng(seed), 2, 3, 4), words=words
                )
            ],
            model=name,
        )
        for seed, name in enumerate(["org/Model-A", "org/Model-B"])
    }
    written = export_demo_figures(doc, extractions, tmp_path / "out", formats=(".svg",))
    names = sorted(p.name for p in written)
    assert names == [
        "aligned_tokenization.html",
        "aligned_tokenization.svg",
        "arcs_model-a.svg",
        "arcs_model-b.svg",
        "comparison.svg",
        "head_grid_model-a.svg",
        "head_grid_model-b.svg",
        "heatmap_model-a.svg",
        "heatmap_model-b.svg",
    ]
    assert all(p.stat().st_size > 0 for p in written)
    assert "Model-A L" in (tmp_path / "out" / "arcs_model-a.svg").read_text()
    assert plt.get_fignums() == []


@pytest.mark.model
def test_demo_figures_for_both_models(tmp_path: Path) -> None:
    import trfviz
    from tests import _shared

    doc = _shared.nlp()("The old man the boat. Apple isn't buying a U.K. startup in London.")
    extractions = {
        "MiniLM": trfviz.extract(doc, _shared.minilm(), states=False),
        "SmolLM2": trfviz.extract(doc, _shared.smollm(), states=False),
    }
    written = export_demo_figures(doc, extractions, tmp_path / "figures", formats=(".pdf",))
    names = {p.name for p in written}
    for stem in [
        "aligned_tokenization",
        "comparison",
        "arcs_minilm",
        "head_grid_smollm2",
        "heatmap_minilm",
    ]:
        assert f"{stem}.pdf" in names
    assert "aligned_tokenization.html" in names
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    assert plt.get_fignums() == []  # every figure closed
