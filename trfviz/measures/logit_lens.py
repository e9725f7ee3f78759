"""The logit lens (nostalgebraist 2020): each layer's next-word guess, per spaCy token.

A causal language model predicts the next piece from its last hidden state
through a final norm and the unembedding. The logit lens applies those same two
modules to the hidden state after *every* block (and to the embeddings), read
at each spaCy token's **last** piece, the position that predicts what follows
the token. For each layer and token it keeps the top-k next pieces with their
probabilities, and the probability and rank of the piece that really follows.

Nothing of the model is re-implemented: the block outputs are captured with
forward hooks during one forward pass of the model itself, and the model's own
final norm and unembedding (its ``lm_head``, or the input embeddings when the
two are tied, as in SmolLM2) are applied to them. At the last layer the result
is therefore the model's own next-piece distribution.

**The actual next word** of token ``t`` is the piece right after ``t``'s last
piece, when that piece belongs to token ``t + 1`` (its first piece, or the rest
of a piece the two tokens share, e.g. GPT-2's ``isn`` ``'t`` for spaCy's
``is`` ``n't``). The last token of a sentence has none (sentences are encoded
one at a time), nor has a token followed by a token the model never saw
(truncated): there ``next_prob`` is NaN and ``next_rank`` is -1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.extractor.tokenize import EncodedSentence
from trfviz.loading import LoadedModel
from trfviz.measures.encoding import encode_doc
from trfviz.validation import check_int

if TYPE_CHECKING:
    import pandas as pd
    from spacy.tokens import Doc

__all__ = ["LogitLens", "SentenceLogitLens", "Unembedding", "logit_lens", "unembedding"]


@dataclass(frozen=True)
class SentenceLogitLens:
    """The logit lens on one sentence: per layer and spaCy token, the next-piece guesses.

    Attributes:
        start: index in the Doc of the sentence's first token.
        tokens: the spaCy token texts.
        layers: the layers shown, in order: 0 is the embeddings, ``i`` the output of block ``i``.
        top_ids: int32 ``[layer, token, k]``: the k most probable next pieces, most probable
            first (-1 for a token the model never saw).
        top_pieces: ``[layer][token][k]``: those pieces decoded to text (``" the"``).
        top_probs: float32 ``[layer, token, k]``: their probabilities (NaN where unseen).
        next_prob: float32 ``[layer, token]``: the probability of the actual next word's
            piece (NaN where there is none; see the module docs).
        next_rank: int32 ``[layer, token]``: its rank, 1 for the most probable piece
            (-1 where there is none).
        next_ids: int32 ``[token]``: the actual next piece (-1 where there is none).
        next_pieces: ``[token]``: it decoded (``""`` where there is none).
        truncated: the sentence was cut at the model's maximum length.
    """

    start: int
    tokens: tuple[str, ...]
    layers: tuple[int, ...]
    top_ids: np.ndarray
    top_pieces: tuple[tuple[tuple[str, ...], ...], ...]
    top_probs: np.ndarray
    next_prob: np.ndarray
    next_rank: np.ndarray
    next_ids: np.ndarray
    next_pieces: tuple[str, ...]
    truncated: bool = False

    @property
    def n_tokens(self) -> int:
        """Number of spaCy tokens."""
        return len(self.tokens)

    @property
    def top_k(self) -> int:
        """How many guesses are kept per layer and token."""
        return int(self.top_ids.shape[-1])


@dataclass(frozen=True)
class LogitLens:
    """The logit lens of one causal model on a whole Doc, one :class:`SentenceLogitLens` each.

    Attributes:
        model: the model's name.
        revision: what identifies the weights.
        text: the Doc's text.
        sentences: per sentence, in order.
        options: the options it was computed with (``top_k``, and ``layers`` as asked:
            None for all), which key it in :class:`~trfviz.storage.ExtractionStore`.
    """

    model: str
    revision: str
    text: str
    sentences: tuple[SentenceLogitLens, ...]
    options: tuple[tuple[str, object], ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """A tidy DataFrame, one row per sentence, layer, token and guess (``rank`` 1..k).

        Columns: ``sentence``, ``token`` (index in the Doc), ``text``, ``layer``,
        ``rank``, ``piece_id``, ``piece``, ``prob``, and the actual next word's
        ``next_piece``, ``next_prob``, ``next_rank`` (repeated over the guesses).
        """
        import pandas as pd

        frames = []
        for index, s in enumerate(self.sentences):
            n_layers, n_tokens, k = s.top_ids.shape
            grid = np.meshgrid(
                np.arange(n_layers), np.arange(n_tokens), np.arange(k), indexing="ij"
            )
            layer, token, rank = (axis.ravel() for axis in grid)
            frames.append(
                pd.DataFrame(
                    {
                        "sentence": index,
                        "token": s.start + token,
                        "text": np.asarray(s.tokens, dtype=object)[token],
                        "layer": np.asarray(s.layers, dtype=np.int64)[layer],
                        "rank": rank + 1,
                        "piece_id": s.top_ids.ravel(),
                        "piece": _object_array(s.top_pieces, s.top_ids.shape).ravel(),
                        "prob": s.top_probs.ravel(),
                        "next_piece": np.asarray(s.next_pieces, dtype=object)[token],
                        "next_prob": s.next_prob[layer, token],
                        "next_rank": s.next_rank[layer, token],
                    }
                )
            )
        return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class Unembedding:
    """What turns a decoder's hidden states into next-piece logits.

    Attributes:
        decoder: the stack of blocks (a ``LlamaModel``, ``GPT2Model`` ...).
        blocks: its blocks, in order.
        norm: the final norm, applied before the unembedding.
        head: a callable from normed states ``[..., dim]`` to logits ``[..., vocab]``
            (the ``lm_head``, or a linear map by the tied input embeddings).
    """

    decoder: Any
    blocks: list[Any]
    norm: Any
    head: Any


def unembedding(model: Any, name: str = "") -> Unembedding:
    """The blocks, final norm and unembedding of a decoder-only ``transformers`` model.

    ``model`` is a causal LM (``...ForCausalLM``: its ``lm_head``) or a base
    decoder whose output embeddings are tied to its input embeddings (SmolLM2,
    GPT-2), as :func:`trfviz.load_model` loads it.

    Raises:
        ValueError: an encoder (MiniLM, BERT) or a decoder without a final norm,
            or a base decoder with an untied unembedding that was not loaded.
    """
    import torch

    config = model.config
    label = f"{name or type(model).__name__} ({config.model_type})"
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    decoder = getattr(model, getattr(model, "base_model_prefix", ""), None) or model
    blocks = getattr(decoder, "layers", None) or getattr(decoder, "h", None)
    norm = getattr(decoder, "norm", None) or getattr(decoder, "ln_f", None)
    if getattr(decoder, "encoder", None) is not None or blocks is None or norm is None:
        what = (
            "an encoder without a language-model head"
            if getattr(decoder, "encoder", None) is not None
            else "a model whose blocks or final norm were not found"
        )
        raise ValueError(
            f"the logit lens needs a decoder-only language model (blocks, a final norm and an "
            f"unembedding, as in Llama, SmolLM2, Qwen2 or GPT-2); {label} is {what}. "
            "Use a causal model such as HuggingFaceTB/SmolLM2-135M-Instruct"
        )
    if head is None:
        if not getattr(config, "tie_word_embeddings", False):
            raise ValueError(
                f"{label} was loaded without its language-model head and its unembedding is not "
                "tied to the input embeddings; load it with transformers.AutoModelForCausalLM "
                "and pass trfviz.LoadedModel(..., model=that) instead"
            )
        weight = decoder.get_input_embeddings().weight

        def head(states: Any) -> Any:
            return torch.nn.functional.linear(states, weight)

    return Unembedding(decoder=decoder, blocks=list(blocks), norm=norm, head=head)


def logit_lens(
    doc: Doc,
    model: str | LoadedModel,
    *,
    top_k: int = 5,
    layers: list[int] | tuple[int, ...] | None = None,
    max_length: int | None = None,
) -> LogitLens:
    """The logit lens per spaCy token: each layer's top-k next pieces and the next word's odds.

    Args:
        doc: a spaCy Doc with sentence boundaries.
        model: a causal model: hub id, local path or :class:`~trfviz.loading.LoadedModel`.
        top_k: how many of the most probable next pieces to keep per layer and token.
        layers: which layers to read (0: the embeddings, ``i``: after block ``i``);
            all ``0..n_layers`` by default.
        max_length: most wordpieces per sentence; longer sentences are truncated
            with a warning, as by :func:`trfviz.extract`.

    Raises:
        TypeError, ValueError: a bad Doc or option; ValueError also for a model
            with no unembedding (an encoder such as MiniLM), before it runs.
    """
    check_int("top_k", top_k, minimum=1)
    loaded, encoded, _ = encode_doc(doc, model, max_length)
    parts = unembedding(loaded.model, loaded.name)
    n_layers = len(parts.blocks)
    chosen = tuple(range(n_layers + 1)) if layers is None else _checked_layers(layers, n_layers)
    vocab = int(loaded.model.get_input_embeddings().weight.shape[0])
    if top_k > vocab:
        raise ValueError(f"top_k={top_k} is more than the {vocab} pieces of {loaded.name}")
    decode = _Decoder(loaded.tokenizer)
    sentences = tuple(
        _sentence_lens(loaded, parts, sentence, chosen, top_k, decode) for sentence in encoded
    )
    return LogitLens(
        model=loaded.name,
        revision=loaded.revision,
        text=doc.text,
        sentences=sentences,
        options=(("top_k", top_k), ("layers", None if layers is None else chosen)),
    )


def layer_states(loaded: LoadedModel, parts: Unembedding, input_ids: list[int]) -> list[Any]:
    """Per layer ``0..n_layers``, the hidden states ``[piece, dim]`` (embeddings, block outputs).

    Captured with hooks during one forward pass: the first block's input and
    every block's output, before the final norm.
    """
    import torch

    states: list[Any] = [None] * (len(parts.blocks) + 1)

    def first(_module: Any, args: Any, kwargs: Any) -> None:
        states[0] = (args[0] if args else kwargs["hidden_states"])[0].detach()

    def after(index: int) -> Any:
        def hook(_module: Any, _args: Any, output: Any) -> None:
            states[index] = (output[0] if isinstance(output, tuple) else output)[0].detach()

        return hook

    handles = [parts.blocks[0].register_forward_pre_hook(first, with_kwargs=True)]
    handles += [b.register_forward_hook(after(i + 1)) for i, b in enumerate(parts.blocks)]
    try:
        with torch.inference_mode():
            ids = torch.tensor([input_ids], dtype=torch.long, device=loaded.device)
            parts.decoder(input_ids=ids)
    finally:
        for handle in handles:
            handle.remove()
    return states


def _sentence_lens(
    loaded: LoadedModel,
    parts: Unembedding,
    sentence: EncodedSentence,
    layers: tuple[int, ...],
    top_k: int,
    decode: _Decoder,
) -> SentenceLogitLens:
    last, next_ids = _reading_positions(sentence)
    seen = np.flatnonzero(last >= 0)
    n_tokens = len(sentence.tokens)
    shape = (len(layers), n_tokens)
    top_ids = np.full((*shape, top_k), -1, dtype=np.int32)
    top_probs = np.full((*shape, top_k), np.nan, dtype=np.float32)
    next_prob = np.full(shape, np.nan, dtype=np.float32)
    next_rank = np.full(shape, -1, dtype=np.int32)
    if len(seen):
        states = layer_states(loaded, parts, sentence.input_ids)
        want = np.where(next_ids[seen] >= 0, next_ids[seen], -1)
        read = _read(parts, [states[layer] for layer in layers], last[seen], want, top_k)
        top_ids[:, seen], top_probs[:, seen], next_prob[:, seen], next_rank[:, seen] = read
    return SentenceLogitLens(
        start=sentence.start,
        tokens=sentence.tokens,
        layers=layers,
        top_ids=top_ids,
        top_pieces=tuple(
            tuple(tuple(decode(int(x)) for x in row) for row in layer) for layer in top_ids
        ),
        top_probs=top_probs,
        next_prob=next_prob,
        next_rank=next_rank,
        next_ids=next_ids.astype(np.int32),
        next_pieces=tuple(decode(int(x)) for x in next_ids),
        truncated=sentence.truncated,
    )


def _read(
    parts: Unembedding, states: list[Any], rows: np.ndarray, want: np.ndarray, top_k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Top-k ids and probabilities, the wanted piece's probability and rank, per layer and row.

    ``states``: per layer, the hidden states ``[piece, dim]``; ``rows``: the
    pieces read; ``want``: int ``[row]``, the piece whose odds are asked (-1:
    none, giving NaN and -1). The norm and the unembedding run on a layer's
    whole sequence, shaped as the model runs them, so that the last layer
    gives the model's own logits bit for bit.
    """
    import torch

    n_layers, n_rows = len(states), len(rows)
    goal = torch.as_tensor(np.maximum(want, 0))[:, None]
    top_ids = np.empty((n_layers, n_rows, top_k), dtype=np.int32)
    top_probs = np.empty((n_layers, n_rows, top_k), dtype=np.float32)
    target = np.empty((n_layers, n_rows), dtype=np.float32)
    rank = np.empty((n_layers, n_rows), dtype=np.int32)
    with torch.inference_mode():
        for i, layer_states in enumerate(states):
            logits = parts.head(parts.norm(layer_states[None]))[0].float()
            logits = logits[torch.as_tensor(rows, device=logits.device)].cpu()
            p = torch.softmax(logits, dim=-1)
            values, indices = p.topk(top_k, dim=-1)
            top_ids[i], top_probs[i] = indices.numpy(), values.numpy()
            target[i] = p.gather(-1, goal)[:, 0].numpy()
            rank[i] = ((logits > logits.gather(-1, goal)).sum(dim=-1) + 1).numpy()
    none = np.broadcast_to(want < 0, (n_layers, n_rows))
    return top_ids, top_probs, np.where(none, np.nan, target), np.where(none, -1, rank)


