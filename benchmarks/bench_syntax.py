"""Benchmark: the head <-> relation analysis over EWT dev against the raw forward pass.

Times, on the 2,001 gold sentences of UD English EWT dev with MiniLM:

- ``raw``: the model alone: tokenize, sort by length, batches of 32, forward
  with ``output_attentions=True`` (nothing pooled or kept);
- ``analysis``: :func:`trfviz.analysis.run_corpus` with
  :class:`~trfviz.analysis.HeadRelationAccuracy`: extraction (alignment,
  pooling onto the gold words) and the streaming reducer; target <= 1.25x raw;
- ``analysis+patterns``: the same with :class:`~trfviz.analysis.AttentionPatterns` too;
- ``dask``: the analysis on a 2-worker ``distributed.LocalCluster`` (one thread
  each), models already loaded on the workers.

Each is run ``--repeats`` times, interleaved, and the fastest run is kept, so
load from other processes skews the ratios as little as possible. Wall-clock
and CPU seconds of this process are both recorded: on a shared machine the CPU
time is the steadier measure (the cluster run is wall-clock only, its work is
in the workers). ``--threads`` sets torch's intra-op threads (default: torch's
own choice). Ratios are printed and written with the timings to
``benchmarks/results/bench_syntax.json``.

    python benchmarks/bench_syntax.py [--limit N] [--repeats 3] [--threads T] [--no-dask]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TARGET = 1.25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use the first N sentences")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--chunk-size", type=int, default=256, help="run_corpus chunk_size in-process"
    )
    parser.add_argument(
        "--dask-chunk-size",
        type=int,
        default=None,
        help="documents per cluster task (default: a quarter of the corpus, two tasks a worker)",
    )
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--no-dask", action="store_true", help="skip the LocalCluster run")
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).parent / "results" / "bench_syntax.json"
    )
    args = parser.parse_args()

    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    import trfviz
    from trfviz.analysis import (
        AttentionPatterns,
        HeadRelationAccuracy,
        run_corpus,
    )

    docs = trfviz.datasets.ud_english_ewt("dev", limit=args.limit)
    texts = [doc.text for doc in docs]
    loaded = trfviz.load_model(MODEL)
    chunk_size = args.chunk_size
    dask_chunk_size = args.dask_chunk_size or -(-len(docs) // 4)

    def raw() -> None:
        tokenizer, model = loaded.tokenizer, loaded.model
        lengths = [len(ids) for ids in tokenizer(texts, truncation=True)["input_ids"]]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        with torch.inference_mode():
            for start in range(0, len(order), 32):
                batch = [texts[i] for i in order[start : start + 32]]
                encoded = tokenizer(batch, padding=True, truncation=True, return_tensors="pt")
                model(**encoded, output_attentions=True)

    def analysis(*reducers: type) -> None:
        run = run_corpus(
            docs,
            [make() for make in reducers],
            models=loaded,
            chunk_size=chunk_size,
            progress=False,
        )
        assert run.n_sentences == len(docs)

    runs = {
        "raw": raw,
        "analysis": lambda: analysis(HeadRelationAccuracy),
        "analysis+patterns": lambda: analysis(HeadRelationAccuracy, AttentionPatterns),
    }
    raw()  # warm-up: first-call allocations, lazy imports
    analysis(HeadRelationAccuracy)
    times: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, fn in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)

    if not args.no_dask:
        times["dask"] = time_dask(docs, dask_chunk_size, args.repeats)

    best = {name: min(values) for name, values in times.items()}
    best_cpu = {name: min(values) for name, values in cpu.items()}
    ratios = {name: best[name] / best["raw"] for name in best if name != "raw"}
    cpu_ratios = {name: best_cpu[name] / best_cpu["raw"] for name in best_cpu if name != "raw"}
    for name, value in best.items():
        line = f"{name:>18}: {value:7.2f} s wall"
        if name != "raw":
            line += f" {ratios[name]:5.2f}x"
        if name in best_cpu:
            line += f" | {best_cpu[name]:7.2f} s cpu"
            if name != "raw":
                line += f" {cpu_ratios[name]:5.2f}x"
        print(line)
    verdict = "meets" if ratios["analysis"] <= TARGET else "misses"
    print(
        f"analysis / raw = {ratios['analysis']:.2f} wall, {cpu_ratios['analysis']:.2f} cpu "
        f"({verdict} the {TARGET}x target on wall-clock time)"
    )

    args.output.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "bench_syntax",
        "model": MODEL,
        "sentences": len(docs),
        "chunk_size": chunk_size,
        "dask_chunk_size": dask_chunk_size,
        "repeats": args.repeats,
        "seconds": times,
        "cpu_seconds": cpu,
        "best_seconds": best,
        "best_cpu_seconds": best_cpu,
        "ratios_to_raw": ratios,
        "cpu_ratios_to_raw": cpu_ratios,
        "target": TARGET,
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average": os.getloadavg(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
    }
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.output}")


def time_dask(docs: list, chunk_size: int, repeats: int) -> list[float]:
    """Seconds per run of the analysis on a 2-worker LocalCluster (after a warm-up run)."""
    from distributed import Client, LocalCluster

    from trfviz.analysis import HeadRelationAccuracy, run_corpus

    seconds = []
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        for attempt in range(repeats + 1):
            start = time.perf_counter()
            run = run_corpus(
                docs,
                [HeadRelationAccuracy()],
                models=MODEL,
                client=client,
                chunk_size=chunk_size,
                progress=False,
            )
            assert run.n_sentences == len(docs)
            if attempt:  # the first run loads the model on each worker
                seconds.append(time.perf_counter() - start)
    return seconds


if __name__ == "__main__":
    main()
