"""What a gradient attribution explains: one scalar of the model's output per input.

A target turns one encoded sentence into an :class:`Objective`: the model to
run (with the head the target needs), the wordpiece ids to feed it (the
sentence's own pieces first, then any pieces the target appends), which of the
sentence's pieces are held fixed (not attributed), and a function from the
input embeddings ``[batch, piece, dim]`` to one score per batch row. The
targets a researcher has:

- :func:`next_word` / :class:`Continuation` (causal models): the log-probability
  of a word or string after the sentence, ``Σ_k log p(c_k | sentence, c_<k)``,
  the first piece (the model's attention sink) held fixed by default;
- :class:`Similarity` (any encoder, e.g. sentence-transformers MiniLM): the
  cosine similarity of the sentence's mean-pooled last hidden state to another
  sentence's;
- :class:`MaskedWord` (models with a masked-LM head): the log-probability of a
  word at a spaCy token whose pieces are replaced by the mask token;
- :class:`OutputFunction`: any scalar function of the model's output.

>>> next_word("was")
Continuation(text=' was', hold_first=True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from trfviz.loading import LoadedModel
from trfviz.validation import check_bool, check_int

if TYPE_CHECKING:
    import torch

    from trfviz.extractor.tokenize import EncodedSentence

__all__ = [
    "Continuation",
    "MaskedWord",
    "Objective",
    "OutputFunction",
    "Similarity",
    "Target",
    "next_word",
    "with_head",
]

Head = Literal["causal", "masked"]


@dataclass(frozen=True)
class Objective:
    """One sentence made ready for attribution.

    Attributes:
        model: the torch module to call with ``inputs_embeds`` (it may carry a head).
        input_ids: int64 ``[n_inputs]``: the sentence's ``n_pieces`` pieces, then
            any pieces the target appends (held at their embeddings).
        n_pieces: how many of ``input_ids`` are the sentence's (attributed).
        fixed: bool ``[n_pieces]``: sentence pieces held fixed (e.g. a masked word).
        score: ``inputs_embeds [batch, n_inputs, dim] -> [batch]``, the scalar explained.
    """

    model: Any
    input_ids: np.ndarray
    n_pieces: int
    fixed: np.ndarray
    score: Callable[[torch.Tensor], torch.Tensor]


class Target(Protocol):
    """Anything with ``objective(loaded, sentence) -> Objective``."""

    def objective(self, loaded: LoadedModel, sentence: EncodedSentence) -> Objective:
        """The sentence made ready for attribution to this target."""
        ...


@dataclass(frozen=True)
class Continuation:
    """Causal models: the log-probability of ``text`` right after the sentence.

    ``text`` is appended to the sentence's pieces as the tokenizer splits it on
    its own (mind the leading space for byte-level BPE: :func:`next_word` adds it).

    With ``hold_first`` (default), the sentence's first piece is held at its
    embedding (attribution 0): a causal model parks its attention on the first
    position (the attention sink), and that position's output jumps as soon as
    its input leaves zero (the first layer's RMS norm rescales any non-zero
    input to full size), a step at the start of the integration path that no
    quadrature resolves: on SmolLM2, integrated gradients from the all-zero
    input then miss completeness by ~15 % at 50 steps; holding the first piece,
    by 0.2 %. ``hold_first=False`` attributes the first word too; check the
    convergence delta.
    """

    text: str
    hold_first: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise ValueError(f"the continuation must be a non-empty string; got {self.text!r}")
        check_bool("hold_first", self.hold_first)

    def objective(self, loaded: LoadedModel, sentence: EncodedSentence) -> Objective:
        """Sentence + continuation; the score sums the continuation's piece log-probabilities."""
        import torch

        if not loaded.is_causal:
            raise ValueError(
                f"{loaded.name} is not a causal (decoder-only) model, so it has no next-word "
                "probability; use Similarity or MaskedWord for an encoder, or a causal model "
                "such as HuggingFaceTB/SmolLM2-135M-Instruct"
            )
        model = with_head(loaded, "causal")
        added = loaded.tokenizer(self.text, add_special_tokens=False)["input_ids"]
        if not added:
            raise ValueError(f"{self.text!r} encodes to no pieces for {loaded.name}")
        ids = np.asarray([*sentence.input_ids, *added], dtype=np.int64)
        n = len(sentence.input_ids)
        targets = torch.as_tensor(added, device=loaded.device)
        # Piece n + k is predicted at position n + k - 1.
        rows = torch.arange(n - 1, n - 1 + len(added), device=loaded.device)
        fixed = np.zeros(n, dtype=bool)
        fixed[0] = self.hold_first

        def score(embeds: torch.Tensor) -> torch.Tensor:
            logits = model(inputs_embeds=embeds).logits[:, rows].float()
            logp = torch.log_softmax(logits, dim=-1)
            return logp[:, torch.arange(len(added)), targets].sum(dim=-1)

        return Objective(model, ids, n, fixed, score)


