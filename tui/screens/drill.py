"""Drill mode: run a drill from any chosen point, read its report, list past ones."""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from xtrarestore.core.shown import shown

from .. import display
from ..messages import OpenReport
from ..widgets.row_table import RowTable


def report_body(report, path: Path | None) -> Group:
    """The report as the operator reads it: verdict, RTO, point, steps, data, problems."""
    verdict = "[DRILL PASSED]" if report.ok else "[DRILL FAILED]"
    head = Text(f"{verdict} {shown(report.day)} up to {shown(report.upto)}", style="bold")
    head.append(f"\nRTO {display.duration(report.rto_seconds)}")
    head.append(f" (total with drill overhead {display.duration(report.total_seconds)})")
    head.append(f"\nbefore the stop {display.duration(report.before_stop_seconds)}, "
                f"downtime (stop → answering) {display.duration(report.downtime_seconds)}")
    point = report.restore_point or {}
    if point:
        head.append(f"\nrestore point: data as of {point.get('time')}, LSN {point.get('from_lsn')}.."
                    f"{point.get('to_lsn')}, {len(point.get('members', []))} backup(s)")
    if report.error:
        head.append(f"\nerror: {shown(report.error)}", style="bold")
    steps = Table(box=None, padding=(0, 1), header_style="bold", title="Steps", title_justify="left")
    steps.add_column("Step")
    steps.add_column("State")
    steps.add_column("Time", justify="right")
    steps.add_column("RTO %", justify="right")
    for step in report.steps:
        share = f"{report.share(step) * 100:.0f}%" if step.in_rto else "-"
        steps.add_row(display.text(step.title), Text(f"[{step.status}]"), display.duration(step.seconds), share)
    tables = Table(box=None, padding=(0, 1), header_style="bold", title="Data", title_justify="left")
    tables.add_column("Table")
    tables.add_column("Rows", justify="right")
    tables.add_column("CHECK")
    for entry in report.tables:
        tables.add_row(display.text(f"{entry.schema}.{entry.table}"), str(entry.rows), display.text(entry.check))
    tail = Text()
    binlog = report.binlog or {}
    if binlog:
        gtid = f", GTID {binlog.get('gtid')}" if binlog.get("gtid") else ""
        tail.append(shown(f"binlog position at backup: {binlog.get('file')}:{binlog.get('position')}{gtid}") + "\n")
    rf = getattr(report, "roll_forward", None)
    if rf:
        skipped = shown(f", skipped {', '.join(rf['skip'])}") if rf.get("skip") else ""
        tail.append(f"rolled forward: {shown(rf.get('stop_point'))}{skipped}\n", style="bold")
        tail.append(f"  reached GTID {shown(rf.get('gtid_reached') or rf.get('gtid_target') or '-')}"
                    f" ({rf.get('time_reached') or '-'}), {rf.get('transactions_applied', 0)} transactions"
                    f" in {display.duration(float(rf.get('seconds') or 0))}\n")
    for problem in report.problems:
        tail.append(f"{display.badge(shown(problem.get('code', '?')))} {shown(problem.get('message'))}\n")
    if path is not None:
        tail.append(shown(f"report: {path} (and {Path(path).with_suffix('.md').name})") + "\n")
    return Group(head, Text(""), steps, Text(""), tables, Text(""), tail)


class DrillReportScreen(Screen):
    """One drill's report."""

    TITLE_TEXT = "Drill report"
    AUTO_FOCUS = "#report-body"
    HELP = (
        "The drill restored the point into a throwaway server and checked the data. RTO is "
        "the time a real restore of this point would take (drill-only steps excluded); the "
        "steps table shows where it went. Reports are kept and listed under p on the inventory."
    )

    BINDINGS = [Binding("escape", "back", "Back", tooltip="Back to the previous screen")]

    def __init__(self, report, path: Path | None = None) -> None:
        super().__init__()
        self.report = report
        self.path = path

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="report-body"):
            yield Static(report_body(self.report, self.path), id="report")
        yield Footer(compact=True, show_command_palette=False)

    def action_back(self) -> None:
        self.app.pop_screen()


class DrillReportsScreen(Screen):
    """Past drills, newest first; Enter opens one."""

    TITLE_TEXT = "Drill reports"
    AUTO_FOCUS = "#reports"
    HELP = "Every drill saved on this host, newest first: verdict, point, RTO. Enter opens the report."

    BINDINGS = [
        Binding("enter", "open", "Open", priority=True, tooltip="Read this drill's report"),
        Binding("r", "reload", "Reload", tooltip="Read the reports directory again"),
        Binding("escape", "back", "Back", tooltip="Back to the inventory"),
    ]

    class Listed(Message):
        def __init__(self, reports: list) -> None:
            super().__init__()
            self.reports = reports

    def __init__(self) -> None:
        super().__init__()
        self.reports: list = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Past drills", id="reports-title")
        yield RowTable(id="reports")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#reports", DataTable)
        table.add_column("Started (UTC)", key="started", width=19)
        table.add_column("Verdict", key="status", width=8)
        table.add_column("RTO", key="rto", width=8)
        table.add_column("Point", key="point", width=60)
        self.action_reload()

    def action_reload(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="reports")
    def load(self) -> None:
        from xtrarestore.core.drills.report import list_reports

        self.post_message(self.Listed(list_reports(self.app.settings.reports_dir)))

    @on(Listed)
    def listed(self, message: Listed) -> None:
        self.reports = message.reports
        table = self.query_one("#reports", DataTable)
        table.clear()
        for number, (_path, report) in enumerate(self.reports):
            verdict = "[PASSED]" if report.ok else "[FAILED]"
            table.add_row(report.started.replace("T", " ")[:19], Text(verdict), display.duration(report.rto_seconds),
                          display.text(f"{report.day}/{report.upto}"), key=str(number))
        title = f"Past drills: {len(self.reports)}" if self.reports else "No drills yet: press d on a backup."
        self.query_one("#reports-title", Static).update(title)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "open":
            return True if self.reports else None
        return True

    def action_open(self) -> None:
        table = self.query_one("#reports", DataTable)
        if not self.reports:
            return
        path, report = self.reports[table.cursor_row]
        self.post_message(OpenReport(report, path))

    def action_back(self) -> None:
        self.app.pop_screen()
