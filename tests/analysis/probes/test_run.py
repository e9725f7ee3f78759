"""Probes on real states: MiniLM over a few dozen EWT dev sentences gives the full tidy table."""

from __future__ import annotations

import pytest

from tests._shared import MINILM, minilm
from trfviz.analysis.probes import PROBE_COLUMNS, PROBES, extract_probe_data, run_probes
from trfviz.datasets import ud_english_ewt


@pytest.mark.model
def test_minilm_probes_report_every_layer_probe_and_metric() -> None:
    data = extract_probe_data(ud_english_ewt("dev", limit=30), minilm(), progress=False)
    table = run_probes(data, layers=[0, 3, 6], rank=16, max_epochs=2, progress=False)
    assert list(table.columns) == PROBE_COLUMNS
    assert (table.model == MINILM).all() and (table.n_layers == 6).all()
    assert sorted(set(table.layer)) == [0, 3, 6]
    per_layer = {("distance", "uuas"), ("distance", "spearman"), ("depth", "root_accuracy")}
    per_layer |= {("depth", "spearman"), ("upos", "accuracy"), ("deprel", "accuracy")}
    assert set(zip(table.probe, table.metric, strict=True)) == per_layer
    assert len(table) == 3 * len(per_layer)
    assert list(dict.fromkeys(table.probe)) == list(PROBES)
    assert table[["value", "control", "selectivity"]].notna().all().all()


def test_bad_options_are_refused_before_training() -> None:
    from tests.analysis.probes.test_linear import linear_data

    data = linear_data(n_sentences=20)
    with pytest.raises(ValueError, match="probes must be one of"):
        run_probes(data, probes=["pos"], progress=False)
    with pytest.raises(IndexError, match="layers"):
        run_probes(data, layers=[5], progress=False)
    with pytest.raises(TypeError, match="extract_probe_data"):
        run_probes("data", progress=False)  # type: ignore[arg-type]
