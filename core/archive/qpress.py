"""The qpress container `mariabackup --compress` / XtraBackup 2.4 write (`.qp` members).

Layout (little-endian): ``qpress10 | chunk_size u64``, one file entry
``F | name_len u32 | name | NUL``, then blocks ``NEWBNEWB | offset u64 |
adler32 u32 | QuickLZ block`` and the trailer ``ENDSENDS | u64``. The adler32
is zlib's over the compressed block; the NEWB offset is ignored (one upstream
writer counts it twice). Blocks are decoded by our C extension `_quicklz`.
See shared/FORMATS.md §3 and upstream ds_compress.cc.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from zlib_ng import zlib_ng  # zlib's CRC-32 and Adler-32, with SIMD: ~4x faster than Debian's zlib

from ..errors import BackupFormatError, ChecksumError, UnsupportedFormatError
from . import _quicklz
from .framing import Framed

MAGIC = b"qpress10"
BLOCK_TAG = b"NEWBNEWB"
END_TAG = b"ENDSENDS"
MAX_CHUNK = 64 << 20  # real archives use 64 KiB; anything near this is corrupt
MAX_NAME = 4096
STORED_LONG = 0x46  # QuickLZ level-1 header flags of a block stored uncompressed with a 9-byte header

_ARCHIVE = struct.Struct("<8sQ")
_ENTRY = struct.Struct("<cI")
_BLOCK = struct.Struct("<8sQI")  # tag, offset, adler32
_TRAILER = struct.Struct("<8sQ")


def block_size(head) -> int:
    """Stored length of the QuickLZ block starting with *head* (≥ 9 bytes available, or 3 for short headers)."""
    if head[0] & 2:
        return int.from_bytes(head[1:5], "little")
    return head[1]


class QpressDecoder(Framed):
    """Incremental qpress reader: feed() container bytes, get decompressed pieces; finish() checks the trailer."""

    def __init__(self, label: str) -> None:
        super().__init__(label)
        self._chunk_size = 0
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
        if available < 8:
            return None
        if view[start : start + 8] == END_TAG:
            if available < _TRAILER.size:
                return None
            self._state = "done"
            return start + _TRAILER.size
        if available < _BLOCK.size + 3:
            return None
        tag, _offset, adler = _BLOCK.unpack_from(view, start)
        if tag != BLOCK_TAG:
            raise self._fail("bad qpress block tag", start)
        head = start + _BLOCK.size
        if view[head] & 2 and len(view) - head < 9:
            return None
        size = block_size(view[head : head + 9])
        if size < 3 or size > self._chunk_size + 400 + 9:
            raise self._fail(f"absurd qpress block length {size}", start)
        end = head + size
        if len(view) < end:
            return None
        block = view[head:end]
        if zlib_ng.adler32(block) != adler:
            raise ChecksumError(f"{self._label}: qpress block checksum mismatch at offset {self._offset + start:#x}")
        if block[0] == STORED_LONG and int.from_bytes(block[5:9], "little") == size - 9 <= self._chunk_size:
            out.append(block[9:])  # incompressible input stored as is: no need to copy it
            return end
        try:
            out.append(_quicklz.decompress(block, self._chunk_size))
        except ValueError as error:
            raise self._fail(f"corrupt qpress block ({error})", start) from None
        return end
