"""Opening what we read: a stream, key, binlog, journal or option file is opened only if it is a regular file.

A FIFO, a device or a socket named `full-….xbstream` or `mysql-bin.000001` (a
careless `mkfifo`, an attacker's trap) would block `open()` or stream forever. Opening with
O_NONBLOCK never blocks, and `fstat` on the open descriptor (not the path,
which could be swapped in between) says what it really is.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


def open_regular(path: Path | str) -> int:
    """A blocking read-only descriptor of *path* if it is a regular file; else OSError(EINVAL) saying what it is."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(errno.EINVAL, f"not a regular file ({file_type(mode)})", str(path))
    os.set_blocking(fd, True)
    return fd


def file_type(mode: int) -> str:
    """What a file is, in words: `a FIFO`, `a directory`…"""
    for test, name in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "a special file"
