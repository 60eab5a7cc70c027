"""`xtrarestore inventory`: what can be restored, as a table for people or JSON for scripts.

The newest restore point comes first because it is the question at 3 a.m.;
problem messages follow the table in full, since a table cell would cut them.
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
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import json
    from datetime import datetime
    from pathlib import Path

    from xtrarestore.core.archive.keys import load_key
    from xtrarestore.core.inventory.roots import scan_root
    from xtrarestore.core.storage.location import root_path

    key = load_key(args.key_file) if getattr(args, "key_file", None) else None
    inventory = scan_root(root_path(getattr(args, "root", None) or DEFAULT_ROOT), key=key)
    now = datetime.now()
    if args.json:
        print(json.dumps(to_json(inventory, now), indent=2))
    else:
        print_table(inventory, now)
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


def print_table(inventory, now) -> None:
    import humanize
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(highlight=False)
    newest = inventory.newest_restore_point()
    console.print(Text.assemble("Backup root ", (str(inventory.root), "bold")))
    if newest is None:
        console.print("[bold red]No restorable backup found.[/bold red]")
    else:
        age = humanize.naturaltime(now - newest.target.timestamp)
        steps = " + ".join(m.name for m in newest.members)
        where = f"{newest.day.name}/{newest.target.name}"
        console.print(Text.assemble("Newest restore point: ", (where, "bold green"), f" ({age})"))
        console.print(Text(f"  applies: {steps}", style="dim"))
    table = Table(box=None, pad_edge=False)
    for column in ("day", "backup", "type", "LSN range", "size", "age", "state", "problems"):
        table.add_column(column, overflow="fold", no_wrap=column in ("day", "size", "age", "state"))
    findings: list[str] = []
    for day in inventory.days:
        for problem in day.problems:
            findings.append(f"{day.name}: {problem.code}: {problem.message}")
        if not day.backups:
            table.add_row(Text(day.name), "(no backups)", "", "", "", "", "", ", ".join(p.code for p in day.problems))
        for row, backup in enumerate(sorted(day.backups, key=lambda b: (b.timestamp, b.name))):
            kind = " ".join(
                filter(None, (SHORT_KINDS.get(backup.kind, "?"), SHORT_COMPRESSIONS.get(backup.compression),
                              "enc" * backup.encrypted))
            )
            state = Text(backup.state, style=STATE_STYLES.get(backup.state, "red"))
            table.add_row(
                Text("" if row else day.name),
                Text(backup.name.removesuffix(".xbstream")),
                kind,
                _lsn_range(backup),
                humanize.naturalsize(backup.size, binary=True),
                humanize.naturaltime(now - backup.timestamp),
                state,
                ", ".join(dict.fromkeys(p.code for p in backup.problems)),
            )
            findings += [f"{day.name}/{backup.name}: {p.code}: {_short(p.message, backup)}" for p in backup.problems]
    console.print(table)
    if findings:
        console.print("\nProblems:")
        for line in dict.fromkeys(findings):
            console.print(f"  {line}", markup=False, highlight=False)
