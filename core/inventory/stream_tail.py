"""The metadata members at the end of an xbstream, read with a few ranged reads.

mariabackup/XtraBackup write ``xtrabackup_checkpoints``, ``backup-my.cnf`` and
``xtrabackup_info`` as the last members of a stream, so the inventory needs
only its tail. We fetch the last bytes, find every ``XBSTCK01`` candidate,
keep the ones whose header parses and whose CRC32 matches, and accept only
the chain of chunks that runs back-to-back to the exact end of the stream: a
magic string inside a data payload fails the CRC or lands off that chain.
The window grows (×4) until the checkpoints and every metadata member seen
in it are complete.

``xtrabackup_binlog_info`` is written before the final redo-log chunk (often
megabytes), so it is found only when the window covers it; the same binlog
position is in ``xtrabackup_info`` (``binlog_pos``).
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass, field
from typing import Protocol

from ..archive.xbstream import MAGIC, TYPE_EOF, TYPE_PAYLOAD, TYPE_SPARSE, ChunkHeader, read_header
from ..errors import BackupFormatError
from .stream_metadata import CHECKPOINTS, ENCODINGS, MAX_MEMBER, WANTED

TAIL_MEMBERS = frozenset((*WANTED, *("backup-my.cnf" + encoding for encoding in ENCODINGS)))
FIRST_WINDOW = 256 << 10
MAX_WINDOW = 16 << 20


class RangeSource(Protocol):
    """What the tail reader needs: a size and ranged reads (a `RangedReader`, a local file)."""

    name: str
    size: int

    def read_range(self, start: int, end: int) -> bytes: ...


@dataclass(slots=True)
class StreamTail:
    """Metadata members found in the tail (stored name -> stored bytes, still encoded).

    *start* is where the verified chain of chunks begins; *names* are the
    members with chunks in it, in stream order. *error* is the one-line
    reason the tail could not be read (then *members* holds what was complete).
    """

    members: dict[str, bytes]
    names: list[str] = field(default_factory=list)
    start: int = 0
    bytes_fetched: int = 0
    error: str | None = None


def read_stream_tail(
    source: RangeSource, *, first_window: int = FIRST_WINDOW, max_window: int = MAX_WINDOW
) -> StreamTail:
    """Read the metadata members at the end of the xbstream *source*."""
    size = source.size
    window = b""
    want = min(first_window, size)
    while True:
        start = size - want
        window = source.read_range(start, size - len(window)) + window
        chain, seen_chunks = _chain_to_end(window, start, source.name)
        tail = _assemble(chain, window, start)
        truncated = seen_chunks and not chain
        if tail.error is None or truncated or start == 0 or want >= max_window:
            if truncated:
                tail.error = "the stream ends inside a chunk (truncated?)"
            if tail.error is not None:
                tail.error = f"{source.name}: {tail.error} (last {len(window)} bytes read)"
            return tail
        want = min(want * 4, max_window, size)


def _chain_to_end(window: bytes, base: int, name: str) -> tuple[list[ChunkHeader], bool]:
    """The valid chunks in *window* (stream offset *base*) that run back-to-back to its end,
    and whether there was any valid chunk at all."""
    end = base + len(window)
    valid: dict[int, ChunkHeader] = {}
    found = window.find(MAGIC)
    while found >= 0:
        header = _valid_chunk(window, found, base, name)
        if header is not None:
            valid[base + found] = header
        found = window.find(MAGIC, found + 1)
    reaches_end = {end}
    for position in sorted(valid, reverse=True):
        if valid[position].end in reaches_end:
            reaches_end.add(position)
    chain = []
    position = min(reaches_end)
    while position != end:
        chain.append(valid[position])
        position = valid[position].end
    return chain, bool(valid)


def _valid_chunk(window: bytes, at: int, base: int, name: str) -> ChunkHeader | None:
    """The chunk header at *at* if it parses, fits in the window and its CRC matches."""
    try:
        header = read_header(io.BytesIO(window[at : at + 1024]), name, base + at)
    except BackupFormatError:
        return None
    if header is None or header.flags > 1 or header.type not in (TYPE_PAYLOAD, TYPE_SPARSE, TYPE_EOF):
        return None
    if header.end > base + len(window):
        return None
    if header.type == TYPE_EOF:
        return header
    data = window[header.data_offset - base : header.end - base]
    return header if zlib.crc32(data) == header.checksum else None


def _assemble(chain: list[ChunkHeader], window: bytes, base: int) -> StreamTail:
    """Reassemble the metadata members of *chain*; the error says what is missing."""
    contents: dict[str, bytearray] = {}
    complete: set[str] = set()
    names: dict[str, None] = {}
    error = None if chain else "no chunk ends at the end of the stream"
    for header in chain:
        names.setdefault(header.path, None)
        if header.path not in TAIL_MEMBERS:
            continue
        if header.is_eof:
            complete.add(header.path)
            continue
        buffer = contents.setdefault(header.path, bytearray())
        if header.type != TYPE_PAYLOAD or header.offset != len(buffer) or len(buffer) + header.payload_len > MAX_MEMBER:
            error = error or f"{header.path} begins before the bytes read"
            continue
        buffer += window[header.data_offset - base : header.end - base]
    members = {name: bytes(data) for name, data in contents.items() if name in complete}
    if error is None and len(members) < len(contents):
        error = "a metadata member is cut off at the end of the stream"
    if error is None and not any(name + encoding in members for name in CHECKPOINTS for encoding in ENCODINGS):
        error = "no xtrabackup_checkpoints member in the bytes read"
    return StreamTail(members, list(names), chain[0].position if chain else base, len(window), error)
