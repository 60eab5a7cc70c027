"""`xtrarestore inventory`: what can be restored, as a table for people or JSON for scripts.

The newest restore point comes first because it is the question at 3 a.m.;
problem messages follow the table in full, each under the name it is about,
since a table cell would cut them.
Exit status 0 whenever the root was scanned, even if backups have problems
(those are findings, not failures); 2 when the root or key file cannot be read.

`--json` prints {"root", "newest_restore_point": {"day", "backup", "members",
"timestamp", "age_seconds"} | null, "days": [{"name", "path", "problems",
"backups": [{"name", "path", "type", "artifact", "timestamp", "from_lsn",
"to_lsn", "last_lsn", "backup_type", "lsn_source", "size", "compressed",
"compression", "encrypted", "tool", "tool_version", "server_version",
"completed_ok", "copy_of", "state", "problems"}], "chains": [{"members",
"problems", "restore_points"}], "host"}], "hosts", "bytes_fetched",
"requests"}; a problem is {"code", "backup", "message"}. A day's "host" is the
level above it (`PREFIX/<host>/<day>/`; null at the top), "hosts" lists them.
"bytes_fetched" and "requests" say what reading a bucket root downloaded
(null for a directory). Keys are only ever added.
"""

from __future__ import annotations

import argparse

HELP = "list the backups under a backup root, their LSN chains and what can be restored"
DEFAULT_ROOT = "/backups/mysql"


def register(subparsers) -> None:
    parser = subparsers.add_parser("inventory", help=HELP, description=HELP)
    parser.add_argument("--root", default=argparse.SUPPRESS, help=f"backup root (default: {DEFAULT_ROOT})")
    parser.add_argument("--key-file", default=argparse.SUPPRESS, help="encryption key file, to read encrypted streams")
    parser.add_argument("--json", action="store_true", help="print a JSON document instead of a table")
    parser.add_argument("--wide", action="store_true",
                        help="all columns (LSN range, time) whatever the width; lines are not wrapped")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime

    from xtrarestore.core.archive.keys import load_key
    from xtrarestore.core.inventory.roots import scan_root
    from xtrarestore.core.storage.location import root_path

    key = load_key(args.key_file) if getattr(args, "key_file", None) else None
    inventory = scan_root(root_path(getattr(args, "root", None) or DEFAULT_ROOT), key=key)
    now = datetime.now()
    if args.json:
        print(json.dumps(to_json(inventory, now), indent=2))
    else:
        print_table(inventory, now, wide=args.wide)
    return 0


def _problems(problems) -> list[dict]:
    return [{"code": p.code, "backup": p.backup, "message": p.message} for p in problems]


def _backup_json(backup) -> dict:
    checkpoints, info = backup.checkpoints, backup.info
    return {
        "name": backup.name,
        "path": str(backup.path),
        "type": backup.kind,
        "artifact": backup.artifact,
        "timestamp": backup.timestamp.isoformat(),
        "from_lsn": checkpoints.from_lsn if checkpoints else None,
        "to_lsn": checkpoints.to_lsn if checkpoints else None,
        "last_lsn": checkpoints.last_lsn if checkpoints else None,
        "backup_type": checkpoints.backup_type if checkpoints else None,
        "lsn_source": backup.lsn_source,
        "size": backup.size,
        "compressed": backup.compression is not None,
        "compression": backup.compression,
        "encrypted": backup.encrypted,
        "tool": info.tool_name if info else None,
        "tool_version": info.tool_version if info else None,
        "server_version": info.server_version if info else None,
        "completed_ok": backup.completed_ok,
        "copy_of": backup.copy_of,
        "state": backup.state,
        "problems": _problems(backup.problems),
    }


def _point_json(point, now) -> dict:
    return {
        "day": point.day.name if point.day else None,
        "backup": point.target.name,
        "members": [m.name for m in point.members],
        "timestamp": point.target.timestamp.isoformat(),
        "age_seconds": int((now - point.target.timestamp).total_seconds()),
    }


def host_of(day) -> str | None:
    """The level above the day in the root (the host in `PREFIX/<host>/<day>/`), None for a top-level day."""
    return day.name.rpartition("/")[0] or None


def to_json(inventory, now) -> dict:
    """The stable document `--json` prints (keys are only ever added)."""
    newest = inventory.newest_restore_point()
    return {
        "root": str(inventory.root),
        "hosts": sorted({host for day in inventory.days if (host := host_of(day))}),
        "bytes_fetched": inventory.fetched,
        "requests": inventory.requests,
        "newest_restore_point": _point_json(newest, now) if newest else None,
        "days": [
            {
                "name": day.name,
                "host": host_of(day),
                "path": str(day.path),
                "problems": _problems(day.problems),
                "backups": [_backup_json(b) for b in day.backups],
                "chains": [
                    {
                        "members": [m.name for m in chain.members],
                        "problems": _problems(chain.problems),
                        "restore_points": [[m.name for m in p.members] for p in chain.restore_points()],
                    }
                    for chain in day.chains
                ],
            }
            for day in inventory.days
        ],
    }


def _lsn_range(backup) -> str:
    checkpoints = backup.checkpoints
    if checkpoints is None:
        return "?"
    return f"{checkpoints.from_lsn}..{checkpoints.to_lsn}"


