"""Parse the small metadata files every backup carries.

`xtrabackup_checkpoints` / `mariadb_backup_checkpoints` hold the LSN range a
backup covers, which is all chaining needs. The reference readers match keys
positionally, but the key set differs between XtraBackup 2.4, 8.x and
mariabackup (FORMATS.md §4), so we match by name and keep whatever else is
there. `xtrabackup_info` tells which tool and server made the backup, and
`xtrabackup_binlog_info` where in the binary log it stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..errors import BackupFormatError

FULL_TYPES = ("full-backuped", "full-prepared", "log-applied")
BACKUP_TYPES = (*FULL_TYPES, "incremental")
REQUIRED = ("backup_type", "from_lsn", "to_lsn")
LSN_KEYS = ("from_lsn", "to_lsn", "last_lsn", "flushed_lsn")
LSN_LIMIT = 1 << 64  # InnoDB's LSNs are unsigned 64-bit numbers
_PASSWORD = re.compile(r"(?<!\S)(--password=|-p)\S+")


@dataclass(frozen=True, slots=True)
class Checkpoints:
    """The LSN range of one backup, and the state it is in."""

    backup_type: str
    from_lsn: int
    to_lsn: int
    last_lsn: int = 0
    flushed_lsn: int = 0
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    source: str = field(default="", compare=False)

    @property
    def kind(self) -> str:
        """`incremental` for an incremental backup, `full` for anything else."""
        return "incremental" if self.backup_type == "incremental" else "full"

    @property
    def prepared(self) -> bool:
        """Whether `--prepare` already ran on this backup (it cannot take another incremental then)."""
        return self.backup_type in ("full-prepared", "log-applied")


@dataclass(frozen=True, slots=True)
class BinlogPosition:
    """Where the backup stands in the binary log (for point-in-time recovery)."""

    file: str
    position: int
    gtid: str | None = None


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """The interesting part of `xtrabackup_info`; *fields* keeps every key (command line redacted)."""

    tool_name: str | None
    tool_version: str | None
    server_version: str | None
    start_time: datetime | None
    end_time: datetime | None
    from_lsn: int | None
    to_lsn: int | None
    incremental: bool | None
    compressed: bool | None
    encrypted: bool | None
    fields: dict[str, str] = field(default_factory=dict, compare=False)


def _pairs(text: str, source: str, strict: bool) -> dict[str, str]:
    """`key = value` lines as a dict; with *strict*, any other non-blank line is an error."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            if strict:
                raise BackupFormatError(f"{source}: line {number} is not 'key = value': {line[:60]!r}")
            continue
        pairs[key.strip()] = value.strip()
    return pairs


def _lsn(value: str, key: str, source: str) -> int:
    """An LSN as written today, or as the `high:low` pair very old versions wrote."""
    high, colon, low = value.partition(":")
    digits = (high, low) if colon else (value,)
    if not all(part.isascii() and part.isdigit() for part in digits):  # no sign, no `_`, no spaces inside
        negative = value.startswith("-") and value[1:].isascii() and value[1:].replace(":", "").isdigit()
        raise BackupFormatError(f"{source}: {key} is {'negative' if negative else 'not a number'}: {value[:40]!r}")
    if len(value) > 40:
        raise BackupFormatError(f"{source}: {key} is not an LSN (more than 64 bits): {value[:40]!r}…")
    number = (int(high) << 32 | int(low)) if colon else int(value)
    if number >= LSN_LIMIT or (colon and int(low) >= 1 << 32):
        raise BackupFormatError(f"{source}: {key} {value[:40]} is not an LSN (more than 64 bits)")
    return number


def parse_checkpoints(text: str, source: str) -> Checkpoints:
    """Parse a checkpoints file; *source* names it in errors.

    backup_type, from_lsn and to_lsn are required (as in XtraBackup 8);
    last_lsn and flushed_lsn default to 0; unknown keys are kept in `extra`.
    """
    if "\0" in text:
        raise BackupFormatError(f"{source}: not a checkpoints file (binary data)")
    pairs = _pairs(text, source, strict=True)
    for key in REQUIRED:
        if key not in pairs:
            raise BackupFormatError(f"{source}: checkpoints file has no {key}")
    backup_type = pairs.pop("backup_type")
    if backup_type not in BACKUP_TYPES:
        raise BackupFormatError(f"{source}: unknown backup_type {backup_type[:40]!r}")
    lsns = {key: _lsn(pairs.pop(key), key, source) for key in LSN_KEYS if key in pairs}
    if lsns["from_lsn"] > lsns["to_lsn"]:
        raise BackupFormatError(f"{source}: from_lsn {lsns['from_lsn']} is after to_lsn {lsns['to_lsn']}")
    return Checkpoints(backup_type=backup_type, **lsns, extra=pairs, source=source)


def _time(value: str | None) -> datetime | None:
    """`%Y-%m-%d %H:%M:%S` as xtrabackup_info writes it (fromisoformat: strptime is 20x slower)."""
    try:
        return datetime.fromisoformat(value or "")
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _yes(value: str | None) -> bool | None:
    if not value:
        return None
    return value.upper() not in ("N", "NO", "0", "OFF")


def parse_info(text: str) -> BackupInfo:
    """Parse `xtrabackup_info` / `mariadb_backup_info`; missing or odd values become None.

    The tool's command line is kept with any password replaced by `***`, so
    the result is safe to display or log.
    """
    fields = _pairs(text, "xtrabackup_info", strict=False)
    if "tool_command" in fields:
        fields["tool_command"] = _PASSWORD.sub(lambda m: m.group(1) + "***", fields["tool_command"])
    return BackupInfo(
        tool_name=fields.get("tool_name") or None,
        tool_version=fields.get("tool_version") or fields.get("ibbackup_version") or None,
        server_version=fields.get("server_version") or None,
        start_time=_time(fields.get("start_time")),
        end_time=_time(fields.get("end_time")),
        from_lsn=_int(fields.get("innodb_from_lsn")),
        to_lsn=_int(fields.get("innodb_to_lsn")),
        incremental=_yes(fields.get("incremental")),
        compressed=_yes(fields.get("compressed")),
        encrypted=_yes(fields.get("encrypted")),
        fields=fields,
    )


def parse_binlog_info(text: str) -> BinlogPosition | None:
    """Parse `xtrabackup_binlog_info`: `file<TAB>pos[<TAB>gtid]`; None when empty.

    Some MariaDB versions write one line per binlog file with an empty `[]`
    GTID on all but the last; the last line is the position.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    parts = lines[-1].split("\t") if "\t" in lines[-1] else lines[-1].split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise BackupFormatError(f"xtrabackup_binlog_info: not 'file<TAB>position': {lines[-1][:60]!r}")
    gtid = parts[2].strip() if len(parts) > 2 and parts[2].strip() not in ("", "[]") else None
    return BinlogPosition(parts[0], int(parts[1]), gtid)


MARIADB = "mariadb"
PERCONA = "percona"


def flavour_of_tool(tool_name: str | None) -> str | None:
    """The flavour that made a backup (MARIADB or PERCONA), from `xtrabackup_info`'s tool_name."""
    if not tool_name:
        return None
    name = tool_name.lower()
    if "mariabackup" in name or "mariadb-backup" in name:
        return MARIADB
    if "xtrabackup" in name:
        return PERCONA
    return None
