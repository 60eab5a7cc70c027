"""Run: the steps of a restore or drill, live.

The job runs in a thread worker. Step changes arrive as messages; output lines
go through a `LogBook` and progress is a single "latest" slot, both drained
every 50 ms, so a tool printing 50,000 lines a second costs one redraw per
tick, not one message per line. The log pane follows the running step; any
finished step's log can be shown by moving the cursor onto it.

Following stops only when the operator moves the cursor (`RowTable.OperatorMoved`,
a key press or a click). The table's `RowHighlighted` is no signal: the screen's
own `move_cursor` posts it too, and it arrives through the table's queue after
the next step may already have started; read as the operator's choice, such a
stale event switched following off and left the pane on the first step.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from xtrarestore.core.inventory.scan import tree_size
from xtrarestore.core.shown import shown

from .. import display
from ..messages import BackToInventory, ShowResult
from ..widgets.log_pane import LogBook, LogPane
from ..widgets.row_table import RowTable
from ..widgets.transfer import TransferProgress

STATE_TEXT = {
    "pending": "[wait]",
    "running": "[RUN ]",
    "ok": "[ OK ]",
    "failed": "[FAIL]",
    "stopped": "[STOP]",
}


def copy_paths(step) -> tuple[Path, Path] | None:
    """(prepared backup, datadir) of a copy-back step, from the step's own fields."""
    if getattr(step, "name", None) != "copy-back" or not (step.source and step.target):
        return None
    return Path(step.source), Path(step.target)


