"""Generation then parse: the model writes the target, spaCy parses it, the pair is extracted."""

from __future__ import annotations

import numpy as np
import pytest

import trfviz
from tests import _shared as shared

# Random weights repeat one piece forever; forbidding repeats gives varied text to parse.
VARIED = {"no_repeat_ngram_size": 1, "min_new_tokens": 4}


def test_round_trip(seq2seq) -> None:  # type: ignore[no-untyped-def]
    nlp = shared.nlp()
    source = nlp("The old man the boat. She isn't here.")
    generated = trfviz.generate_pair(source, seq2seq, nlp, max_new_tokens=8, generate_kwargs=VARIED)
    assert len(generated.texts) == 2 and all(generated.texts)
    target, extraction = generated.target, generated.extraction
    # The target Doc is the generated texts, parsed, one after another.
    assert target.text.split() == " ".join(generated.texts).split()
    assert target.has_annotation("DEP")
    assert [p.target.tokens for p in extraction.pairs] == [
        tuple(t.text for t in target[p.target.start : p.target.end]) for p in extraction.pairs
    ]
    assert extraction.pairs[-1].target.end == len(target)
    assert extraction.target_text == target.text and extraction.source_text == source.text
    for pair in extraction.pairs:
        rows = np.flatnonzero(~pair.target.alignment.missing)
        np.testing.assert_allclose(pair.cross_attention[..., rows, :].sum(-1), 1, atol=1e-5)
        # The parse drawn with the pair is spaCy's parse of the generated text.
        assert pair.target.parse.words == pair.target.tokens


def test_the_generated_pair_is_what_extract_pair_gives_for_that_target(  # type: ignore[no-untyped-def]
    t5_path, sentencized
) -> None:
    source = sentencized("I saw the man with the telescope.")
    generated = trfviz.generate_pair(
        source, str(t5_path), sentencized, max_new_tokens=6, generate_kwargs=VARIED
    )
    again = trfviz.extract_pair(source, generated.target, str(t5_path), pair_by="doc")
    (first,), (second,) = generated.extraction.pairs, again.pairs
    assert first.target.tokens == second.target.tokens
    np.testing.assert_array_equal(first.cross_attention, second.cross_attention)
    np.testing.assert_array_equal(first.decoder_states, second.decoder_states)


def test_generation_is_greedy_and_repeatable(t5_path, sentencized) -> None:  # type: ignore[no-untyped-def]
    source = sentencized("The cat sat.")
    runs = [
        trfviz.generate_pair(
            source, str(t5_path), sentencized, max_new_tokens=5, generate_kwargs=VARIED
        ).texts
        for _ in range(2)
    ]
    assert runs[0] == runs[1]


def test_bad_generation_input_is_refused(t5_path, sentencized) -> None:  # type: ignore[no-untyped-def]
    source = sentencized("The cat sat.")
    path = str(t5_path)
    with pytest.raises(TypeError, match="nlp must be a spaCy pipeline"):
        trfviz.generate_pair(source, path, "en_core_web_sm")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_new_tokens"):
        trfviz.generate_pair(source, path, sentencized, max_new_tokens=0)
    with pytest.raises(TypeError, match="generate_kwargs must be a dict"):
        trfviz.generate_pair(source, path, sentencized, generate_kwargs=[1])  # type: ignore[arg-type]
    loaded = trfviz.load_seq2seq_model(path)
    tokenizer = loaded.tokenizer
    # Every ordinary piece forbidden: the model can only write special pieces.
    words = [[i] for i in range(len(tokenizer)) if i not in tokenizer.all_special_ids]
    with pytest.raises(ValueError, match="generated no text for source span 0"):
        trfviz.generate_pair(
            source, loaded, sentencized, max_new_tokens=3, generate_kwargs={"bad_words_ids": words}
        )
