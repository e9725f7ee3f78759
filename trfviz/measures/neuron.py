"""The neuron view (bertviz): each head's query and key vectors, per spaCy token.

A head's attention score from query ``i`` to key ``j`` is ``q_i · k_j · scale``:
the sum over the head's dimensions of the element-wise product ``q_i ⊙ k_j``.
Showing that product dimension by dimension (Vig 2019, bertviz's neuron view)
tells which dimensions drive a head. Here the vectors are kept per spaCy token:
each token's query and key are the **mean** of its pieces' vectors (as hidden
states are pooled), the special pieces kept as pseudo-tokens after the tokens
(``special_tokens="keep"``). A pooled score is then the score of the pooled
vectors, which is not the mean of the piece scores; the piece-level vectors,
whose scores are exactly the model's, come from :func:`piece_neurons`.

Nothing of the model is re-implemented: one forward pass of the model itself
runs with forward hooks on each layer's attention module, which apply the
module's own query and key projections to the input it received and, for
Llama-style decoders, the model's own rotary embedding (``apply_rotary_pos_emb``
of the model's module) with the ``position_embeddings`` the module was given:
the vectors are those the scores are computed from. Supported:

- BERT-style encoders (``BertSelfAttention``: ``query``, ``key``; absolute
  positions; BERT, RoBERTa, MiniLM ...);
- Llama-style decoders (``q_proj``, ``k_proj``, rotary embeddings, and Qwen3's
  ``q_norm``/``k_norm`` when present; Llama, Mistral, Qwen2, SmolLM2 ...). With
  grouped-query attention each query head gets its key/value head's keys
  (head ``h`` reads ``h // (n_heads / n_kv_heads)``, as ``repeat_kv`` does).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from trfviz.extractor.tokenize import EncodedSentence
from trfviz.loading import LoadedModel
from trfviz.measures.encoding import encode_doc
from trfviz.pooling import SPECIAL_TOKEN_MODES, SpecialTokens, attention_weights
from trfviz.validation import check_choice

if TYPE_CHECKING:
    from spacy.tokens import Doc

__all__ = ["NeuronExtraction", "PieceNeurons", "SentenceNeurons", "neuron_view", "piece_neurons"]


@dataclass(frozen=True)
class SentenceNeurons:
    """One sentence's query and key vectors per layer, head and spaCy token.

    Attributes:
        start: index in the Doc of the sentence's first token.
        tokens: the spaCy token texts.
        special_labels: the special pseudo-tokens after the tokens (``"keep"``), else ``()``.
        queries: float32 ``[layer, head, label, d_head]``: each head's query vectors
            (after the rotary embedding for Llama-style models), the mean over a
            token's pieces (zeros for a token the model never saw).
        keys: float32 ``[layer, head, label, d_head]``: the key vectors, pooled the
            same way; with grouped-query attention, each query head's key/value head's.
        scale: the model's score scale (``1/sqrt(d_head)``).
    """

    start: int
    tokens: tuple[str, ...]
    special_labels: tuple[str, ...]
    queries: np.ndarray
    keys: np.ndarray
    scale: float

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the label axis: the tokens, then the special pseudo-tokens."""
        return self.tokens + self.special_labels

    def products(self, layer: int, head: int, query: int) -> np.ndarray:
        """float32 ``[label, d_head]``: ``queries[layer, head, query] * keys[layer, head, :]``."""
        return self.queries[layer, head, query][None, :] * self.keys[layer, head]

    def scores(self, layer: int, head: int, query: int) -> np.ndarray:
        """float32 ``[label]``: the products summed over dimensions, times :attr:`scale`."""
        return (self.products(layer, head, query).sum(axis=-1) * self.scale).astype(np.float32)