def _reading_positions(sentence: EncodedSentence) -> tuple[np.ndarray, np.ndarray]:
    """Per token: its last piece (-1 if unseen), and the id of the piece after it (-1: none)."""
    alignment = sentence.alignment
    n = len(sentence.tokens)
    last = np.full(n, -1, dtype=np.int64)
    next_ids = np.full(n, -1, dtype=np.int64)
    for t in range(n):
        pieces = alignment.pieces_of(t)
        if len(pieces):
            last[t] = int(pieces.max())
    for t in range(n - 1):
        following = last[t] + 1
        if last[t] >= 0 and following in alignment.pieces_of(t + 1):
            next_ids[t] = sentence.input_ids[following]
    return last, next_ids


def _checked_layers(layers: list[int] | tuple[int, ...], n_layers: int) -> tuple[int, ...]:
    if isinstance(layers, int | str) or not len(layers):
        raise TypeError(f"layers must be a non-empty list of layer numbers; got {layers!r}")
    for layer in layers:
        check_int("layers[...]", layer, minimum=0)
        if layer > n_layers:
            raise ValueError(
                f"layer {layer} does not exist: 0 is the embeddings and 1..{n_layers} the blocks"
            )
    return tuple(int(x) for x in layers)


def _object_array(nested: Any, shape: tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    if out.size:
        out[...] = nested
    return out


class _Decoder:
    """Piece ids decoded to text (``" the"``), each once; -1 (none) is ``""``."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.cache: dict[int, str] = {-1: ""}

    def __call__(self, piece: int) -> str:
        if piece not in self.cache:
            self.cache[piece] = self.tokenizer.decode([piece])
        return self.cache[piece]
