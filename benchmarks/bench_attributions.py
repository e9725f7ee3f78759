"""The cost of integrated gradients with n steps against n plain backward passes.

On ``--sentences`` EWT dev sentences, one Doc each, MiniLM explains the cosine
similarity of each sentence to a fixed sentence (:class:`~trfviz.measures.Similarity`).
Three things are timed, interleaved, best of ``--runs``:

- ``ig``: :func:`trfviz.measures.attributions` with ``n_steps=n`` (encoding,
  alignment, Captum's integrated gradients, pooling onto spaCy tokens);
- ``batched``: per sentence, one forward and one backward pass of a batch of
  ``n`` copies of its embeddings (the work integrated gradients does);
- ``sequential``: per sentence, ``n`` forward and backward passes one at a time.

Target (issue 14): ``ig / batched`` ≈ 1 and no worse than ``ig / sequential``.

    python benchmarks/bench_attributions.py [--steps 50] [--sentences 16] [--runs 3]
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import best_of, ewt_dev_docs, write_result

import trfviz
from trfviz.measures import Similarity, attributions
from trfviz.measures.encoding import encode_doc

OTHER = "The committee discussed the budget on Tuesday."


def backward_passes(loaded: Any, docs: list[Any], steps: int, *, batched: bool) -> None:
    """``steps`` forward + backward passes of each Doc's objective, in one batch or one by one."""
    import torch

    target = Similarity(OTHER)
    for doc in docs:
        _, (sentence,), _ = encode_doc(doc, loaded, None)
        objective = target.objective(loaded, sentence)
        ids = torch.as_tensor(objective.input_ids)[None]
        with torch.no_grad():
            embeds = objective.model.get_input_embeddings()(ids)
        rows, repeats = (steps, 1) if batched else (1, steps)
        for _ in range(repeats):
            x = embeds.expand(rows, -1, -1).clone().requires_grad_(True)
            (gradient,) = torch.autograd.grad(objective.score(x).sum(), x)
            assert gradient.shape == x.shape


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--sentences", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    loaded = trfviz.load_model(args.model)
    docs = [d for d in ewt_dev_docs() if 10 <= len(d) <= 30][: args.sentences]
    pieces = sum(len(encode_doc(d, loaded, None)[1][0].input_ids) for d in docs)
    target = Similarity(OTHER)

    def ig() -> None:
        for doc in docs:
            attributions(doc, loaded, target=target, n_steps=args.steps, progress=False)

    ig()  # warm-up
    times: dict[str, float] = {"ig": float("inf"), "batched": float("inf")}
    times["sequential"] = float("inf")
    for _ in range(args.runs):
        times["ig"] = min(times["ig"], best_of(1, ig))
        times["batched"] = min(
            times["batched"],
            best_of(1, lambda: backward_passes(loaded, docs, args.steps, batched=True)),
        )
        times["sequential"] = min(
            times["sequential"],
            best_of(1, lambda: backward_passes(loaded, docs, args.steps, batched=False)),
        )
    write_result(
        "attributions",
        {
            "model": args.model,
            "steps": args.steps,
            "sentences": len(docs),
            "pieces": pieces,
            "seconds": {k: round(v, 3) for k, v in times.items()},
            "ig_over_batched_backward": round(times["ig"] / times["batched"], 3),
            "ig_over_sequential_backward": round(times["ig"] / times["sequential"], 3),
        },
    )


if __name__ == "__main__":
    main()
