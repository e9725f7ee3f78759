"""Measures kept in the project's storage: the srsly msgpack codec and ``.trfviz`` files.

Round trips are bit-exact (arrays compared byte for byte, NaN, infinities and
-0.0 included) for norms, rollout and flow, and for a measure and a field this
code has never heard of (``"attributions"`` over ``[label]`` with a
``convergence_delta``), added the way another module would add them.
"""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import srsly
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import synthetic_sentence
from trfviz import extraction_codec
from trfviz.measures import results
from trfviz.measures.results import MeasureExtraction, SentenceMeasure
from trfviz.storage import (
    CorruptExtractionError,
    ExtractionStore,
    UnsafeExtractionError,
    load_extraction,
    load_measure,
    save_extraction,
    save_measure,
)

_OPTIONS = {
    "norms": (("query_pooling", "mean"), ("special_tokens", "keep")),
    "rollout": (("residual", 0.5), ("heads", "mean"), ("over", "pieces")),
    "flow": (("residual", 0.5), ("heads", "max"), ("over", "tokens")),
}


def _shape(measure: str, n: int) -> tuple[int, ...]:
    sizes = {"layer": 2, "head": 3, "query": n, "key": n, "label": n}
    return tuple(sizes[axis] for axis in results.MEASURE_AXES[measure])


def _measure(
    measure: str = "norms",
    *,
    n_tokens: int = 3,
    seed: int = 0,
    pieces: bool = True,
    cls: type = SentenceMeasure,
    **extra: Any,
) -> MeasureExtraction:
    rng = np.random.default_rng(seed)
    sentences = []
    start = 0
    for k in range(2):  # two sentences, the second one word longer
        n = n_tokens + k
        base = synthetic_sentence(n_tokens=n, specials=("[CLS]", "[SEP]"), start=start)
        values = rng.standard_normal(_shape(measure, n + 2)).astype(np.float32)
        values.flat[0] = np.nan
        values.flat[-1] = -0.0
        piece_values = rng.random(_shape(measure, len(base.pieces))).astype(np.float32)
        sentences.append(
            cls(
                start=start,
                tokens=base.tokens,
                pieces=base.pieces,
                alignment=base.alignment,
                values=values,
                piece_values=piece_values if pieces else None,
                special_labels=base.special_labels,
                truncated=bool(k),
                **extra,
            )
        )
        start += n
    return MeasureExtraction(
        measure=measure,  # type: ignore[arg-type]
        model="org/model",
        revision="rev1",
        text=" ".join(t for s in sentences for t in s.tokens),
        sentences=tuple(sentences),
        options=_OPTIONS.get(measure, (("target", "next word"), ("steps", 16))),
    )


def _assert_identical(a: MeasureExtraction, b: MeasureExtraction) -> None:
    assert (a.measure, a.model, a.revision, a.text, a.options) == (
        b.measure,
        b.model,
        b.revision,
        b.text,
        b.options,
    )
    for x, y in zip(a.sentences, b.sentences, strict=True):
        assert type(x) is type(y)
        for field in dataclasses.fields(x):
            left, right = getattr(x, field.name), getattr(y, field.name)
            if field.name == "alignment":
                for name in ("pairs", "special", "orphan", "missing"):
                    _same_bits(getattr(left, name), getattr(right, name))
                assert (left.n_tokens, left.n_pieces) == (right.n_tokens, right.n_pieces)
            elif isinstance(left, np.ndarray):
                _same_bits(left, right)
            elif isinstance(left, float) and np.isnan(left):
                assert isinstance(right, float) and np.isnan(right)
            else:
                assert left == right and type(left) is type(right), field.name


def _same_bits(a: np.ndarray, b: np.ndarray) -> None:
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def _codec(measure: MeasureExtraction) -> MeasureExtraction:
    loaded = srsly.msgpack_loads(srsly.msgpack_dumps({"m": measure}))["m"]
    assert isinstance(loaded, MeasureExtraction)
    return loaded


def _file(measure: MeasureExtraction, tmp_path: Path) -> MeasureExtraction:
    return load_measure(save_measure(measure, tmp_path / "m.trfviz"))


@pytest.mark.parametrize("kind", ["norms", "rollout", "flow"])
@pytest.mark.parametrize("pieces", [True, False])
def test_measures_round_trip_bit_exactly(kind: str, pieces: bool, tmp_path: Path) -> None:
    measure = _measure(kind, pieces=pieces)
    _assert_identical(measure, _codec(measure))
    _assert_identical(measure, _file(measure, tmp_path))


def test_saving_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    measure = _measure("rollout")
    first = save_measure(measure, tmp_path / "a.trfviz").read_bytes()
    assert save_measure(measure, tmp_path / "b.trfviz").read_bytes() == first


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["norms", "rollout", "flow"]),
    n_tokens=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    special=st.sampled_from([np.inf, -np.inf, np.nan, -0.0, 1e-45, 3.4e38]),
)
def test_any_values_round_trip_bit_exactly(
    kind: str, n_tokens: int, seed: int, special: float, tmp_path_factory: pytest.TempPathFactory
) -> None:
    measure = _measure(kind, n_tokens=n_tokens, seed=seed)
    measure.sentences[1].values.flat[seed % measure.sentences[1].values.size] = special
    _assert_identical(measure, _codec(measure))
    _assert_identical(measure, _file(measure, tmp_path_factory.mktemp("h")))