def _short(message: str, backup) -> str:
    """The message without the backup's own path, which the line already names."""
    return message.removeprefix(str(backup.path)).lstrip(": ") or message


SHORT_KINDS = {"full": "full", "incremental": "incr"}
SHORT_COMPRESSIONS = {"qpress": "qp", "lz4": "lz4", "zstd": "zst"}
STATE_STYLES = {"ok": "green", "copy": "cyan", "blocked": "yellow"}
GAP = "  "


def _cells(backup, now, more: bool) -> list[str]:
    """The columns after the name: type, size, age, state (and *more*: LSN range, time)."""
    import humanize

    from xtrarestore.tui import display

    kind = " ".join(filter(None, (SHORT_KINDS.get(backup.kind, "?"), SHORT_COMPRESSIONS.get(backup.compression),
                                  "enc" * backup.encrypted)))
    cells = [kind, humanize.naturalsize(backup.size, binary=True), display.age(backup.timestamp, now), backup.state]
    if more:
        cells += [_lsn_range(backup), display.clock(backup.timestamp)]
    return cells


def _rows(inventory, now, more: bool) -> tuple[list[str], list[tuple]]:
    """Column headers after the name, and (day, backup or None, shown name, cells) rows in day order."""
    from xtrarestore.core.inventory.names import shown_name

    headers = ["type", "size", "age", "state"] + (["LSN range", "time"] if more else [])
    rows = []
    for day in inventory.days:
        backups = sorted(day.backups, key=lambda b: (b.timestamp, b.name))
        if not backups:
            rows.append((day, None, "(no backups)", [""] * len(headers)))
        rows += [(day, b, shown_name(b), _cells(b, now, more)) for b in backups]
    return headers, rows


def print_table(inventory, now, *, width: int | None = None, wide: bool = False) -> None:
    """The inventory for people, fitted to *width* columns (the terminal's; 80 when piped).

    Each backup's name is printed whole on one line: when a name and its
    details do not fit side by side, the details go on the line beneath.
    Problems follow the table in full, wrapped at words.
    """
    from rich.console import Console
    from rich.text import Text

    from xtrarestore.core.inventory.names import shown_name
    from xtrarestore.core.shown import shown
    from xtrarestore.tui import display

    width = width or display.terminal_width(wide)
    console = Console(highlight=False, soft_wrap=True, width=min(width, 1 << 12))

    def say(line: str, style: str = "") -> None:
        for piece in display.wrap(shown(line), width):
            console.print(Text(piece, style=style))

    newest = inventory.newest_restore_point()
    say(f"Backup root {inventory.root}", "bold")
    if newest is None:
        say("No restorable backup found.", "bold red")
    else:
        age = display.age(newest.target.timestamp, now)
        say(f"Newest restore point ({age} ago, --upto latest): {newest.day.name}/{shown_name(newest.target)}",
            "bold green")
        say("  applies: " + " + ".join(shown_name(m) for m in newest.members), "dim")
    indent = "  "

    def layout(more: bool):
        headers, rows = _rows(inventory, now, more)
        widths = [max([len(h)] + [len(r[3][i]) for r in rows]) for i, h in enumerate(headers)]
        room = width - len(indent) - sum(widths) - len(GAP) * len(widths)
        return headers, rows, widths, room, sum(len(r[2]) > room for r in rows)

    # The LSN range and time are shown when they put no extra name on a line of its own (or with --wide).
    headers, rows, widths, room, apart = layout(True)
    if not wide and apart > layout(False)[4]:
        headers, rows, widths, room, apart = layout(False)
    names = [len(r[2]) for r in rows] or [0]
    name_width = max([len("backup")] + [n for n in names if n <= room] or [min(names)])

    def details(cells, *, states: bool = True) -> Text:
        text = Text()
        for index, (cell, size) in enumerate(zip(cells, widths, strict=True)):
            style = STATE_STYLES.get(cell, "red") if states and index == 3 and cell else ""
            text.append(GAP + (cell.ljust(size) if index < len(cells) - 1 else cell), style=style)
        return text

    console.print(Text(indent + "backup".ljust(name_width), style="bold") + details(headers, states=False))
    findings: list[tuple[str, str]] = []  # (day or DAY/FILE, "code: message")
    current = None
    for day, backup, name, cells in rows:
        if day is not current:
            current = day
            codes = ", ".join(dict.fromkeys(p.code for p in day.problems))
            console.print(Text.assemble((shown(day.name), "bold"), (f"  {codes}" if codes else "", "red")))
            findings += [(day.name, f"{p.code}: {p.message}") for p in day.problems]
        if len(name) <= name_width:
            console.print(Text(indent + name.ljust(name_width)) + details(cells))
        else:
            console.print(Text(indent + name))
            console.print(Text(indent + " " * name_width) + details(cells))
        if backup is not None:
            findings += [(f"{day.name}/{backup.name}", f"{p.code}: {_short(p.message, backup)}")
                         for p in backup.problems]
    if findings:
        console.print()
        console.print(Text("Problems:", style="bold"))
        about = None
        for subject, problem in dict.fromkeys(findings):
            if subject != about:
                about = subject
                console.print(Text(f"  {shown(subject)}"))
            say(f"      {problem}")
