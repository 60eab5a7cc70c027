"""Where we may write: refuse a target directory that is a system directory, a backup root or a file.

An extraction directory, a restore workspace and a datadir are created,
filled and (for a datadir) moved aside. Pointed at `/`, `/etc` or the
backups themselves by a typo, that destroys what the restore is meant to
save; so every target is checked, before anything is created, in one line
that names the option and the path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError
from ..storage.location import is_s3

# Never written under: the system's own trees.
SYSTEM_TREES = tuple(Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32",
                                       "/proc", "/sbin", "/sys", "/usr"))
# Never a datadir or workspace themselves (their subdirectories may be): the directories holding everything
# else, which a restore would chmod 0700 or move aside. Extraction only adds subdirectories: `/` alone is refused.
SYSTEM_DIRS = tuple(Path(p) for p in ("/", "/home", "/media", "/mnt", "/opt", "/root", "/run", "/srv", "/tmp",
                                      "/var", "/var/lib", "/var/log", "/var/tmp", "/var/backups", "/var/cache"))
DATADIR_MARKERS = ("ibdata1", "aria_log_control", "mysql")
# What makes a directory holding backups recognisable as a day directory or a backup root (scan.py's layouts).
DAY_FILES = ("backup-progress.log", "xtrabackup_checkpoints", "mariadb_backup_checkpoints", "encryption_key")
WEEKDAYS = {name for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            for name in (day, day[:3])}
DATED = re.compile(r"^(\d{4}[-_.]?\d{2}[-_.]?\d{2}|\d{2}[-_.]\d{2}[-_.]\d{4})$")


def _resolved(path: Path) -> Path:
    """*path* made absolute with its existing symlinks resolved (a symlink to `/` is `/`)."""
    return Path(os.path.realpath(path))


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or path.is_relative_to(parent)


def looks_like_datadir(path: Path) -> bool:
    """Whether *path* holds a server's files (ibdata1, the mysql schema, Aria's control file)."""
    return any((path / marker).exists() for marker in DATADIR_MARKERS)


def check_target(path: Path, option: str, *, sources: Iterable[Path] = (), roots: Iterable[Path] = (),
                 datadir: bool = False, container: bool = False) -> Path:
    """Return *path* (absolute) if we may create and fill it; OutputError naming *option* and why not.

    *sources* are backup files or directories that are read (their own
    directory is a backup root's day: never written), *roots* backup roots.
    A *datadir* target is replaced by the restore: an existing datadir is
    expected there; any other target must not be a live datadir. A
    *container* only receives new subdirectories (`extract --into`).
    """
    shown_path = str(path)
    if not shown_path or "\0" in shown_path:
        raise OutputError(f"{option} {shown_path!r}: not a usable path")
    try:
        return _checked(Path(path), option, sources, roots, datadir, container)
    except OSError as error:  # a name too long, a loop of symlinks…
        raise OutputError(f"{option} {path}: {error.strerror or error}") from None


def _checked(path: Path, option: str, sources, roots, datadir: bool, container: bool) -> Path:
    real = _resolved(path)
    what = f"{option} {path}" + (f" (= {real})" if str(real) != os.path.abspath(path) else "")
    if real in (SYSTEM_DIRS[:1] if container else SYSTEM_DIRS) or any(_inside(real, tree) for tree in SYSTEM_TREES):
        raise OutputError(f"{what}: a system directory; choose a directory of its own")
    if real.exists() and not real.is_dir():
        raise OutputError(f"{what}: exists and is not a directory")
    protected = [_resolved(Path(root)) for root in roots if not is_s3(root)]  # a bucket is never a local path
    for source in (s for s in sources if not is_s3(s)):
        folder = _resolved(Path(source)).parent
        if _is_day(folder):
            protected.append(folder)
        if folder.parent != folder and _is_backup_root(folder.parent):
            protected.append(folder.parent)
    for root in protected:
        if _inside(real, root):
            raise OutputError(f"{what}: inside the backup root {root}; backups are only ever read")
        if datadir and _inside(root, real):
            raise OutputError(f"{what}: holds the backup root {root}; it would be moved aside with the datadir")
    if not datadir and real.is_dir() and looks_like_datadir(real):
        raise OutputError(f"{what}: a server's data directory; choose an empty directory of its own")
    return real


def _names(folder: Path) -> set[str]:
    try:
        return {entry.name for entry in os.scandir(folder)}
    except OSError:
        return set()


def _is_day(folder: Path) -> bool:
    """Whether *folder* is a day directory: a weekday or dated name, or the files a backup script leaves there."""
    named = folder.name.lower() in WEEKDAYS or DATED.match(folder.name)
    return bool(named) or any(name in DAY_FILES for name in _names(folder))


def _is_backup_root(folder: Path) -> bool:
    """Whether *folder* holds day directories (a backup root) or an `encryption_key`."""
    names = _names(folder)
    return "encryption_key" in names or any(name.lower() in WEEKDAYS or DATED.match(name) for name in names)
