"""The jobs the run screen shows: a restore and a drill, behind one small protocol.

The run screen only ever calls what `Job` declares; the app picks the screen
that shows a job's result from its `kind`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Job(Protocol):
    """A restore or drill as the run screen drives it."""

    kind: str  # "restore" | "drill"
    title: str
    steps: list
    running: bool
    current_title: str | None

    def prepare(self) -> list: ...
    def run(self, emit) -> None: ...
    def retry(self, emit) -> None: ...
    def rollback(self, emit) -> None: ...
    def stop_after_step(self) -> None: ...
    def note_hangup(self) -> None: ...
    def can_retry(self) -> bool: ...
    def can_rollback(self) -> bool: ...
    def has_result(self) -> bool: ...
    def retry_resets(self, failed: str | None) -> list[str]: ...
    def rollback_summary(self) -> str: ...
    def failure_advice(self) -> str: ...
    def log_path(self, step: str) -> Path | None: ...


def live_binlog_server(socket):
    """Production's socket when it answers with binary logging on: its binlogs roll a throwaway copy forward."""
    from xtrarestore.core.errors import XtraRestoreError
    from xtrarestore.core.restore.pitr import server_binlog_dir

    if not socket:
        return None
    try:
        return Path(socket) if server_binlog_dir(Path(socket)) is not None else None
    except XtraRestoreError:
        return None


class ThrowawayJob:
    """What a job on a throwaway server shares (a drill, a table recovery): nothing of production to roll
    back, a retry starts over, the result is its report, and the step logs go with the throwaway server."""

    steps: list
    report = None

    def can_rollback(self) -> bool:
        return False

    def rollback_summary(self) -> str:
        return ""

    def has_result(self) -> bool:
        return self.report is not None

    def retry_resets(self, failed: str | None) -> list[str]:
        return [step.name for step in self.steps]

    def log_path(self, step: str) -> Path | None:
        return None
