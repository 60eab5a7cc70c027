"""Locks that keep restores apart: one per host and one per datadir, in a fixed system place.

`flock` on files under `/run/lock/xtrarestore/` (whatever `--state-dir` says,
so two restores with different state directories still meet here): a
host-wide lock, and one per datadir keyed by its resolved path. The kernel
drops a lock when the last process holding its file descriptor dies, so a
killed restore leaves no stale lock — and a step still running after its
restore died keeps it, because the step guard inherits the descriptors. The
holder writes its pid and restore id into the file, so a refusal names it.

`XTRARESTORE_LOCK_DIR` moves the place (test suites running side by side,
containers); a user who cannot write `/run/lock` gets a directory of their own.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path

from ..errors import LockBusyError, PreconditionError

LOCK_DIR_ENV = "XTRARESTORE_LOCK_DIR"
SYSTEM_DIR = Path("/run/lock/xtrarestore")


def lock_dir() -> Path:
    """Where the locks live: $XTRARESTORE_LOCK_DIR, else /run/lock/xtrarestore, else a per-user fallback."""
    if os.environ.get(LOCK_DIR_ENV):
        return Path(os.environ[LOCK_DIR_ENV])
    if SYSTEM_DIR.is_dir() and os.access(SYSTEM_DIR, os.W_OK | os.X_OK):
        return SYSTEM_DIR
    if os.access(SYSTEM_DIR.parent, os.W_OK | os.X_OK) and not SYSTEM_DIR.exists():
        return SYSTEM_DIR
    return Path(tempfile.gettempdir()) / f"xtrarestore-locks-{os.getuid()}"


def host_lock_path() -> Path:
    return lock_dir() / "host.lock"


def datadir_lock_path(datadir: Path) -> Path:
    key = hashlib.sha256(os.fsencode(os.path.realpath(datadir))).hexdigest()[:20]
    return lock_dir() / f"datadir-{key}.lock"


def _make_dir(path: Path) -> None:
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    if path == SYSTEM_DIR:
        os.chmod(path, 0o1777)  # any user's restore takes the same locks; nobody removes another's file


def read_holder(path: Path) -> dict:
    """What the holder wrote into *path* (pid, restore id, datadir); empty when unknown."""
    try:
        data = json.loads(path.read_text(errors="replace") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def describe_holder(holder: dict) -> str:
    if not holder.get("restore"):
        return "another process"
    return f"restore {holder['restore']} (pid {holder.get('pid', '?')}, datadir {holder.get('datadir', '?')})"


class HostLock:
    """An exclusive, non-blocking flock on *path*; *holder* is written into the file when it can be."""

    def __init__(self, path: Path, holder: dict | None = None, what: str = "this host"):
        self.path = path
        self.holder = holder or {}
        self.what = what
        self.fd: int | None = None

    def acquire(self) -> HostLock:
        old = os.umask(0o022)
        try:
            _make_dir(self.path.parent)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except PermissionError:  # created by another user: lockable read-only, holder not written
                fd = os.open(self.path, os.O_RDONLY)
        except OSError as error:
            raise PreconditionError(f"{self.path}: cannot open the restore lock: {error.strerror}; "
                                    f"nothing was touched") from None
        finally:
            os.umask(old)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = describe_holder(read_holder(self.path))
            raise LockBusyError(
                f"{self.path}: {self.what} is locked by {holder}; see `xtrarestore status` (nothing was touched)"
            ) from None
        if self.holder:
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(self.holder).encode(), 0)
            except OSError:
                pass  # opened read-only: the lock holds, only its label is missing
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> HostLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class RestoreLock:
    """The host-wide lock and the datadir's lock, taken together for one restore.

    The datadir's lock file keeps naming the restore's *journal* after it
    ends, so a restore planned under another state directory still finds one
    that was left unfinished (see `last_journal`).
    """

    def __init__(self, datadir: Path, restore_id: str, journal: Path | None = None):
        holder = {"pid": os.getpid(), "restore": restore_id, "datadir": str(datadir)}
        if journal is not None:
            holder["journal"] = str(journal)
        self.locks = [HostLock(host_lock_path(), holder),
                      HostLock(datadir_lock_path(datadir), holder, what=f"datadir {datadir}")]

    @property
    def fds(self) -> list[int]:
        """The descriptors a step guard inherits, so the locks live as long as any step does."""
        return [lock.fd for lock in self.locks if lock.fd is not None]

    def acquire(self) -> RestoreLock:
        try:
            for lock in self.locks:
                lock.acquire()
        except LockBusyError:
            self.release()
            raise
        return self

    def release(self) -> None:
        for lock in reversed(self.locks):
            lock.release()

    def __enter__(self) -> RestoreLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def datadir_holder(datadir: Path) -> dict | None:
    """Who holds *datadir*'s lock right now (their label, maybe empty), or None when it is free."""
    return holder_of(datadir_lock_path(datadir))


def holder_of(path: Path) -> dict | None:
    """Who holds the lock in *path* right now (their label, maybe empty), or None when it is free."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(path)
    finally:
        os.close(fd)
    return None


def last_journal(datadir: Path) -> Path | None:
    """The journal of the last restore that locked *datadir* (since the lock directory was made), if named."""
    journal = read_holder(datadir_lock_path(datadir)).get("journal")
    return Path(journal) if isinstance(journal, str) and journal else None