def next_word(word: str, *, hold_first: bool = True) -> Continuation:
    """Causal models: the log-probability of ``word`` as the next word (a space before it)."""
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"the next word must be a non-empty string; got {word!r}")
    return Continuation(word if word[:1].isspace() else " " + word, hold_first)


@dataclass(frozen=True)
class Similarity:
    """The cosine similarity of the sentence's and ``other``'s mean-pooled embeddings.

    Mean pooling of the last hidden state over all pieces, special ones
    included: what sentence-transformers' MiniLM does (its normalisation does
    not change the cosine).
    """

    other: str

    def __post_init__(self) -> None:
        if not isinstance(self.other, str) or not self.other.strip():
            raise ValueError(f"the other sentence must be a non-empty string; got {self.other!r}")

    def objective(self, loaded: LoadedModel, sentence: EncodedSentence) -> Objective:
        """The sentence's pieces; the score is the cosine to ``other``'s embedding."""
        import torch

        base = getattr(loaded.model, "base_model", loaded.model)
        encoded = loaded.tokenizer(self.other, return_tensors="pt").to(loaded.device)
        with torch.no_grad():
            reference = base(**encoded).last_hidden_state.mean(dim=1).float()

        def score(embeds: torch.Tensor) -> torch.Tensor:
            pooled = base(inputs_embeds=embeds).last_hidden_state.mean(dim=1).float()
            return torch.nn.functional.cosine_similarity(pooled, reference, dim=-1)

        n = len(sentence.input_ids)
        ids = np.asarray(sentence.input_ids, dtype=np.int64)
        return Objective(base, ids, n, np.zeros(n, dtype=bool), score)


@dataclass(frozen=True)
class MaskedWord:
    """Masked-LM models: the log-probability of ``word`` at spaCy token ``token``.

    The token's pieces (``token`` counts from the sentence's first token) are
    replaced by the mask token and held fixed; ``word`` (default: the token's
    own pieces) must split into as many pieces as the token has.
    """

    token: int
    word: str | None = None

    def __post_init__(self) -> None:
        check_int("token", self.token, minimum=0)
        if self.word is not None and (not isinstance(self.word, str) or not self.word.strip()):
            raise ValueError(f"word must be None or a non-empty string; got {self.word!r}")

    def objective(self, loaded: LoadedModel, sentence: EncodedSentence) -> Objective:
        """The sentence with the token masked; the score sums its pieces' log-probabilities."""
        import torch

        if loaded.is_causal:
            raise ValueError(
                f"{loaded.name} is a causal model: it has no masked-word head; use next_word "
                "or Continuation for it, and MaskedWord for a BERT-like model with an MLM head"
            )
        if self.token >= len(sentence.tokens):
            raise ValueError(
                f"token {self.token} is past the sentence's {len(sentence.tokens)} tokens"
            )
        pieces = sentence.alignment.pieces_of(self.token)
        shared = [p for p in pieces if len(sentence.alignment.tokens_of(p)) > 1]
        if len(pieces) == 0 or shared:
            raise ValueError(
                f"token {self.token} ({sentence.tokens[self.token]!r}) has no piece of its "
                "own to mask (no piece, or a piece shared with a neighbouring token)"
            )
        mask_id = loaded.tokenizer.mask_token_id
        if mask_id is None:
            raise ValueError(f"{loaded.name}'s tokenizer has no mask token")
        model = with_head(loaded, "masked")
        ids = np.asarray(sentence.input_ids, dtype=np.int64).copy()
        if self.word is None:
            wanted = ids[pieces].tolist()
        else:
            wanted = loaded.tokenizer(self.word, add_special_tokens=False)["input_ids"]
            if len(wanted) != len(pieces):
                raise ValueError(
                    f"{self.word!r} splits into {len(wanted)} piece(s) but token "
                    f"{sentence.tokens[self.token]!r} has {len(pieces)}; choose a word "
                    "with as many pieces"
                )
        ids[pieces] = mask_id
        fixed = np.zeros(len(ids), dtype=bool)
        fixed[pieces] = True
        rows = torch.as_tensor(pieces, device=loaded.device)
        targets = torch.as_tensor(wanted, device=loaded.device)

        def score(embeds: torch.Tensor) -> torch.Tensor:
            logits = model(inputs_embeds=embeds).logits[:, rows].float()
            logp = torch.log_softmax(logits, dim=-1)
            return logp[:, torch.arange(len(wanted)), targets].sum(dim=-1)

        return Objective(model, ids, len(ids), fixed, score)


