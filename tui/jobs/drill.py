"""The console's drill: `core.drill` planned and run behind the run screen.

The drill is the restore plan aimed at a throwaway server (see core/drill.py);
this adapter only plans it in the worker, relays the runner's events, keeps
"stop after the running step" for quit, and saves the report where past
drills are listed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from xtrarestore.core.errors import DrillFailed, XtraRestoreError

from . import ThrowawayJob, live_binlog_server


class DrillJob(ThrowawayJob):
    """One drill of *point*: planned by `prepare`, run by `run`, retried as a fresh drill."""

    kind = "drill"

    def __init__(self, settings, point, *, clock: Callable[[], float] = time.monotonic, stop=None) -> None:
        self.settings = settings
        self.point = point
        self.stop = stop  # a messages.StopChoice: roll the throwaway server forward
        self.clock = clock
        self.steps: list = []
        self.title = f"Drill {point.day.name} up to {point.target.name} on a throwaway server"
        if stop is not None:
            self.title += f", rolled forward: {stop.label or stop.until}"
        self.running = False
        self.current_title: str | None = None
        self.cancel = threading.Event()
        self.stop_requested = False
        self.drill = None
        self.running_drill = None
        self.report = None
        self.saved: tuple | None = None

    def prepare(self) -> list:
        """Check the chain and plan the drill (nothing is created yet); return its steps."""
        from xtrarestore.core.drills.drill import plan_drill

        roll = {}
        if self.stop is not None:
            socket = (self.settings.target_options or {}).get("socket")
            roll = {"until": self.stop.until, "skip": tuple(self.stop.skip),
                    "binlog_dirs": list(getattr(self.settings, "binlog_dirs", None) or ()),
                    "from_server": live_binlog_server(socket)}
        self.drill = plan_drill(self.settings.root, self.point.day.name, self.point.target.name,
                                key_file=self.settings.key_file, workroot=self.settings.drill_workroot,
                                server_config=_server_config(self.settings), **roll)
        self.steps = list(self.drill.steps)
        return self.steps

    def run(self, emit) -> None:
        from xtrarestore.core.drills.drill import run_drill
        from xtrarestore.core.drills.report import save

        self.report = self.run_planned(emit, lambda drill, relay: run_drill(drill, on_event=relay, cancel=self.cancel))
        self.saved = save(self.report, self.settings.reports_dir)
        if not self.report.ok:
            raise DrillFailed(self.report.error or "the drill failed")

    def run_planned(self, emit, body):
        """Plan if not planned yet, then return *body(drill, relay)*: *relay* passes the steps' events on and
        stops the drill after the running step once quit asked for it."""
        if self.drill is None:
            self.prepare()
        self.cancel.clear()

        def relay(event) -> None:
            if event.kind in ("finished", "failed") and self.stop_requested:
                self.cancel.set()
            emit(event)

        drill, self.drill = self.drill, None
        self.running_drill = drill
        try:
            return body(drill, relay)
        finally:
            self.running_drill = None

    def retry(self, emit) -> None:
        """A drill is never resumed: a fresh one is planned and run."""
        self.prepare()
        self.run(emit)

    def rollback(self, emit) -> None:
        raise XtraRestoreError("a drill has nothing to roll back")

    def stop_after_step(self) -> None:
        self.stop_requested = True

    def note_hangup(self) -> None:
        """Journal that the operator's terminal hung up, beside the drill's steps (the drill carries on)."""
        from xtrarestore.core.restore.journal import Journal
        from xtrarestore.core.restore.runner import HANGUP_NOTE

        drill = self.running_drill
        if drill is not None and drill.base.exists():
            Journal([drill.base / "journal.jsonl"]).append({"event": "note", "message": HANGUP_NOTE})

    def can_retry(self) -> bool:
        return not self.stop_requested

    def failure_advice(self) -> str:
        kept = self.report is not None and self.report.server.get("directory")
        where = f" (kept in {kept})" if kept else ""
        return f"The throwaway server was stopped{where}; production was not touched. Enter: report."



def _server_config(settings):
    """The original server's option file, when the console was given `--server-config`."""
    from pathlib import Path

    given = (settings.target_options or {}).get("server_config")
    return Path(given) if given else None
