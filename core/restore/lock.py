"""A host-wide lock so two restores can never run at the same time.

`flock` on a file opened read-only: any user can take it (the file is created
0644 by whoever comes first), and the kernel drops it when the holder dies, so
a killed restore never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from ..errors import LockBusyError

DEFAULT_LOCK = Path("/run/lock/xtrarestore.lock")


def lock_path(state_dir: Path | None) -> Path:
    """The state directory's lock when one was chosen explicitly, else the host-wide one."""
    if state_dir is not None:
        return state_dir / "restore.lock"
    return DEFAULT_LOCK if DEFAULT_LOCK.parent.is_dir() else Path("/tmp/xtrarestore.lock")


class HostLock:
    """Context manager holding an exclusive, non-blocking flock on *path*."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> HostLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        old = os.umask(0o022)
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
        finally:
            os.umask(old)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusyError(
                f"{self.path}: another restore is running on this host (see `xtrarestore status`)"
            ) from None
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
