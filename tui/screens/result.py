"""Result: did the restored server come back with the data, and where is everything.

Verification (schemas, exact row counts, CHECK TABLE, binlog position) is
asked from the restored server in a worker with the core's `verify`. While the
previous datadir still exists beside the new one, rollback stays one key away.
"""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from xtrarestore.core.shown import shown

from .. import display
from ..messages import BackToInventory, JobAction


def reach_params(plan):
    """Connection parameters for the restored server, from the plan's own options."""
    from xtrarestore.core.restore.verify import params_from

    options = dict(zip(plan.reach[::2], plan.reach[1::2], strict=False))
    port = options.get("--port")
    return params_from(options.get("--socket"), options.get("--host"), int(port) if port else None,
                       plan.defaults_file)


def backup_dir(plan) -> Path | None:
    """The prepared backup the plan's verify step reads the binlog position from."""
    source = next((s.source for s in plan.steps if s.name == "verify"), None)
    return Path(source) if source else None


def verify_table(report) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("Table")
    table.add_column("Engine")
    table.add_column("Rows", justify="right")
    table.add_column("CHECK")
    for entry in report.tables:
        rows = "-" if entry.rows is None else str(entry.rows)
        check = entry.check or "-"
        table.add_row(display.text(f"{entry.schema}.{entry.name}"), display.text(entry.engine or ""), rows,
                      Text(f"[{check}]" if check != "OK" else "OK"))
    return table


def binlog_text(binlog) -> str:
    if binlog is None:
        return "not recorded (binary log off when the backup was taken)"
    gtid = f", GTID {binlog.gtid}" if binlog.gtid else ""
    return shown(f"{binlog.file}:{binlog.position}{gtid}")


def roll_forward_text(plan) -> str | None:
    """What the roll-forward reached (its state file), or what it aimed at when it did not run."""
    import json

    planned = getattr(plan, "roll_forward", None)
    if not planned:
        return None
    try:
        done = json.loads((plan.workdir / "rollforward.json").read_text()).get("outcome") or {}
    except (OSError, ValueError):
        done = {}
    if not done:
        return shown(f"roll forward: {planned['stop_point']} (not run)")
    skipped = f", skipped {', '.join(done['skipped'])}" if done.get("skipped") else ""
    reached = f"{done.get('gtid_reached') or 'none'} ({done.get('time_reached') or 'no commit'})"
    return shown(f"rolled forward to GTID {reached}, {done.get('transactions_applied', 0)} transactions in"
                 f" {done.get('seconds', 0)}s{skipped}; stop point {planned['stop_point']}")


class ResultScreen(Screen):
    """What the restore produced; b rolls back while the previous datadir is kept."""

    TITLE_TEXT = "Result"
    AUTO_FOCUS = "#result-body"
    HELP = (
        "The restored server's schemas, tables with exact row counts and CHECK TABLE results, "
        "the binlog position of the backup (to replay binlogs from), and where the journal "
        "and step logs are. Rollback puts the previous datadir back while it still exists."
    )

    BINDINGS = [
        Binding("v", "verify", "Verify again", tooltip="Ask the restored server again"),
        Binding("b", "rollback", "Roll back", tooltip="Put the previous datadir back (typed confirmation)"),
        Binding("escape", "back", "Back", tooltip="Back to the run screen"),
        Binding("i", "inventory", "Inventory", tooltip="Back to the inventory"),
    ]

    class Verified(Message):
        def __init__(self, report, error: str | None) -> None:
            super().__init__()
            self.report = report
            self.error = error

    def __init__(self, job) -> None:
        super().__init__()
        self.job = job
        self.report = None
        self.verifying = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self.heading(), id="result-title")
        with VerticalScroll(id="result-body"):
            yield Static("Verifying the restored server…", id="verify")
            yield Static(self.paths(), id="paths")
        yield Footer(compact=True, show_command_palette=False)

    def heading(self) -> Text:
        plan = self.job.plan
        state = self.job.state()
        outcome = {"completed": "[RESTORED]", "rolled-back": "[ROLLED BACK]"}.get(state.outcome, "[INCOMPLETE]")
        text = Text(f"{outcome} {shown(plan.day)} up to {shown(plan.upto)}", style="bold")
        text.append(f"\ninto {shown(plan.datadir)}")
        if state.downtime is not None:
            text.append(f"\n{state.downtime.line()}")
        return text

    def paths(self) -> Text:
        plan = self.job.plan
        text = Text("\nWhere things are\n", style="bold underline")
        text.append(f"  journal       {shown(self.job.journal_path())}\n")
        text.append(f"  step logs     {shown(plan.workdir / 'logs')}\n")
        if self.job.state().outcome == "rolled-back":
            text.append(f"  previous data {shown(plan.datadir)} (put back by the rollback)\n")
        elif plan.aside.exists():
            text.append(f"  previous data {shown(plan.aside)} (kept; b rolls back to it)\n")
        else:
            text.append(f"  previous data {shown(plan.aside)} (no longer there: rollback is not possible)\n")
        if plan.error_log:
            text.append(f"  server log    {shown(plan.error_log)}\n")
        return text

    def on_mount(self) -> None:
        self.action_verify()

    def action_verify(self) -> None:
        self.verifying = True
        self.refresh_bindings()
        self.query_one("#verify", Static).update("Verifying the restored server…")
        self.verify()

    @work(thread=True, exclusive=True, exit_on_error=False, group="verify")
    def verify(self) -> None:
        from xtrarestore.core.errors import XtraRestoreError
        from xtrarestore.core.restore.verify import verify

        plan = self.job.plan
        try:
            report = verify(reach_params(plan), backup_dir=backup_dir(plan))
        except XtraRestoreError as error:
            self.post_message(self.Verified(None, str(error)))
            return
        except Exception as error:  # noqa: BLE001 - shown to the operator; the worker must report
            self.post_message(self.Verified(None, f"{type(error).__name__}: {error}"))
            return
        self.post_message(self.Verified(report, None))

    @on(Verified)
    def verified(self, message: Verified) -> None:
        self.verifying = False
        self.refresh_bindings()
        widget = self.query_one("#verify", Static)
        if message.error:
            widget.update(Text(f"[VERIFY FAILED] {shown(message.error)}", style="bold"))
            return
        report = self.report = message.report
        problems = report.problems
        head = Text(f"{'[DATA OK]' if not problems else '[CHECK PROBLEMS]'} ", style="bold")
        head.append(f"server {shown(report.server_version)}: {len(report.schemas)} schemas, {len(report.tables)} tables")
        if not report.counted_all:
            head.append(" (row counts on a sample)")
        head.append("\nschemas: " + shown(", ".join(report.schemas)))
        head.append(f"\nbinlog position at backup: {binlog_text(report.binlog)}\n")
        reached = roll_forward_text(self.job.plan)
        if reached:
            head.append(f"{reached}\n", style="bold")
        from rich.console import Group

        widget.update(Group(head, verify_table(report)))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rollback":
            possible = not self.job.running and self.job.can_rollback() and self.job.plan.aside.exists()
            return True if possible else None
        if action == "verify":
            return None if self.verifying else True
        return True

    def action_rollback(self) -> None:
        self.app.pop_screen()
        self.app.post_message(JobAction("rollback"))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_inventory(self) -> None:
        self.app.post_message(BackToInventory(rescan=True))
