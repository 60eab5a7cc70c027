"""The xtrarestore console: a Textual app over the UI-free core.

The app owns the session's settings (backup root, key, restore target, the
clock used for ages), the last inventory scanned and the job that is running,
if any; each screen owns its widgets. Screens ask for another screen by
posting a message (`tui.messages`); the app alone decides which screen
answers. Blocking work happens in thread workers on the screens.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from xtrarestore.core.shown import shown

from . import messages

DEFAULT_ROOT = Path("/backups/mysql")


@dataclass
class ConsoleSettings:
    """What the console works on; tests and the demo inject their own."""

    root: Path
    key: bytes | None = None
    key_file: Path | None = None
    target_options: dict | None = None
    """The `plan` command's target options (datadir, service or stop/start commands, socket…)."""
    reports_dir: Path | None = None
    """Where drill reports are saved and listed (None: core.report's default)."""
    drill_workroot: Path | None = None
    """Where drills put their throwaway servers (None: core.drill's default)."""
    host: str = field(default_factory=socket.gethostname)
    now: Callable[[], datetime] = datetime.now
    """The clock for ages (snapshot tests pin it)."""
    scanner: Callable | None = None
    """`scan(root, key)` to use instead of core.inventory.scan (snapshot tests stabilise LSNs)."""
    cleanup: Callable[[], None] | None = None
    """Called before the console ends its process itself (a hang-up): the demo stops its servers."""
    binlog_dirs: list[Path] = field(default_factory=list)
    """Binlog archives for point-in-time restores (`--binlog-dir`); the target server's own are added."""


