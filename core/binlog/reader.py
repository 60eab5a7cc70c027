"""Read one binlog file in a single pass: its header facts and its transactions.

The pass itself is the C walk `_walk` (large buffered reads, CRC32 on every
event, row images walked for their row counts, events grouped into
transactions); this module turns its records into values and its failures
into one-line typed errors naming the file and the offset.

A file whose format description still carries the in-use flag (byte 22 of
the file, LOG_EVENT_BINLOG_IN_USE_F) is being written by a running server,
or its server crashed: an incomplete last event there is expected, so the
file reads up to its last whole event (`readable_end`) without an error.
"""

from __future__ import annotations

import gc
import os
import re
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BinlogCorruptError, BinlogEncryptedError, BinlogError
from ..files import open_regular
from . import _walk
from .events import END_KINDS, ROW_KINDS, Gtid, Statement, TableChange, Transaction

MAGIC = b"\xfebin"
_NUMBERED = re.compile(r"^(?P<base>.+)\.(?P<number>\d{6,})$")

ENCRYPTED_HINT = "encrypted binlog: read it through the server or give an archive made with mariadb-binlog -R --raw"


@dataclass(eq=False)
class BinlogFile:
    """What one pass over a binlog file found."""

    path: Path
    size: int
    binlog_version: int
    server_version: str
    server_id: int
    created: int
    checksum: bool
    in_use: bool
    first_time: int
    last_time: int
    readable_end: int
    gtid_list: dict[tuple[int, int], int] | None
    previous_gtids: str | None  # MySQL: the GTID set before this file (`uuid:1-5,uuid:1-3`)
    rotate_to: str | None
    stopped: bool
    transactions: list[Transaction] = field(repr=False)
    incomplete_from: int | None = None
    boundaries: frozenset[int] = field(default=frozenset(), repr=False)
    damage: str | None = None  # with read_binlog(..., keep_damaged=True): why reading stopped early

    def is_boundary(self, pos: int) -> bool:
        """Whether an event group may begin at *pos* (a backup's recorded position must be one)."""
        return pos in self.boundaries

    @property
    def name(self) -> str:
        return self.path.name


def binlog_number(name: str) -> tuple[str, int] | None:
    """`mariadb-bin.000042` → ("mariadb-bin", 42); None for a name without the numeric suffix."""
    match = _NUMBERED.match(name)
    return (match["base"], int(match["number"])) if match else None


def read_binlog(path: Path, *, keep_damaged: bool = False) -> BinlogFile:
    """Read *path* from start to end. Raises a BinlogError subclass naming the file (and offset).

    With *keep_damaged*, a truncated or checksum-bad file is returned with what
    was read before the damage and the error message in `damage` (encrypted
    or unreadable files still raise).
    """
    path = Path(path)
    try:
        fd = open_regular(path)  # a FIFO or device in a binlog's place is refused, never waited on
    except OSError as exc:
        raise BinlogError(f"{path}: cannot open: {exc.strerror}") from None
    try:
        size = os.fstat(fd).st_size
        with paused_gc():
            fd_info, records, end, last_time, open_start, error = _walk.walk(fd)
    finally:
        os.close(fd)
    in_use = bool(fd_info and fd_info[4])
    damage = None
    if error is not None:
        try:
            _raise_unless_in_use(path, error, in_use, size)
        except BinlogCorruptError as exc:
            if not keep_damaged or fd_info is None:
                raise
            damage = str(exc)
    if fd_info is None:
        raise BinlogCorruptError(f"{path}: offset 4: no format description event")
    version, server_version, created, alg, _, server_id, first_time = fd_info
    binlog = BinlogFile(
        path=path,
        size=size,
        binlog_version=version,
        server_version=server_version,
        server_id=server_id,
        created=created,
        checksum=alg == 1,
        in_use=in_use,
        first_time=first_time,
        last_time=last_time,
        readable_end=end,
        gtid_list=None,
        previous_gtids=None,
        rotate_to=None,
        stopped=False,
        transactions=[],
        incomplete_from=open_start if open_start >= 0 else None,
        damage=damage,
    )
    with paused_gc():
        _take_records(binlog, records)
    return binlog


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic collector while hundreds of thousands of acyclic values are made.

    Each generation-2 pass walks every object made so far: with it running,
    building a day's transactions costs twice as long.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _raise_unless_in_use(path: Path, error: tuple[str, int, str], in_use: bool, size: int) -> None:
    code, offset, detail = error
    if code == "truncated" and in_use:
        return
    where = f"{path}: offset {offset}"
    if code == "encrypted":
        raise BinlogEncryptedError(f"{where}: {ENCRYPTED_HINT}")
    if code == "magic":
        what = "it is empty" if size == 0 else "it does not start with the binlog magic"
        raise BinlogCorruptError(f"{path}: named like a binlog, but {what}")
    if code == "os":
        raise BinlogError(f"{where}: read failed: {detail}")
    if code == "truncated":
        raise BinlogCorruptError(f"{where}: truncated: {detail} (the file is not marked in use)")
    if code == "checksum":
        raise BinlogCorruptError(f"{where}: checksum mismatch: the event is damaged")
    raise BinlogCorruptError(f"{where}: {code}: {detail}")


