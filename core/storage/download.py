"""Copying a backup directory stored in a bucket (an extracted backup uploaded file by file) to local disk.

A restore never prepares in the backup's place: a directory backup is first
copied into the workspace, as `shutil.copytree` does for a local one. Object
names are untrusted paths: `..` and absolute names are refused, files are
created with O_EXCL under the target (`archive.safepath` does the same for
stream members, but storage sits below the archive room, so the few checks
are repeated here). Objects are read through `RangedReader` (retries, typed
one-line errors); the target directory is removed if anything fails.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..errors import UnsafePathError
from .client import make_client
from .listing import list_prefix
from .location import S3Location, S3Path, root_path
from .ranged import RangedReader

READ = 8 << 20


def download_prefix(source: S3Path | str, into: Path) -> int:
    """Copy every object under *source*/ into the new directory *into* (mode 0700); returns the bytes copied."""
    path = root_path(source)
    location = S3Location(path.bucket, path.key.rstrip("/") + "/")
    client = make_client()
    objects = list_prefix(client, location, recursive=True).objects
    into.mkdir(parents=True, mode=0o700)
    copied = 0
    try:
        for info in objects:
            parts = [part for part in info.name.split("/") if part not in ("", ".")]
            if not parts or ".." in parts or info.name.startswith("/"):
                raise UnsafePathError(f"{location.url(info.key)}: object name would leave the target directory")
            target = into.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as out, RangedReader(client, location.bucket, info.key, info.size,
                                                          etag=info.etag) as reader:
                while data := reader.read(READ):
                    out.write(data)
                    copied += len(data)
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise
    return copied
