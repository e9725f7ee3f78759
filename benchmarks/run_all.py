"""Run every benchmark in turn; each prints its ratio and writes JSON to benchmarks/results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BENCHMARKS = [
    "bench_attributions.py",
    "bench_extract.py",
    "bench_long.py",
    "bench_memory.py",
    "bench_measures.py",
    "bench_probes.py",
    "bench_syntax.py",
    "bench_widget.py",
]


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"\n=== {name}", flush=True)
        if subprocess.run([sys.executable, str(HERE / name)], cwd=HERE).returncode != 0:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
