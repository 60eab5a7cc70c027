"""Creating member files strictly inside a target directory.

Member paths come from the archive, so they are untrusted: absolute paths,
`..` components (as `xbstream -x` does) and control or bidirectional
characters (which the server never writes: it encodes them) are refused, and every directory and
file is opened relative to a directory descriptor with O_NOFOLLOW, so a
symlink anywhere under the target cannot redirect a write outside it.
Directories are created 0700 and files 0600, with O_EXCL so nothing existing
is ever overwritten.
"""

from __future__ import annotations

import errno
import os

from ..errors import OutputError, UnsafePathError
from ..shown import shown

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def safe_parts(name: str, label: str) -> tuple[str, ...]:
    """The components of member path *name*; UnsafePathError if it could leave the target."""
    if not name or "\0" in name:
        raise UnsafePathError(f"{label}: empty or invalid member path")
    if shown(name) != name:  # the server encodes such characters in file names (`@002f`): a forged stream
        raise UnsafePathError(f"{label}: member path with control characters not allowed: {shown(name)}")
    if name.startswith("/"):
        raise UnsafePathError(f"{label}: absolute member path not allowed: {name!r}")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnsafePathError(f"{label}: member path with '..' not allowed: {name!r}")
    if not parts:
        raise UnsafePathError(f"{label}: empty member path {name!r}")
    return parts


class TargetTree:
    """Open directory descriptors under one root; creates parents on demand and member files exclusively."""

    def __init__(self, root: str) -> None:
        self.root = root
        self._dirs: dict[tuple[str, ...], int] = {(): os.open(root, DIR_FLAGS)}

    @property
    def root_fd(self) -> int:
        return self._dirs[()]

    def _directory(self, parts: tuple[str, ...], label: str) -> int:
        fd = self._dirs.get(parts)
        if fd is not None:
            return fd
        parent = self._directory(parts[:-1], label)
        try:
            os.mkdir(parts[-1], 0o700, dir_fd=parent)
        except FileExistsError:
            pass
        try:
            fd = os.open(parts[-1], DIR_FLAGS, dir_fd=parent)
        except OSError as error:
            raise _unsafe_or_output(error, label, "/".join(parts)) from None
        self._dirs[parts] = fd
        return fd

    def create(self, parts: tuple[str, ...], label: str) -> int:
        """A new file's descriptor (write-only, 0600); refuses to reuse or follow anything existing."""
        parent = self._directory(parts[:-1], label)
        try:
            return os.open(parts[-1], FILE_FLAGS, 0o600, dir_fd=parent)
        except FileExistsError:
            raise UnsafePathError(f"{label}: member {'/'.join(parts)} appears twice in the stream") from None
        except OSError as error:
            raise _unsafe_or_output(error, label, "/".join(parts)) from None

    def close(self) -> None:
        for fd in self._dirs.values():
            os.close(fd)
        self._dirs.clear()


def _unsafe_or_output(error: OSError, label: str, path: str) -> Exception:
    if error.errno in (errno.ELOOP, errno.ENOTDIR):
        return UnsafePathError(f"{label}: {path} would go through a symlink or a file")
    return OutputError(f"{label}: cannot create {path}: {error.strerror}")