class XtraRestoreApp(App[int]):
    """The console. Start on the inventory; everything else is pushed from there."""

    CSS_PATH = "app.tcss"
    TITLE = "xtrarestore"
    BINDINGS = [
        Binding("f1,question_mark", "help", "Help", key_display="?", tooltip="Keys and what this screen does"),
        Binding("ctrl+p", "command_palette", "Palette", tooltip="Search the actions of this screen"),
    ]

    def __init__(self, settings: ConsoleSettings) -> None:
        super().__init__()
        self.settings = settings
        self.sub_title = str(settings.root)
        self.job = None
        """The restore or drill running now (a `tui.jobs.Job`), if any."""
        self.inventory = None
        """The inventory the inventory screen scanned last."""
        self.quit_when_idle = False
        self.terminal_gone = False

    def on_mount(self) -> None:
        from .screens.inventory import InventoryScreen

        if not self.is_headless and self.console.color_system in ("standard", "windows"):
            self.theme = "ansi-dark"  # 16-colour terminal: use its own palette
        if not self.is_headless:
            signal.signal(signal.SIGHUP, self.hung_up)
        self.push_screen(InventoryScreen())

    def hung_up(self, signum, frame) -> None:
        """SIGHUP: the SSH session dropped and nobody sees the screen any more.

        Idle, the console exits at once. A running job carries on to its end,
        journaled, with its output in the log files; then the job's own thread
        ends the process (`job_thread_done`), because a dead terminal can stall
        the screen's writer and with it the event loop.
        """
        from xtrarestore.core.restore.runner import detach_terminal

        detach_terminal()
        self.terminal_gone = True
        if not self.job_running:
            self.clean_up()
            os._exit(128 + signum)
        self.job.note_hangup()

    def job_thread_done(self, ok: bool) -> None:
        """Called on the job's thread as it ends: after a hang-up there is no one to show the outcome to."""
        if self.terminal_gone:
            self.clean_up()
            os._exit(0 if ok else 1)

    def clean_up(self) -> None:
        """Run the settings' cleanup once (os._exit skips `finally` blocks and atexit)."""
        cleanup, self.settings.cleanup = self.settings.cleanup, None
        if cleanup is not None:
            cleanup()

    # -- jobs -----------------------------------------------------------------

    @property
    def job_running(self) -> bool:
        return self.job is not None and self.job.running

    def job_finished(self, ok: bool) -> None:
        """Called by the run screen when its job ends; honours a pending quit (exit 1 if the job failed)."""
        if self.quit_when_idle:
            self.exit(0 if ok else 1)

    def action_quit(self) -> None:
        """Quit, but never abandon a running step: ask, then stop after it."""
        from .modals.confirm import ConfirmModal

        if not self.job_running:
            self.exit(0)
            return

        def answer(stop: bool | None) -> None:
            if stop and self.job is not None:
                self.quit_when_idle = True
                self.job.stop_after_step()
                self.notify("Quitting once the running step has finished.", title="Quit")

        step = shown(self.job.current_title or "a step")
        self.push_screen(
            ConfirmModal(
                "A restore is running",
                f"{step} is running. Quitting lets it finish, stops before the next step "
                "(the journal records where it stopped) and then exits.",
                confirm_label="Quit after this step",
            ),
            answer,
        )

    # -- navigation: screens post, the app answers ------------------------------

    def on_inventory_scanned(self, message: messages.InventoryScanned) -> None:
        self.inventory = message.inventory

    def on_open_restore_point(self, message: messages.OpenRestorePoint) -> None:
        from .screens.restore_point import RestorePointScreen

        self.push_screen(RestorePointScreen(message.day, message.chain, message.backup))

    def on_open_newest_point(self, message: messages.OpenNewestPoint) -> None:
        point = self.inventory.newest_restore_point() if self.inventory is not None else None
        if point is None:
            self.notify("No restorable point in this inventory.", severity="warning")
        elif message.drill:
            self.post_message(messages.StartDrill(point))
        elif message.roll_forward:
            self.post_message(messages.OpenRollForward(point))
        else:
            self.post_message(messages.OpenRestorePoint(point.day, point.chain, point.target))

    def on_open_roll_forward(self, message: messages.OpenRollForward) -> None:
        from .screens.roll_forward import RollForwardScreen

        self.push_screen(RollForwardScreen(message.point))

    def on_open_plan(self, message: messages.OpenPlan) -> None:
        from .screens.plan import PlanScreen

        self.push_screen(PlanScreen(message.point, stop=message.stop_point))

    def on_start_drill(self, message: messages.StartDrill) -> None:
        """A drill of the point on a throwaway server; production is never touched."""
        from .jobs.drill import DrillJob

        if self.job_running:
            self.notify("A restore or drill is already running.", severity="warning")
            return
        self.post_message(messages.RunJob(DrillJob(self.settings, message.point, stop=message.stop_point)))

    def on_recover_tables(self, message: messages.RecoverTables) -> None:
        from .screens.tables import TablesScreen

        self.push_screen(TablesScreen(self.settings, message.point, stop=message.stop_point))

    def on_undo_event(self, message: messages.UndoEvent) -> None:
        from .screens.undo import UndoScreen

        self.push_screen(UndoScreen(self.settings, message.point, message.event, message.timeline,
                                    message.binlog_dirs))

    def on_run_job(self, message: messages.RunJob) -> None:
        from .screens.run import RunScreen

        self.push_screen(RunScreen(message.job))

    def on_show_result(self, message: messages.ShowResult) -> None:
        from .screens.drill import DrillReportScreen
        from .screens.result import ResultScreen

        job = message.job
        if job.kind == "rehearsal":  # its result is shown by the Undo screen that started it, under the run screen
            self.job = None
            self.pop_screen()
        elif job.kind == "recover-table":
            from .screens.tables import TableRecoveryScreen

            self.push_screen(TableRecoveryScreen(job.report, job.saved[0] if job.saved else None))
        elif job.kind == "drill":
            self.push_screen(DrillReportScreen(job.report, job.saved[0] if job.saved else None))
        else:
            self.push_screen(ResultScreen(job))

    def on_open_scenarios(self, message: messages.OpenScenarios) -> None:
        from .screens.scenarios import ScenariosScreen

        self.push_screen(ScenariosScreen())

    def on_open_reports(self, message: messages.OpenReports) -> None:
        from .screens.drill import DrillReportsScreen

        self.push_screen(DrillReportsScreen())

    def on_open_report(self, message: messages.OpenReport) -> None:
        from .screens.drill import DrillReportScreen

        self.push_screen(DrillReportScreen(message.report, message.path))

    def on_back_to_inventory(self, message: messages.BackToInventory) -> None:
        from .screens.inventory import InventoryScreen

        if self.job is not None and not self.job.running:
            self.job = None
        while not isinstance(self.screen, InventoryScreen) and len(self.screen_stack) > 2:
            self.pop_screen()
        if message.search:
            self.screen.action_filter()
        if message.rescan:
            self.screen.action_refresh()

    def on_job_action(self, message: messages.JobAction) -> None:
        from .screens.run import RunScreen

        if isinstance(self.screen, RunScreen) and message.action == "rollback":
            self.screen.action_rollback()

    # -- help and palette -----------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists the current screen's actions first (only those available now)."""
        for binding in _own_bindings(screen):
            if not binding.show or binding.action.startswith("app.") or not screen.check_action(binding.action, ()):
                continue
            yield SystemCommand(binding.description, binding.tooltip or binding.description,
                                _runner(screen, binding.action))
        yield SystemCommand("Help", "Keys and what this screen does", self.action_help)
        yield SystemCommand("Quit", "Quit xtrarestore (asks first while a restore runs)", self.action_quit)
        yield SystemCommand("Theme", "Change the colours", self.action_change_theme)


def _own_bindings(screen: Screen) -> list[Binding]:
    """The bindings the screen's class declares (not the widgets' or Textual's built-ins)."""
    return [b for b in type(screen).__dict__.get("BINDINGS", []) if isinstance(b, Binding)]


def _runner(node, action: str) -> Callable[[], object]:
    async def run() -> None:
        await node.run_action(action)

    return run


def run_console(args) -> int:
    """Entry point for `xtrarestore` without a subcommand."""
    result = XtraRestoreApp(settings_from_args(args)).run()
    return result or 0


def settings_from_args(args) -> ConsoleSettings:
    """The console's settings from the top-level command line (root, key, restore target)."""
    from xtrarestore.core.storage.location import root_path

    key_file = Path(args.key_file) if getattr(args, "key_file", None) else None
    key = None
    if key_file is not None:
        from xtrarestore.core.archive.keys import load_key

        key = load_key(key_file)
    from .jobs.restore import TARGET_OPTIONS

    # The restore target comes from the same options as `xtrarestore plan` when the
    # command line offers them (--datadir, --service or --stop-cmd/--start-cmd, --socket…).
    given = {name: getattr(args, name) for name in TARGET_OPTIONS if getattr(args, name, None) is not None}
    return ConsoleSettings(
        root=root_path(args.root) if getattr(args, "root", None) else DEFAULT_ROOT,
        key=key,
        key_file=key_file,
        target_options=given or None,
        binlog_dirs=[Path(d) for d in getattr(args, "binlog_dir", None) or ()],
    )
