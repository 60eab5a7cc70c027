"""Find the backups under a backup root and read what each one is, without extracting anything.

Layouts recognised (DESIGN.md): day directories as `backup-mysql.sh` makes
them (weekday names `Mon`/`Monday`, or dated `2026-11-21`, `20261121`,
`11-21-2026`, or any directory holding `.xbstream` files), each with
`full-…`/`incremental-…` streams, `*.xbstream.incomplete`, the day's
`--extra-lsndir` copy of `xtrabackup_checkpoints` and `backup-progress.log`,
and extracted backup directories (`restore/full-…/`); the Percona blog's
`full/ incr/ lsns/` layout with timestamped backup directories or streams;
a directory holding plain backup directories (`--target-dir` backups, or
`restore/` left at the root); and a root that is itself one day directory or
one backup directory. Directories are searched three levels deep; symlinked
directories are not followed there (a dangling one is reported) but the
root may be a symlink.

A backup's own state (`chain.link_day` later settles the final one):

* `incomplete` — its name ends `.xbstream.incomplete` (still running, or killed).
* `unreadable` — the stream is truncated or is not xbstream, or its
  checkpoints cannot be decoded or parsed; the message is the reason.
* `failed` — a finished artifact whose backup did not complete: an empty
  stream, a stream or backup directory without checkpoints, or the day's
  latest stream when `backup-progress.log` does not end with `completed OK!`.
* `key-required` — the checkpoints are encrypted and no key (or a wrong one)
  was given, and no extra-lsndir copy is provably this backup's (the day's
  copy for its latest stream, see `_lsndir_matches`; `lsns/<same name>/`
  in the `full/ incr/ lsns/` layout).
* `not-a-file` — named like a stream (`*.xbstream`, `*.xbstream.incomplete`)
  but a FIFO, a device, a socket or a directory that is no backup directory:
  never opened (a FIFO would block), reported instead of left out.
* `copy` — an extracted directory of one of the day's streams (same name or
  same checkpoints): listed, not chained.
* `ok` — LSNs known.

Browsing never writes: files are opened read-only and nothing is created.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from datetime import datetime, timedelta
from pathlib import Path

from ..archive.members import decode_member
from ..errors import BackupFormatError, BackupRootError, KeyFileError, WrongKeyError
from ..files import file_type
from ..programs import OK_LINE
from . import chains
from .checkpoints import BackupInfo, Checkpoints, parse_binlog_info, parse_checkpoints, parse_info
from .model import Backup, Day, Inventory, Problem
from .stream_metadata import BINLOG_INFO, CHECKPOINTS, ENCODINGS, INFO, find_member, read_stream_metadata

STREAM = ".xbstream"
INCOMPLETE = ".xbstream.incomplete"
MAX_DEPTH = 3
MAX_METADATA_FILE = 1 << 20
# Files only a backup directory has; the extra-lsndir copy has checkpoints and info alone.
BACKUP_DIR_MARKERS = ("backup-my.cnf", "xtrabackup_logfile", "ib_logfile0", "ibdata1")
WEEKDAYS = {
    name.lower()
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    for name in (day, day[:3])
}
DATED = re.compile(r"^(\d{4}[-_.]?\d{2}[-_.]?\d{2}|\d{2}[-_.]\d{2}[-_.]\d{4})$")
TIMESTAMPS = (
    (re.compile(r"(\d{2})-(\d{2})-(\d{4})_(\d{2})-(\d{2})-(\d{2})"), (3, 1, 2, 4, 5, 6)),  # backup-mysql.sh
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})[_T ](\d{2})[-:_](\d{2})[-:_](\d{2})"), (1, 2, 3, 4, 5, 6)),
    (re.compile(r"(\d{4})(\d{2})(\d{2})[_T-]?(\d{2})(\d{2})(\d{2})"), (1, 2, 3, 4, 5, 6)),
)
LOG = "backup-progress.log"
DIR_COMPRESSIONS = ((".qp", "qpress"), (".lz4", "lz4"), (".zst", "zstd"))
# How far a stream's mtime may lie from the extra-lsndir xtrabackup_info's times and still be that backup.
LSNDIR_SLACK = timedelta(seconds=60)


# -- discovery ---------------------------------------------------------------


def _listing(path: Path) -> dict[str, os.DirEntry]:
    with os.scandir(path) as entries:
        return {entry.name: entry for entry in entries}


def _is_dir(entry: os.DirEntry, follow: bool = True) -> bool:
    try:
        return entry.is_dir(follow_symlinks=follow)
    except OSError:
        return False


def _is_backup_dir(names: dict[str, os.DirEntry]) -> bool:
    return any(marker + encoding in names for marker in BACKUP_DIR_MARKERS for encoding in ENCODINGS)


def _is_series(names: dict[str, os.DirEntry]) -> bool:
    return "full" in names and ("incr" in names or "lsns" in names) and _is_dir(names["full"])


def _is_day(name: str, names: dict[str, os.DirEntry]) -> bool:
    if name.lower() in WEEKDAYS or DATED.match(name) or LOG in names:
        return True
    return any(n.endswith((STREAM, INCOMPLETE)) for n in names)


def _unreadable(path: Path, error: OSError) -> Problem:
    return Problem("unreadable", None, f"{path}: cannot read directory: {error.strerror or error}")


def _unreadable_day(name: str, path: Path, error: OSError) -> Day:
    return Day(name, path, problems=[_unreadable(path, error)])


def _find(root: Path, key: bytes | None) -> list[Day]:
    try:
        names = _listing(root)
    except OSError as error:
        reason = error.strerror or str(error)
        raise BackupRootError(f"{root}: cannot read backup root: {reason}") from None
    if _is_backup_dir(names):
        day = Day(root.name, root)
        day.backups.append(_read_directory(root, root.name, names, key, None))
        return [day]
    days: list[Day] = []
    _collect(root, "", names, 0, key, days)
    return days


def _collect(path: Path, rel: str, names: dict[str, os.DirEntry], depth: int, key: bytes | None, days: list[Day]):
    """Add the day (or series) at *path*, or search its subdirectories for days."""
    label = rel or path.name
    if _is_series(names):
        days.append(_read_series(path, label, names, key))
        return
    if _is_day(label.rsplit("/", 1)[-1], names):
        days.append(_read_day(path, label, names, key))
        return
    if depth >= MAX_DEPTH:
        return
    unreadable: list[Day] = []
    subdirs: list[tuple[Path, str, dict[str, os.DirEntry]]] = []
    for name in sorted(names):
        entry, sub, sub_label = names[name], Path(names[name].path), f"{rel}/{name}" if rel else name
        if name.startswith("."):
            continue
        if entry.is_symlink() and not sub.exists():
            dangling = FileNotFoundError(errno.ENOENT, "dangling symbolic link")
            unreadable.append(_unreadable_day(sub_label, sub, dangling))
            continue
        if not _is_dir(entry, follow=False):
            continue
        try:
            sub_names = _listing(sub)
        except OSError as error:
            unreadable.append(_unreadable_day(sub_label, sub, error))
            continue
        if _is_backup_dir(sub_names):  # e.g. restore/ made by extract-mysql.sh: its backups form a day
            days.append(_read_day(path, label, names, key))
            return
        subdirs.append((sub, sub_label, sub_names))
    days += unreadable
    for sub, sub_label, sub_names in subdirs:
        _collect(sub, sub_label, sub_names, depth + 1, key, days)


# -- reading artifacts -------------------------------------------------------


def _name_time(name: str) -> datetime | None:
    """The time in an artifact's name (see TIMESTAMPS), if it has one."""
    for pattern, order in TIMESTAMPS:
        match = pattern.search(name)
        if match:
            try:
                return datetime(*(int(match.group(i)) for i in order))
            except ValueError:
                continue
    return None


