"""The console's flashback rehearsal: the reverse tried on a throwaway copy before it goes to production.

It runs on the run screen like a drill (quit and hang-up stop it after the
running step, the throwaway server is always removed); its result is shown
back on the Undo screen that started it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from xtrarestore.core.errors import XtraRestoreError

from .drill import DrillJob


class RehearsalJob(DrillJob):
    """Restore *point* into a throwaway server rolled forward to just after the flashback's last transaction,
    apply the reverse there, and keep the rows and checksums before and after (`rehearsal`)."""

    kind = "rehearsal"

    def __init__(self, settings, point, flashback_plan, binlog_dirs, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(settings, point, clock=clock)
        self.flashback_plan = flashback_plan
        self.binlog_dirs = list(binlog_dirs)
        last = flashback_plan.targets[-1].transaction.gtid
        self.title = f"Rehearse the flashback of {last} on a throwaway copy of {point.day.name} up to {point.target.name}"
        self.rehearsal = None
        self.error: str | None = None

    def prepare(self) -> list:
        """Plan the throwaway restore (nothing created); a refusal is this job's result too (shown on Undo)."""
        from xtrarestore.core.tables import flashback

        try:
            self.drill = flashback.plan_rehearsal(
                self.flashback_plan, self.settings.root, self.point.day.name, self.point.target.name,
                binlog_dirs=self.binlog_dirs, key_file=self.settings.key_file, workroot=self.settings.drill_workroot,
            )
        except XtraRestoreError as error:
            self.error = str(error)
            raise
        self.steps = [*self.drill.steps, flashback.reverse_step()]
        return self.steps

    def run(self, emit) -> None:
        from xtrarestore.core.tables import flashback

        self.rehearsal, self.error = None, None
        try:
            self.rehearsal = self.run_planned(emit, lambda drill, relay: flashback.run_rehearsal(
                self.flashback_plan, drill, on_event=relay, cancel=self.cancel))
        except XtraRestoreError as error:
            self.error = str(error)
            raise

    def has_result(self) -> bool:
        return self.rehearsal is not None or self.error is not None

    def failure_advice(self) -> str:
        return "The throwaway copy was removed; production was not touched. Enter: back to Undo."