@dataclass(frozen=True)
class OutputFunction:
    """Any scalar of the model's output: ``function(output) -> [batch]`` tensor.

    ``function`` gets what ``loaded.model(inputs_embeds=...)`` returns for a
    batch of (interpolated) inputs, e.g. ``lambda out: out.last_hidden_state[:, 0, 7]``.
    """

    function: Callable[[Any], torch.Tensor]
    name: str = "output function"

    def __post_init__(self) -> None:
        if not callable(self.function):
            raise TypeError(f"function must be callable; got {self.function!r}")

    def objective(self, loaded: LoadedModel, sentence: EncodedSentence) -> Objective:
        """The sentence's pieces; the score is the user's function, checked for shape."""
        model = loaded.model

        def score(embeds: torch.Tensor) -> torch.Tensor:
            value = self.function(model(inputs_embeds=embeds))
            if getattr(value, "shape", None) != (embeds.shape[0],):
                raise ValueError(
                    f"the target function must return one number per batch row, a tensor "
                    f"of shape ({embeds.shape[0]},); got {getattr(value, 'shape', value)!r}"
                )
            return value

        n = len(sentence.input_ids)
        ids = np.asarray(sentence.input_ids, dtype=np.int64)
        return Objective(model, ids, n, np.zeros(n, dtype=bool), score)


def with_head(loaded: LoadedModel, head: Head) -> Any:
    """``loaded``'s model with its language-model head (``"causal"`` or ``"masked"``).

    The loaded model itself when it already has one (a ``...ForMaskedLM`` built
    by hand), else the same weights loaded again with the head from where they
    came from (``model.name_or_path``).

    Raises:
        ValueError: the checkpoint has no such head (e.g. MiniLM's sentence
            encoder has no masked-LM head, a Llama no masked-LM head at all).
    """
    model = loaded.model
    if _has_head(model, head):
        return model
    return _load_head(str(model.name_or_path), head, loaded.device, str(model.dtype), loaded.name)


def _has_head(model: Any, head: Head) -> bool:
    suffix = "ForCausalLM" if head == "causal" else "ForMaskedLM"
    return type(model).__name__.endswith(suffix) or (
        head == "causal" and type(model).__name__.endswith("LMHeadModel")
    )


@lru_cache(maxsize=2)
def _load_head(location: str, head: Head, device: str, dtype: str, name: str) -> Any:
    import torch
    import transformers

    auto: Any = (
        transformers.AutoModelForCausalLM if head == "causal" else transformers.AutoModelForMaskedLM
    )
    what = "language-model (next-word)" if head == "causal" else "masked-LM"
    verbosity = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    bars = transformers.utils.logging.is_progress_bar_enabled()
    transformers.utils.logging.disable_progress_bar()
    try:
        model, info = auto.from_pretrained(
            location,
            output_loading_info=True,
            local_files_only=True,
            dtype=getattr(torch, dtype.removeprefix("torch.")),
            attn_implementation="eager",
        )
    except (OSError, ValueError, KeyError) as error:
        raise ValueError(f"{name} has no {what} head: {error}") from None
    finally:
        transformers.logging.set_verbosity(verbosity)
        if bars:
            transformers.utils.logging.enable_progress_bar()
    prefix = model.base_model_prefix + "."
    missing = sorted(k for k in info["missing_keys"] if not k.startswith(prefix))
    if missing:
        raise ValueError(
            f"{name} has no trained {what} head: its checkpoint lacks {', '.join(missing[:3])}"
            f"{' ...' if len(missing) > 3 else ''}; choose a model trained with that head"
        )
    return model.eval().to(device)