def _new_backup(path: Path, name: str, artifact: str, size: int) -> Backup:
    """A backup timed by its name, else (until its xtrabackup_info is read) by its mtime."""
    named = _name_time(name)
    when = named or datetime.fromtimestamp(os.stat(path).st_mtime)
    return Backup(name, path, _kind_from_name(name), artifact, when, size, named_time=named is not None)


def _time_from_info(backup: Backup) -> None:
    """Without a time in the name, the backup's own start time beats an mtime that copies and prepares change."""
    if not backup.named_time and backup.info is not None and backup.info.start_time is not None:
        backup.timestamp = backup.info.start_time


def _kind_from_name(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1].lower()
    if base.startswith("full"):
        return "full"
    if base.startswith("inc"):
        return "incremental"
    return None


def _decode(stored: str, data: bytes, key: bytes | None) -> bytes:
    return decode_member(stored, data, key)[1]


def _read_metadata(backup: Backup, members: dict[str, bytes], where: str, key: bytes | None, origin: str) -> bool:
    """Decode and parse checkpoints (and, if readable, info and binlog info) into *backup*.

    *members* maps stored names to stored bytes. Returns False when the
    checkpoints are encrypted and cannot be decoded (key-required: the caller
    may still prove an extra-lsndir copy is this backup's); any other failure
    marks the backup unreadable or failed.
    """
    stored = find_member(members, CHECKPOINTS)
    if stored is None:
        backup.fail("failed", f"{where}: no xtrabackup_checkpoints: the backup did not finish")
        return True
    source = f"{where}:{stored}"
    try:
        text = _decode(stored, members[stored], key).decode("utf-8", errors="replace")
        backup.checkpoints = parse_checkpoints(text, source)
    except (KeyFileError, WrongKeyError) as error:
        backup.fail("key-required", f"{where}: {error}")  # the decoder's message names the member
        return False
    except BackupFormatError as error:
        backup.fail("unreadable", str(error) if str(error).startswith(source) else f"{where}: {error}")
        return True
    backup.kind = backup.checkpoints.kind
    backup.lsn_source = origin
    for names, parse, attribute in ((INFO, parse_info, "info"), (BINLOG_INFO, parse_binlog_info, "binlog")):
        stored = find_member(members, names)
        if stored is None:
            continue
        try:
            setattr(backup, attribute, parse(_decode(stored, members[stored], key).decode("utf-8", errors="replace")))
        except (KeyFileError, WrongKeyError, BackupFormatError):
            pass  # informative only: the LSNs are what the inventory needs
    return True


