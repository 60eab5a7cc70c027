"""The binlog timeline from a backup's position to the newest event, its gaps and notable events.

The backup recorded where it stands in the binlogs (file, offset, GTID
position). Everything after that, in binlog order, is what a roll-forward can
replay, as long as nothing is missing in between. Problems (`Gap`, codes in
GAP_CODES) are values, like the chain's:

* `start-not-found` — the backup's file is not among the binlogs, or its
  offset is not where an event group begins;
* `server-mismatch` — the binlogs at the backup's offset are not at the GTID
  position the backup recorded, or a file was written by another server_id:
  binlogs of another server;
* `missing-file` — a number is missing in the file sequence;
* `gtid-gap` — a file's Gtid_list does not follow on from the previous
  file's last GTID state (a file was replaced or events are missing);
* `truncated` / `corrupt` — a file ends inside a transaction without being
  marked in use, or fails its checksum: the part before stays usable.

Transactions after the first problem are listed but not *reachable*: no
stop point may lie there.

Notable events, for the operator choosing a stop point:

* DDL that loses or reshapes data: DROP TABLE / DATABASE, TRUNCATE, ALTER
  TABLE, RENAME TABLE (temporary tables left out);
* a transaction deleting or updating at least `mass_rows` rows (default
  1000) of one table;
* a DELETE or UPDATE written in STATEMENT format with no WHERE clause (its
  row count is unknown: it may have touched the whole table).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..errors import BinlogError
from .events import Gtid, Statement, Transaction, format_gtid_list
from .reader import BinlogFile, binlog_number, gtid_state_after, latest_by_domain, read_binlog
from .sources import BinlogPosition, BinlogSet

GAP_CODES = ("start-not-found", "server-mismatch", "missing-file", "gtid-gap", "truncated", "corrupt")
MASS_ROWS = 1000
# Statement verbs (Statement.verb) that lose or reshape data, and the kind they are reported as.
NOTABLE_DDL = {
    "DROP TABLE": "drop",
    "DROP DATABASE": "drop",
    "DROP SCHEMA": "drop",
    "TRUNCATE": "truncate",
    "TRUNCATE TABLE": "truncate",
    "ALTER TABLE": "alter",
    "RENAME TABLE": "rename",
    "RENAME TABLES": "rename",
}


@dataclass(frozen=True, slots=True)
class Gap:
    """One thing that stops a roll-forward: a code from GAP_CODES, where, and a one-line message."""

    code: str
    file: str
    pos: int | None
    message: str


@dataclass(slots=True)
class FileSpan:
    """One binlog file's part of the timeline."""

    name: str
    path: str
    size: int
    server_id: int
    server_version: str
    in_use: bool
    start: int
    readable_end: int
    first_time: int
    last_time: int
    gtid_list: str
    first_gtid: str | None
    last_gtid: str | None
    transactions: int


@dataclass(frozen=True, slots=True)
class NotableEvent:
    """An event an operator may want to stop before or skip."""

    kind: str  # drop, truncate, alter, rename, delete, update
    transaction: Transaction
    table: str | None  # schema.table as read (untrusted text), when known
    rows: int | None
    statement: Statement | None
    reachable: bool

    @property
    def gtid(self) -> str | None:
        return self.transaction.gtid

    @property
    def time(self) -> int:
        return self.transaction.time

    @property
    def file(self) -> str:
        return self.transaction.file

    @property
    def pos(self) -> int:
        return self.transaction.start


