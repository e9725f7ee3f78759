"""Value-weighted attention norms (Kobayashi et al. 2020) over one sentence's wordpieces.

A head's output for query ``i`` is ``Σ_j α_ij · f(x_j)``, with ``f(x) = (x W_V +
b_V) W_O^h``: the head's value projection followed by its slice of the output
projection. The block's output adds the heads and the output projection's bias
``b_O``. Kobayashi et al. read ``‖α_ij · f(x_j)‖ = α_ij · ‖f(x_j)‖`` as how much
key ``j`` contributes to query ``i``, which the weight ``α_ij`` alone does not say.

Nothing of the model is re-implemented: one forward pass of the model itself
runs with forward hooks on each layer's value projection (its output, bias
included) and the model's own attention weights; only ``f`` is computed here,
from the captured values and the output projection's weights. Supported:

- BERT-style encoders (``BertSelfAttention`` / ``BertSelfOutput``: ``value``,
  ``output.dense``; BERT, RoBERTa, XLM-R, MiniLM ...);
- Llama-style decoders (``v_proj``, ``o_proj``; Llama, Mistral, Qwen2, SmolLM2 ...),
  grouped-query attention included: query head ``h`` reads key/value head
  ``h // (n_heads / n_kv_heads)``, as the model's ``repeat_kv`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["AttentionBlock", "PieceNorms", "attention_blocks", "batch_norms", "piece_norms"]


@dataclass(frozen=True)
class AttentionBlock:
    """One layer's attention, as the modules the norms need.

    Attributes:
        value: the value projection (a ``torch.nn.Linear``), hooked for its output.
        output: the output projection (a ``torch.nn.Linear``), read for its weights.
        n_heads: query heads.
        n_kv_heads: key/value heads (fewer than ``n_heads`` with grouped-query attention).
        head_dim: width of one head.
    """

    value: Any
    output: Any
    n_heads: int
    n_kv_heads: int
    head_dim: int

    def kv_head(self) -> np.ndarray:
        """int ``[n_heads]``: the key/value head each query head reads."""
        return np.arange(self.n_heads) // (self.n_heads // self.n_kv_heads)


@dataclass(frozen=True)
class PieceNorms:
    """One sentence's attention and value-weighted norms over its wordpieces.

    Attributes:
        attention: float32 ``[layer, head, query, key]``, the model's ``α``.
        norms: float32 ``[layer, head, query, key]``, ``‖α_ij · f(x_j)‖``.
        vectors: float32 ``[layer, head, key, dim]``, the transformed vectors
            ``f(x_j)`` (kept only when asked, for checks), or None.
        bias: float32 ``[layer, dim]``, the output projection's bias (zeros without one).
    """

    attention: np.ndarray
    norms: np.ndarray
    vectors: np.ndarray | None
    bias: np.ndarray


def attention_blocks(model: Any) -> list[AttentionBlock]:
    """The attention block of each layer of a BERT-style or Llama-style ``transformers`` model.

    Raises:
        ValueError: the architecture is neither (the message names what is supported).
    """
    config = model.config
    encoder = getattr(model, "encoder", None)
    if encoder is not None and hasattr(encoder, "layer"):
        blocks = []
        for layer in encoder.layer:
            attention = getattr(layer, "attention", None)
            own = getattr(attention, "self", None)
            dense = getattr(getattr(attention, "output", None), "dense", None)
            if own is None or dense is None or not hasattr(own, "value"):
                break
            n_heads = int(own.num_attention_heads)
            blocks.append(
                AttentionBlock(own.value, dense, n_heads, n_heads, int(own.attention_head_size))
            )
        else:
            return blocks
    layers = getattr(model, "layers", None)
    if layers is not None and all(
        hasattr(getattr(layer, "self_attn", None), "v_proj") for layer in layers
    ):
        n_heads = int(config.num_attention_heads)
        n_kv = int(getattr(config, "num_key_value_heads", None) or n_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // n_heads)
        return [
            AttentionBlock(layer.self_attn.v_proj, layer.self_attn.o_proj, n_heads, n_kv, head_dim)
            for layer in layers
        ]
    raise ValueError(
        f"attention norms support BERT-style encoders (BertSelfAttention: value, "
        f"output.dense) and Llama-style decoders (v_proj, o_proj); "
        f"{type(model).__name__} ({config.model_type}) is neither"
    )


def piece_norms(loaded: Any, input_ids: list[int], *, vectors: bool = False) -> PieceNorms:
    """The attention and value-weighted norms of one sentence of ``input_ids``, over pieces.

    ``loaded`` is a :class:`~trfviz.loading.LoadedModel` loaded with eager
    attention. ``vectors=True`` keeps ``f(x_j)`` too (``[layer, head, key, dim]``).
    """
    import torch

    blocks = attention_blocks(loaded.model)
    ids = torch.tensor([input_ids], dtype=torch.long, device=loaded.device)
    values, attentions = _hooked_forward(loaded, blocks, ids, None)
    norms, kept, biases = [], [], []
    with torch.inference_mode():
        for block, value, alpha in zip(blocks, values, attentions, strict=True):
            transformed = _transformed(block, value)[0]  # [head, key, dim]
            alpha = alpha[0].float()
            norms.append((alpha * transformed.norm(dim=-1)[:, None, :]).cpu().numpy())
            if vectors:
                kept.append(transformed.cpu().numpy())
            bias = block.output.bias
            width = block.output.weight.shape[0]
            biases.append(
                np.zeros(width, np.float32) if bias is None else bias.float().cpu().numpy()
            )
    return PieceNorms(
        attention=np.stack([a[0].float().cpu().numpy() for a in attentions]).astype(np.float32),
        norms=np.stack(norms).astype(np.float32),
        vectors=np.stack(kept).astype(np.float32) if vectors else None,
        bias=np.stack(biases).astype(np.float32),
    )


def batch_norms(loaded: Any, ids: Any, mask: Any) -> tuple[list[Any], list[Any]]:
    """Attention and value-weighted norms of a padded batch, per layer ``[batch, head, q, k]``.

    One forward pass over ``ids`` (int64 ``[batch, width]``, padded on the right,
    ``mask`` its attention mask) as :func:`piece_norms` runs over one sentence;
    float32 tensors, each sentence's ``[:n, :n]`` corner its own (the padding
    gets no attention from the sentence's pieces).
    """
    import torch

    blocks = attention_blocks(loaded.model)
    values, attentions = _hooked_forward(loaded, blocks, ids, mask)
    norms = []
    with torch.inference_mode():
        for index, (block, value) in enumerate(zip(blocks, values, strict=True)):
            values[index] = None
            alpha = attentions[index].float()
            lengths = _lengths(block, value)  # [batch, head, key]
            norms.append(alpha * lengths[:, :, None, :])
    return [a.float() for a in attentions], norms


def _hooked_forward(loaded: Any, blocks: list[AttentionBlock], ids: Any, mask: Any) -> Any:
    """The model's forward pass with attention, the value projections' outputs captured."""
    import torch

    values: list[Any] = [None] * len(blocks)

    def keep(index: int) -> Any:
        def hook(_module: Any, _inputs: Any, output: Any) -> None:
            values[index] = output.detach()

        return hook

    handles = [block.value.register_forward_hook(keep(i)) for i, block in enumerate(blocks)]
    try:
        with torch.inference_mode():
            device = loaded.device
            output = loaded.model(
                input_ids=ids.to(device),
                attention_mask=None if mask is None else mask.to(device),
                output_attentions=True,
            )
    finally:
        for handle in handles:
            handle.remove()
    attentions = output.attentions
    if attentions is None or any(a is None for a in attentions):
        raise RuntimeError(
            f"{loaded.name} returned no attention weights; load it with "
            "trfviz.load_model(..., attention=True) (eager attention)"
        )
    return values, list(attentions)


def _lengths(block: AttentionBlock, value: Any) -> Any:
    """float32 ``[batch, head, key]``: ``‖f(x_j)‖`` without forming ``f(x_j)``.

    ``‖v W_O^hᵀ‖² = v G_h vᵀ`` with the head's Gram matrix ``G_h = W_O^hᵀ W_O^h``
    (``head_dim²``): ``head_dim / dim`` of the work of :func:`_transformed` and
    no ``[batch, head, key, dim]`` tensor; in float64, so the square root of a
    difference of large terms keeps float32's precision.
    """
    import torch

    n_batch, n = value.shape[:2]
    per_kv = value.double().reshape(n_batch, n, block.n_kv_heads, block.head_dim)
    per_head = per_kv[:, :, torch.as_tensor(block.kv_head(), device=value.device), :]
    weight = block.output.weight.double()  # [dim, n_heads · head_dim]
    slices = weight.reshape(weight.shape[0], block.n_heads, block.head_dim)
    gram = torch.einsum("dhe,dhf->hef", slices, slices)
    mixed = torch.einsum("bkhe,hef->bkhf", per_head, gram)
    squares = (mixed * per_head).sum(dim=-1).clamp_min(0.0)  # [batch, key, head]
    return squares.sqrt().float().transpose(1, 2)


def _transformed(block: AttentionBlock, value: Any) -> Any:
    """float32 ``[batch, head, key, dim]``: ``f(x_j)`` per query head from the values
    ``[batch, key, kv·hd]``."""
    import torch

    n_batch, n = value.shape[:2]
    per_kv = value.float().reshape(n_batch, n, block.n_kv_heads, block.head_dim)
    per_head = per_kv[:, :, torch.as_tensor(block.kv_head(), device=value.device), :]
    weight = block.output.weight.float()  # [dim, n_heads · head_dim]
    slices = weight.reshape(weight.shape[0], block.n_heads, block.head_dim)
    return torch.einsum("bkhe,dhe->bhkd", per_head, slices)
