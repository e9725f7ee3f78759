"""``.trfviz`` files of the logit lens and the neuron view: exact round trips, strict loading.

Round trips are compared field by field, arrays byte for byte (NaN, infinities,
-0.0 and -1 included) and strings (the decoded pieces) exactly, on synthetic
results drawn by hypothesis and on real ones (SmolLM2's logit lens, MiniLM's
neurons). Every kind of file given to another kind's loader names the right
loader; a damaged or altered file is refused with what is wrong; a save that
fails or is killed half-way leaves the previous file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import srsly
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import (
    assert_same_data,
    synthetic_extraction,
    synthetic_logit_lens,
    synthetic_neurons,
    synthetic_sentence,
    uniform_attention,
)
from tests.storage.test_measure_files import _measure
from trfviz.storage import (
    CorruptExtractionError,
    ExtractionStore,
    UnsafeExtractionError,
    load_extraction,
    load_logit_lens,
    load_measure,
    load_neurons,
    save_extraction,
    save_logit_lens,
    save_measure,
    save_neurons,
)

_SPECIALS = [np.inf, -np.inf, np.nan, -0.0, 1e-45, 3.4e38]
# Piece texts as tokenizers decode them: spaces, empty strings, non-ASCII, quotes, escapes.
_TEXTS = st.lists(st.text(max_size=6), min_size=1, max_size=5)


def _lens_file(tmp: Path, **options: Any) -> Path:
    return save_logit_lens(
        synthetic_logit_lens(np.random.default_rng(0), **options), tmp / "l.trfviz"
    )


def _neurons_file(tmp: Path) -> Path:
    return save_neurons(synthetic_neurons(np.random.default_rng(0)), tmp / "n.trfviz")


@settings(max_examples=30, deadline=None)
@given(
    n_tokens=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    layers=st.lists(st.integers(0, 30), min_size=1, max_size=4, unique=True),
    top_k=st.integers(1, 3),
    texts=_TEXTS,
    seed=st.integers(0, 2**16),
    special=st.sampled_from(_SPECIALS),
)
def test_any_logit_lens_round_trips_exactly(
    n_tokens: list[int],
    layers: list[int],
    top_k: int,
    texts: list[str],
    seed: int,
    special: float,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    rng = np.random.default_rng(seed)
    lens = synthetic_logit_lens(rng, n_tokens=n_tokens, layers=layers, top_k=top_k, texts=texts)
    for sentence in lens.sentences:
        if sentence.top_probs.size:
            sentence.top_probs.flat[seed % sentence.top_probs.size] = special
    path = save_logit_lens(lens, tmp_path_factory.mktemp("lens") / "l.trfviz")
    assert_same_data(lens, load_logit_lens(path))


@settings(max_examples=30, deadline=None)
@given(
    n_tokens=st.lists(st.integers(0, 4), min_size=0, max_size=3),
    specials=st.lists(st.text(min_size=1, max_size=6), max_size=2),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 5)),
    seed=st.integers(0, 2**16),
    special=st.sampled_from(_SPECIALS),
)
def test_any_neuron_view_round_trips_exactly(
    n_tokens: list[int],
    specials: list[str],
    shape: tuple[int, int, int],
    seed: int,
    special: float,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    rng = np.random.default_rng(seed)
    layers, heads, d_head = shape
    neurons = synthetic_neurons(
        rng, n_tokens=n_tokens, specials=specials, layers=layers, heads=heads, d_head=d_head
    )
    for sentence in neurons.sentences:
        if sentence.keys.size:
            sentence.keys.flat[seed % sentence.keys.size] = special
    path = save_neurons(neurons, tmp_path_factory.mktemp("neurons") / "n.trfviz")
    assert_same_data(neurons, load_neurons(path))


def test_saving_twice_gives_the_same_bytes_and_the_codec_agrees(tmp_path: Path) -> None:
    lens = synthetic_logit_lens(np.random.default_rng(3))
    first = save_logit_lens(lens, tmp_path / "a.trfviz").read_bytes()
    assert save_logit_lens(lens, tmp_path / "b.trfviz").read_bytes() == first
    # The options (a tuple of layers among them) come back as the codec gives them back.
    from_doc = srsly.msgpack_loads(srsly.msgpack_dumps({"x": lens}))["x"]
    assert_same_data(from_doc, load_logit_lens(tmp_path / "a.trfviz"))


@pytest.mark.model
def test_smollm2s_logit_lens_round_trips_exactly(tmp_path: Path) -> None:
    from tests._shared import nlp, smollm
    from trfviz.measures import logit_lens

    lens = logit_lens(nlp()("The horse raced past the barn fell. It fled."), smollm(), top_k=4)
    assert dict(lens.options) == {"top_k": 4, "layers": None}
    last = lens.sentences[0].top_pieces[-1]
    assert any(p.startswith(" ") for row in last for p in row)  # decoded text, spaces kept
    back = load_logit_lens(save_logit_lens(lens, tmp_path / "lens.trfviz"))
    assert_same_data(lens, back)
    assert back.to_frame().equals(lens.to_frame())


@pytest.mark.model
def test_minilms_neuron_view_round_trips_exactly(tmp_path: Path) -> None:
    from tests._shared import minilm, nlp
    from trfviz.measures import neuron_view

    neurons = neuron_view(nlp()("Tokenization helps. The old man the boat."), minilm())
    assert dict(neurons.options) == {"special_tokens": "keep"}
    back = load_neurons(save_neurons(neurons, tmp_path / "neurons.trfviz"))
    assert_same_data(neurons, back)
    np.testing.assert_array_equal(
        back.sentences[1].scores(5, 11, 2), neurons.sentences[1].scores(5, 11, 2)
    )


def _files(tmp_path: Path) -> dict[str, Path]:
    """One file of each kind, by the name of the loader that reads it."""
    sentence = synthetic_sentence(uniform_attention(1, 1, 3))
    return {
        "load_extraction": save_extraction(synthetic_extraction([sentence]), tmp_path / "e.trfviz"),
        "load_measure": save_measure(_measure("norms"), tmp_path / "m.trfviz"),
        "load_logit_lens": _lens_file(tmp_path),
        "load_neurons": _neurons_file(tmp_path),
    }


_LOADERS: dict[str, Callable[[Path], object]] = {
    "load_extraction": load_extraction,
    "load_measure": load_measure,
    "load_logit_lens": load_logit_lens,
    "load_neurons": load_neurons,
}


def test_every_file_given_to_another_loader_names_its_own(tmp_path: Path) -> None:
    files = _files(tmp_path)
    for right, path in files.items():
        assert type(_LOADERS[right](path)).__name__  # its own loader reads it
        for wrong, load in _LOADERS.items():
            if wrong != right:
                with pytest.raises(CorruptExtractionError, match=f"trfviz.storage.{right}$"):
                    load(path)


def _rewrite(path: Path, change: Callable[[dict[str, Any]], None], drop: str = "") -> Path:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist() if name != drop}
    manifest = json.loads(members["manifest.json"])
    change(manifest)
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _sentence0(manifest: dict[str, Any]) -> dict[str, Any]:
    sentence: dict[str, Any] = manifest["sentences"][0]
    return sentence


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda m: m.update(version=2), CorruptExtractionError, "logit lens format version 2"),
        (lambda m: m.update(version=True), CorruptExtractionError, "format version True"),
        (lambda m: m.update(format="other"), CorruptExtractionError, "not a trfviz logit lens"),
        (lambda m: m.update(text="other"), CorruptExtractionError, "checksum"),
        (lambda m: m.pop("model"), CorruptExtractionError, "lacks 'model'"),
        (lambda m: m.update(options=[["top_k"]]), CorruptExtractionError, r"\[name, value\]"),
        (lambda m: _sentence0(m)["fields"].pop("tokens"), CorruptExtractionError, "'tokens'"),
        (lambda m: _sentence0(m)["fields"].update(start="0"), CorruptExtractionError, "'start'"),
        (
            lambda m: _sentence0(m)["fields"].update(evil=1),
            CorruptExtractionError,
            "SentenceLogitLens lacks",
        ),
        (
            lambda m: _sentence0(m)["fields"]["top_pieces"][0].pop(),
            CorruptExtractionError,
            r"top_pieces is not \[layer\]\[token\]\[k\]",
        ),
        (
            lambda m: _sentence0(m)["fields"]["top_pieces"][0][0].append(7),
            CorruptExtractionError,
            "'top_pieces'",
        ),
        (
            lambda m: _sentence0(m)["fields"].update(next_pieces=["a"]),
            CorruptExtractionError,
            "next_pieces",
        ),
        (
            lambda m: _sentence0(m)["fields"].update(layers=[0, 1]),
            CorruptExtractionError,
            "impossible over 2 layers",
        ),
        (
            lambda m: _sentence0(m)["arrays"]["top_ids"].update(dtype="|O"),
            UnsafeExtractionError,
            "plain number arrays",
        ),
        (
            lambda m: _sentence0(m)["arrays"]["top_ids"].update(dtype="<f4"),
            UnsafeExtractionError,
            "'top_ids' has dtype '<f4'",
        ),
        (
            lambda m: _sentence0(m)["arrays"].pop("next_ids"),
            CorruptExtractionError,
            r"do not match its manifest \(unexpected: \['s0/next_ids.npy'\]",
        ),
        (lambda m: m["sentences"].append(3), CorruptExtractionError, "not an object"),
    ],
)
def test_a_corrupt_logit_lens_manifest_is_refused_clearly(
    tmp_path: Path, change: Any, error: type, match: str
) -> None:
    path = _rewrite(_lens_file(tmp_path), change)
    with pytest.raises(error, match=match):
        load_logit_lens(path)


def test_an_array_missing_from_manifest_and_archive_is_refused(tmp_path: Path) -> None:
    path = _rewrite(
        _lens_file(tmp_path), lambda m: _sentence0(m)["arrays"].pop("next_ids"), "s0/next_ids.npy"
    )
    with pytest.raises(CorruptExtractionError, match=r"sentence 0 lacks the arrays \['next_ids'\]"):
        load_logit_lens(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m.update(version=0), "neuron view format version 0"),
        (lambda m: _sentence0(m)["fields"].update(special_labels=[]), "not both"),
        (lambda m: _sentence0(m)["arrays"]["keys"].update(shape=[2, 3, 5, 3]), "declared <f4"),
        (lambda m: _sentence0(m)["fields"].update(scale=None), "'scale'"),
    ],
)
def test_a_corrupt_neuron_manifest_is_refused_clearly(
    tmp_path: Path, change: Any, match: str
) -> None:
    path = _rewrite(_neurons_file(tmp_path), change)
    with pytest.raises(CorruptExtractionError, match=match):
        load_neurons(path)


def test_damaged_and_truncated_files_are_refused(tmp_path: Path) -> None:
    for path, load in (
        (_lens_file(tmp_path), load_logit_lens),
        (_neurons_file(tmp_path), load_neurons),
    ):
        data = path.read_bytes()
        with zipfile.ZipFile(path) as archive:
            info = archive.infolist()[-1]  # an array
        at = info.header_offset + 30 + len(info.filename) + info.file_size - 1
        path.write_bytes(data[:at] + bytes([data[at] ^ 1]) + data[at + 1 :])
        with pytest.raises(CorruptExtractionError, match=rf"{info.filename}.*(CRC|checksum)"):
            load(path)
        path.write_bytes(data[: len(data) // 2])
        with pytest.raises(CorruptExtractionError, match=str(path)):
            load(path)
        path.write_bytes(b"{}")
        with pytest.raises(CorruptExtractionError, match="too short"):
            load(path)


def test_a_failed_save_leaves_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _lens_file(tmp_path)
    before = path.read_bytes()
    calls = []

    def fail_after_one(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) > 1:
            raise OSError("disk full")
        real_save(*args, **kwargs)

    real_save = np.save
    monkeypatch.setattr(np, "save", fail_after_one)
    with pytest.raises(OSError, match="disk full"):
        save_logit_lens(synthetic_logit_lens(np.random.default_rng(9)), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


_KILLED_WRITER = """
import sys, time
from pathlib import Path
import numpy as np
from tests.factories import synthetic_neurons
from trfviz.storage import save_neurons

