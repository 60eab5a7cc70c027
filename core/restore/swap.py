"""Making a prepared backup a datadir in place: what `--copy-back` would have left out goes to the record.

`mariabackup --copy-back` copies a prepared backup into the datadir but skips
the backup's own bookkeeping: `backup-my.cnf`, the `xtrabackup_*` (and, in
newer releases, `mariadb_backup_*`) files, and `.qp`, `.xbcrypt`, `.pmap`,
`.tmp` leftovers anywhere in the tree (XtraBackup 8 also `.lz4`/`.zst`). It
copies `ib_logfile0` when it holds the prepared (empty) redo log and removes
the redo logs at the destination when the backup has none or an empty one.
When the prepared copy is renamed into place instead, the same files are moved
(never deleted) into the workspace's record before the stop, so the datadir
holds what copy-back would have produced and the binlog position stays
readable for verification and roll-forward.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

from ..errors import StepFailedError, XtraRestoreError

TOP_NAMES = ("backup-my.cnf",)
TOP_PREFIXES = ("xtrabackup_", "mariadb_backup_")
SUFFIXES = (".qp", ".xbcrypt", ".pmap", ".tmp", ".lz4", ".zst")
_REDO = re.compile(r"ib_logfile\d+")
MANIFEST = "moved-from-the-datadir.txt"


def _say(text: str) -> None:
    print(text, flush=True)


def left_out(relative: Path, size: int) -> bool:
    """Would copy-back leave this file (path relative to the prepared copy, its size) out of the datadir?"""
    name = relative.name
    if len(relative.parts) == 1:
        if name in TOP_NAMES or name.startswith(TOP_PREFIXES):
            return True
        if _REDO.fullmatch(name) and size == 0:
            return True
    return name.endswith(SUFFIXES)


def keep_record(prepared: Path, record: Path) -> list[Path]:
    """Move what copy-back leaves out from *prepared* into *record* (same tree); return what moved.

    Idempotent: a file already in the record is not looked for again, so a
    resumed step finishes the moves a killed one began.
    """
    if not prepared.is_dir():
        raise StepFailedError(f"{prepared}: the prepared copy is not there")
    record.mkdir(mode=0o700, parents=True, exist_ok=True)
    moved = []
    for root, _dirs, files in os.walk(prepared):
        for name in files:
            path = Path(root) / name
            relative = path.relative_to(prepared)
            if path.is_symlink() or not left_out(relative, path.stat().st_size):
                continue
            destination = record / relative
            if destination.exists():
                raise StepFailedError(f"{destination}: already exists; refusing to overwrite it")
            destination.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.rename(path, destination)
            moved.append(relative)
    with open(record / MANIFEST, "a", encoding="utf-8") as manifest:
        manifest.writelines(f"{relative}\n" for relative in moved)
    _say(f"moved {len(moved)} files that copy-back leaves out into {record}")
    return moved


def run(argv: list[str]) -> int:
    """`xtrarestore-step keep-record PREPARED --into RECORD`."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("keep-record")
    p.add_argument("prepared", type=Path)
    p.add_argument("--into", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        keep_record(args.prepared, args.into)
    except (XtraRestoreError, OSError) as error:
        print(f"error: {error}", flush=True)
        return 1
    return 0
