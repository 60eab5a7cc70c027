"""What screens ask the app to do: open a screen, start a job, go back.

Screens post these and the app decides which screen answers, so no screen
imports another screen and none reaches into another's state through the
screen stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message


@dataclass(frozen=True)
class StopChoice:
    """A point-in-time stop point chosen in the console: `--until` and `--skip` as the CLI takes them."""

    until: str = "end"
    skip: tuple[str, ...] = ()
    label: str = ""


class InventoryScanned(Message):
    """The inventory screen finished a scan; the app keeps it for the screens that need the newest point."""

    def __init__(self, inventory) -> None:
        super().__init__()
        self.inventory = inventory


class OpenRestorePoint(Message):
    """Show the restore points of *chain* in *day*, the cursor on *backup* (or the chain's newest point)."""

    def __init__(self, day, chain, backup=None) -> None:
        super().__init__()
        self.day, self.chain, self.backup = day, chain, backup


class OpenNewestPoint(Message):
    """Open the newest restorable point of the inventory, drill it when *drill* is set, or choose how far
    the binlogs roll it forward when *roll_forward* is."""

    def __init__(self, *, drill: bool = False, roll_forward: bool = False) -> None:
        super().__init__()
        self.drill, self.roll_forward = drill, roll_forward


class OpenRollForward(Message):
    """Choose how far the binlogs roll *point* forward (the stop point of a point-in-time restore)."""

    def __init__(self, point) -> None:
        super().__init__()
        self.point = point


class OpenPlan(Message):
    """Build and show the restore plan of *point*, rolled forward to *stop* when given."""

    def __init__(self, point, stop: StopChoice | None = None) -> None:
        super().__init__()
        self.point, self.stop_point = point, stop  # not `stop`: Message.stop() stops its bubbling


class StartDrill(Message):
    """Drill *point* on a throwaway server (rolled forward to *stop* when given)."""

    def __init__(self, point, stop: StopChoice | None = None) -> None:
        super().__init__()
        self.point, self.stop_point = point, stop  # not `stop`: Message.stop() stops its bubbling


class RecoverTables(Message):
    """Pick tables of *point* to recover into the running server (rolled forward to *stop* when given)."""

    def __init__(self, point, stop: StopChoice | None = None) -> None:
        super().__init__()
        self.point, self.stop_point = point, stop  # not `stop`: Message.stop() stops its bubbling


class UndoEvent(Message):
    """Weigh flashback against table recovery for one notable *event* of *timeline* after *point*."""

    def __init__(self, point, event, timeline, binlog_dirs) -> None:
        super().__init__()
        self.point, self.event, self.timeline, self.binlog_dirs = point, event, timeline, list(binlog_dirs)


class RunJob(Message):
    """Show *job* on the run screen and run it (a confirmed restore)."""

    def __init__(self, job) -> None:
        super().__init__()
        self.job = job


class ShowResult(Message):
    """Show what *job* produced: the restored server, or the drill's report."""

    def __init__(self, job) -> None:
        super().__init__()
        self.job = job


class OpenScenarios(Message):
    """The guided incident drills."""


class OpenReports(Message):
    """The list of past drill reports."""


class OpenReport(Message):
    """One drill report, read from *path*."""

    def __init__(self, report, path) -> None:
        super().__init__()
        self.report, self.path = report, path


class BackToInventory(Message):
    """Close every screen above the inventory; *search* opens its filter, *rescan* scans again."""

    def __init__(self, *, search: bool = False, rescan: bool = False) -> None:
        super().__init__()
        self.search, self.rescan = search, rescan


class JobAction(Message):
    """Ask the run screen under the current one to retry or roll back its job (*action*: 'rollback')."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action