def _take_records(binlog: BinlogFile, records: list[tuple]) -> None:
    """Turn the walk's records into transactions and file facts (see _walk.c for their shapes)."""
    names: dict[int, tuple[bytes, bytes]] = {}
    resolved: dict[tuple, tuple[TableChange, ...]] = {}
    transactions = binlog.transactions
    file = binlog.name
    boundaries = {4, binlog.readable_end}
    for record in records:
        tag = record[0]
        if tag == 1:
            (_, start, end, _, ts_end, server_id, domain, seq, _, _, uuid, end_kind, flat, statements) = record
            changes = resolved.get(flat) if flat else ()
            if changes is None:
                changes = resolved[flat] = _changes(flat, names)
            if domain >= 0:
                gtid = f"{domain}-{server_id}-{seq}"
            elif uuid is not None:
                gtid = f"{_uuid(uuid)}:{seq}"
            else:
                gtid = None
            transactions.append(
                Transaction(
                    gtid,
                    domain,
                    server_id,
                    seq,
                    file,
                    start,
                    end,
                    ts_end,
                    END_KINDS[end_kind],
                    changes,
                    tuple(Statement(*s) for s in statements) if statements else (),
                )
            )
            boundaries.add(start)
            boundaries.add(end)
        elif tag == 2:
            names[record[2]] = (record[3], record[4])
            resolved.clear()
        elif tag == 3:
            flat = record[3]
            binlog.gtid_list = {(flat[i], flat[i + 1]): flat[i + 2] for i in range(0, len(flat), 3)}
            boundaries.add(record[1])
        elif tag == 4:
            binlog.rotate_to = record[4].decode(errors="replace")
            boundaries.add(record[1])
        elif tag == 5:
            binlog.stopped = True
            boundaries.add(record[1])
        elif tag == 6:
            binlog.previous_gtids = parse_previous_gtids(record[3], f"{binlog.path}: offset {record[1]}")
            boundaries.add(record[1])
        elif tag == 7:
            boundaries.add(record[1])
    binlog.boundaries = frozenset(boundaries)


def _changes(flat: tuple[int, ...], names: dict[int, tuple[bytes, bytes]]) -> tuple[TableChange, ...]:
    changes = []
    for i in range(0, len(flat), 3):
        schema, table = names.get(flat[i], (b"?", b"table-id-%d" % flat[i]))
        rows, kind = flat[i + 2], flat[i + 1]
        changes.append(
            TableChange(schema, table, ROW_KINDS[kind & 3], rows if rows >= 0 else None, full_image=not kind & 4)
        )
    return tuple(changes)


def parse_previous_gtids(body: bytes, where: str) -> str:
    """A MySQL Previous_gtids body as a GTID set: per server uuid, its [start, end) intervals."""
    try:
        (count,) = struct.unpack_from("<Q", body)
        offset, parts = 8, []
        for _ in range(count):
            uuid = _uuid(body[offset : offset + 16])
            (intervals,) = struct.unpack_from("<Q", body, offset + 16)
            offset += 24
            spans = []
            for _ in range(intervals):
                start, end = struct.unpack_from("<qq", body, offset)
                offset += 16
                spans.append(f"{start}-{end - 1}" if end - 1 > start else str(start))
            parts.append(":".join([uuid, *spans]))
    except struct.error:
        raise BinlogCorruptError(f"{where}: Previous_gtids runs past its end") from None
    return ",".join(parts)


def _uuid(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def gtid_state_after(start: dict[tuple[int, int], int], transactions: list[Transaction]) -> dict[tuple[int, int], int]:
    """A binlog GTID state ((domain, server) → seq, as Gtid_list events hold it) moved on by *transactions*."""
    state = dict(start)
    for txn in transactions:
        if txn.domain >= 0:
            state[(txn.domain, txn.server_id)] = txn.seq
    return state


def latest_by_domain(state: dict[tuple[int, int], int], order: list[Transaction] = ()) -> dict[int, Gtid]:
    """The newest GTID of each domain: the last transaction seen, else the highest sequence in *state*."""
    latest: dict[int, Gtid] = {}
    for (domain, server_id), seq in state.items():
        if domain not in latest or seq > latest[domain].seq:
            latest[domain] = Gtid(domain, server_id, seq)
    last: dict[int, Transaction] = {}
    for txn in order:
        last[txn.domain] = txn
    for domain, txn in last.items():
        if domain >= 0:
            latest[domain] = Gtid(domain, txn.server_id, txn.seq)
    return latest
