"""The inventory's values: backups, days, LSN chains, restore points and their problems.

They live apart from the code that finds and links them, so the scanner and
the chain rules both build on them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .checkpoints import BackupInfo, BinlogPosition, Checkpoints, flavour_of_tool

CODES = ("incomplete", "gap", "orphan", "fork", "failed", "unreadable", "key-required", "not-a-file")
EXTRA_FULL = "extra-full"  # a day-level notice: a second full backup in one day directory


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: a code from CODES (or EXTRA_FULL), the backup's name, and a one-line message."""

    code: str
    backup: str | None
    message: str


@dataclass(eq=False)
class Chain:
    """Backups in apply order: a full (unless the first member has a problem) and its incrementals."""

    members: list[Backup]
    problems: list[Problem] = field(default_factory=list)
    day: Day | None = field(default=None, repr=False)

    def restore_points(self) -> list[RestorePoint]:
        troubled = {problem.backup for problem in self.problems}
        points: list[RestorePoint] = []
        for index, member in enumerate(self.members):
            if member.name in troubled or member.kind != ("full" if index == 0 else "incremental"):
                break
            points.append(RestorePoint(self.day, self, self.members[: index + 1]))
        return points

    def point_upto(self, backup: Backup) -> RestorePoint | None:
        """The restore point ending at *backup*, or None when it cannot be restored."""
        return next((point for point in self.restore_points() if point.target is backup), None)


@dataclass(eq=False)
class RestorePoint:
    """A prefix of a chain: restore the full, then apply each incremental in order."""

    day: Day | None
    chain: Chain
    members: list[Backup]

    @property
    def target(self) -> Backup:
        return self.members[-1]


@dataclass(eq=False)
class Backup:
    """One backup artifact: a stream, an interrupted stream, or a backup directory."""

    name: str
    path: Path
    kind: str | None  # "full" | "incremental" | None when unknown
    artifact: str  # "stream" | "incomplete" | "directory" | "xbcloud" (chunk objects in a bucket, read as a stream)
    timestamp: datetime
    size: int
    compression: str | None = None
    encrypted: bool = False
    checkpoints: Checkpoints | None = None
    info: BackupInfo | None = None
    state: str = "ok"
    problems: list[Problem] = field(default_factory=list)
    binlog: BinlogPosition | None = None
    lsn_source: str | None = None  # "stream", "directory" or the extra-lsndir file the LSNs came from
    completed_ok: bool | None = None  # what backup-progress.log says, when it is about this backup
    copy_of: str | None = None  # the stream this extracted directory was made from
    named_time: bool = False  # whether `timestamp` came from the name
    chunks: int = 0
    bytes_read: int = 0

    @property
    def flavour(self) -> str | None:
        """Which tool made this backup (`mariadb` or `percona`), from its xtrabackup_info; None when unknown."""
        return flavour_of_tool(self.info.tool_name if self.info else None)

    def fail(self, code: str, message: str) -> None:
        self.state = code
        self.problems.append(Problem(code, self.name, message))


@dataclass(eq=False)
class Day:
    """A directory of backups that chain among themselves (one day, or one `full/ incr/` series)."""

    name: str
    path: Path
    backups: list[Backup] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    single_full: bool = True  # a day directory gets one full; a series may hold many

    def chain_of(self, backup: Backup) -> Chain | None:
        return next((chain for chain in self.chains if backup in chain.members), None)

    def problems_of(self, backup: Backup) -> list[Problem]:
        """Problems about *backup*: its own, those its chain records against it, and the day's notices."""
        found = list(backup.problems)
        chain = self.chain_of(backup)
        extra = [*(chain.problems if chain is not None else []), *self.problems]
        return found + [p for p in extra if p.backup == backup.name and p not in found]


@dataclass(eq=False)
class Inventory:
    root: Path
    days: list[Day]
    fetched: int | None = None  # bytes downloaded to read a bucket root (None for a directory)
    requests: int | None = None  # the GET requests that took

    @property
    def backups(self) -> list[Backup]:
        return [backup for day in self.days for backup in day.backups]

    def restore_points(self) -> list[RestorePoint]:
        return [point for day in self.days for chain in day.chains for point in chain.restore_points()]

    def newest_restore_point(self) -> RestorePoint | None:
        points = self.restore_points()
        return max(points, key=lambda p: (p.target.timestamp, len(p.members)), default=None)