@dataclass(eq=False)
class Timeline:
    """What the binlogs hold after a backup's position, and how far a roll-forward can go."""

    start: BinlogPosition
    files: list[FileSpan]
    gaps: list[Gap]
    transactions: list[Transaction]
    reachable: int  # transactions[:reachable] follow on from the backup without a gap
    notable: list[NotableEvent]
    start_state: dict[int, Gtid]  # GTID position at the backup, by domain
    earliest_until: int | None  # the first second a time stop point may name: after the backup's last commit
    covered_until: int | None  # newest event time the reachable binlogs vouch for
    end_state: dict[int, Gtid] = field(default_factory=dict)  # GTID position after the last reachable one

    @property
    def reachable_transactions(self) -> list[Transaction]:
        return self.transactions[: self.reachable]

    @property
    def first_gap(self) -> Gap | None:
        return self.gaps[0] if self.gaps else None

    def to_json(self) -> dict:
        """Plain data for `--json` (binlog text decoded with replacement characters: still untrusted)."""
        last = self.transactions[self.reachable - 1] if self.reachable else None
        return {
            "from": {"file": self.start.file, "pos": self.start.pos, "gtid": format_gtid_list(self.start_state)},
            "to": {
                "file": last.file if last else self.start.file,
                "pos": last.end if last else self.start.pos,
                "gtid": format_gtid_list(self.end_state),
                "time": _iso(last.time) if last else None,
                "covered_until": _iso(self.covered_until),
            },
            "files": [
                {
                    "name": f.name,
                    "path": f.path,
                    "size": f.size,
                    "server_id": f.server_id,
                    "in_use": f.in_use,
                    "start": f.start,
                    "readable_end": f.readable_end,
                    "first_time": _iso(f.first_time),
                    "last_time": _iso(f.last_time),
                    "gtid_list": f.gtid_list,
                    "first_gtid": f.first_gtid,
                    "last_gtid": f.last_gtid,
                    "transactions": f.transactions,
                }
                for f in self.files
            ],
            "gaps": [{"code": g.code, "file": g.file, "pos": g.pos, "message": g.message} for g in self.gaps],
            "transactions": {"total": len(self.transactions), "reachable": self.reachable},
            "events": [
                {
                    "gtid": e.gtid,
                    "time": _iso(e.time),
                    "file": e.file,
                    "pos": e.pos,
                    "end": e.transaction.end,
                    "kind": e.kind,
                    "table": e.table,
                    "rows": e.rows,
                    "statement": e.statement.text if e.statement else None,
                    "reachable": e.reachable,
                }
                for e in self.notable
            ],
        }


def _iso(epoch: int | None) -> str | None:
    return datetime.fromtimestamp(epoch, UTC).isoformat() if epoch is not None else None


