"""The console's table recovery: `core.tables.recover` behind the run screen.

The restore point goes into a throwaway server (the drill's steps, shown as
they run), then the chosen tables travel into the server the console was
started against (`--socket` or `--host/--port`, `--defaults-file`) under new
names; the report is saved where `recover-table` keeps its reports.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from xtrarestore.core.errors import PreconditionError, XtraRestoreError

from . import ThrowawayJob, live_binlog_server

MOVE = "tables:move"
REMOVE = "tables:remove"


def target_address(settings):
    """Production as the console's command line named it, or a one-line refusal."""
    from xtrarestore.core.tables.server import ServerAddress

    options = settings.target_options or {}
    if not options.get("socket") and not options.get("host"):
        raise PreconditionError(
            "no server to recover into: start the console with --socket (or --host/--port) and --defaults-file"
        )
    return ServerAddress(options.get("socket"), options.get("host"), options.get("port"), options.get("defaults_file"))


class TableRecoveryJob(ThrowawayJob):
    """Recover *tables* (``db.table`` names) of *point* into the running server under new names."""

    kind = "recover-table"

    def __init__(
        self, settings, point, tables: list[str], *, clock: Callable[[], float] = time.monotonic, stop=None
    ) -> None:
        self.settings = settings
        self.point = point
        self.tables = list(tables)
        self.clock = clock
        self.stop = stop  # a messages.StopChoice: roll the throwaway copy forward before the tables travel
        self.steps: list = []
        self.title = f"Recover {len(self.tables)} table(s) of {point.day.name} up to {point.target.name}"
        if stop is not None:
            self.title += f", rolled forward: {stop.label or stop.until}"
        self.running = False
        self.current_title: str | None = None
        self.session = None
        self.drill = None
        self.report = None
        self.saved: tuple | None = None

    def prepare(self) -> list:
        """Check production and the tables, plan the throwaway restore (nothing created yet)."""
        from xtrarestore.core.restore.plan import Step
        from xtrarestore.core.tables import recover

        address = target_address(self.settings)
        self.session = recover.prepare(address, self.tables)
        roll = {}
        if self.stop is not None:  # production is running and holds the binlogs: read them through its socket
            roll = {
                "until": self.stop.until,
                "skip": tuple(self.stop.skip),
                "binlog_dirs": tuple(getattr(self.settings, "binlog_dirs", None) or ()),
                "from_server": live_binlog_server(address.socket),
            }
        self.drill = recover.plan_throwaway(
            self.settings.root,
            self.point.day.name,
            self.point.target.name,
            key_file=self.settings.key_file,
            workroot=self.settings.drill_workroot,
            **roll,
        )
        recover.require_in_backup(self.session, self.drill.point)
        targets = ", ".join(".".join(t.target) for t in self.session.tables)
        self.steps = [
            *self.drill.steps,
            Step(MOVE, f"Bring the tables into production as {targets}", []),
            Step(REMOVE, "Stop and remove the throwaway server", []),
        ]
        return self.steps

    def run(self, emit) -> None:
        from xtrarestore.core.restore.runner import Event
        from xtrarestore.core.tables import recover
        from xtrarestore.core.tables.report import save

        if self.drill is None:
            self.prepare()
        move, remove = self.steps[-2], self.steps[-1]
        count = len(self.steps)
        moving: list[bool] = []

        def progress(text: str) -> None:
            if text.startswith("Bringing") and not moving:
                moving.append(True)
                emit(Event("started", move, count - 1))
            if moving:
                emit(Event("output", move, count - 1, line=text))

        drill, self.drill = self.drill, None
        self.report = recover.run(self.session, drill, on_progress=progress, on_drill_event=emit)
        drills = self.settings.reports_dir  # beside the drill reports when the console names a directory
        self.saved = save(self.report, drills.parent / "tables" if drills else None)
        seconds = {s.step: s.seconds for s in self.report.steps}
        if moving:
            moved = sum(v for k, v in seconds.items() if k.startswith(("bring ", "read the tables")))
            kind = "finished" if self.report.ok else "failed"
            emit(Event(kind, move, count - 1, seconds=moved, error="" if self.report.ok else self.report.error))
        emit(Event("started", remove, count))
        emit(Event("finished", remove, count, seconds=seconds.get("stop and remove the throwaway server", 0.0)))
        if not self.report.ok:
            raise XtraRestoreError(self.report.error or "the table recovery failed")

    def retry(self, emit) -> None:
        """A recovery is never resumed: a fresh one is planned and run."""
        self.prepare()
        self.run(emit)

    def rollback(self, emit) -> None:
        raise XtraRestoreError("a table recovery has nothing to roll back: production's tables were never replaced")

    def stop_after_step(self) -> None:
        """Quit waits for the end: the throwaway server is removed whatever happens."""

    def note_hangup(self) -> None:
        """The recovery carries on to its end; its journal and report say what was done."""

    def can_retry(self) -> bool:
        return True

    def failure_advice(self) -> str:
        return "The throwaway server was removed; production kept running. Enter: report."