@dataclass(frozen=True)
class NeuronExtraction:
    """The neuron view of one model for a whole Doc, one :class:`SentenceNeurons` per sentence.

    Attributes:
        model: the model's name.
        revision: what identifies the weights.
        text: the Doc's text.
        sentences: per sentence, in order.
        options: the options it was computed with (``special_tokens``), which key it
            in :class:`~trfviz.storage.ExtractionStore`.
    """

    model: str
    revision: str
    text: str
    sentences: tuple[SentenceNeurons, ...]
    options: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class PieceNeurons:
    """One sentence's query and key vectors over its wordpieces, and the model's own weights.

    Attributes:
        queries: float32 ``[layer, head, piece, d_head]``.
        keys: float32 ``[layer, head, piece, d_head]`` (grouped-query heads mapped).
        attention: float32 ``[layer, head, query, key]``: the model's attention weights.
        scale: the score scale.
        causal: whether the model masks keys after the query (decoders).
    """

    queries: np.ndarray
    keys: np.ndarray
    attention: np.ndarray
    scale: float
    causal: bool

    def scores(self, layer: int) -> np.ndarray:
        """float32 ``[head, query, key]``: ``q · k · scale``, -inf above the diagonal if causal."""
        scores = np.einsum("hqd,hkd->hqk", self.queries[layer], self.keys[layer]) * self.scale
        if self.causal:
            n = scores.shape[-1]
            scores = np.where(np.triu(np.ones((n, n), dtype=bool), 1), -np.inf, scores)
        return scores.astype(np.float32)


def neuron_view(
    doc: Doc,
    model: str | LoadedModel,
    *,
    special_tokens: SpecialTokens = "keep",
    max_length: int | None = None,
) -> NeuronExtraction:
    """Each head's query and key vectors per spaCy token, for bertviz's neuron view.

    Args:
        doc: a spaCy Doc with sentence boundaries.
        model: a hub id, local path or :class:`~trfviz.loading.LoadedModel`.
        special_tokens: ``"keep"`` special pieces as pseudo-tokens, or ``"drop"`` them.
        max_length: most wordpieces per sentence; longer sentences are truncated
            with a warning, as by :func:`trfviz.extract`.

    Raises:
        TypeError, ValueError: a bad Doc or option; ValueError also for an
            architecture that is neither BERT-style nor Llama-style.
    """
    check_choice("special_tokens", special_tokens, SPECIAL_TOKEN_MODES)
    loaded, encoded, _ = encode_doc(doc, model, max_length)
    attention_modules(loaded.model)  # refuse an unsupported model before it runs
    sentences = tuple(_sentence(loaded, s, special_tokens) for s in encoded)
    return NeuronExtraction(
        model=loaded.name,
        revision=loaded.revision,
        text=doc.text,
        sentences=sentences,
        options=(("special_tokens", special_tokens),),
    )


def attention_modules(model: Any) -> list[Any]:
    """Each layer's attention module (the one holding the query and key projections).

    Raises:
        ValueError: the architecture is neither BERT-style nor Llama-style.
    """
    config = model.config
    encoder = getattr(model, "encoder", None)
    if encoder is not None and hasattr(encoder, "layer"):
        found = [
            getattr(getattr(layer, "attention", None), "self", None) for layer in encoder.layer
        ]
        if all(hasattr(m, "query") and hasattr(m, "key") for m in found):
            kind = getattr(config, "position_embedding_type", "absolute")
            if kind not in (None, "absolute"):
                raise ValueError(
                    f"the neuron view supports absolute positions only; {config.model_type} "
                    f"uses position_embedding_type={kind!r}, whose scores add a relative term"
                )
            return found
    layers = getattr(model, "layers", None)
    if layers is not None:
        found = [getattr(layer, "self_attn", None) for layer in layers]
        if all(hasattr(m, "q_proj") and hasattr(m, "k_proj") for m in found):
            return found
    raise ValueError(
        f"the neuron view supports BERT-style encoders (BertSelfAttention: query, key) and "
        f"Llama-style decoders (self_attn: q_proj, k_proj); {type(model).__name__} "
        f"({config.model_type}) is neither"
    )


