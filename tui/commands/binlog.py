"""`xtrarestore binlog`: what the binlogs hold after a backup — files, gaps, notable events, how far they reach.

For people, a Rich layout that fits 80 columns; for scripts, `--json`
(`files`, `gaps`, `events`, `from`, `to`). Everything read from a binlog
(table names, SQL) is escaped before it is shown. Times are UTC and say so;
the host time zone (in which `--until` reads a time without an offset) is
named once.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "show the binlogs after a backup: files, gaps, notable events (DROP, mass DELETE…) and their reach"


def register(subparsers) -> None:
    parser = subparsers.add_parser("binlog", help=HELP, description=HELP,
                                   epilog="Exit status 0 when the binlogs follow on from the start without a gap,"
                                          " 1 when a gap stops them, 2 when they cannot be read.")
    parser.add_argument("--binlog-dir", action="append", default=[], metavar="DIR",
                        help="a directory of binlog files (repeatable)")
    parser.add_argument("--from-server", metavar="SOCKET", help="also read the binlogs of the server on this socket")
    parser.add_argument("--root", default=argparse.SUPPRESS, help="backup root: start at a backup's binlog position")
    parser.add_argument("--day", help="day directory of the backup (with --root)")
    parser.add_argument("--upto", help="the backup (with --root): its recorded binlog position is the start")
    parser.add_argument("--key-file", default=argparse.SUPPRESS, help="encryption key file for encrypted backups")
    parser.add_argument("--json", action="store_true", help="print the timeline as JSON")
    parser.add_argument("--all", action="store_true", help="list every file, not only the first and last few")
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.errors import PreconditionError
    from xtrarestore.core.restore.pitr import open_timeline
    from xtrarestore.core.restore.request import locate

    root = getattr(args, "root", None)
    point = None
    if root or args.day or args.upto:
        if not (root and args.day and args.upto):
            raise PreconditionError("--root, --day and --upto go together: they name the backup to start from")
        key = getattr(args, "key_file", None)
        point = locate(Path(root), args.day, args.upto, Path(key) if key else None)
    timeline = open_timeline([Path(d) for d in args.binlog_dir], point=point,
                             from_server=Path(args.from_server) if args.from_server else None)
    if args.json:
        data = timeline.to_json()
        if point is not None:
            data["backup"] = {"day": args.day, "upto": args.upto}
        print(json.dumps(data, indent=1))
    else:
        show(timeline, point, every=args.all)
    return 1 if timeline.gaps else 0


def _utc(epoch: int | None) -> str:
    from datetime import UTC, datetime

    return "-" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def host_zone() -> str:
    from datetime import datetime

    now = datetime.now().astimezone()
    offset = now.strftime("%z")
    return f"{offset[:3]}:{offset[3:]} ({now.tzname()})"


def show(timeline, point=None, *, every: bool = False, out=None) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from xtrarestore.core.binlog import format_gtid_list
    from xtrarestore.core.shown import shown
    from xtrarestore.tui.display import size

    def safe(text) -> str:
        return escape(shown(text))

    console = Console(file=out or sys.stdout, width=80 if out is not None or not sys.stdout.isatty() else None,
                      highlight=False, soft_wrap=False)
    start = timeline.start
    origin = f"backup {safe(point.day.name)}/{safe(point.members[-1].name)}" if point is not None else "the first file"
    console.print(f"[bold]Binlogs from {safe(start)}[/] ({origin}), GTID {safe(start.gtid or 'none')}")
    console.print(f"Times are UTC; --until without an offset reads the host time zone, {host_zone()}")
    files = Table(title=None, box=None, pad_edge=False, header_style="bold")
    for column, justify in (("file", "left"), ("size", "right"), ("first (UTC)", "left"), ("last (UTC)", "left"),
                            ("txns", "right"), ("last GTID", "left")):
        files.add_column(column, justify=justify, no_wrap=True, overflow="ellipsis")
    listed = timeline.files if every or len(timeline.files) <= 8 else [*timeline.files[:3], None, *timeline.files[-4:]]
    for span in listed:
        if span is None:
            files.add_row(f"… {len(timeline.files) - 7} more (--all)", "", "", "", "", "")
            continue
        flag = " [in use]" if span.in_use else ""
        files.add_row(safe(span.name) + flag, size(span.size), _utc(span.first_time)[5:], _utc(span.last_time)[5:],
                      str(span.transactions), safe(span.last_gtid or "-"))
    console.print(files)
    if timeline.gaps:
        for gap in timeline.gaps:
            console.print(f"[bold red][GAP][/] {safe(gap.code)}: {safe(gap.message)}")
    else:
        console.print("No gap: every file follows on from the one before.")
    console.print(f"\n[bold]Notable events[/] ({len(timeline.notable)})")
    if timeline.notable:
        events = Table(box=None, pad_edge=False, header_style="bold")
        for column in ("time (UTC)", "GTID", "at", "kind", "table", "rows"):
            events.add_column(column, no_wrap=True, overflow="ellipsis", max_width=24 if column == "table" else None)
        for event in timeline.notable:
            mark = "" if event.reachable else " (past a gap)"
            events.add_row(_utc(event.time)[5:], safe(event.gtid or "-"), f"{safe(event.file)}:{event.pos}",
                           event.kind + mark, safe(event.table or "-"), "-" if event.rows is None else str(event.rows))
        console.print(events)
    else:
        console.print("none (no DROP/TRUNCATE/ALTER/RENAME, no mass DELETE/UPDATE)")
    reachable = timeline.reachable_transactions
    last = reachable[-1] if reachable else None
    reach = (f"{len(reachable)} transactions, to GTID {safe(format_gtid_list(timeline.end_state) or 'none')}"
             f" at {_utc(last.time)} UTC" if last else "nothing after the start")
    console.print(f"\n[bold]Reach:[/] {reach}")
    if timeline.earliest_until is not None and timeline.covered_until is not None:
        console.print(f"--until may name {_utc(timeline.earliest_until)} UTC to"
                      f" {_utc(timeline.covered_until + 1)} UTC, a GTID, FILE:POS or end")
