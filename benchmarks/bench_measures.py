"""Cost of the measures beyond attention weights, against the plain forward pass.

One Doc of the first ``--sentences`` sentences of UD English EWT dev (gold
sentence boundaries). The floor is the model's own forward passes over the same
sentences, sorted by length in batches of 32, with attention (what every
measure needs) and nothing else kept. Each measure also tokenizes with
offsets, aligns, computes its values over wordpieces and pools them onto spaCy
tokens: value-weighted norms (:func:`trfviz.measures.attention_norms`, target
<= 1.3x) and rollout (:func:`trfviz.measures.attention_rollout`, target <= 1.1x).
All three are timed interleaved, best of ``--runs`` each, so the ratios compare
like with like on a busy machine. Attention flow (a maximum-flow problem per
pair of positions) has no target and is not timed here.

    python benchmarks/bench_measures.py [--model NAME] [--runs 5] [--sentences 1000]
"""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from _common import best_of, ewt_dev_docs, raw_forward, write_result

import trfviz
from trfviz.extractor.api import default_length_limit
from trfviz.measures import attention_norms, attention_rollout

TARGETS = {"norms": 1.3, "rollout": 1.1}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=1000)
    args = parser.parse_args()
    from spacy.tokens import Doc

    loaded = trfviz.load_model(args.model)
    with warnings.catch_warnings():
        # Doc.from_docs warns once per Doc that it drops the CoNLL-U metadata.
        warnings.filterwarnings("ignore", message=r"\[W102\]")
        doc = Doc.from_docs(ewt_dev_docs()[: args.sentences])
    texts = [sentence.text for sentence in doc.sents]
    limit = default_length_limit(loaded, attention=True)
    sides: dict[str, Any] = {
        "forward": lambda: raw_forward(loaded, texts, max_length=limit, hidden_states=False),
        "norms": lambda: attention_norms(doc, loaded),
        "rollout": lambda: attention_rollout(doc, loaded),
    }
    sides["forward"]()  # warm up
    best = dict.fromkeys(sides, float("inf"))
    for _ in range(args.runs):
        for name, run in sides.items():
            best[name] = min(best[name], best_of(1, run))
    result: dict[str, Any] = {
        "model": args.model,
        "sentences": len(texts),
        "tokens": len(doc),
        "forward_s": round(best["forward"], 3),
    }
    for name, target in TARGETS.items():
        ratio = best[name] / best["forward"]
        print(
            f"{name}: {best[name]:.2f} s against the forward pass's {best['forward']:.2f} s, "
            f"ratio {ratio:.3f} (target <= {target})"
        )
        result[name] = {
            "seconds": round(best[name], 3),
            "ratio": round(ratio, 3),
            "target": target,
            "meets_target": ratio <= target,
        }
    write_result("measures", result)


if __name__ == "__main__":
    main()
