"""Tiny random-weight encoder-decoder models, built from configs with tokenizers trained here.

- :func:`build_t5`: a 2-layer T5 (relative positions, ``decoder_start`` = ``<pad>``) with a
  SentencePiece-style Unigram tokenizer (Metaspace, ``</s>`` appended), as T5 ships.
- :func:`build_bart`: a 2-layer BART (learned positions, ``decoder_start`` = ``</s>``) with
  a byte-level BPE tokenizer (``<s> ... </s>``), as BART ships.
- :func:`build_marian`: a 2-layer Marian (``decoder_start`` = ``<pad>``) with Marian's slow
  tokenizer: one SentencePiece model for the source and another for the target (trained on
  lower-cased text, so the two segment some texts differently), one shared vocabulary.

Both are saved with :meth:`save_pretrained` into a directory, so they load by path
through :func:`trfviz.load_seq2seq_model` as a user's model would. Nothing here
touches the network; training both tokenizers takes well under a second.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tokenizer_fixtures import CORPUS, unigram_backend

__all__ = ["build_bart", "build_marian", "build_t5"]

_VOCAB = 300


def _save_random(model_class: Any, config: Any, tokenizer: Any, directory: Path) -> Path:
    """Save ``model_class(config)`` with seeded random weights and its tokenizer."""
    import torch

    torch.manual_seed(0)
    model_class(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def build_t5(directory: Path) -> Path:
    """Save a 2-layer, 2-head T5 and its Unigram tokenizer in ``directory``; return it."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    backend = unigram_backend(("<pad>", "</s>", "<unk>"), _VOCAB)
    eos = backend.token_to_id("</s>")
    backend.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>"
    )
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=eos,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    return _save_random(T5ForConditionalGeneration, config, tokenizer, directory)


def build_bart(directory: Path) -> Path:
    """Save a 2-layer, 4-head BART and its byte-level BPE tokenizer in ``directory``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import BartConfig, BartForConditionalGeneration, PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(list(CORPUS) * 4, trainer=trainer)
    backend.post_processor = processors.RobertaProcessing(
        ("</s>", backend.token_to_id("</s>")),
        ("<s>", backend.token_to_id("<s>")),
        add_prefix_space=False,
        trim_offsets=True,
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
    )
    config = BartConfig(
        vocab_size=len(tokenizer),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        bos_token_id=tokenizer.bos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        forced_eos_token_id=tokenizer.eos_token_id,
    )
    return _save_random(BartForConditionalGeneration, config, tokenizer, directory)


def build_marian(directory: Path) -> Path:
    """Save a 2-layer, 2-head Marian with separate source and target SentencePiece models."""
    import json

    import sentencepiece as spm
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    directory.mkdir(parents=True, exist_ok=True)
    vocab = {"</s>": 0, "<unk>": 1, "<pad>": 2}
    for name, texts in (("source", CORPUS), ("target", [t.lower() for t in CORPUS])):
        prefix = directory / name
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(list(texts) * 4),
            model_prefix=str(prefix),
            vocab_size=200,
            model_type="unigram",
            pad_id=-1,
            bos_id=-1,
            eos_id=-1,
            unk_id=0,
            hard_vocab_limit=False,
            minloglevel=2,
        )
        prefix.with_suffix(".model").rename(directory / f"{name}.spm")
        prefix.with_suffix(".vocab").unlink()
        model = spm.SentencePieceProcessor(model_file=str(directory / f"{name}.spm"))
        for index in range(model.get_piece_size()):
            vocab.setdefault(model.id_to_piece(index), len(vocab))
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    tokenizer = MarianTokenizer(
        vocab=str(directory / "vocab.json"),
        source_spm=str(directory / "source.spm"),
        target_spm=str(directory / "target.spm"),
    )
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=32,
        encoder_layers=2,
        decoder_layers=2,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_position_embeddings=128,
        pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=vocab["<pad>"],
        forced_eos_token_id=vocab["</s>"],
    )
    return _save_random(MarianMTModel, config, tokenizer, directory)
