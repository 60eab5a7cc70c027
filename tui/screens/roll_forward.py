"""Roll forward: after choosing a backup, choose how far the binlogs take it — or which transaction to leave out.

The screen lays out what the binlogs hold after the backup's position: the
covered time range (UTC, and the host zone `--until` reads), any gap that cuts
it short, and the notable events (DROP, TRUNCATE, mass DELETE…), filterable
with `/`. On an event: `b` stops just before it, `s` skips it and goes on;
`t` types a time; `e` takes everything. Every change is resolved against the
timeline at once, so the line under the table says exactly where the restore
would stop (GTID, time, transactions) or why it cannot. Enter plans the
restore with that stop point, `d` drills it, `r` recovers tables as of it;
`u` weighs undoing the highlighted event (flashback or table recovery).
Text read from binlogs is escaped before it is shown.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.markup import escape
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from xtrarestore.core.shown import shown

from ..messages import OpenPlan, RecoverTables, StartDrill, StopChoice, UndoEvent


def utc(epoch: int | None) -> str:
    return "-" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def host_zone() -> str:
    now = datetime.now().astimezone()
    offset = now.strftime("%z")
    return f"{offset[:3]}:{offset[3:]} {now.tzname()}"


class RollForwardScreen(Screen):
    """Choose the stop point of a point-in-time restore from the binlog timeline."""

    TITLE_TEXT = "Roll forward"
    AUTO_FOCUS = "#event-table"
    HELP = (
        "The binlogs after the backup, and the events that usually cause a restore (DROP, TRUNCATE, "
        "DELETE or UPDATE of many rows). b: stop just before the highlighted event. s: leave it out and "
        "apply everything else. t: type a time (host time zone unless you add +HH:MM or Z). e: everything. "
        "/ filters the events. Enter plans the restore with that stop point, d drills it first, r recovers "
        "tables as of it into the running server. u: undo the highlighted event (flashback where safe, "
        "else table recovery, each with its estimate). "
        "Times are shown in UTC."
    )

    BINDINGS = [
        Binding("b", "before", "Stop before", tooltip="Apply everything before the highlighted event"),
        Binding("s", "skip", "Skip it", tooltip="Leave the highlighted event out, apply everything else"),
        Binding("t", "time", "Time…", tooltip="Stop at a time you type"),
        Binding("e", "everything", "All", tooltip="Apply everything the binlogs hold"),
        Binding("enter", "plan", "Plan…", tooltip="Plan the restore with this stop point"),
        Binding("d", "drill", "Drill", tooltip="Drill this stop point on a throwaway server"),
        Binding("r", "tables", "Tables…", tooltip="Recover tables as of this stop point into the running server"),
        Binding("u", "undo", "Undo…", tooltip="Undo the highlighted event: flashback where safe, else table recovery"),
        Binding("slash", "filter", "Find", tooltip="Show only events matching some text"),
        Binding("escape", "back", "Back", tooltip="Back to the restore points (or close the input)"),
    ]

    class Loaded(Message):
        def __init__(self, timeline) -> None:
            super().__init__()
            self.timeline = timeline

    class Failed(Message):
        """The binlogs could not be laid out; *damaged* when they were found but one cannot be read."""

        def __init__(self, error: str, damaged: bool = False) -> None:
            super().__init__()
            self.error = error
            self.damaged = damaged

    def __init__(self, point, timeline=None) -> None:
        """*timeline* is an already built timeline (tests); otherwise the screen reads the binlogs."""
        super().__init__()
        self.point = point
        self.timeline = timeline
        self.until = "end"
        self.skip: list[str] = []
        self.resolved = None
        self.problem: str | None = None
        self.events: dict[str, object] = {}
        self.binlog_dirs: list = []  # where the timeline was read (for flashback's own reading)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="rollforward"):
            yield Static(self.heading(), id="rf-title")
            yield Static("Reading the binlogs…", id="rf-range")
            yield Input(placeholder="filter: kind, table, GTID or time (Esc to clear)", id="rf-filter",
                        classes="hidden")
            yield DataTable(id="event-table", cursor_type="row")
            yield Input(placeholder=f"stop before YYYY-MM-DD HH:MM:SS (host zone {host_zone()}; +HH:MM or Z)",
                        id="rf-time", classes="hidden")
            yield Static("", id="rf-choice")
        yield Footer(compact=True, show_command_palette=False)

    def heading(self) -> Text:
        target = self.point.target
        return Text(f"Roll forward {self.point.day.name} {shown(target.name)}", style="bold")

    def on_mount(self) -> None:
        table = self.query_one("#event-table", DataTable)
        table.add_column("Time (UTC)", key="time", width=19)
        table.add_column("GTID", key="gtid", width=12)
        table.add_column("Kind", key="kind", width=8)
        table.add_column("Table", key="table", width=22)
        table.add_column("Rows", key="rows", width=6)
        if self.timeline is not None:
            self.post_message(self.Loaded(self.timeline))
        else:
            self.load()

    @work(thread=True, exclusive=True, exit_on_error=False, group="binlogs")
    def load(self) -> None:
        from xtrarestore.core.errors import BinlogCorruptError, BinlogEncryptedError, XtraRestoreError
        from xtrarestore.core.restore.pitr import open_timeline, server_binlog_dir

        settings = self.app.settings
        dirs = list(getattr(settings, "binlog_dirs", None) or [])
        socket = (settings.target_options or {}).get("socket")
        if socket:
            try:
                live = server_binlog_dir(socket)
            except XtraRestoreError:
                live = None
            if live is not None and live not in dirs:
                dirs.append(live)
        self.binlog_dirs = dirs
        try:
            self.post_message(self.Loaded(open_timeline(dirs, point=self.point)))
        except (BinlogCorruptError, BinlogEncryptedError) as error:
            self.post_message(self.Failed(str(error), damaged=True))
        except (XtraRestoreError, OSError) as error:
            self.post_message(self.Failed(str(error)))

    @on(Loaded)
    def loaded(self, message: Loaded) -> None:
        self.timeline = message.timeline
        self.query_one("#rf-range", Static).update(self.range_text())
        self.fill()
        self.choose("end", [])

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.problem = message.error
        if message.damaged:
            text = f"[BINLOG UNREADABLE] {shown(message.error)}\nRoll forward is not offered while it cannot be read."
        else:
            text = f"[NO BINLOGS] {shown(message.error)}\nStart the console with --binlog-dir DIR."
        self.query_one("#rf-range", Static).update(Text(text, style="bold"))
        self.refresh_bindings()

    def range_text(self) -> Text:
        timeline = self.timeline
        start = timeline.start
        text = Text(f"From {shown(start)} (GTID {shown(start.gtid or 'none')}), after"
                    f" {utc(timeline.earliest_until - 1) if timeline.earliest_until else '-'} UTC")
        reach = timeline.reachable_transactions
        last = reach[-1] if reach else None
        text.append(f"\nto {utc(last.time) if last else '-'} UTC: {len(reach)} transactions,"
                    f" {len(timeline.files)} files; --until reads host time {host_zone()}")
        for gap in timeline.gaps[:1]:
            text.append(f"\n[GAP] {shown(gap.message)}", style="bold")
        return text

    def fill(self) -> None:
        table = self.query_one("#event-table", DataTable)
        table.clear()
        self.events.clear()
        needle = self.query_one("#rf-filter", Input).value.strip().lower()
        for number, event in enumerate(self.timeline.notable):
            cells = [utc(event.time), shown(event.gtid or "-"),
                     event.kind + ("" if event.reachable else "!"), shown(event.table or "-"),
                     "-" if event.rows is None else str(event.rows)]
            if needle and not any(needle in cell.lower() for cell in cells):
                continue
            key = f"e{number}"
            self.events[key] = event
            table.add_row(*(Text(cell, style="" if event.reachable else "dim") for cell in cells), key=key)
        if not self.timeline.notable:
            table.add_row(Text("no DROP, TRUNCATE or mass change"), "", "", "", "", key="none")

    def highlighted(self):
        table = self.query_one("#event-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.events.get(key)

    # -- choosing ------------------------------------------------------------

    def choose(self, until: str, skip: list[str]) -> None:
        from xtrarestore.core.binlog import resolve_stop_point
        from xtrarestore.core.errors import XtraRestoreError

        self.until, self.skip = until, skip
        choice = self.query_one("#rf-choice", Static)
        try:
            self.resolved = resolve_stop_point(self.timeline, until, tuple(skip))
            self.problem = None
        except XtraRestoreError as error:
            self.resolved, self.problem = None, str(error)
            choice.update(Text(f"[CANNOT] {shown(error)}", style="bold"))
            self.refresh_bindings()
            return
        stop = self.resolved
        last = stop.transactions[-1] if stop.transactions else None
        skipped = f"; skipping {', '.join(skip)}" if skip else ""
        choice.update(Text.from_markup(
            f"[b]Stop point:[/b] {escape(shown(stop.until.describe()))}{escape(skipped)}\n"
            f"reaches GTID {escape(stop.gtid_reached or 'none')}"
            f" ({utc(last.time) + ' UTC' if last else 'no commit'}), {len(stop.transactions)} transactions\n"
            "[i]Enter plans the restore with this stop point, d drills it[/i]"))
        self.refresh_bindings()

    def action_before(self) -> None:
        event = self.highlighted()
        if event is not None and event.gtid:
            keep = [g for g in self.skip if _seq(g) < event.transaction.seq]
            self.choose(f"before:{event.gtid}", keep)

    def action_skip(self) -> None:
        event = self.highlighted()
        if event is None or not event.gtid or event.gtid in self.skip:
            return
        until = self.until
        if until.startswith(("before:", "gtid:")) and _seq(until.split(":", 1)[1]) <= event.transaction.seq:
            until = "end"
        self.choose(until, [*self.skip, event.gtid])

    def action_everything(self) -> None:
        self.choose("end", [])

    def action_time(self) -> None:
        box = self.query_one("#rf-time", Input)
        box.remove_class("hidden")
        box.focus()

    @on(Input.Submitted, "#rf-time")
    def time_typed(self, message: Input.Submitted) -> None:
        box = self.query_one("#rf-time", Input)
        box.add_class("hidden")
        self.query_one("#event-table", DataTable).focus()
        if message.value.strip():
            self.choose(message.value.strip(), list(self.skip))

    def action_filter(self) -> None:
        box = self.query_one("#rf-filter", Input)
        box.remove_class("hidden")
        box.focus()

    @on(Input.Changed, "#rf-filter")
    def filter_changed(self) -> None:
        if self.timeline is not None:
            self.fill()

    @on(Input.Submitted, "#rf-filter")
    def filter_done(self) -> None:
        self.query_one("#event-table", DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("plan", "drill", "tables"):
            return True if self.resolved is not None else None
        if action in ("before", "skip", "time", "everything", "filter", "undo"):
            return True if self.timeline is not None else None
        return True

    def stop_choice(self) -> StopChoice:
        return StopChoice(until=self.until, skip=tuple(self.skip), label=self.resolved.until.describe())

    @on(DataTable.RowSelected, "#event-table")
    def row_chosen(self) -> None:
        self.action_plan()

    def action_plan(self) -> None:
        if self.resolved is not None:
            self.post_message(OpenPlan(self.point, stop=self.stop_choice()))

    def action_drill(self) -> None:
        if self.resolved is not None:
            self.post_message(StartDrill(self.point, stop=self.stop_choice()))

    def action_undo(self) -> None:
        event = self.highlighted()
        if event is not None and event.gtid:
            self.post_message(UndoEvent(self.point, event, self.timeline, self.binlog_dirs))

    def action_tables(self) -> None:
        if self.resolved is not None:
            self.post_message(RecoverTables(self.point, stop=self.stop_choice()))

    def action_back(self) -> None:
        for name in ("#rf-time", "#rf-filter"):
            box = self.query_one(name, Input)
            if not box.has_class("hidden"):
                if name == "#rf-filter":
                    box.value = ""
                box.add_class("hidden")
                self.query_one("#event-table", DataTable).focus()
                return
        self.app.pop_screen()


def _seq(gtid: str) -> int:
    try:
        return int(gtid.rsplit("-", 1)[1])
    except (IndexError, ValueError):
        return 0