@pytest.fixture
def attributions(monkeypatch: pytest.MonkeyPatch) -> type:
    """``"attributions"`` over ``[label]`` and a ``convergence_delta`` field, added as another
    module adds them: a name in MEASURE_AXES and a field of SentenceMeasure. Nothing in the
    storage code or the codec is told about them."""
    extended = dataclasses.make_dataclass(
        "SentenceMeasure",
        [("convergence_delta", float | None, dataclasses.field(default=None))],
        bases=(SentenceMeasure,),
        frozen=True,
    )
    monkeypatch.setitem(results.MEASURE_AXES, "attributions", ("label",))
    monkeypatch.setattr(results, "SentenceMeasure", extended)
    # The codec's registry by class name, as it would list the class the module defines.
    monkeypatch.setitem(extraction_codec._SERIALIZABLE, "SentenceMeasure", extended)
    monkeypatch.setitem(extraction_codec._NAMES, extended, "SentenceMeasure")
    return extended


@pytest.mark.parametrize("delta", [0.0123456789012345, None, float("nan"), -0.0])
def test_a_new_measure_and_field_round_trip_without_new_code(
    attributions: type, delta: float | None, tmp_path: Path
) -> None:
    measure = _measure("attributions", cls=attributions, convergence_delta=delta)
    assert measure.sentences[0].values.shape == (5,)
    _assert_identical(measure, _codec(measure))
    _assert_identical(measure, _file(measure, tmp_path))


def test_a_new_field_of_the_wrong_type_is_refused(attributions: type, tmp_path: Path) -> None:
    path = save_measure(
        _measure("attributions", cls=attributions, convergence_delta=0.5), tmp_path / "m.trfviz"
    )
    _rewrite_manifest(
        path, lambda text: text.replace('"convergence_delta": 0.5', '"convergence_delta": "x"')
    )
    with pytest.raises(CorruptExtractionError, match="convergence_delta"):
        load_measure(path)


def test_a_measure_this_trfviz_does_not_know_is_refused(attributions: type, tmp_path: Path) -> None:
    path = save_measure(_measure("attributions", cls=attributions), tmp_path / "m.trfviz")
    del results.MEASURE_AXES["attributions"]
    with pytest.raises(CorruptExtractionError, match=r"measure 'attributions'.*upgrade trfviz"):
        load_measure(path)


def test_values_of_an_impossible_shape_are_refused(tmp_path: Path) -> None:
    measure = _measure("rollout")
    wrong = dataclasses.replace(measure.sentences[0], values=np.zeros((2, 4, 4), np.float32))
    path = save_measure(dataclasses.replace(measure, sentences=(wrong,)), tmp_path / "m.trfviz")
    with pytest.raises(CorruptExtractionError, match="impossible for axes"):
        load_measure(path)


def test_a_damaged_array_is_detected(tmp_path: Path) -> None:
    path = save_measure(_measure("norms"), tmp_path / "m.trfviz")
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("s0/values.npy")
    data[info.header_offset + 30 + len(info.filename) + 200] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptExtractionError, match=r"s0/values\.npy"):
        load_measure(path)


def test_object_arrays_are_never_written(tmp_path: Path) -> None:
    measure = _measure("flow")
    bad = dataclasses.replace(measure.sentences[0], values=np.array([[None]], dtype=object))
    with pytest.raises(ValueError, match="dtype"):
        save_measure(dataclasses.replace(measure, sentences=(bad,)), tmp_path / "m.trfviz")


def test_an_object_array_in_the_manifest_is_refused(tmp_path: Path) -> None:
    path = save_measure(_measure("flow"), tmp_path / "m.trfviz")
    _rewrite_manifest(path, lambda text: text.replace('"dtype": "<f4"', '"dtype": "|O"', 1))
    with pytest.raises(UnsafeExtractionError, match="plain number arrays"):
        load_measure(path)


def test_measure_and_extraction_files_say_which_reader_they_need(tmp_path: Path) -> None:
    from tests.factories import synthetic_extraction, uniform_attention

    measure_path = save_measure(_measure("norms"), tmp_path / "m.trfviz")
    with pytest.raises(CorruptExtractionError, match="load_measure"):
        load_extraction(measure_path)
    sentence = synthetic_sentence(uniform_attention(1, 1, 3))
    extraction_path = save_extraction(synthetic_extraction([sentence]), tmp_path / "e.trfviz")
    with pytest.raises(CorruptExtractionError, match="load_extraction"):
        load_measure(extraction_path)


def test_the_store_keeps_measures_beside_extractions(tmp_path: Path) -> None:
    store = ExtractionStore(tmp_path)
    norms, rollout = _measure("norms"), _measure("rollout")
    path = store.put_measure(norms)
    assert store.put_measure(rollout) != path
    options = dict(norms.options)
    found = store.get_measure(norms.model, norms.revision, norms.text, "norms", options)
    assert found is not None
    _assert_identical(norms, found)
    assert store.get_measure(norms.model, norms.revision, norms.text, "flow", options) is None
    other = {**options, "query_pooling": "first"}
    assert store.get_measure(norms.model, norms.revision, norms.text, "norms", other) is None


@pytest.mark.model
def test_real_norms_round_trip_through_doc_bytes_and_files(tmp_path: Path) -> None:
    from tests._shared import minilm, nlp
    from trfviz.measures import attention_norms

    doc = nlp()("The old man the boat. It sank.")
    measure = attention_norms(doc, minilm(), keep_pieces=True)
    doc.user_data["norms"] = measure
    restored = type(doc)(doc.vocab).from_bytes(doc.to_bytes())
    _assert_identical(measure, restored.user_data["norms"])
    _assert_identical(measure, _file(measure, tmp_path))


def _rewrite_manifest(path: Path, change: Any) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["manifest.json"] = change(members["manifest.json"].decode()).encode()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
