"""The tables a backup holds, from its own file list: one `.frm` per table, read without extracting.

A stream's member names come from its chunk headers alone (`read_members`
seeks past every payload); a backup directory is listed. Every backup,
incrementals included, carries the `.frm` of every table that existed when it
was taken, so the restore point's last backup gives the list. Names on disk
are in MariaDB's file-name encoding: `@XXXX` (hex code point) is decoded
here; the rarer two-character forms are kept as written.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..archive.members import final_name
from ..archive.xbstream import read_members
from ..errors import BackupFormatError

SYSTEM_SCHEMAS = frozenset({"mysql", "performance_schema", "sys", "information_schema"})
_PLAIN = re.compile(r"^[A-Za-z0-9_]+$")
_HEX = re.compile(r"@([0-9a-f]{4})")


def backup_tables(backup) -> list[tuple[str, str]] | None:
    """(schema, table) of the user tables in *backup*, sorted; None when its file list cannot be read here."""
    path = Path(getattr(backup, "path", ""))
    try:
        if path.is_dir():
            names = [str(p.relative_to(path)) for p in path.glob("*/*.frm")]
        elif path.is_file():
            names = read_members(path, lambda name: False)[1]
        else:
            return None
    except (OSError, BackupFormatError):
        return None
    found = set()
    for name in names:
        parts = final_name(name).split("/")
        if len(parts) == 2 and parts[1].endswith(".frm"):
            schema, table = decode(parts[0]), decode(parts[1][: -len(".frm")])
            if schema not in SYSTEM_SCHEMAS:
                found.add((schema, table))
    return sorted(found)


def decode(name: str) -> str:
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), name)


def missing_from(tables: list[tuple[str, str]], catalog: list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """The asked-for tables the catalog proves absent (only names whose file name is the name itself)."""
    if catalog is None:
        return []
    present = set(catalog)
    return [t for t in tables if _PLAIN.match(t[0]) and _PLAIN.match(t[1]) and t not in present]