def piece_neurons(loaded: LoadedModel, input_ids: list[int]) -> PieceNeurons:
    """The query and key vectors of one sentence of ``input_ids`` over its wordpieces.

    ``loaded`` must be loaded with eager attention (the model's weights are returned too).
    """
    import torch

    model = loaded.model
    modules = attention_modules(model)
    captured: list[Any] = [None] * len(modules)

    def keep(index: int) -> Any:
        def hook(module: Any, args: Any, kwargs: Any, _output: Any) -> None:
            captured[index] = _query_key(module, args, kwargs)

        return hook

    handles = [m.register_forward_hook(keep(i), with_kwargs=True) for i, m in enumerate(modules)]
    try:
        with torch.inference_mode():
            ids = torch.tensor([input_ids], dtype=torch.long, device=loaded.device)
            output = model(input_ids=ids, output_attentions=True)
    finally:
        for handle in handles:
            handle.remove()
    attentions = output.attentions
    if attentions is None or any(a is None for a in attentions):
        raise RuntimeError(
            f"{loaded.name} returned no attention weights; load it with "
            "trfviz.load_model(..., attention=True) (eager attention)"
        )
    scales = {float(_scale(m, q.shape[-1])) for m, (q, _) in zip(modules, captured, strict=True)}
    if len(scales) != 1:
        raise ValueError(f"{loaded.name}'s layers use different score scales {sorted(scales)}")
    return PieceNeurons(
        queries=np.stack([q.float().cpu().numpy() for q, _ in captured]).astype(np.float32),
        keys=np.stack([k.float().cpu().numpy() for _, k in captured]).astype(np.float32),
        attention=np.stack([a[0].float().cpu().numpy() for a in attentions]).astype(np.float32),
        scale=scales.pop(),
        causal=bool(loaded.is_causal),
    )


def _query_key(module: Any, args: Any, kwargs: Any) -> tuple[Any, Any]:
    """``(queries, keys)``, each ``[head, piece, d_head]``, as the module computed them."""
    import torch

    states = args[0] if args else kwargs["hidden_states"]
    if hasattr(module, "query"):  # BERT-style
        d = int(module.attention_head_size)
        q = module.query(states)[0].view(states.shape[1], -1, d).transpose(0, 1)
        k = module.key(states)[0].view(states.shape[1], -1, d).transpose(0, 1)
        return q, k
    d = int(module.head_dim)
    shape = (*states.shape[:-1], -1, d)
    q, k = module.q_proj(states).view(shape), module.k_proj(states).view(shape)
    if getattr(module, "q_norm", None) is not None:
        q, k = module.q_norm(q), module.k_norm(k)
    q, k = q.transpose(1, 2), k.transpose(1, 2)  # [batch, head, piece, d]
    positions = kwargs.get("position_embeddings")
    if positions is None and len(args) > 1:
        positions = args[1]
    if positions is None:
        raise ValueError(
            f"{type(module).__name__} was called without position_embeddings; the neuron "
            "view needs a Llama-style module that receives its rotary embedding"
        )
    rotary = sys.modules[type(module).__module__].apply_rotary_pos_emb
    q, k = rotary(q, k, *positions)
    groups = q.shape[1] // k.shape[1]
    kv_head = torch.arange(q.shape[1], device=k.device) // groups
    return q[0], k[0][kv_head]


def _scale(module: Any, d_head: int) -> float:
    scaling = getattr(module, "scaling", None)
    return float(scaling) if scaling is not None else float(d_head) ** -0.5


def _sentence(
    loaded: LoadedModel, sentence: EncodedSentence, special_tokens: SpecialTokens
) -> SentenceNeurons:
    pieces = piece_neurons(loaded, sentence.input_ids)
    # The query pooling matrix with "mean": a token's row averages its pieces; one row
    # per kept special piece.
    mean, _ = attention_weights(
        sentence.alignment, query_pooling="mean", special_tokens=special_tokens
    )
    special = np.flatnonzero(sentence.alignment.special)
    return SentenceNeurons(
        start=sentence.start,
        tokens=sentence.tokens,
        special_labels=(
            tuple(sentence.pieces[p] for p in special) if special_tokens == "keep" else ()
        ),
        queries=_pooled(mean, pieces.queries),
        keys=_pooled(mean, pieces.keys),
        scale=pieces.scale,
    )


def _pooled(weights: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """float32 ``[layer, head, label, d]``: ``[layer, head, piece, d]`` by ``[label, piece]``."""
    return np.ascontiguousarray(np.einsum("lp,...pd->...ld", weights, vectors), dtype=np.float32)
