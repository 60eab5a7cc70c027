"""Find external programs (mariadbd, mariabackup, mbstream, …) on this host, and how they say they succeeded."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from .errors import ToolNotFoundError

# Server binaries live in sbin directories that an unprivileged PATH often lacks.
_EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/libexec")

# The last line mariabackup and xtrabackup print when they succeed; our own steps print it too.
OK_LINE = "completed OK!"

MARIADB_PACKAGES_HINT = "install it with: apt-get install -y mariadb-server mariadb-backup"


def find_program(names: Sequence[str], hint: str = MARIADB_PACKAGES_HINT) -> Path:
    """Return the first of *names* found on PATH or in the usual sbin directories."""
    search = os.pathsep.join([os.environ.get("PATH", ""), *_EXTRA_DIRS])
    for name in names:
        found = shutil.which(name, path=search)
        if found:
            return Path(found)
    raise ToolNotFoundError(f"{' / '.join(names)} not found on this host; {hint}")
