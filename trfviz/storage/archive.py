"""The strict ZIP layer of a ``.trfviz`` file: members written, and read back untrusted.

A stored extraction is an uncompressed ZIP archive. Members are written with a
fixed timestamp (:func:`write_member`), so the same extraction gives the same
bytes. :func:`read_members` parses the archive's structure itself rather than
trusting :mod:`zipfile`: no compression, no comments, no unknown extra fields,
every byte of the file accounted for (local headers and data back to back,
then the central directory, then the end records), every local header agreeing
with its central entry, member names only ``manifest.json`` or
``s{i}/{name}.npy`` (absolute paths, ``..``, backslashes and duplicates are
refused). The only bytes not checked are ZIP fields that nothing reads
(version numbers, timestamps, file attributes). Every kind of ``.trfviz`` file
is written by :func:`write_file` (atomically) and opened by :func:`read_file`.
"""

from __future__ import annotations

import io
import json
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import numpy as np

from trfviz.atomic import atomic_writer
from trfviz.storage.errors import CorruptExtractionError, UnsafeExtractionError

__all__ = [
    "MAX_MEMBERS",
    "Member",
    "check_members",
    "read_at",
    "read_file",
    "read_member",
    "read_members",
    "write_file",
    "write_member",
]

T = TypeVar("T")

#: Most members an archive may have (one manifest, at most seven arrays per sentence).
MAX_MEMBERS = 1_000_000

_EPOCH = (1980, 1, 1, 0, 0, 0)
# An array's name is a lower-case identifier: extractions hold a fixed set (see the manifest),
# measure files one per array field of their sentences (values, piece_values, ...).
_MEMBER_NAME = re.compile(r"s(0|[1-9][0-9]{0,8})/[a-z][a-z0-9_]{0,63}\.npy")

