"""Peak memory: one 5,000-word document with every layer's attention kept.

Each side runs in its own process and reports its peak resident set size:
``baseline`` runs the same forward passes (the same sentences and batches,
attention and hidden states requested) and keeps nothing; ``extract`` keeps
the whole extraction (attention for every layer and head, and hidden states,
per spaCy token). Target: ratio <= 1.10.

    python benchmarks/bench_memory.py [--model NAME] [--words 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys


def _document(words: int):  # type: ignore[no-untyped-def]
    from _common import ewt_dev_docs
    from spacy.tokens import Doc

    docs, total = [], 0
    for doc in ewt_dev_docs():
        docs.append(doc)
        total += len(doc)
        if total >= words:
            break
    return Doc.from_docs(docs)


def _child(mode: str, model: str, words: int) -> None:
    import trfviz

    loaded = trfviz.load_model(model)
    doc = _document(words)
    if mode == "extract":
        kept = trfviz.extract(doc, loaded, progress=False)
        detail = {"sentences": len(kept.sentences), "tokens": kept.n_tokens}
        kept_bytes = sum(
            s.attention.nbytes + s.states.nbytes  # type: ignore[union-attr]
            for s in kept.sentences
        )
        detail["kept_mb"] = round(kept_bytes / 2**20, 1)
    else:
        from _common import raw_forward

        from trfviz.extract import _default_length_limit, sentences_of

        # The same sentences, length limit and batches as the extraction, outputs dropped.
        texts = [s.text for s in sentences_of(doc)]
        raw_forward(loaded, texts, max_length=_default_length_limit(loaded, attention=True))
        detail = {"sentences": len(texts), "tokens": len(doc)}
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mode": mode, "peak_mb": round(peak_kb / 1024, 1), **detail}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--words", type=int, default=5000)
    parser.add_argument("--child", choices=["baseline", "extract"])
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.model, args.words)
        return
    results = {}
    for mode in ("baseline", "extract"):
        out = (
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    mode,
                    "--model",
                    args.model,
                    "--words",
                    str(args.words),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        results[mode] = json.loads(out)
    ratio = results["extract"]["peak_mb"] / results["baseline"]["peak_mb"]
    print(
        f"peak RSS: forward passes keeping nothing {results['baseline']['peak_mb']} MB, "
        f"extraction keeping all attention {results['extract']['peak_mb']} MB "
        f"(arrays kept: {results['extract']['kept_mb']} MB); ratio {ratio:.3f} (target <= 1.10)"
    )
    from _common import write_result

    write_result(
        "memory",
        {
            "model": args.model,
            "words": args.words,
            **{k: v for k, v in results.items()},
            "ratio": round(ratio, 3),
            "target": 1.10,
            "meets_target": ratio <= 1.10,
        },
    )


if __name__ == "__main__":
    main()
