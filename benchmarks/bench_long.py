"""Extraction speed on long sentences (100 and 200 words), against the raw forward pass.

For each length, 64 one-sentence Docs are cut from consecutive words of UD
English EWT dev. Both sides run them sorted by length in batches of 32 with the
same length limit (the extraction's default with attention) and ask for every
layer's attention and hidden states; the extraction side also tokenizes with
offsets, aligns, pools onto spaCy tokens and copies each sentence's arrays out.
The two are timed interleaved, best of ``--runs`` each, so the ratio compares
like with like on a busy machine. Target: ratio <= 1.10 at both lengths.

    python benchmarks/bench_long.py [--model NAME] [--runs 5] [--words 100 200]
"""

from __future__ import annotations

import argparse
from typing import Any

from _common import best_of, ewt_dev_docs, raw_forward, write_result

import trfviz
from trfviz.extractor.api import default_length_limit

SENTENCES = 64


def long_sentences(words: int, count: int = SENTENCES) -> list[Any]:
    """``count`` one-sentence Docs of ``words`` consecutive EWT dev words each."""
    from spacy.tokens import Doc

    docs = ewt_dev_docs()
    vocab = docs[0].vocab
    tokens = [(t.text, bool(t.whitespace_)) for doc in docs for t in doc]
    out = []
    for index in range(count):
        chunk = tokens[index * words : (index + 1) * words]
        out.append(
            Doc(
                vocab,
                words=[w for w, _ in chunk],
                spaces=[s for _, s in chunk],
                sent_starts=[True] + [False] * (len(chunk) - 1),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--words", type=int, nargs="+", default=[100, 200])
    args = parser.parse_args()
    loaded = trfviz.load_model(args.model)
    limit = default_length_limit(loaded, attention=True)
    result: dict[str, Any] = {"model": args.model, "sentences": SENTENCES, "max_length": limit}
    for words in args.words:
        docs = long_sentences(words)
        texts = [doc.text for doc in docs]
        pieces = [len(ids) for ids in loaded.tokenizer(texts)["input_ids"]]

        def extraction(docs: list[Any] = docs) -> None:
            for _ in trfviz.extract_docs(docs, loaded, batch_size=32, progress=False):
                pass

        def raw(texts: list[str] = texts) -> None:
            raw_forward(loaded, texts, max_length=limit)

        raw(texts[:8])  # warm up
        raw_s, extract_s = float("inf"), float("inf")
        for _ in range(args.runs):
            raw_s = min(raw_s, best_of(1, raw))
            extract_s = min(extract_s, best_of(1, extraction))
        ratio = extract_s / raw_s
        print(
            f"{words} words ({min(pieces)}-{max(pieces)} wordpieces): raw forward "
            f"{raw_s:.2f} s, extraction {extract_s:.2f} s, ratio {ratio:.3f} (target <= 1.10)"
        )
        result[f"words_{words}"] = {
            "wordpieces": [min(pieces), max(pieces)],
            "raw_forward_s": round(raw_s, 3),
            "extraction_s": round(extract_s, 3),
            "ratio": round(ratio, 3),
            "meets_target": ratio <= 1.10,
        }
    write_result("long_sentences", {**result, "target": 1.10})


if __name__ == "__main__":
    main()
