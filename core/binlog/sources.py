"""Where binlogs come from: directories of files, and the position a backup recorded.

Binlog files are found by name (`<basename>.<6+ digits>` starting with the
binlog magic) in any number of directories: the datadir being replaced,
archives kept by `mariadb-binlog --read-from-remote-server --raw
--stop-never`, the live server's binlog directory. The same file may sit in
several of them (an archive copy differs from the original only in the
in-use flag); the longest copy is used, as it holds the most events.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BinlogError, BinlogOffError
from ..files import open_regular
from .events import Gtid, parse_gtid_list
from .reader import MAGIC, binlog_number

# mariabackup 10.x writes xtrabackup_binlog_info; 11.x renamed its files (MDEV-18931).
BINLOG_INFO_NAMES = ("mariadb_backup_binlog_info", "xtrabackup_binlog_info")


@dataclass(frozen=True, slots=True)
class BinlogPosition:
    """A place in the binlogs: file name, byte offset, and the GTID position there (`0-1-5,2-1-9`, or "")."""

    file: str
    pos: int
    gtid: str = ""

    @property
    def gtids(self) -> dict[int, Gtid]:
        """The MariaDB GTID position by domain; empty for a MySQL GTID set (`uuid:1-100`), kept as text only."""
        return {} if ":" in self.gtid else parse_gtid_list(self.gtid)

    def __str__(self) -> str:
        return f"{self.file}:{self.pos}"


def parse_binlog_info(text: str, source: str = "xtrabackup_binlog_info") -> BinlogPosition | None:
    """Parse `file<TAB>pos[<TAB>gtid-list]`; None when the file is empty (binary logging was off).

    Some versions write one line per binlog file with `[]` on all but the last:
    the last line is the position.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    parts = lines[-1].split("\t") if "\t" in lines[-1] else lines[-1].split()
    if len(parts) < 2 or not parts[1].strip().isdigit():
        raise BinlogError(f"{source}: not 'file<TAB>position[<TAB>gtid]': {lines[-1][:60]!r}")
    gtid = " ".join(parts[2:]).strip() if len(parts) > 2 else ""
    position = BinlogPosition(parts[0].strip(), int(parts[1]), "" if gtid == "[]" else gtid)
    try:
        _ = position.gtids  # a MariaDB GTID position must parse now, not when the timeline is built
    except ValueError as exc:
        raise BinlogError(f"{source}: {exc}") from None
    return position


def read_backup_position(backup_dir: Path) -> BinlogPosition:
    """The binlog position recorded in an extracted or prepared backup directory.

    Raises BinlogOffError when the backup records none: the server had binary
    logging off, so no binlog can roll it forward.
    """
    backup_dir = Path(backup_dir)
    for name in BINLOG_INFO_NAMES:
        path = backup_dir / name
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise BinlogError(f"{path}: cannot read: {exc.strerror}") from None
        position = parse_binlog_info(text, str(path))
        if position is not None:
            return position
    raise BinlogOffError(f"{backup_dir}: the backup records no binlog position: binary logging was off on its server")


@dataclass(eq=False)
class BinlogSet:
    """The binlog files found in some directories, one path per file name."""

    dirs: tuple[Path, ...]
    files: dict[str, Path]
    copies: dict[str, list[Path]] = field(default_factory=dict)  # names found in more than one directory

    def sequence(self, base: str) -> list[tuple[int, Path]]:
        """(number, path) of the files named `<base>.NNNNNN`, in number order."""
        found = []
        for name, path in self.files.items():
            parsed = binlog_number(name)
            if parsed and parsed[0] == base:
                found.append((parsed[1], path))
        return sorted(found)

    @property
    def basenames(self) -> list[str]:
        return sorted({parsed[0] for name in self.files if (parsed := binlog_number(name))})


def open_binlog_sources(dirs: list[Path] | tuple[Path, ...]) -> BinlogSet:
    """Find the binlog files in *dirs* (nothing is read past each file's 4-byte magic).

    A file named like one of the binlogs found (same base, a number) that
    lacks the magic, say empty after a failed copy, is kept in the set, so
    reading it names it rather than the sequence quietly starting after it
    or calling it missing. Other numbered files (`aria_log.00000001` in a
    datadir) are left out.
    """
    dirs = tuple(Path(d) for d in dirs)
    for directory in dirs:
        if str(directory).startswith("s3:/"):  # Path folds s3:// to s3:/
            url = "s3://" + str(directory)[len("s3:/"):]
            raise BinlogError(f"{url}: binlogs are read from local directories only; copy them down first"
                              f" (aws s3 sync {url} DIR) and give --binlog-dir DIR")
    files: dict[str, Path] = {}
    sizes: dict[str, int] = {}
    copies: dict[str, list[Path]] = {}
    unmarked: dict[str, Path] = {}
    for directory in dirs:
        try:
            entries = sorted(directory.iterdir())
        except OSError as exc:
            raise BinlogError(f"{directory}: cannot list binlog directory: {exc.strerror}") from None
        for path in entries:
            if not binlog_number(path.name):
                continue
            if not _has_magic(path):
                if path.is_file():
                    unmarked.setdefault(path.name, path)
                continue
            size = path.stat().st_size
            if path.name in files:
                copies.setdefault(path.name, [files[path.name]]).append(path)
                if size <= sizes[path.name]:
                    continue
            files[path.name] = path
            sizes[path.name] = size
    if not files:
        listed = ", ".join(str(d) for d in dirs) or "no directory given"
        raise BinlogError(f"{listed}: no binlog files (name.NNNNNN starting with the binlog magic)")
    bases = {binlog_number(name)[0] for name in files}
    for name, path in unmarked.items():
        if name not in files and binlog_number(name)[0] in bases:
            files[name] = path
    return BinlogSet(dirs=dirs, files=files, copies=copies)


def _has_magic(path: Path) -> bool:
    """Does *path* start with the binlog magic? A special file named like a binlog is refused, never opened
    for a blocking read (a FIFO would hang the scan)."""
    try:
        fd = open_regular(path)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            raise BinlogError(f"{path}: {exc.strerror}, where a binlog file is named") from None
        return False
    with os.fdopen(fd, "rb") as handle:
        return handle.read(4) == MAGIC