def build_timeline(
    binlog_set: BinlogSet,
    start: BinlogPosition,
    *,
    mass_rows: int = MASS_ROWS,
    progress: Callable[[str, int, int], None] | None = None,
) -> Timeline:
    """Read the binlogs from the backup's file onwards and lay out the timeline.

    *progress* is called before each file with (name, index, count); raise
    from it to cancel. Encrypted binlogs raise BinlogEncryptedError.
    """
    parsed = binlog_number(start.file)
    if parsed is None:
        raise BinlogError(f"{start.file}: the backup's binlog name has no .NNNNNN number")
    base, first_number = parsed
    sequence = [(n, p) for n, p in binlog_set.sequence(base) if n >= first_number]
    gaps: list[Gap] = []
    spans: list[FileSpan] = []
    transactions: list[Transaction] = []
    reachable: int | None = None
    earliest_until = None
    covered_until = None
    start_state = start.gtids

    def stop_here(gap: Gap) -> None:
        nonlocal reachable
        gaps.append(gap)
        if reachable is None:
            reachable = len(transactions)

    if not sequence or sequence[0][0] != first_number:
        stop_here(
            Gap(
                "start-not-found",
                start.file,
                start.pos,
                f"{start.file} (where the backup stands) is not in {_dirs(binlog_set)}",
            )
        )
    previous: BinlogFile | None = None
    previous_number = None
    for index, (number, path) in enumerate(sequence):
        if progress is not None:
            progress(path.name, index, len(sequence))
        if previous_number is not None and number != previous_number + 1:
            missing = f"{base}.{previous_number + 1:06d}"
            more = f" to {base}.{number - 1:06d}" if number - previous_number > 2 else ""
            stop_here(
                Gap(
                    "missing-file",
                    missing,
                    None,
                    f"{missing}{more} missing between {base}.{previous_number:06d} and {path.name}",
                )
            )
        binlog = read_binlog(path, keep_damaged=True)
        offset = start.pos if number == first_number else 4
        mine = binlog.transactions
        if number == first_number:
            before = [t for t in mine if t.start < offset]
            mine = [t for t in mine if t.start >= offset]
            # after the last commit the backup holds; at a file's start, its opening is all we know
            earliest_until = before[-1].time + 1 if before else binlog.first_time
            _check_start(binlog, start, before, stop_here)
        elif previous is not None and previous_number == number - 1:
            _check_follows(previous, binlog, stop_here)
        if spans and binlog.server_id != spans[0].server_id:
            stop_here(
                Gap(
                    "server-mismatch",
                    binlog.name,
                    4,
                    f"{binlog.name} was written by server_id {binlog.server_id},"
                    f" {spans[0].name} by {spans[0].server_id}",
                )
            )
        transactions.extend(mine)
        if binlog.damage:
            code = "truncated" if "truncated" in binlog.damage else "corrupt"
            stop_here(Gap(code, binlog.name, binlog.readable_end, binlog.damage))
        elif binlog.incomplete_from is not None and not binlog.in_use:
            stop_here(
                Gap(
                    "truncated",
                    binlog.name,
                    binlog.incomplete_from,
                    f"{binlog.path}: offset {binlog.incomplete_from}: the file ends inside a transaction"
                    " and is not marked in use",
                )
            )
        if reachable is None:
            covered_until = binlog.last_time
        spans.append(_span(binlog, offset, mine))
        previous, previous_number = binlog, number
    if reachable is None:
        reachable = len(transactions)
    elif reachable:
        covered_until = transactions[reachable - 1].time
    else:
        covered_until = None
    notable = find_notable(transactions, reachable, mass_rows)
    return Timeline(
        start=start,
        files=spans,
        gaps=gaps,
        transactions=transactions,
        reachable=reachable,
        notable=notable,
        start_state=start_state,
        earliest_until=earliest_until,
        covered_until=covered_until,
        end_state={**start_state, **latest_by_domain({}, transactions[:reachable])},
    )


def _dirs(binlog_set: BinlogSet) -> str:
    return ", ".join(str(d) for d in binlog_set.dirs)


def _check_start(binlog: BinlogFile, start: BinlogPosition, before: list[Transaction], stop_here) -> None:
    """The backup's offset must begin an event group, and the GTID state there must be the backup's."""
    if not binlog.is_boundary(start.pos):
        recorded = {g.server_id for g in start.gtids.values()}
        if recorded and binlog.server_id not in recorded:
            ids = ", ".join(sorted(str(g) for g in start.gtids.values()))
            stop_here(
                Gap(
                    "server-mismatch",
                    binlog.name,
                    start.pos,
                    f"{binlog.path} was written by server_id {binlog.server_id} and has no event group at"
                    f" {start.pos}, where the backup (GTID {ids}) stands: binlogs of another server",
                )
            )
            return
        reach = (
            f"the file is readable to {binlog.readable_end}"
            if start.pos > binlog.readable_end
            else ("it is not where an event group begins")
        )
        stop_here(
            Gap(
                "start-not-found",
                binlog.name,
                start.pos,
                f"{binlog.name}:{start.pos} (the backup's position) cannot be found: {reach}",
            )
        )
        return
    if not start.gtid or binlog.gtid_list is None:
        return
    here = latest_by_domain(gtid_state_after(binlog.gtid_list, before), before)
    for domain, recorded in sorted(start.gtids.items()):
        found = here.get(domain)
        if found != recorded:
            stop_here(
                Gap(
                    "server-mismatch",
                    binlog.name,
                    start.pos,
                    f"the backup recorded GTID {recorded} but {binlog.name}:{start.pos} is at"
                    f" {found or f'nothing in domain {domain}'}: binlogs of another server?",
                )
            )
            return