real_save, marker = np.save, Path(sys.argv[2])
def slow_save(*args, **kwargs):
    real_save(*args, **kwargs)
    marker.write_text("one array written")
    time.sleep(60)
np.save = slow_save
save_neurons(synthetic_neurons(np.random.default_rng(1), n_tokens=(40, 50)), sys.argv[1])
"""


def test_a_save_killed_half_way_leaves_the_old_file(tmp_path: Path) -> None:
    path = _neurons_file(tmp_path)
    before = path.read_bytes()
    marker = tmp_path / "marker"
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path), str(marker)],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        for _ in range(1200):  # the child imports trfviz first: up to a minute
            if marker.exists() or process.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), f"the writer ended first (rc {process.poll()})"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert_same_data(load_neurons(path), synthetic_neurons(np.random.default_rng(0)))
    # The killed writer's staging file is left under a hidden name, never under the real one.
    left = sorted(p.name for p in tmp_path.iterdir() if p.name not in {path.name, "marker"})
    assert left  # it was killed while writing
    assert all(name.startswith(f".{path.name}.") and name.endswith(".partial") for name in left)


def test_the_store_keeps_lenses_and_neurons_by_their_options(tmp_path: Path) -> None:
    store = ExtractionStore(tmp_path)
    lens = synthetic_logit_lens(np.random.default_rng(4))
    neurons = synthetic_neurons(np.random.default_rng(5))
    paths = {store.put_logit_lens(lens), store.put_neurons(neurons)}
    assert len(paths) == 2
    options = dict(lens.options)
    found = store.get_logit_lens(lens.model, lens.revision, lens.text, options)
    assert found is not None
    assert_same_data(lens, found)
    assert (
        store.get_logit_lens(lens.model, lens.revision, lens.text, {**options, "top_k": 9}) is None
    )
    assert store.get_logit_lens(lens.model, lens.revision, "other", options) is None
    kept = store.get_neurons(neurons.model, neurons.revision, neurons.text, neurons.options)
    assert kept is not None
    assert_same_data(neurons, kept)
    drop = {"special_tokens": "drop"}
    assert store.get_neurons(neurons.model, neurons.revision, neurons.text, drop) is None
