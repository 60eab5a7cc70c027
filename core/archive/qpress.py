"""The qpress container `mariabackup --compress` / XtraBackup 2.4 write (`.qp` members).

Layout (little-endian): ``qpress10 | chunk_size u64``, one file entry
``F | name_len u32 | name | NUL``, then blocks ``NEWBNEWB | offset u64 |
adler32 u32 | QuickLZ block`` and the trailer ``ENDSENDS | u64``. The adler32
is zlib's over the compressed block; the NEWB offset is ignored (one upstream
writer counts it twice). Runs of blocks are checked and decoded by our C
extension `_quicklz` in one call each, without the GIL: one Python step per
2 MiB of plaintext rather than per 64 KiB block.
See shared/FORMATS.md §3 and upstream ds_compress.cc.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from ..errors import BackupFormatError, ChecksumError, UnsupportedFormatError
from . import _quicklz
from .records import Framed

MAGIC = b"qpress10"
MAX_CHUNK = 64 << 20  # real archives use 64 KiB; anything near this is corrupt
MAX_NAME = 4096
OUTPUT_PIECE = 2 << 20  # blocks are decoded in runs of at most this much plaintext (or one block)

_ARCHIVE = struct.Struct("<8sQ")
_ENTRY = struct.Struct("<cI")
_TRAILER = struct.Struct("<8sQ")


class QpressDecoder(Framed):
    """Incremental qpress reader: feed() container bytes, get decompressed pieces; finish() checks the trailer."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self._chunk_size = 0
        self._limit = 0
        self._state = "archive"

    def feed(self, data) -> Iterator:
        """Decompressed pieces, produced lazily: consume them before feeding more."""
        return self._records(data)

    def finish(self) -> list[bytes]:
        if self._state != "done" or self.pending:
            raise BackupFormatError(f"{self._label}: truncated qpress data at offset {self._offset:#x}")
        return []

    def _fail(self, problem: str, position: int) -> BackupFormatError:
        return BackupFormatError(f"{self._label}: {problem} at offset {self._offset + position:#x}")

    def _step(self, view: memoryview, start: int, out: list[bytes]) -> int | None:
        """Parse one element at *start*; return the position after it, or None if more input is needed."""
        available = len(view) - start
        if self._state == "archive":
            if available < _ARCHIVE.size:
                return None
            magic, chunk_size = _ARCHIVE.unpack_from(view, start)
            if magic != MAGIC:
                raise self._fail("not a qpress archive", start)
            if not 0 < chunk_size <= MAX_CHUNK:
                raise self._fail(f"absurd qpress chunk size {chunk_size}", start)
            self._chunk_size = chunk_size
            self._limit = max(OUTPUT_PIECE, chunk_size)
            self._state = "entry"
            return start + _ARCHIVE.size
        if self._state == "entry":
            if available < _ENTRY.size:
                return None
            kind, name_len = _ENTRY.unpack_from(view, start)
            if kind in (b"D", b"U"):
                raise UnsupportedFormatError(
                    f"{self._label}: qpress directory entries are not supported at offset {self._offset + start:#x}"
                )
            if kind != b"F" or name_len > MAX_NAME:
                raise self._fail("bad qpress file entry", start)
            end = start + _ENTRY.size + name_len + 1
            if len(view) < end:
                return None
            if view[end - 1] != 0:
                raise self._fail("bad qpress file entry", start)
            self._state = "blocks"
            return end
        if self._state == "done":
            if available:
                raise self._fail("data after the qpress trailer", start)
            return None
        plain, end, state, problem = _quicklz.decode_blocks(view, start, self._chunk_size, self._limit)
        if plain:
            out.append(plain)
        if state == _quicklz.AT_TRAILER:
            if len(view) - end < _TRAILER.size:
                return end if end > start else None
            self._state = "done"
            return end + _TRAILER.size
        if state == _quicklz.BAD_CHECKSUM:
            raise ChecksumError(f"{self._label}: {problem} at offset {self._offset + end:#x}")
        if state == _quicklz.BAD_FRAME:
            raise self._fail(problem, end)
        if state == _quicklz.BAD_BLOCK:
            raise self._fail(f"corrupt qpress block ({problem})", end)
        return end if end > start else None
