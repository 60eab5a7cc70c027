"""The xbstream container: chunk headers, and a header-only walk of a stream.

A stream is a sequence of chunks ``XBSTCK01 | flags | type | path_len | path``
followed, for payload (`P`) and sparse (`S`) chunks, by the payload length,
its logical offset in the member file, a CRC32 and the payload. `E` chunks end
a member. There is no trailer: a clean end of file at a chunk boundary is the
end of the stream. See shared/FORMATS.md §1.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..errors import BackupFormatError

MAGIC = b"XBSTCK01"
FLAG_IGNORABLE = 0x01
TYPE_PAYLOAD = ord("P")
TYPE_SPARSE = ord("S")
TYPE_EOF = ord("E")
MAX_PATH = 512  # FN_REFLEN: the reference reader rejects path_len >= this

_PREFIX = struct.Struct("<8sBBI")  # magic, flags, type, path_len
_PAYLOAD = struct.Struct("<QQI")  # payload_len, payload_offset, checksum
_SPARSE_COUNT = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class ChunkHeader:
    """One chunk's header; ``data_offset`` is where its sparse map or payload starts in the stream."""

    position: int
    flags: int
    type: int
    path: str
    payload_len: int = 0
    offset: int = 0
    checksum: int = 0
    sparse_count: int = 0
    data_offset: int = 0

    @property
    def is_eof(self) -> bool:
        return self.type == TYPE_EOF

    @property
    def end(self) -> int:
        """Stream position just past this chunk."""
        return self.data_offset + 8 * self.sparse_count + self.payload_len


def read_header(stream: BinaryIO, name: str, position: int) -> ChunkHeader | None:
    """Read the chunk header at *position* (the stream's current position).

    Returns None at a clean end of stream; raises BackupFormatError naming
    *name* and the offset for anything else that is not a valid header.
    """
    raw = stream.read(_PREFIX.size)
    if not raw:
        return None
    if len(raw) < _PREFIX.size:
        raise BackupFormatError(f"{name}: truncated chunk header at offset {position:#x}")
    magic, flags, kind, path_len = _PREFIX.unpack(raw)
    if magic != MAGIC:
        what = "not an xbstream file" if position == 0 else "bad chunk magic"
        raise BackupFormatError(f"{name}: {what} at offset {position:#x}")
    if path_len >= MAX_PATH:
        raise BackupFormatError(f"{name}: member path length {path_len} too long at offset {position:#x}")
    raw_path = stream.read(path_len)
    if len(raw_path) < path_len:
        raise BackupFormatError(f"{name}: truncated chunk header at offset {position:#x}")
    path = raw_path.decode("utf-8", errors="surrogateescape")
    cursor = position + _PREFIX.size + path_len
    if kind == TYPE_EOF:
        return ChunkHeader(position, flags, kind, path, data_offset=cursor)
    if kind not in (TYPE_PAYLOAD, TYPE_SPARSE) and not flags & FLAG_IGNORABLE:
        raise BackupFormatError(f"{name}: unknown chunk type {kind:#04x} at offset {position:#x}")
    sparse_count = 0
    if kind == TYPE_SPARSE:
        raw = stream.read(_SPARSE_COUNT.size)
        if len(raw) < _SPARSE_COUNT.size:
            raise BackupFormatError(f"{name}: truncated chunk header at offset {position:#x}")
        (sparse_count,) = _SPARSE_COUNT.unpack(raw)
        cursor += _SPARSE_COUNT.size
    raw = stream.read(_PAYLOAD.size)
    if len(raw) < _PAYLOAD.size:
        raise BackupFormatError(f"{name}: truncated chunk header at offset {position:#x}")
    payload_len, offset, checksum = _PAYLOAD.unpack(raw)
    cursor += _PAYLOAD.size
    return ChunkHeader(position, flags, kind, path, payload_len, offset, checksum, sparse_count, cursor)


def iter_headers(stream: BinaryIO, name: str, size: int) -> Iterator[ChunkHeader]:
    """Walk the chunk headers of a seekable stream of *size* bytes, seeking past payloads."""
    position = stream.tell()
    while (header := read_header(stream, name, position)) is not None:
        if header.end > size:
            raise BackupFormatError(f"{name}: truncated payload in chunk at offset {header.position:#x}")
        yield header
        position = header.end
        stream.seek(position)


def read_members(
    path: Path, wanted: Callable[[str], bool], max_size: int = 1 << 20
) -> tuple[dict[str, bytes], list[str]]:
    """Read small members chosen by *wanted* from the stream at *path*.

    Only chunk headers are read for everything else, so the cost is
    O(chunks), not O(bytes). Returns the chosen members' bytes (CRC-checked)
    and the names of all members in stream order.
    """
    contents: dict[str, bytearray] = {}
    names: dict[str, None] = {}
    with open(path, "rb") as stream:
        size = stream.seek(0, 2)
        stream.seek(0)
        for header in iter_headers(stream, str(path), size):
            names.setdefault(header.path, None)
            if header.is_eof or header.type != TYPE_PAYLOAD or not wanted(header.path):
                continue
            buffer = contents.setdefault(header.path, bytearray())
            if header.offset != len(buffer) or header.offset + header.payload_len > max_size:
                raise BackupFormatError(f"{path}: unexpected chunk for {header.path} at offset {header.position:#x}")
            stream.seek(header.data_offset)
            payload = stream.read(header.payload_len)
            if zlib.crc32(payload) != header.checksum:
                raise BackupFormatError(f"{path}: checksum mismatch in {header.path} at offset {header.position:#x}")
            buffer += payload
    return {name: bytes(data) for name, data in contents.items()}, list(names)


def chunk_bytes(path: str, payload: bytes, offset: int) -> bytes:
    """A `P` chunk carrying *payload* at file *offset* of member *path*, as XtraBackup writes it."""
    raw_path = path.encode("utf-8", errors="surrogateescape")
    prefix = _PREFIX.pack(MAGIC, 0, TYPE_PAYLOAD, len(raw_path)) + raw_path
    return prefix + _PAYLOAD.pack(len(payload), offset, zlib.crc32(payload)) + payload


def eof_bytes(path: str) -> bytes:
    """The `E` chunk that ends member *path*."""
    raw_path = path.encode("utf-8", errors="surrogateescape")
    return _PREFIX.pack(MAGIC, 0, TYPE_EOF, len(raw_path)) + raw_path
