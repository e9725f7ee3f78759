"""Extraction speed: all of EWT dev through MiniLM, against the raw forward pass.

Both sides run the 2,001 sentences of UD English EWT dev sorted by length in
batches of 32 and ask the model for every layer's attention and hidden
states. The extraction side also tokenizes with offsets, aligns, pools onto
spaCy tokens and copies each sentence's arrays out unpadded. Target: ratio
<= 1.10 on CPU. Prints the ratio measured in this run (best of five each,
interleaved).

    python benchmarks/bench_extract.py [--model NAME] [--runs 5]
"""

from __future__ import annotations

import argparse

from _common import best_of, ewt_dev_docs, raw_forward, write_result

import trfviz


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    loaded = trfviz.load_model(args.model)
    docs = ewt_dev_docs()
    texts = [doc.text for doc in docs]

    def extraction() -> None:
        for _ in trfviz.extract_docs(docs, loaded, batch_size=32, progress=False):
            pass

    raw_forward(loaded, texts[:64])  # warm up
    raw_s, extract_s = float("inf"), float("inf")
    for _ in range(args.runs):
        raw_s = min(raw_s, best_of(1, lambda: raw_forward(loaded, texts)))
        extract_s = min(extract_s, best_of(1, extraction))
    ratio = extract_s / raw_s
    print(
        f"raw forward {raw_s:.2f} s, extraction {extract_s:.2f} s, "
        f"ratio {ratio:.3f} (target <= 1.10)"
    )
    write_result(
        "extract_speed",
        {
            "model": args.model,
            "sentences": len(docs),
            "raw_forward_s": round(raw_s, 3),
            "extraction_s": round(extract_s, 3),
            "ratio": round(ratio, 3),
            "target": 1.10,
            "meets_target": ratio <= 1.10,
        },
    )


if __name__ == "__main__":
    main()
