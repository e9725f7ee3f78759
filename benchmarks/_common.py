"""Shared set-up for the benchmarks: the EWT dev sentences and timing helpers."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def ewt_dev_docs() -> list[Any]:
    """The 2,001 gold-parsed sentences of UD English EWT dev, one Doc each."""
    from trfviz.datasets import ud_english_ewt

    return ud_english_ewt("dev")


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    """The fastest of ``runs`` wall-clock timings of ``fn()``, in seconds."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def write_result(name: str, result: dict[str, Any]) -> Path:
    """Write ``result`` as JSON under benchmarks/results/ with the machine noted; print it."""
    import torch

    RESULTS.mkdir(exist_ok=True)
    result = {
        **result,
        "machine": platform.machine(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return path


def raw_forward(
    loaded: Any,
    texts: list[str],
    batch_size: int = 32,
    max_length: int | None = None,
    hidden_states: bool = True,
) -> None:
    """The model's own forward passes with the same outputs, sorted by length."""
    import torch

    tokenizer = loaded.tokenizer
    limit = max_length or loaded.max_length
    encoded = tokenizer(texts, truncation=True, max_length=limit)["input_ids"]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch = [encoded[i] for i in order[start : start + batch_size]]
            width = max(map(len, batch))
            ids = torch.full((len(batch), width), pad)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, seq in enumerate(batch):
                ids[row, : len(seq)] = torch.tensor(seq)
                mask[row, : len(seq)] = 1
            loaded.model(
                input_ids=ids,
                attention_mask=mask,
                output_attentions=True,
                output_hidden_states=hidden_states,
            )