# ZIP records (APPNOTE.TXT 4.3): local header, central entry, end records.
_LOCAL = struct.Struct("<4s2B4H3L2H")
_CENTRAL = struct.Struct("<4s4B4H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_END64_LOCATOR = struct.Struct("<4sLQL")
_END64 = struct.Struct("<4sQ2H2L4Q")
_ZIP64_EXTRA = 0x0001
_U16, _U32 = 0xFFFF, 0xFFFFFFFF


def write_member(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    """Add ``data`` to ``archive`` as member ``name``, stored, with a fixed timestamp."""
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


@dataclass(frozen=True)
class Member:
    """Where one member's data lies in the file, and its CRC-32."""

    name: str
    data_offset: int
    size: int
    crc: int


def read_members(handle: BinaryIO, file_size: int) -> dict[str, Member]:
    """The archive's members by name, after checking that its records tile the whole file."""
    if file_size < _END.size:
        raise CorruptExtractionError(f"not a trfviz extraction ({file_size} bytes, too short)")
    end = _END.unpack(read_at(handle, file_size - _END.size, _END.size))
    signature, disk, directory_disk, count_here, count, directory_size, directory_offset = end[:7]
    if signature != b"PK\x05\x06" or end[7] != 0:
        raise CorruptExtractionError(
            "not a trfviz extraction (no ZIP end record at the end of the file: truncated, "
            "appended to, or another format)"
        )
    if disk != 0 or directory_disk != 0 or count_here != count:
        raise CorruptExtractionError("its ZIP end record is damaged (split-archive fields)")
    records_end = file_size - _END.size
    locator_at = records_end - _END64_LOCATOR.size
    if locator_at >= 0 and read_at(handle, locator_at, 4) == b"PK\x06\x07":
        # ZIP64: the real counts and offsets are in the ZIP64 end record before the locator.
        _, disk, end64_at, n_disks = _END64_LOCATOR.unpack(
            read_at(handle, locator_at, _END64_LOCATOR.size)
        )
        if disk != 0 or n_disks != 1 or end64_at != locator_at - _END64.size:
            raise CorruptExtractionError("its ZIP64 end locator is damaged")
        record = _END64.unpack(read_at(handle, end64_at, _END64.size))
        signature, record_size, _, _, disk, directory_disk, count_here, count64 = record[:8]
        size64, offset64 = record[8:]
        if (
            signature != b"PK\x06\x06"
            or record_size != _END64.size - 12
            or (disk, directory_disk) != (0, 0)
            or count_here != count64
            or count != min(count64, _U16)
            or directory_size != min(size64, _U32)
            or directory_offset != min(offset64, _U32)
        ):
            raise CorruptExtractionError("its ZIP64 end record is damaged")
        count, directory_size, directory_offset = count64, size64, offset64
        records_end = end64_at
    if count > MAX_MEMBERS:
        raise CorruptExtractionError(
            f"it declares {count} members (at most {MAX_MEMBERS} are read)"
        )
    if directory_offset + directory_size != records_end:
        raise CorruptExtractionError(
            "its ZIP central directory does not end where the end record starts "
            "(truncated, or bytes inserted)"
        )
    directory = read_at(handle, directory_offset, directory_size)
    members: dict[str, Member] = {}
    expected_offset = 0  # members are stored back to back from the first byte
    position = 0
    for _ in range(count):
        name, header_offset, size, crc, position = _central_entry(directory, position)
        if name in members:
            raise CorruptExtractionError(f"member {name!r} appears twice")
        if header_offset != expected_offset:
            raise CorruptExtractionError(
                f"member {name!r} does not start where the previous one ends (bytes inserted, "
                "removed, or an altered offset)"
            )
        data_offset = _check_local_header(handle, name, header_offset, size, crc)
        members[name] = Member(name, data_offset, size, crc)
        expected_offset = data_offset + size
    if position != directory_size:
        raise CorruptExtractionError("its ZIP central directory has bytes after its last entry")
    if expected_offset != directory_offset:
        raise CorruptExtractionError(
            "its last member does not end where the central directory starts"
        )
    return members


def _central_entry(directory: bytes, position: int) -> tuple[str, int, int, int, int]:
    """Name, local header offset, size, CRC and the next entry's position of one central entry."""
    if position + _CENTRAL.size > len(directory):
        raise CorruptExtractionError("its ZIP central directory is cut short")
    fields_ = _CENTRAL.unpack_from(directory, position)
    signature, flags, method, crc = fields_[0], fields_[5], fields_[6], fields_[9]
    compressed, size, name_length, extra_length, comment_length, disk = fields_[10:16]
    header_offset = fields_[18]
    if signature != b"PK\x01\x02":
        raise CorruptExtractionError("its ZIP central directory has a damaged entry")
    start = position + _CENTRAL.size
    end = start + name_length + extra_length + comment_length
    if end > len(directory):
        raise CorruptExtractionError("its ZIP central directory is cut short")
    name = _member_name(directory[start : start + name_length])
    if method != zipfile.ZIP_STORED:
        raise UnsafeExtractionError(
            f"member {name!r} is compressed (method {method}); trfviz writes uncompressed "
            "archives and refuses compressed members (zip bombs)"
        )
    if flags != 0 or comment_length != 0 or disk != 0:
        raise CorruptExtractionError(f"member {name!r} has flags, a comment, or a disk number")
    extra = directory[start + name_length : start + name_length + extra_length]
    size, compressed, header_offset = _zip64_values(extra, (size, compressed, header_offset), name)
    if compressed != size:
        raise CorruptExtractionError(f"member {name!r} has two different sizes")
    return name, header_offset, size, crc, end


def _check_local_header(handle: BinaryIO, name: str, offset: int, size: int, crc: int) -> int:
    """Where the member's data starts, after checking its local header against its central entry."""
    local = _LOCAL.unpack(read_at(handle, offset, _LOCAL.size))
    signature, flags, method, local_crc = local[0], local[3], local[4], local[7]
    compressed, local_size, name_length, extra_length = local[8:]
    encoded = name.encode("ascii")
    tail = read_at(handle, offset + _LOCAL.size, name_length + extra_length)
    if (
        signature != b"PK\x03\x04"
        or flags != 0
        or method != zipfile.ZIP_STORED
        or local_crc != crc
        or tail[:name_length] != encoded
    ):
        raise CorruptExtractionError(f"the local ZIP header of member {name!r} is damaged")
    local_size, compressed, _ = _zip64_values(tail[name_length:], (local_size, compressed, 0), name)
    if local_size != size or compressed != size:
        raise CorruptExtractionError(f"the local ZIP header of member {name!r} is damaged")
    return offset + _LOCAL.size + name_length + extra_length


def _zip64_values(extra: bytes, values: tuple[int, int, int], name: str) -> tuple[int, int, int]:
    """``values`` with each 0xFFFFFFFF replaced from the ZIP64 extra field, which must hold
    exactly those (the only extra field trfviz writes)."""
    wanted = sum(value == _U32 for value in values)
    if not wanted:
        if extra:
            raise CorruptExtractionError(f"member {name!r} has an unexpected ZIP extra field")
        return values
    if len(extra) != 4 + 8 * wanted or struct.unpack_from("<2H", extra) != (
        _ZIP64_EXTRA,
        8 * wanted,
    ):
        raise CorruptExtractionError(f"member {name!r} has a damaged ZIP64 extra field")
    large = iter(struct.unpack_from(f"<{wanted}Q", extra, 4))
    first, second, third = (next(large) if value == _U32 else value for value in values)
    return first, second, third


def _member_name(raw: bytes) -> str:
    """A member's name, refused if it is not one a trfviz file can hold."""
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptExtractionError(f"member name {raw!r} is not ASCII") from None
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or ":" in name or ".." in parts or "" in parts:
        raise UnsafeExtractionError(
            f"member name {name!r} is an absolute path, climbs out with '..', or has "
            "backslashes or drive letters; a trfviz file never does"
        )
    if name != "manifest.json" and not _MEMBER_NAME.fullmatch(name):
        raise CorruptExtractionError(
            f"member {name!r} is not manifest.json or s<i>/<array>.npy: not a trfviz extraction"
        )
    return name


def read_at(handle: BinaryIO, offset: int, size: int) -> bytes:
    handle.seek(offset)
    data = handle.read(size)
    if len(data) != size:
        raise CorruptExtractionError("it ends early (truncated)")
    return data


def read_member(handle: BinaryIO, member: Member) -> bytes:
    data = read_at(handle, member.data_offset, member.size)
    if zlib.crc32(data) != member.crc:
        raise CorruptExtractionError(f"member {member.name!r} fails its CRC check (damaged)")
    return data


def write_file(
    path: str | os.PathLike[str], manifest: dict[str, Any], arrays: Iterable[tuple[str, np.ndarray]]
) -> Path:
    """Write a ``.trfviz`` file: ``manifest.json``, then each ``(name, array)`` as ``.npy``.

    Written through :func:`trfviz.atomic.atomic_writer`, so an interrupted save
    never leaves a half-written file under the real name; the same contents give
    the same bytes. Returns the path.
    """
    target = Path(path)
    with (
        atomic_writer(target) as handle,
        zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive,
    ):
        write_member(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False).encode())
        for name, array in arrays:
            buffer = io.BytesIO()
            np.save(buffer, array, allow_pickle=False)
            write_member(archive, name, buffer.getvalue())
    return target


def read_file(path: str | os.PathLike[str], load: Callable[[BinaryIO, dict[str, Member]], T]) -> T:
    """``load(handle, members)`` of the ``.trfviz`` file at ``path``, its structure checked first.

    Every :class:`~trfviz.storage.CorruptExtractionError` names the file, and a
    read failing half-way is one.

    Raises:
        CorruptExtractionError: the file is not a well-formed archive with a
            manifest, or ``load`` refuses it.
        FileNotFoundError: there is no such file (other OSErrors opening it pass through).
    """
    source = Path(path)
    with open(source, "rb") as handle:
        try:
            members = read_members(handle, os.fstat(handle.fileno()).st_size)
            if "manifest.json" not in members:
                raise CorruptExtractionError("not a trfviz file (no manifest.json)")
            return load(handle, members)
        except CorruptExtractionError as error:
            raise type(error)(f"{source}: {error}") from None
        except OSError as error:  # a read failing half-way: the file is unusable
            raise CorruptExtractionError(f"{source} could not be read: {error}") from error


def check_members(members: Mapping[str, Member], declared: Iterable[str]) -> None:
    """Refuse an archive whose members are not exactly ``manifest.json`` and those ``declared``."""
    expected = {"manifest.json", *declared}
    if expected != set(members):
        extra, absent = sorted(set(members) - expected), sorted(expected - set(members))
        raise CorruptExtractionError(
            "its members do not match its manifest "
            f"(unexpected: {extra[:5]}, missing: {absent[:5]})"
        )