def _read_stream(path: Path, name: str, artifact: str, key: bytes | None) -> Backup:
    info = os.stat(path)
    backup = _new_backup(path, name, artifact, info.st_size)
    if artifact == "incomplete":
        backup.fail("incomplete", f"{path}: backup still running or interrupted (.incomplete)")
    elif info.st_size == 0:
        backup.fail("failed", f"{path}: empty stream: the backup did not start")
        return backup
    meta = read_stream_metadata(path)
    backup.compression, backup.encrypted = meta.compression, meta.encrypted
    backup.chunks, backup.bytes_read = meta.chunks, meta.bytes_read
    if artifact == "incomplete":
        return backup
    if meta.error:
        backup.fail("unreadable", meta.error)
        return backup
    _read_metadata(backup, meta.members, str(path), key, "stream")
    _time_from_info(backup)
    return backup


def _small_files(path: Path, names: dict[str, os.DirEntry], wanted: tuple[str, ...]) -> dict[str, bytes]:
    found = {}
    for base in wanted:
        for encoding in ENCODINGS:
            entry = names.get(base + encoding)
            if entry is not None and entry.is_file() and entry.stat().st_size <= MAX_METADATA_FILE:
                found[entry.name] = Path(entry.path).read_bytes()
    return found


def _files(path: Path):
    """(name, size) of every file under *path*; files that vanish meanwhile are skipped."""
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                yield name, os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue


def tree_size(path: Path) -> int:
    """Bytes of the files under *path* (a datadir or backup has hundreds of files: cheap)."""
    return sum(size for _name, size in _files(path))


def _tree_size(path: Path) -> tuple[int, set[str]]:
    """Total bytes of the files under *path*, and the compression/encryption suffixes seen."""
    total, suffixes = 0, set()
    for name, size in _files(path):
        total += size
        stem = name.removesuffix(".xbcrypt")
        if stem != name:
            suffixes.add(".xbcrypt")
        suffixes.update(suffix for suffix, _name in DIR_COMPRESSIONS if stem.endswith(suffix))
    return total, suffixes


def _read_directory(
    path: Path, name: str, names: dict[str, os.DirEntry], key: bytes | None, lsndir: Path | None
) -> Backup:
    size, suffixes = _tree_size(path)
    backup = _new_backup(path, name, "directory", size)
    backup.encrypted = ".xbcrypt" in suffixes
    backup.compression = next((codec for suffix, codec in DIR_COMPRESSIONS if suffix in suffixes), None)
    try:
        members = _small_files(path, names, (*CHECKPOINTS, *INFO, *BINLOG_INFO))
    except OSError as error:
        backup.fail("unreadable", f"{path}: cannot read metadata: {error.strerror or error}")
        return backup
    if not _read_metadata(backup, members, str(path), key, "directory") and lsndir is not None:
        _use_lsndir(backup, lsndir)
    _time_from_info(backup)
    return backup


class LocalFiles:
    """How the rules below read sidecar files and a stream's last write: here, the local file system.

    A bucket root supplies its own (`bucket.BucketFiles`), so both apply the same rules.
    """

    @staticmethod
    def read_text(path: Path) -> str:
        return path.read_text(errors="replace")

    @staticmethod
    def written(path: Path) -> datetime:
        return datetime.fromtimestamp(os.stat(path).st_mtime)


LOCAL = LocalFiles()


def _read_lsndir(folder: Path, files=LOCAL) -> tuple[Checkpoints | None, BackupInfo | None, Path]:
    """The plain checkpoints (and info) an `--extra-lsndir` left in *folder*, if parseable."""
    for name in CHECKPOINTS:
        path = folder / name
        try:
            checkpoints = parse_checkpoints(files.read_text(path), str(path))
        except (OSError, BackupFormatError):
            continue
        info = None
        for info_name in INFO:
            try:
                info = parse_info(files.read_text(folder / info_name))
                break
            except OSError:
                continue
        return checkpoints, info, path
    return None, None, folder / CHECKPOINTS[0]


def _use_lsndir(backup: Backup, lsndir: Path | None, files=LOCAL) -> None:
    """Take a key-required backup's LSNs from an extra-lsndir copy proven to be its own."""
    checkpoints, _info, path = _read_lsndir(lsndir, files) if lsndir else (None, None, None)
    if checkpoints is None or (backup.kind is not None and backup.kind != checkpoints.kind):
        return
    backup.problems = [p for p in backup.problems if p.code != "key-required"]
    backup.checkpoints = checkpoints
    backup.kind = checkpoints.kind
    backup.lsn_source = str(path)
    backup.state = "ok"


