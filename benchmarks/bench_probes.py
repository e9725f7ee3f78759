"""Benchmark: probe training time per layer on UD English EWT dev (MiniLM by default).

Extracts the hidden states of the 2,001 gold sentences once (``pooling="mean"``,
states only), then times :func:`trfviz.analysis.probes.run_probes` one layer at
a time, each probe separately (its control task included, so every time is two
trainings): the structural distance and depth probes (torch, Adam, early stopping
on the dev split) and the linear UPOS and relation probes (scikit-learn logistic
regression). Wall-clock and CPU seconds of this process are recorded per layer
and probe, with the scores, and written to ``benchmarks/results/bench_probes.json``.

    python benchmarks/bench_probes.py [--limit N] [--model NAME] [--layers 0 3 6]
        [--rank 64] [--max-epochs 20] [--threads T]
"""

from __future__ import annotations

import argparse
import time

from _common import write_result

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="use the first N sentences")
    parser.add_argument("--model", default=MODEL)
    parser.add_argument("--layers", type=int, nargs="*", default=None, help="default: all")
    parser.add_argument("--rank", type=int, default=64)
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()

    import torch
    import transformers

    transformers.utils.logging.disable_progress_bar()
    if args.threads:
        torch.set_num_threads(args.threads)
    import trfviz
    from trfviz.analysis.probes import PROBES, extract_probe_data, run_probes

    docs = trfviz.datasets.ud_english_ewt("dev", limit=args.limit)
    loaded = trfviz.load_model(args.model)
    start = time.perf_counter()
    data = extract_probe_data(docs, loaded, progress=False)
    extract_seconds = time.perf_counter() - start
    layers = args.layers if args.layers is not None else list(range(data.n_layers + 1))
    timings = []
    for layer in layers:
        for probe in PROBES:
            wall, cpu = time.perf_counter(), time.process_time()
            table = run_probes(
                data,
                layers=[layer],
                probes=[probe],
                rank=args.rank,
                max_epochs=args.max_epochs,
                progress=False,
            )
            timings.append(
                {
                    "layer": layer,
                    "probe": probe,
                    "seconds": round(time.perf_counter() - wall, 2),
                    "cpu_seconds": round(time.process_time() - cpu, 2),
                    "scores": {
                        row.metric: [round(row.value, 3), round(row.control, 3)]
                        for row in table.itertuples()
                    },
                }
            )
            print(timings[-1], flush=True)
    per_layer = {
        layer: round(sum(t["seconds"] for t in timings if t["layer"] == layer), 2)
        for layer in layers
    }
    write_result(
        "bench_probes",
        {
            "model": args.model,
            "sentences": len(data.gold),
            "words": sum(g.n_words for g in data.gold),
            "splits": {s: len(data.indices(s)) for s in ("train", "dev", "test")},
            "rank": args.rank,
            "max_epochs": args.max_epochs,
            "extract_seconds": round(extract_seconds, 2),
            "seconds_per_layer": per_layer,
            "mean_seconds_per_layer": round(sum(per_layer.values()) / len(per_layer), 2),
            "timings": timings,
        },
    )


if __name__ == "__main__":
    main()