def parse_progress(payload: str) -> tuple[int, int | None, float | None] | None:
    """Bytes done, total and seconds elapsed from a `progress <json>` line of an extractor."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    done = next((data[k] for k in ("bytes_done", "done", "bytes", "read", "bytes_read") if k in data), None)
    total = next((data[k] for k in ("bytes_total", "total", "size", "total_bytes") if k in data), None)
    elapsed = data.get("elapsed")
    if not isinstance(done, int):
        return None
    return done, total if isinstance(total, int) else None, elapsed if isinstance(elapsed, (int, float)) else None


class RunScreen(Screen):
    """Shows a `Job` running; on success opens its result, on failure explains what next."""

    TITLE_TEXT = "Run"
    AUTO_FOCUS = "#steps"
    HELP = (
        "Each step of the plan with its state and duration. The log pane follows the running "
        "step; move the cursor to any step to read its log, f to follow the running step again. "
        "If a step fails, the banner says what happened and offers retry, roll back and the log. "
        "Quitting never abandons a running step: it finishes, then the job stops."
    )

    BINDINGS = [
        Binding("f", "follow", "Follow", tooltip="Show the running step's log and follow it"),
        Binding("l", "open_log", "Log", tooltip="Show the failed (or selected) step's whole log"),
        Binding("r", "retry", "Retry", tooltip="Run again from the failed step (re-extracting if needed)"),
        Binding("b", "rollback", "Roll back", tooltip="Put the previous datadir back and start the server"),
        Binding("enter", "result", "Result", priority=True, tooltip="Open the result of the finished job"),
        Binding("escape", "back", "Back", tooltip="Back to the inventory (only once the job ended)"),
        Binding("q", "app.quit", "Quit", tooltip="Quit; a running step is never abandoned (asks first)"),
    ]

    class StepChanged(Message):
        def __init__(self, event) -> None:
            super().__init__()
            self.event = event

    class StepsPlanned(Message):
        def __init__(self, steps: list) -> None:
            super().__init__()
            self.steps = steps

    class JobEnded(Message):
        def __init__(self, ok: bool, error: str | None) -> None:
            super().__init__()
            self.ok = ok
            self.error = error

    def __init__(self, job, *, tick: float = 0.05) -> None:
        super().__init__()
        self.job = job
        self.tick = tick
        self.book = LogBook()
        self.states: dict[str, str] = {s.name: "pending" for s in job.steps}
        self.seconds: dict[str, float] = {}
        self.titles = {s.name: s.title for s in job.steps}
        self.running_step: str | None = None
        self.failed_step: str | None = None
        self.error: str | None = None
        self.outcome: str | None = None  # "ok" / "failed" / None while running
        self.follow_running = True
        self.latest_progress: tuple[str, str] | None = None
        self.progress_step: str | None = None
        self._shown: str | None = None
        self.step_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="run"):
            yield Static(display.text(self.job.title), id="run-title")
            yield RowTable(id="steps")
            yield TransferProgress(id="transfer", clock=self.job.clock)
            yield Static("", id="banner", classes="hidden")
            yield Static("", id="log-title")
            yield LogPane(id="log")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#steps", DataTable)
        table.add_column("State", key="state", width=6)
        table.add_column("Step", key="title", width=max((len(s.title) for s in self.job.steps), default=40))
        table.add_column("Time", key="time", width=8)
        for step in self.job.steps:
            table.add_row(Text(STATE_TEXT["pending"]), display.text(step.title), "", key=step.name)
        self.query_one("#transfer").display = False
        self.set_interval(self.tick, self.drain)
        self.app.job = self.job
        self.start("run")

    # -- the worker --------------------------------------------------------------

    def start(self, how: str) -> None:
        self.outcome = None
        self.error = None
        self.query_one("#banner", Static).add_class("hidden")
        self.job.running = True
        self.refresh_bindings()
        self.run_job(how)

    @work(thread=True, exclusive=True, exit_on_error=False, group="job")
    def run_job(self, how: str) -> None:
        from xtrarestore.core.errors import XtraRestoreError

        ok, error = False, None
        try:
            if how == "run" and not self.job.steps:
                self.post_message(self.StepsPlanned(self.job.prepare()))
            getattr(self.job, how)(self.on_job_event)
            ok = True
        except XtraRestoreError as failure:
            error = str(failure)
        except Exception as failure:  # noqa: BLE001 - shown to the operator, the worker must end cleanly
            error = f"{type(failure).__name__}: {failure}"
        finally:
            self.job.running = False
            self.app.job_thread_done(ok)
            self.post_message(self.JobEnded(ok, error))

    @work(thread=True, exclusive=True, exit_on_error=False, group="copy-progress")
    def watch_copy(self, name: str, source: Path, datadir: Path) -> None:
        """Copy-back prints no byte counts: measure the datadir filling up against the prepared copy."""
        from textual.worker import get_current_worker

        worker = get_current_worker()
        total = tree_size(source)
        began = time.monotonic()
        while not worker.is_cancelled and self.states.get(name) == "running":
            done = tree_size(datadir) if datadir.exists() else 0
            payload = json.dumps({"bytes_read": min(done, total), "total_bytes": total,
                                  "elapsed": time.monotonic() - began})
            self.latest_progress = (name, payload)
            time.sleep(0.5)

    def on_job_event(self, event) -> None:
        """Called on the worker thread: hand over, never touch widgets here."""
        if event.kind == "output":
            self.book.post(event.step.name, event.line)
        elif event.kind == "progress":
            self.latest_progress = (event.step.name, event.progress)
        elif event.kind == "note":
            self.book.post(self.running_step or "notes", f"note: {event.line}")
        else:
            self.post_message(self.StepChanged(event))

    # -- UI thread ---------------------------------------------------------------

    def drain(self) -> None:
        grown = self.book.drain()
        pane = self.query_one("#log", LogPane)
        if self.shown_step() in grown:
            pane.update()
        progress, self.latest_progress = self.latest_progress, None
        if progress is not None and self.states.get(progress[0]) == "running":
            step, payload = progress
            parsed = parse_progress(payload)
            if parsed is not None:
                widget = self.query_one("#transfer", TransferProgress)
                if self.progress_step != step:
                    self.progress_step = step
                    widget.display = True
                    widget.start(self.titles.get(step, step), parsed[1])
                widget.advance(*parsed)

    @on(StepsPlanned)
    def steps_planned(self, message: StepsPlanned) -> None:
        for step in message.steps:
            if step.name not in self.states:
                self.add_step(step)
                self.update_row(step.name)

    @on(StepChanged)
    def step_changed(self, message: StepChanged) -> None:
        self.drain()
        event = message.event
        name = event.step.name
        if name not in self.states:
            self.add_step(event.step)
        if event.kind == "started":
            if self.progress_step not in (None, name):
                self.progress_step = None
                self.query_one("#transfer", TransferProgress).display = False
            self.states[name] = "running"
            self.running_step = name
            self.job.current_title = event.step.title
            paths = copy_paths(event.step)
            if paths is not None:
                self.watch_copy(name, *paths)
        elif event.kind == "finished":
            self.states[name] = "ok"
            self.seconds[name] = event.seconds
            if self.progress_step == name:
                self.query_one("#transfer", TransferProgress).finish(
                    f"{event.step.title}: done in {display.duration(event.seconds)}")
        elif event.kind == "failed":
            self.states[name] = "failed"
            self.step_error = event.error
            self.seconds[name] = event.seconds
            self.failed_step = name
            self.book.post(name, f"FAILED: {event.error}")
            self.drain()
        self.update_row(name)
        if self.follow_running and event.kind == "started":
            self.show_step(name, move_cursor=True)

    def add_step(self, step) -> None:
        """Steps not in the plan (rollback, verification) appear as they start."""
        self.states[step.name] = "pending"
        self.titles[step.name] = step.title
        self.query_one("#steps", DataTable).add_row("", display.text(step.title), "", key=step.name)

    def update_row(self, name: str) -> None:
        table = self.query_one("#steps", DataTable)
        state = self.states[name]
        table.update_cell(name, "state", Text(STATE_TEXT[state], style="bold" if state != "pending" else ""))
        table.update_cell(name, "time", display.duration(self.seconds.get(name)))

    @on(JobEnded)
    def job_ended(self, message: JobEnded) -> None:
        self.drain()
        self.running_step = None
        self.job.current_title = None
        self.outcome = "ok" if message.ok else "failed"
        self.error = message.error
        for name, state in self.states.items():
            if state == "running":
                self.states[name] = "stopped"
                self.update_row(name)
        if not message.ok:
            self.show_banner()
        self.refresh_bindings()
        self.app.job_finished(message.ok)
        if message.ok and not self.app.quit_when_idle:
            self.action_result()

    def show_banner(self) -> None:
        banner = self.query_one("#banner", Static)
        step = shown(self.titles.get(self.failed_step or "", "the job"))
        actions = ["l: log"]
        if self.job.can_retry():
            actions.insert(0, "r: retry")
        if self.job.can_rollback():
            actions.insert(1 if len(actions) > 1 else 0, "b: roll back")
        # What to do next comes before the (possibly long) error: the banner's height is capped.
        room = max(20, self.size.width - 16)
        text = Text(f"[FAILED] {step if len(step) <= room else step[: room - 1] + '…'}\n", style="bold")
        text.append(f"Next: {', '.join(actions)}. {self.job.failure_advice()}\n", style="bold")
        text.append(shown((self.step_error if self.failed_step else None) or self.error or "stopped"))
        banner.update(text)
        banner.remove_class("hidden")
        if self.failed_step:
            self.show_step(self.failed_step, move_cursor=True)

    # -- the log pane --------------------------------------------------------------

    def shown_step(self) -> str | None:
        return self._shown

    def show_step(self, name: str, *, move_cursor: bool = False) -> None:
        self._shown = name
        self.query_one("#log", LogPane).show(self.book.log(name))
        title = Text(f"Log: {shown(self.titles.get(name, name))}", style="bold", no_wrap=True, overflow="ellipsis")
        self.query_one("#log-title", Static).update(title)
        if move_cursor:
            table = self.query_one("#steps", DataTable)
            table.move_cursor(row=table.get_row_index(name))

    @on(RowTable.OperatorMoved, "#steps")
    def step_chosen(self, event: RowTable.OperatorMoved) -> None:
        """The operator moved the cursor: show that step; follow again only if it is the running one."""
        if event.key is None:
            return
        self.follow_running = event.key == self.running_step
        if event.key != self.shown_step():
            self.show_step(event.key)
        self.refresh_bindings()

    @on(DataTable.RowHighlighted, "#steps")
    def step_highlighted(self) -> None:
        self.refresh_bindings()

    def action_follow(self) -> None:
        self.follow_running = True
        if self.running_step:
            self.show_step(self.running_step, move_cursor=True)

    def action_open_log(self) -> None:
        name = self.failed_step or self.shown_step()
        if name:
            self.show_step(name, move_cursor=True)
            path = self.job.log_path(name)
            if path is not None:
                self.notify(shown(path), title="Log file", markup=False)
        self.query_one("#log", LogPane).focus()

    # -- failure actions ---------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        ended = self.outcome is not None and not self.job.running
        if action == "retry":
            return True if ended and self.outcome == "failed" and self.job.can_retry() else None
        if action == "rollback":
            return True if ended and self.job.can_rollback() else None
        if action == "result":
            return True if ended and self.job.has_result() else None
        if action == "back":
            return True if ended else None
        if action == "follow":
            return True if self.job.running else None
        return True

    def action_retry(self) -> None:
        for name in self.job.retry_resets(self.failed_step):
            self.states[name] = "pending"
            self.seconds.pop(name, None)
            self.update_row(name)
        self.failed_step = None
        self.step_error = None
        self.follow_running = True
        self.start("retry")

    def action_rollback(self) -> None:
        from ..modals.confirm import ConfirmModal

        def answer(yes: bool | None) -> None:
            if yes:
                self.failed_step = None
                self.follow_running = True
                self.start("rollback")

        self.app.push_screen(
            ConfirmModal("Roll back", self.job.rollback_summary(), confirm_label="Roll back",
                         words=("rollback",)),
            answer,
        )

    def action_result(self) -> None:
        if self.job.has_result():
            self.post_message(ShowResult(self.job))

    def action_back(self) -> None:
        self.post_message(BackToInventory(rescan=True))