def _lsndir_matches(backup: Backup, day_path: Path, files=LOCAL) -> bool:
    """Whether the day's extra-lsndir copy was written by *backup*.

    `backup-mysql.sh` rewrites the copy at the end of every backup, so it
    describes the latest one. We accept it for *backup* only when *backup* is
    the day's latest finished stream and the copy's xtrabackup_info agrees:
    same from/to LSNs as the checkpoints, and the stream's mtime (its last
    write) lies between that backup's start and end times (plus slack).
    """
    checkpoints, info, _path = _read_lsndir(day_path, files)
    if checkpoints is None or info is None or info.start_time is None or info.end_time is None:
        return False
    if (info.from_lsn, info.to_lsn) != (checkpoints.from_lsn, checkpoints.to_lsn):
        return False
    if backup.kind is not None and backup.kind != checkpoints.kind:
        return False
    try:
        written = files.written(backup.path)
    except OSError:
        return False
    return info.start_time - LSNDIR_SLACK <= written <= info.end_time + LSNDIR_SLACK


def _not_a_file(entry: os.DirEntry, name: str) -> Backup | None:
    """A `not-a-file` backup for *entry* when it is named like a stream but is no regular file, else None."""
    if not entry.name.endswith((STREAM, INCOMPLETE)) or entry.is_file():
        return None
    if entry.is_dir() and _is_backup_dir(_listing(Path(entry.path))):
        return None  # a backup directory named like a stream: read as a directory
    info = os.lstat(entry.path)
    path = Path(entry.path)
    what = file_type(os.stat(path).st_mode) if path.exists() else "a dangling symbolic link"
    backup = Backup(name, path, _kind_from_name(name), "stream", _name_time(name) or
                    datetime.fromtimestamp(info.st_mtime), 0, named_time=_name_time(name) is not None)
    backup.fail("not-a-file", f"{path}: named like a backup stream but is {what}; not read")
    return backup


def _read_day(path: Path, name: str, names: dict[str, os.DirEntry], key: bytes | None) -> Day:
    day = Day(name, path)
    for entry_name in sorted(names):
        entry = names[entry_name]
        try:
            if (odd := _not_a_file(entry, entry_name)) is not None:
                day.backups.append(odd)
            elif entry_name.endswith(INCOMPLETE) and entry.is_file():
                day.backups.append(_read_stream(Path(entry.path), entry_name, "incomplete", key))
            elif entry_name.endswith(STREAM) and entry.is_file():
                day.backups.append(_read_stream(Path(entry.path), entry_name, "stream", key))
            elif _is_dir(entry, follow=False) and not entry_name.startswith("."):
                day.backups += _directories_under(Path(entry.path), entry_name, key, day)
        except OSError as error:
            day.problems.append(Problem("unreadable", entry_name, f"{entry.path}: {error.strerror or error}"))
    _judge_latest(day)
    _mark_copies(day)
    return day


def _directories_under(path: Path, label: str, key: bytes | None, day: Day) -> list[Backup]:
    """Backup directories at *path* or one level below it (`restore/full-…/`)."""
    names = _listing(path)
    if _is_backup_dir(names):
        return [_read_directory(path, label, names, key, None)]
    found = []
    for name in sorted(names):
        entry = names[name]
        if not _is_dir(entry, follow=False):
            continue
        try:
            sub_names = _listing(Path(entry.path))
        except OSError as error:
            day.problems.append(_unreadable(Path(entry.path), error))
            continue
        if _is_backup_dir(sub_names):
            found.append(_read_directory(Path(entry.path), f"{label}/{name}", sub_names, key, None))
    return found


def _judge_latest(day: Day, files=LOCAL) -> None:
    """Apply what only the day's latest backup can tell: its log and the extra-lsndir copy."""
    artifacts = sorted((b for b in day.backups if b.artifact != "directory"), key=lambda b: (b.timestamp, b.name))
    if not artifacts or artifacts[-1].artifact != "stream":
        return
    latest = artifacts[-1]
    try:
        log = files.read_text(day.path / LOG)
    except OSError:
        log = None
    if log is not None:
        lines = [line for line in log.splitlines() if line.strip()]
        latest.completed_ok = bool(lines) and OK_LINE in lines[-1]
        if not latest.completed_ok and latest.state in ("ok", "key-required"):
            last = lines[-1].strip()[:100] if lines else "empty log"
            latest.problems.clear()
            latest.fail("failed", f"{day.path / LOG}: the latest backup did not end with '{OK_LINE}': {last}")
            return
    if latest.state == "key-required" and _lsndir_matches(latest, day.path, files):
        _use_lsndir(latest, day.path, files)


