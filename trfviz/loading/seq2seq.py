"""Loading encoder-decoder models (T5, BART, Marian, any ``AutoModelForSeq2SeqLM``).

:func:`load_seq2seq_model` is :func:`~trfviz.loading.load_model`'s sibling for
models with an encoder, a decoder and cross-attention between them: it loads the
model *with* its language-modelling head (so it can also generate), eager
attention, and every layer's hidden states. Names resolve as for
:func:`~trfviz.loading.load_model` (packaged copies, local paths, the hub), and a
model with no cross-attention (encoder-only or decoder-only) is refused from its
config before any weights load, pointing at :func:`trfviz.extract`.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from trfviz.loading.devices import checked_device
from trfviz.loading.gguf_cache import quiet_progress
from trfviz.loading.sources import (
    ModelNotAvailableError,
    UnsupportedModelError,
    checked_name,
    hub_access,
    install_hint,
    resolve_model,
)

__all__ = ["LoadedSeq2SeqModel", "check_encoder_decoder", "load_seq2seq_model"]

#: Most wordpieces a side is read with when neither config nor tokenizer says.
DEFAULT_MAX_LENGTH = 512


@dataclass(frozen=True)
class LoadedSeq2SeqModel:
    """An encoder-decoder transformer with its LM head and fast tokenizer.

    Attributes:
        name: the name the user asked for (hub id or path).
        revision: what identifies the weights (hub commit or a hash of the config).
        model: the ``transformers`` ``AutoModelForSeq2SeqLM``, in eval mode.
        tokenizer: its tokenizer (the same one reads source and target).
        encoder_layers, decoder_layers: transformer layers of each stack.
        encoder_heads, decoder_heads: attention heads per layer of each stack
            (cross-attention has the decoder's heads).
        max_length: most wordpieces one side is read with.
        decoder_start_token_id: the piece the decoder input starts with (T5:
            ``<pad>``, BART: ``</s>``, Marian: ``<pad>``).
        device: the torch device the model is on.
        note: a message about a substitute copy, or None.
    """

    name: str
    revision: str
    model: Any
    tokenizer: Any
    encoder_layers: int
    decoder_layers: int
    encoder_heads: int
    decoder_heads: int
    max_length: int
    decoder_start_token_id: int
    device: str
    note: str | None = None


def load_seq2seq_model(
    name: str | os.PathLike[str], *, device: str | None = None
) -> LoadedSeq2SeqModel:
    """Load an encoder-decoder model by hub id or local path (cached in-process).

    Raises:
        UnsupportedModelError: the model has no cross-attention (an encoder-only
            or decoder-only model: use :func:`trfviz.extract` for it), or no
            ``decoder_start_token_id`` in its config.
        ModelNotAvailableError: the model is neither local, cached nor reachable.
        TypeError, ValueError: ``name`` or ``device`` is malformed.
    """
    return _load_cached(checked_name(name), device)


def check_encoder_decoder(name: str, config: Any) -> None:
    """Refuse a model with no cross-attention, from its config, saying what to use instead."""
    if not getattr(config, "is_encoder_decoder", False):
        raise UnsupportedModelError(
            f"{name!r} ({getattr(config, 'model_type', '?')}) is not an encoder-decoder model "
            "(it is encoder-only or decoder-only): it has no cross-attention between a source "
            "and a target. Use trfviz.extract(doc, model) for its attention, or give an "
            "encoder-decoder model (T5, BART, Marian) here"
        )


@lru_cache(maxsize=2)
def _load_cached(name: str, device: str | None) -> LoadedSeq2SeqModel:
    import torch
    import transformers

    device = checked_device(device)
    source = resolve_model(name)
    if source.gguf_file is not None:
        # GGUF holds decoder-only language models (SmolLM2 here): no cross-attention.
        raise UnsupportedModelError(
            f"{name!r} loads from a GGUF file, which holds a decoder-only model: it has no "
            "cross-attention between a source and a target. Use trfviz.extract(doc, model) "
            "for its attention, or give an encoder-decoder model (T5, BART, Marian) here"
        )
    local_only = hub_access(name) if source.on_hub else False
    if source.note:
        warnings.warn(f"{name}: {source.note}", UserWarning, stacklevel=4)
    try:
        config = transformers.AutoConfig.from_pretrained(
            source.location, local_files_only=local_only
        )
        check_encoder_decoder(name, config)
        with quiet_progress(transformers):
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                source.location, local_files_only=local_only
            )
            model = transformers.AutoModelForSeq2SeqLM.from_pretrained(
                source.location,
                local_files_only=local_only,
                attn_implementation="eager",
                dtype=torch.float32,
            )
    except UnsupportedModelError:
        raise
    except (OSError, ValueError, KeyError) as error:
        raise ModelNotAvailableError(
            f"cannot load model {name!r}: {error}. {install_hint(name)}"
        ) from error
    model.eval().to(device)
    config = model.config
    start = getattr(config, "decoder_start_token_id", None)
    if start is None:
        raise UnsupportedModelError(
            f"{name!r} has no decoder_start_token_id in its config, so the decoder input "
            "(the target shifted right) cannot be built; set model.config.decoder_start_token_id"
        )
    encoder_layers = _first_int(config, ("encoder_layers", "num_layers", "num_hidden_layers"))
    return LoadedSeq2SeqModel(
        name=name,
        revision=source.revision or _revision_of(config),
        model=model,
        tokenizer=tokenizer,
        encoder_layers=encoder_layers,
        decoder_layers=_first_int(
            config, ("decoder_layers", "num_decoder_layers", "num_layers", "num_hidden_layers")
        ),
        encoder_heads=_first_int(
            config, ("encoder_attention_heads", "num_heads", "num_attention_heads")
        ),
        decoder_heads=_first_int(
            config, ("decoder_attention_heads", "num_heads", "num_attention_heads")
        ),
        max_length=_max_length(config, tokenizer),
        decoder_start_token_id=int(start),
        device=str(device),
        note=source.note,
    )


def _first_int(config: Any, names: tuple[str, ...]) -> int:
    for attr in names:
        value = getattr(config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    raise ValueError(f"cannot find any of {names} in the model config")


def _max_length(config: Any, tokenizer: Any) -> int:
    limits = []
    positions = getattr(config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        limits.append(positions)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    return min(limits) if limits else DEFAULT_MAX_LENGTH


def _revision_of(config: Any) -> str:
    commit = getattr(config, "_commit_hash", None)
    if commit:
        return str(commit)
    return "config-sha256:" + hashlib.sha256(config.to_json_string().encode()).hexdigest()[:16]
