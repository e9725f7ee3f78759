"""GGUF models dequantised once into a safetensors cache shared by every checkout.

Loading a quantised GGUF file through ``transformers`` dequantises every tensor,
which takes far longer than loading safetensors. :func:`dequantised_copy` does
it once and keeps the result under :func:`cache_dir`. The cache entry is keyed
by what decides its contents -- the GGUF file's bytes and the versions of the
libraries that convert it -- and not by where the file is installed, so a second
checkout or virtual environment with the same package and libraries reuses it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = [
    "cache_dir",
    "conversion_dir",
    "dequantised_copy",
    "gguf_fingerprint",
    "quiet_progress",
]

logger = logging.getLogger(__name__)

# The libraries whose versions can change the converted tensors or their files.
CONVERTING_LIBRARIES = ("transformers", "gguf", "torch", "safetensors")
# Bumped when the layout of a converted directory changes.
_FORMAT = 1
_CHUNK = 1 << 20


def cache_dir() -> Path:
    """The directory for converted models: ``$TRFVIZ_CACHE`` or ``~/.cache/trfviz``."""
    root = os.environ.get("TRFVIZ_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "trfviz"
    )
    return Path(root)


def gguf_fingerprint(path: str | os.PathLike[str]) -> str:
    """A sha256 of a file's size, first MiB and last MiB: cheap, and the same wherever it lies.

    A GGUF file opens with its metadata and tensor table, so a different model
    or quantisation changes the first MiB; the size and the last MiB catch a
    truncated or re-exported file. Install path and modification time are left
    out on purpose: a copy of the same file elsewhere has the same fingerprint.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        digest.update(f"{size}:".encode())
        digest.update(handle.read(_CHUNK))
        if size > _CHUNK:
            handle.seek(max(_CHUNK, size - _CHUNK))
            digest.update(handle.read(_CHUNK))
    return digest.hexdigest()


def _library_versions() -> dict[str, str]:
    versions = {}
    for name in CONVERTING_LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def conversion_dir(gguf: str | os.PathLike[str]) -> Path:
    """Where the dequantised copy of ``gguf`` lives in the cache (it may not exist yet)."""
    path = Path(gguf)
    key = json.dumps(
        {"format": _FORMAT, "file": gguf_fingerprint(path), "libraries": _library_versions()},
        sort_keys=True,
    )
    return cache_dir() / "models" / f"{path.stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def dequantised_copy(
    location: str, gguf_file: str, *, check_config: Callable[[Any], None] | None = None
) -> str:
    """A directory holding the GGUF model converted to safetensors, made on first use.

    Args:
        location: the directory that holds the GGUF file.
        gguf_file: the GGUF file's name in ``location``.
        check_config: called with the model's config before converting; it
            raises to refuse a model without spending the conversion on it.
    """
    import transformers

    gguf = Path(location) / gguf_file
    target = conversion_dir(gguf)
    if (target / "config.json").exists():
        return str(target)
    if check_config is not None:
        check_config(transformers.AutoConfig.from_pretrained(location, gguf_file=gguf_file))
    logger.info("dequantising %s once into %s", gguf, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(location, gguf_file=gguf_file)
        with quiet_progress(transformers):
            model = transformers.AutoModel.from_pretrained(location, gguf_file=gguf_file)
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


@contextmanager
def quiet_progress(transformers: Any) -> Iterator[None]:
    """transformers' "Loading weights" bars off while loading, restored afterwards."""
    logging_utils = transformers.utils.logging
    was_enabled = logging_utils.is_progress_bar_enabled()
    logging_utils.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            logging_utils.enable_progress_bar()