def _mark_copies(day: Day) -> None:
    """Mark extracted directories that are copies of one of the day's streams (same name or same LSNs)."""
    streams = [b for b in day.backups if b.artifact == "stream"]
    for backup in day.backups:
        if backup.artifact != "directory":
            continue
        stem = backup.name.rsplit("/", 1)[-1]
        for stream in streams:
            same_lsns = (
                backup.checkpoints is not None
                and stream.checkpoints is not None
                and backup.checkpoints == stream.checkpoints
            )
            if stream.name[: -len(STREAM)] == stem or same_lsns:
                backup.copy_of = stream.name
                backup.state = "copy"
                break


def _read_series(path: Path, name: str, names: dict[str, os.DirEntry], key: bytes | None) -> Day:
    """The Percona blog layout: `full/<ts>/`, `incr/<ts>/` and their `lsns/<ts>/` checkpoints copies."""
    day = Day(name, path, single_full=False)
    lsns = path / "lsns"
    for folder in ("full", "incr"):
        entry = names.get(folder)
        if entry is None or not _is_dir(entry):
            continue
        try:
            children = _listing(Path(entry.path))
        except OSError as error:
            day.problems.append(_unreadable(Path(entry.path), error))
            continue
        for child_name in sorted(children):
            child = children[child_name]
            label = f"{folder}/{child_name}"
            try:
                if (odd := _not_a_file(child, label)) is not None:
                    backup = odd
                elif child_name.endswith(INCOMPLETE) and child.is_file():
                    backup = _read_stream(Path(child.path), label, "incomplete", key)
                elif child_name.endswith(STREAM) and child.is_file():
                    backup = _read_stream(Path(child.path), label, "stream", key)
                    if backup.state == "key-required":
                        _use_lsndir(backup, lsns / child_name[: -len(STREAM)])
                elif _is_dir(child, follow=False):
                    child_names = _listing(Path(child.path))
                    if not _is_backup_dir(child_names):
                        continue
                    backup = _read_directory(Path(child.path), label, child_names, key, lsns / child_name)
                else:
                    continue
            except OSError as error:
                day.problems.append(Problem("unreadable", label, f"{child.path}: {error.strerror or error}"))
                continue
            if backup.kind is None:
                backup.kind = "full" if folder == "full" else "incremental"
            day.backups.append(backup)
    return day


# -- the whole root ----------------------------------------------------------


def scan(root: Path | str, key: bytes | None = None) -> Inventory:
    """Inventory every backup under the directory *root* and chain each day's backups.

    (`roots.scan_root` also takes ``s3://bucket/prefix``.)

    Raises BackupRootError when *root* itself cannot be read; problems below
    it are reported on the day or backup they concern.
    """
    root = Path(root)
    try:
        mode = os.stat(root).st_mode
    except OSError as error:
        raise BackupRootError(f"{root}: cannot read backup root: {error.strerror or error}") from None
    if not stat.S_ISDIR(mode):
        raise BackupRootError(f"{root}: cannot read backup root: not a directory")
    return _linked(root, _find(root, key))


def _linked(root, days: list[Day]) -> Inventory:
    """Chain each day (an orphan's base may lie in another day) and order the days by their newest backup."""
    elsewhere: dict[int, list] = {}
    for day in days:
        for backup in day.backups:
            if backup.state == "ok" and backup.checkpoints is not None:
                elsewhere.setdefault(backup.checkpoints.to_lsn, []).append((day.name, backup))
    for day in days:
        chains.link_day(day, elsewhere)
    days.sort(key=lambda d: (max((b.timestamp for b in d.backups), default=datetime.min), d.name))
    return Inventory(root, days)
