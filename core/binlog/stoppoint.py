"""Stop points: how far a roll-forward goes, and which transactions it leaves out.

`--until` takes one of:

* `YYYY-MM-DD HH:MM:SS` — transactions committed strictly before that second.
  Read in the host's time zone unless an offset (`+02:00`, `-0500`) or `Z`
  follows; the parsed value says which zone it used.
* `gtid:D-S-N` — up to and including that transaction.
* `before:D-S-N` — everything before that transaction.
* `FILE:POS` — the transactions that end at or before that offset of FILE
  (POS must not fall inside a transaction).
* `end` — everything the binlogs hold after the backup.

Resolving one against a timeline gives the replay range and the
transactions to apply, or refuses with a one-line StopPointError when the
point lies before the backup, past the binlogs, beyond a gap, or names a
GTID that is not in the range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

from ..errors import StopPointError
from .events import Gtid, Transaction, format_gtid_list
from .reader import latest_by_domain
from .sources import BinlogPosition
from .timeline import Timeline

_TIME = re.compile(r"^(?P<stamp>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2})\s*(?P<zone>Z|[+-]\d{2}:?\d{2})?$", re.I)
_POSITION = re.compile(r"^(?P<file>[^:\s]+\.\d{6,}):(?P<pos>\d+)$")


@dataclass(frozen=True, slots=True)
class Until:
    """A parsed `--until` value."""

    kind: str  # time, gtid, before, position, end
    text: str
    epoch: int | None = None  # time: the second, as UTC epoch seconds
    zone: str | None = None  # time: the zone it was read in, e.g. "+02:00 (host time zone, CEST)"
    gtid: Gtid | None = None
    file: str | None = None
    pos: int | None = None

    def describe(self) -> str:
        if self.kind == "time":
            local = datetime.fromtimestamp(self.epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            return f"before {self.text.strip()} [{self.zone}] = {local}"
        if self.kind == "gtid":
            return f"up to and including GTID {self.gtid}"
        if self.kind == "before":
            return f"everything before GTID {self.gtid}"
        if self.kind == "position":
            return f"events before {self.file}:{self.pos}"
        return "everything available"


def parse_until(text: str) -> Until:
    """Parse an `--until` value (forms in the module docstring); StopPointError when malformed."""
    raw = text.strip()
    lowered = raw.lower()
    if lowered == "end":
        return Until("end", raw)
    for prefix, kind in (("gtid:", "gtid"), ("before:", "before")):
        if lowered.startswith(prefix):
            try:
                return Until(kind, raw, gtid=Gtid.parse(raw[len(prefix) :]))
            except ValueError as exc:
                raise StopPointError(f"--until {raw[:60]!r}: {exc}") from None
    match = _TIME.match(raw)
    if match:
        return _parse_time(raw, match)
    match = _POSITION.match(raw)
    if match:
        return Until("position", raw, file=match["file"], pos=int(match["pos"]))
    raise StopPointError(
        f"--until {raw[:60]!r}: expected 'YYYY-MM-DD HH:MM:SS[±HH:MM|Z]', gtid:D-S-N, before:D-S-N, FILE:POS or end"
    )


def _parse_time(raw: str, match: re.Match) -> Until:
    try:
        naive = datetime.strptime(match["stamp"].replace("T", " "), "%Y-%m-%d %H:%M:%S")
    except ValueError as exc:
        raise StopPointError(f"--until {raw[:60]!r}: {exc}") from None
    zone = match["zone"]
    if zone is None:
        aware = naive.astimezone()  # the host's rules for that date (DST included)
        offset = _offset_text(aware.utcoffset())
        label = f"{offset} (host time zone, {aware.tzname()})"
    elif zone.upper() == "Z":
        aware = naive.replace(tzinfo=UTC)
        label = "+00:00 (UTC, given)"
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        aware = naive.replace(tzinfo=timezone(sign * delta))
        label = f"{_offset_text(sign * delta)} (given)"
    return Until("time", raw, epoch=int(aware.timestamp()), zone=label)


def _offset_text(delta: timedelta | None) -> str:
    minutes = int((delta or timedelta()).total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True, slots=True)
class StopPoint:
    """Where a roll-forward starts and stops, and what it applies.

    The replay covers the binlogs from `start` (the backup's position) to
    `stop` (replay the events before it); `transactions` are the ones to
    apply, in binlog order, without the `skipped` ones.
    """

    until: Until
    start: BinlogPosition
    stop: BinlogPosition
    last: Transaction | None
    transactions: tuple[Transaction, ...]
    skipped: tuple[Transaction, ...]

    @property
    def gtid_reached(self) -> str:
        return self.stop.gtid

    @property
    def segments(self) -> list[tuple[BinlogPosition, BinlogPosition]]:
        """Contiguous (from, to) ranges to replay: the whole range cut around each skipped transaction."""
        ranges = []
        begin = BinlogPosition(self.start.file, self.start.pos)
        for txn in self.skipped:
            if (txn.file, txn.start) != (begin.file, begin.pos):
                ranges.append((begin, BinlogPosition(txn.file, txn.start)))
            begin = BinlogPosition(txn.file, txn.end)
        if (begin.file, begin.pos) != (self.stop.file, self.stop.pos):
            ranges.append((begin, BinlogPosition(self.stop.file, self.stop.pos)))
        return ranges

    def describe(self) -> str:
        skipped = f", skipping {', '.join(str(t.gtid) for t in self.skipped)}" if self.skipped else ""
        return (
            f"{self.until.describe()}: {len(self.transactions)} transactions from {self.start} to {self.stop}"
            f" (GTID {self.gtid_reached or 'none'}){skipped}"
        )


def resolve_stop_point(timeline: Timeline, until: Until | str, skip: tuple[str, ...] | list[str] = ()) -> StopPoint:
    """Resolve *until* (and GTIDs to *skip*) against *timeline*; StopPointError when it cannot be reached."""
    if isinstance(until, str):
        until = parse_until(until)
    reachable = timeline.reachable_transactions
    count = _count_for(timeline, until, reachable)
    chosen = reachable[:count]
    skip_keys = {(g.domain, g.server_id, g.seq) for g in _parse_skip(skip)}
    skipped = tuple(t for t in chosen if (t.domain, t.server_id, t.seq) in skip_keys) if skip_keys else ()
    for key in skip_keys - {(t.domain, t.server_id, t.seq) for t in skipped}:
        raise StopPointError(
            f"--skip {Gtid(*key)}: not among the {len(chosen)} transactions between the backup and the stop point"
        )
    applied = (
        tuple(t for t in chosen if (t.domain, t.server_id, t.seq) not in skip_keys) if skip_keys else tuple(chosen)
    )
    last = chosen[-1] if chosen else None
    if until.kind == "before" and count < len(reachable):
        stop_file, stop_pos = reachable[count].file, reachable[count].start
    elif until.kind == "position":
        stop_file, stop_pos = until.file, until.pos
    elif last is not None:
        stop_file, stop_pos = last.file, last.end
    else:
        stop_file, stop_pos = timeline.start.file, timeline.start.pos
    state = {**timeline.start_state, **latest_by_domain({}, applied)}
    return StopPoint(
        until=until,
        start=timeline.start,
        stop=BinlogPosition(stop_file, stop_pos, format_gtid_list(state)),
        last=last,
        transactions=applied,
        skipped=skipped,
    )


def _parse_skip(skip) -> set[Gtid]:
    gtids = set()
    for text in skip:
        try:
            gtids.add(Gtid.parse(text.removeprefix("gtid:")))
        except ValueError as exc:
            raise StopPointError(f"--skip {text[:60]!r}: {exc}") from None
    return gtids


def _beyond_gap(timeline: Timeline, what: str) -> StopPointError:
    gap = timeline.first_gap
    if gap is None:
        return StopPointError(f"{what}: not in the binlogs after the backup ({_reach(timeline)})")
    return StopPointError(f"{what}: lies past a gap in the binlogs: {gap.message}")


def _reach(timeline: Timeline) -> str:
    if not timeline.covered_until:
        return "they hold nothing after it"
    at = datetime.fromtimestamp(timeline.covered_until, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"they reach {at}"


def _count_for(timeline: Timeline, until: Until, reachable: list[Transaction]) -> int:
    """How many reachable transactions, from the first, the stop point takes."""
    if until.kind == "end":
        if timeline.first_gap is not None:
            raise StopPointError(
                f"--until end: the binlogs stop short: {timeline.first_gap.message}; choose a point before it"
            )
        return len(reachable)
    if until.kind == "time":
        return _count_for_time(timeline, until, reachable)
    if until.kind in ("gtid", "before"):
        wanted = until.gtid
        for index, txn in enumerate(reachable):
            if txn.seq == wanted.seq and txn.domain == wanted.domain and txn.server_id == wanted.server_id:
                return index + 1 if until.kind == "gtid" else index
        recorded = timeline.start_state.get(until.gtid.domain)
        if recorded is not None and until.gtid.seq <= recorded.seq and until.gtid.server_id == recorded.server_id:
            raise StopPointError(
                f"--until {until.text}: GTID {until.gtid} is already in the backup (it stands at {recorded})"
            )
        if any(t.mariadb_gtid == until.gtid for t in timeline.transactions[timeline.reachable :]):
            raise _beyond_gap(timeline, f"--until {until.text}")
        if timeline.first_gap is not None:
            raise StopPointError(
                f"--until {until.text}: GTID {until.gtid} is not in the binlogs after the backup, which stop short:"
                f" {timeline.first_gap.message}"
            )
        raise StopPointError(f"--until {until.text}: GTID {until.gtid} is not in the binlogs after the backup")
    return _count_for_position(timeline, until, reachable)


def _count_for_time(timeline: Timeline, until: Until, reachable: list[Transaction]) -> int:
    if timeline.earliest_until is not None and until.epoch < timeline.earliest_until:
        raise StopPointError(
            f"--until {until.text} [{until.zone}]: before the backup, whose binlog position is past"
            f" {datetime.fromtimestamp(timeline.earliest_until - 1, UTC):%Y-%m-%d %H:%M:%S} UTC"
        )
    for index, txn in enumerate(reachable):
        if txn.time >= until.epoch:
            return index
    if timeline.covered_until is None or until.epoch > timeline.covered_until + 1:
        if timeline.first_gap is not None:
            raise _beyond_gap(timeline, f"--until {until.text} [{until.zone}]")
        raise StopPointError(
            f"--until {until.text} [{until.zone}]: past the end of the binlogs ({_reach(timeline)}):"
            " nothing says what happened in between"
        )
    return len(reachable)


def _count_for_position(timeline: Timeline, until: Until, reachable: list[Transaction]) -> int:
    start = timeline.start
    names = [f.name for f in timeline.files]
    if until.file not in names:
        raise StopPointError(f"--until {until.text}: {until.file} is not among the binlogs after the backup")
    if (until.file, until.pos) < (start.file, start.pos):
        raise StopPointError(f"--until {until.text}: before the backup's position {start}")
    count = 0
    for txn in reachable:
        if (txn.file, txn.end) <= (until.file, until.pos):
            count += 1
            continue
        if (txn.file, txn.start) < (until.file, until.pos):
            raise StopPointError(
                f"--until {until.text}: inside transaction {txn.gtid} ({txn.file}:{txn.start}-{txn.end})"
            )
        return count
    span = timeline.files[names.index(until.file)]
    if timeline.first_gap is not None or until.pos > span.readable_end:
        raise _beyond_gap(timeline, f"--until {until.text}")
    return count
