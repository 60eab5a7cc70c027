"""Recover tables: pick tables from the backup's own list, then read what came back.

The list is the restore point's own file list (one `.frm` per table, read
from the stream's chunk headers), so only tables the backup holds can be
picked. They are recovered into the server the console was started against,
under new names (`<table>__restored_<stamp>`): nothing live is replaced here;
`xtrarestore recover-table --replace` does that after its own confirmation.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, SelectionList, Static

from xtrarestore.core.shown import shown

from .. import display
from ..messages import RunJob


def target_label(settings) -> str | None:
    options = settings.target_options or {}
    if options.get("socket"):
        return f"socket {options['socket']}"
    if options.get("host"):
        return f"{options['host']}:{options.get('port') or 3306}"
    return None


class TablesScreen(Screen):
    """Tables of one restore point (as of a stop point when one was chosen); space picks, Enter recovers."""

    TITLE_TEXT = "Recover tables"
    AUTO_FOCUS = "#table-list"
    HELP = (
        "Restores this point into a throwaway server and brings the picked tables into the running "
        "server under new names (<table>__restored_<stamp>), verified by rows and CHECKSUM TABLE. "
        "Production is never stopped; compare, then swap with RENAME TABLE."
    )

    BINDINGS = [
        Binding("enter", "recover", "Recover", priority=True, tooltip="Recover the picked tables under new names"),
        Binding("escape", "back", "Back", tooltip="Back to the restore point"),
    ]

    class Listed(Message):
        def __init__(self, tables: list | None) -> None:
            super().__init__()
            self.tables = tables

    def __init__(self, settings, point, stop=None) -> None:
        super().__init__()
        self.settings = settings
        self.point = point
        self.stop = stop  # a messages.StopChoice from the roll-forward screen: recover as of that moment
        self.tables: list | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="tables"):
            yield Static(self.heading(), id="tables-title")
            yield SelectionList(id="table-list")
            yield Static("Reading the backup's table list…", id="tables-detail")
        yield Footer(compact=True, show_command_palette=False)

    def heading(self) -> Text:
        text = Text(f"{shown(self.point.day.name)} up to {shown(self.point.target.name)}", style="bold")
        if self.stop is not None:
            text.append(f", rolled forward: {shown(self.stop.label or self.stop.until)}", style="bold")
        where = target_label(self.settings)
        text.append(f"\ninto {shown(where)}, under new names" if where else "\nno server to recover into")
        return text

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tables")
    def load(self) -> None:
        from xtrarestore.core.tables.catalog import backup_tables

        self.post_message(self.Listed(backup_tables(self.point.target)))

    @on(Listed)
    def listed(self, message: Listed) -> None:
        self.tables = message.tables
        picker = self.query_one("#table-list", SelectionList)
        for schema, table in message.tables or []:
            picker.add_option((display.text(f"{schema}.{table}"), f"{schema}.{table}"))
        self.show_detail()

    @on(SelectionList.SelectedChanged)
    def show_detail(self) -> None:
        detail = self.query_one("#tables-detail", Static)
        if self.tables is None:
            detail.update("The backup's table list cannot be read here; use xtrarestore recover-table --table.")
            return
        picked = len(self.query_one("#table-list", SelectionList).selected)
        text = Text(f"{len(self.tables)} table(s) in the backup, {picked} picked. Space: pick, Enter: recover.")
        if target_label(self.settings) is None:
            text.append(
                "\nStart the console with --socket (or --host/--port) and --defaults-file to recover into that server.",
                style="bold",
            )
        detail.update(text)

    def action_recover(self) -> None:
        from ..jobs.tables import TableRecoveryJob

        picked = list(self.query_one("#table-list", SelectionList).selected)
        if target_label(self.settings) is None:
            self.notify("No server to recover into: start the console with --socket.", severity="warning")
        elif not picked:
            self.notify("Pick at least one table (space).", severity="warning")
        else:
            self.post_message(RunJob(TableRecoveryJob(self.settings, self.point, picked, stop=self.stop)))

    def action_back(self) -> None:
        self.app.pop_screen()


def recovery_body(report, path: Path | None) -> Group:
    head = Text("[DONE] " if report.ok else "[FAILED] ", style="bold")
    head.append(shown(f"{report.day} up to {report.upto} into {report.target}"))
    before, after = report.production.get("before", {}), report.production.get("after", {})
    if after:
        head.append(f"\nproduction kept running: uptime {before.get('uptime')}s -> {after.get('uptime')}s")
    if report.roll_forward:
        rf = report.roll_forward
        reached = rf.get("gtid_reached") or rf.get("gtid_target") or "-"
        head.append("\n" + shown(f"rolled forward to {rf.get('stop_point')}: reached GTID {reached}"))
    if report.error:
        head.append(f"\nerror: {shown(report.error)}", style="bold")
    grid = Table(box=None, padding=(0, 1), header_style="bold", title_justify="left", show_header=True)
    grid.add_column("Table (as recovered)")
    grid.add_column("Rows", justify="right")
    grid.add_column("How")
    grid.add_column("Verified")
    for entry in report.tables:
        grid.add_row(display.text(entry["target"]), str(entry["rows"]), display.text(entry["method"]),
                     "yes" if entry["verified"] else "NO")
    tail = Text()
    for line in [*report.foreign_keys, *report.notes]:
        tail.append(f"{shown(line)}\n")
    if path is not None:
        tail.append(f"report: {shown(path)}\n")
    return Group(head, Text(""), grid, Text(""), tail)


class TableRecoveryScreen(Screen):
    """What a table recovery brought back, and the evidence."""

    TITLE_TEXT = "Tables recovered"
    AUTO_FOCUS = "#report-body"
    HELP = "Each table recovered under its new name, its rows and how it travelled; foreign keys and notes below."

    BINDINGS = [Binding("escape", "back", "Back", tooltip="Back to the previous screen")]

    def __init__(self, report, path: Path | None = None) -> None:
        super().__init__()
        self.report = report
        self.path = path

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="report-body"):
            yield Static(recovery_body(self.report, self.path), id="report")
        yield Footer(compact=True, show_command_palette=False)

    def action_back(self) -> None:
        self.app.pop_screen()
