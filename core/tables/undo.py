"""Undo one notable binlog event: flashback where it is provably exact, table recovery otherwise, each weighed.

The console's "Undo this" asks this module, for one event of the binlog
timeline, whether flashback can reverse it (the checks of `flashback.py`:
DML, ROW format, full images, committed, nothing later touching the same
tables) and what each way would cost: seconds, bytes read or moved, rows.
The seconds are rough — rates measured by the benches on a small 2-core
machine (bench/bench_flashback.py, bench/bench_recover_table.py), kept
conservative — and are shown as estimates, never promised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import FlashbackRefused, XtraRestoreError

FLASHBACK_BYTES_PER_SECOND = 10 << 20  # reverse built and applied: ~15 MB/s of binlog measured
RESTORE_BYTES_PER_SECOND = 40 << 20  # extract, prepare and copy back the throwaway restore
REPLAY_BYTES_PER_SECOND = 10 << 20  # roll-forward through the binlogs (SQL thread)
IMPORT_BYTES_PER_SECOND = 40 << 20  # a tablespace copied and imported (a logical copy is slower)
THROWAWAY_SECONDS = 15.0  # set up, start, verify, stop and remove the throwaway server


@dataclass
class Estimate:
    seconds: float
    bytes: int
    rows: int | None

    def line(self) -> str:
        rows = "? rows" if self.rows is None else f"{self.rows} rows"
        return f"about {self.seconds:.0f} s, {_size(self.bytes)}, {rows}"


@dataclass
class UndoChoice:
    """The two ways to undo *gtid*, with what each costs; *refused* says why flashback is not offered."""

    gtid: str
    kind: str
    table: str | None
    flashback: Estimate | None
    refused: str | None
    recovery: Estimate
    recovery_parts: str  # what the recovery estimate is made of
    plan: object = None  # the FlashbackPlan, when flashback is safe

    @property
    def until(self) -> str:
        """The stop point for recovering the table as it was just before the event."""
        return f"before:{self.gtid}"


def weigh_undo(timeline, event, binlog_dirs: list[Path], point, *, table_size=None) -> UndoChoice:
    """Weigh flashback and table recovery for *event* (a `NotableEvent` of *timeline*).

    *table_size* is `(bytes, rows)` of the table in production now, when known
    (else the event's rows stand in and the table's bytes are left out).
    """
    from ..restore.placement import estimated_size
    from .flashback import plan_flashback

    gtid = event.gtid
    if not gtid:
        raise XtraRestoreError("this event has no GTID: neither flashback nor a stop point can name it")
    flash, refused, plan = None, None, None
    if event.kind not in ("delete", "update"):
        refused = f"{event.kind.upper()} is not row data: the binlog cannot reverse it"
    else:
        try:
            plan = plan_flashback(list(binlog_dirs), [gtid])
            trx = plan.targets[0].transaction
            size = trx.end - trx.start
            flash = Estimate(1.0 + size / FLASHBACK_BYTES_PER_SECOND, size, plan.rows)
        except FlashbackRefused as error:
            refused = str(error)
    before = _index(timeline, event.transaction)
    replay = sum(t.end - t.start for t in timeline.transactions[:before])
    restore = sum(estimated_size(m) for m in point.members)
    table_bytes, rows = table_size if table_size else (0, event.rows)
    if table_size and event.kind == "delete" and event.rows:
        rows += event.rows  # as it was before the DELETE
    seconds = (
        THROWAWAY_SECONDS
        + restore / RESTORE_BYTES_PER_SECOND
        + replay / REPLAY_BYTES_PER_SECOND
        + table_bytes / IMPORT_BYTES_PER_SECOND
    )
    parts = f"restore {_size(restore)}, roll forward {_size(replay)} of binlog"
    if table_size:
        parts += f", bring over {_size(table_bytes)}"
    return UndoChoice(
        gtid,
        event.kind,
        event.table,
        flash,
        refused,
        Estimate(seconds, restore + replay + table_bytes, rows),
        parts,
        plan,
    )


def production_table_size(conn, name: str) -> tuple[int, int] | None:
    """(bytes, rows) of `schema.table` from information_schema (rows are InnoDB's estimate)."""
    schema, _, table = name.partition(".")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DATA_LENGTH + INDEX_LENGTH, TABLE_ROWS FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s",
            (schema, table),
        )
        found = cur.fetchone()
    return (int(found[0] or 0), int(found[1] or 0)) if found else None


def _index(timeline, transaction) -> int:
    for index, candidate in enumerate(timeline.transactions):
        if candidate is transaction or (candidate.file, candidate.start) == (transaction.file, transaction.start):
            return index
    return len(timeline.transactions)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
