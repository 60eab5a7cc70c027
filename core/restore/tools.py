"""Which backup tool this host has, and the exact command lines it needs.

Percona XtraBackup and MariaDB's mariabackup share a command line but differ
where it hurts: Percona must prepare the full and every incremental except the
last with `--apply-log-only` (8.0's copy-back insists on `full-prepared`),
while mariabackup rejects that option and prepares each step the same way.
The sequences are built here, in one place, so tests can pin them.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolNotFoundError
from ..inventory.checkpoints import MARIADB, PERCONA
from ..programs import find_program

_NAMES = {
    MARIADB: (["mariabackup", "mariadb-backup"], ["mbstream"]),
    PERCONA: (["xtrabackup"], ["xbstream"]),
}
_PERCONA_HINT = "install Percona XtraBackup (percona-xtrabackup-80) from Percona's repository"


@dataclass(frozen=True)
class Tool:
    """A backup program: its flavour, path, version and stream extractor."""

    flavour: str
    path: Path
    version: str
    stream_tool: Path | None = None

    @property
    def prepared_type(self) -> str:
        """`backup_type` after the last prepare: Percona's final prepare omits --apply-log-only."""
        return "full-prepared" if self.flavour == PERCONA else "log-applied"

    @property
    def label(self) -> str:
        name = "mariabackup" if self.flavour == MARIADB else "xtrabackup"
        return f"{name} {self.version}".strip()

    def prepare_commands(self, full: Path, incrementals: Sequence[Path], *,
                         memory: int | None = None) -> list[list[str]]:
        """`--prepare` of the full, then one command per incremental, in order (with *memory* bytes)."""
        return prepare_sequence(self.flavour, str(self.path), full, incrementals, memory=memory)

    def copy_back_command(self, full: Path, datadir: Path, *, move: bool = False,
                          server_config: Path | None = None) -> list[str]:
        """`--copy-back` (or `--move-back`, which empties the prepared copy) into *datadir*.

        *server_config* is the server's my.cnf: copy-back reads innodb file
        locations from it, so it must be the production server's own file.
        """
        argv = [str(self.path)]
        if server_config is not None:
            argv.append(f"--defaults-file={server_config}")
        argv += ["--move-back" if move else "--copy-back", f"--target-dir={full}", f"--datadir={datadir}"]
        return argv


def prepare_sequence(flavour: str, program: str, full: Path, incrementals: Sequence[Path], *,
                     memory: int | None = None) -> list[list[str]]:
    """The prepare command lines for *flavour*.

    Percona: `--apply-log-only` on the full and all incrementals but the last
    (a full alone is prepared without it). MariaDB: never `--apply-log-only`.
    Both take `--use-memory` (the buffer pool the redo is applied in).
    """
    from .memory import memory_option

    base = [program, "--prepare", *([memory_option(memory)] if memory else []), f"--target-dir={full}"]
    steps = [[*base]] + [[*base, f"--incremental-dir={inc}"] for inc in incrementals]
    if flavour == PERCONA:
        for argv in steps[:-1]:
            argv.insert(2, "--apply-log-only")
    return steps


def parse_version(text: str) -> tuple[str, str]:
    """(flavour, version) from a tool's `--version` output."""
    maria = re.search(r"based on MariaDB server (\S+?)(?:-MariaDB)?\s", text + " ")
    if maria:
        return MARIADB, maria.group(1)
    percona = re.search(r"xtrabackup version (\S+)", text)
    if percona:
        return PERCONA, percona.group(1)
    raise ToolNotFoundError(f"unrecognised backup tool version output: {text.strip()[:80]!r}")


def detect_tool(flavour: str | None = None) -> Tool:
    """Find the backup tool for *flavour* (or whichever this host has, MariaDB first)."""
    flavours = [flavour] if flavour else [MARIADB, PERCONA]
    missing: list[str] = []
    for name in flavours:
        programs, streamers = _NAMES[name]
        try:
            path = find_program(programs, **({"hint": _PERCONA_HINT} if name == PERCONA else {}))
        except ToolNotFoundError as error:
            missing.append(str(error))
            continue
        result = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
        found, version = parse_version(result.stdout + result.stderr)
        try:
            stream_tool = find_program(streamers)
        except ToolNotFoundError:
            stream_tool = None
        return Tool(found, path, version, stream_tool)
    raise ToolNotFoundError("; ".join(missing))