def _check_follows(previous: BinlogFile, binlog: BinlogFile, stop_here) -> None:
    """A file's Gtid_list must equal the GTID state its predecessor ended with."""
    if previous.gtid_list is None or binlog.gtid_list is None:
        return
    expected = gtid_state_after(previous.gtid_list, previous.transactions)
    if expected == binlog.gtid_list:
        return
    ended = format_gtid_list(latest_by_domain(expected))
    starts = format_gtid_list(latest_by_domain(binlog.gtid_list))
    stop_here(
        Gap(
            "gtid-gap",
            binlog.name,
            4,
            f"{binlog.name} starts at GTID {starts or 'nothing'} but {previous.name} ended at"
            f" {ended or 'nothing'}: events are missing in between",
        )
    )


def _span(binlog: BinlogFile, offset: int, mine: list[Transaction]) -> FileSpan:
    return FileSpan(
        name=binlog.name,
        path=str(binlog.path),
        size=binlog.size,
        server_id=binlog.server_id,
        server_version=binlog.server_version,
        in_use=binlog.in_use,
        start=offset,
        readable_end=binlog.readable_end,
        first_time=binlog.first_time,
        last_time=binlog.last_time,
        gtid_list=format_gtid_list(latest_by_domain(binlog.gtid_list or {})),
        first_gtid=mine[0].gtid if mine else None,
        last_gtid=mine[-1].gtid if mine else None,
        transactions=len(mine),
    )


_WHERE = re.compile(rb"\bWHERE\b", re.I)
_NAME = r"(?:`(?:[^`]|``)+`|[A-Za-z0-9_$]+)"
_TARGET = re.compile(
    rf"^\s*(?:DROP|TRUNCATE|ALTER|RENAME)(?:\s+(?:ONLINE|IGNORE))*\s+(?:(?:TABLES?|DATABASE|SCHEMA)\s+)?"
    rf"(?:IF\s+EXISTS\s+)?(?P<name>{_NAME}(?:\s*\.\s*{_NAME})?)",
    re.I,
)


def find_notable(transactions: list[Transaction], reachable: int, mass_rows: int = MASS_ROWS) -> list[NotableEvent]:
    """The events an operator may want to stop before or skip (rules in the module docstring)."""
    found = []
    for index, txn in enumerate(transactions):
        if txn.statements:
            for statement in txn.statements:
                event = _notable_statement(txn, statement, index < reachable)
                if event is not None:
                    found.append(event)
        for change in txn.changes:
            if change.kind != "insert" and change.rows is not None and change.rows >= mass_rows:
                found.append(NotableEvent(change.kind, txn, change.name, change.rows, None, index < reachable))
    return found


def _notable_statement(txn: Transaction, statement: Statement, reachable: bool) -> NotableEvent | None:
    verb = statement.verb
    if verb in NOTABLE_DDL:
        return NotableEvent(NOTABLE_DDL[verb], txn, _ddl_target(statement, verb), None, statement, reachable)
    if verb in ("DELETE", "UPDATE") and not _WHERE.search(statement.sql):
        return NotableEvent(verb.lower(), txn, None, None, statement, reachable)
    return None


def _ddl_target(statement: Statement, verb: str) -> str | None:
    """The first object a DDL statement names: `schema.table` (bare names take the statement's schema),
    or `database.*`."""
    text = re.sub(r"/\*.*?\*/", " ", statement.text, flags=re.S)
    match = _TARGET.match(text)
    if not match:
        return None
    parts = [p.strip().strip("`").replace("``", "`") for p in re.split(r"\s*\.\s*(?=[`A-Za-z0-9_$])", match["name"])]
    if verb.endswith(("DATABASE", "SCHEMA")):
        return f"{parts[0]}.*"
    if len(parts) == 1:
        schema = statement.schema.decode(errors="replace")
        return f"{schema}.{parts[0]}" if schema else parts[0]
    return ".".join(parts[:2])
