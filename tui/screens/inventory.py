"""Inventory: every day's backups grouped by chain, the newest restorable point on top.

The scan runs in a thread worker; the table is rebuilt from the scanned
`Inventory` on the UI thread. Rows are keyed so the highlighted row survives a
refresh or a filter change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from xtrarestore.core.inventory import names
from xtrarestore.core.inventory.names import LATEST
from xtrarestore.core.shown import shown

from .. import display
from ..messages import InventoryScanned, OpenNewestPoint, OpenReports, OpenRestorePoint, OpenScenarios, StartDrill
from ..widgets.row_table import RowTable


@dataclass
class Row:
    """What one table row stands for: a day heading, a chain heading or a backup."""

    day: object
    chain: object | None = None
    backup: object | None = None


EXPANDED_DAYS = 7


class InventoryScreen(Screen):
    """Days, chains and backups; choose a backup to restore up to it, or drill it."""

    TITLE_TEXT = "Inventory"
    AUTO_FOCUS = "#backups"
    HELP = (
        "Every day directory under the backup root, its backups grouped into chains "
        "(a full backup and the incrementals applied on top of it, in order). "
        "Problems are shown as text badges; the line under the table explains the "
        "highlighted row. The line at the top is the newest point you could restore "
        "now and how old it is. The newest week of days is unfolded; Enter or Space on a "
        "day (+) shows or hides its backups, and a filter searches every day."
    )

    BINDINGS = [
        Binding("enter", "choose", "Restore…", priority=True,
                tooltip="Choose a restore point in this backup's chain"),
        Binding("space", "fold", "Fold", show=False, tooltip="Show or hide this day's backups"),
        Binding("d", "drill", "Drill", tooltip="Rehearse: restore this point into a throwaway server"),
        Binding("slash", "filter", "Find", tooltip="Show only rows matching a name, time, state or 'latest'"),
        Binding("n", "newest", "Newest", tooltip="Open the newest restorable point"),
        Binding("r", "refresh", "Refresh", tooltip="Scan the backup root again"),
        Binding("g", "scenarios", "Guided", tooltip="Checklists for common incidents"),
        Binding("p", "reports", "Reports", tooltip="Reports of past drills"),
        Binding("q", "app.quit", "Quit", tooltip="Leave xtrarestore (asks first while a restore runs)"),
        Binding("escape", "clear_filter", "Clear filter", show=False, tooltip="Show every row again"),
    ]

    class Scanned(Message):
        def __init__(self, inventory) -> None:
            super().__init__()
            self.inventory = inventory

    class ScanFailed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class BinlogReach(Message):
        """How far the configured binlogs take the newest point (text for the RPO line)."""

        def __init__(self, text: Text) -> None:
            super().__init__()
            self.text = text

    def __init__(self) -> None:
        super().__init__()
        self.inventory = None
        self.rows: dict[str, Row] = {}
        self.scanning = False
        self.expanded: set[str] | None = None
        """Days whose backups are listed; older days start folded (a thousand rows stay fast)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="inventory"):
            yield Static("Scanning…", id="rpo")
            yield Input(placeholder="filter: day, name, time, state, badge or 'latest' (Esc clears)",
                        id="filter", classes="hidden")
            yield RowTable(id="backups", zebra_stripes=False)
            yield Static("", id="detail")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#backups", DataTable)
        # Fixed widths: a thousand rows need no measuring, and the layout never shifts.
        table.add_column("Backup", key="backup", width=15)
        table.add_column("Age", key="age", width=7)
        table.add_column("Size", key="size", width=8)
        table.add_column("Enc", key="enc", width=10)
        table.add_column("State", key="state", width=12)
        table.add_column("LSN from..to", key="lsn", width=23)
        self.action_refresh()

    # -- scanning ---------------------------------------------------------------

    def action_refresh(self) -> None:
        self.scanning = True
        self.query_one("#rpo", Static).update("Scanning the backup root…")
        self.refresh_bindings()
        self.scan()

    @work(thread=True, exclusive=True, exit_on_error=False, group="scan")
    def scan(self) -> None:
        from xtrarestore.core.errors import XtraRestoreError
        from xtrarestore.core.inventory.roots import scan_root

        settings = self.app.settings
        try:
            inventory = (settings.scanner or scan_root)(settings.root, settings.key)
        except (XtraRestoreError, OSError) as error:
            self.post_message(self.ScanFailed(str(error)))
            return
        self.post_message(self.Scanned(inventory))

    @on(Scanned)
    def scanned(self, message: Scanned) -> None:
        self.scanning = False
        self.expanded: set[str] | None = None
        """Days whose backups are listed; older days start folded (a thousand rows stay fast)."""
        self.inventory = message.inventory
        self.post_message(InventoryScanned(message.inventory))
        self.show_rpo()
        self.fill_table()
        self.refresh_bindings()
        point = self.inventory.newest_restore_point()
        if point is not None and getattr(self.app.settings, "binlog_dirs", None):
            self.binlog_reach(point)

    @work(thread=True, exclusive=True, exit_on_error=False, group="binlog-reach")
    def binlog_reach(self, point) -> None:
        """RPO with binlogs: the newest point plus the binlogs after it (a gap cuts the reach short)."""
        from datetime import UTC, datetime

        from xtrarestore.core.errors import XtraRestoreError
        from xtrarestore.core.restore.pitr import open_timeline

        try:
            timeline = open_timeline(self.app.settings.binlog_dirs, point=point)
        except (XtraRestoreError, OSError) as error:
            self.post_message(self.BinlogReach(Text(f"\nbinlogs: [NONE] {shown(error)}")))
            return
        text = Text("\n")
        if timeline.covered_until is not None:
            reach = datetime.fromtimestamp(timeline.covered_until, UTC)
            now = self.app.settings.now()
            ago = display.age(reach.astimezone().replace(tzinfo=None), now)
            text.append(f"with binlogs: to {reach:%Y-%m-%d %H:%M:%S} UTC ({ago} ago), "
                        f"{len(timeline.reachable_transactions)} transactions", style="bold")
        else:
            text.append("with binlogs: nothing after the backup", style="bold")
        if timeline.gaps:
            text.append(f" [GAP] {shown(timeline.gaps[0].message)}")
        self.post_message(self.BinlogReach(text))

    @on(BinlogReach)
    def reach_found(self, message: BinlogReach) -> None:
        if self.rpo_text is not None:
            self.query_one("#rpo", Static).update(Text.assemble(self.rpo_text, message.text))

    @on(ScanFailed)
    def scan_failed(self, message: ScanFailed) -> None:
        self.scanning = False
        self.expanded: set[str] | None = None
        """Days whose backups are listed; older days start folded (a thousand rows stay fast)."""
        self.query_one("#rpo", Static).update(Text(f"[ERROR] {shown(message.error)}", style="bold"))
        self.refresh_bindings()

    # -- display ----------------------------------------------------------------

    rpo_text: Text | None = None

    def show_rpo(self) -> None:
        now = self.app.settings.now()
        point = self.inventory.newest_restore_point()
        rpo = self.query_one("#rpo", Static)
        if point is None:
            rpo.update(Text("[NO RESTORABLE BACKUP] nothing under this root can be restored", style="bold"))
            return
        target = point.target
        extra = len(point.members) - 1
        text = Text(f"Newest restorable: {display.age(target.timestamp, now)} ago", style="bold")
        text.append(f" - {shown(point.day.name)} {display.clock(target.timestamp)}")
        text.append(f", full + {extra} incr" if extra else ", full")
        self.rpo_text = text
        rpo.update(text)

    def matches(self, needle: str, day, backup, problems) -> bool:
        """Any text shown for the row, or a name as the CLI takes it (`core.inventory.names`), or `latest`."""
        if not needle:
            return True
        if needle.lower() == LATEST:
            point = self.inventory.newest_restore_point()
            return point is not None and backup is point.target
        if names.matches(backup, needle):
            return True
        hay = " ".join(
            [day.name, backup.name, backup.state or "", display.encoding(backup), display.clock(backup.timestamp)]
            + [display.badge(p.code) for p in problems]
        ).lower()
        return needle.lower() in hay

    def fill_table(self) -> None:
        table = self.query_one("#backups", DataTable)
        selected = self.highlighted_key()
        needle = self.query_one("#filter", Input).value.strip()
        now = self.app.settings.now()
        table.clear()
        self.rows.clear()
        rows = []
        days = sorted(self.inventory.days, key=_newest_timestamp, reverse=True)
        if self.expanded is None:
            self.expanded = {day.name for day in days[:EXPANDED_DAYS]}
        hosts = {_host(day) for day in days}
        if len(hosts) > 1:  # several hosts under one root (PREFIX/<host>/<day>/): each host's days together
            order = {host: index for index, host in enumerate(dict.fromkeys(_host(day) for day in days))}
            days.sort(key=lambda day: order[_host(day)])
        shown_host = None
        for day in days:
            if len(hosts) > 1 and _host(day) != shown_host:
                shown_host = _host(day)
                key = f"host:{shown_host}"
                self.rows[key] = Row(day)
                count = sum(_host(other) == shown_host for other in days)
                rows.append((key, [Text(f"host {shown_host or '(top level)'}", style="bold reverse"), "", "", "",
                                   f"{count} day{'s' * (count != 1)}", ""]))
            if not needle and day.name not in self.expanded:
                key = f"day:{day.name}"
                self.rows[key] = Row(day)
                rows.append((key, self.day_cells(day, folded=True)))
                continue
            groups = [(chain, list(chain.members)) for chain in day.chains]
            chained = {id(b) for _, members in groups for b in members}
            loose = [b for b in day.backups if id(b) not in chained]
            if loose:
                groups.append((None, loose))
            day_rows = []
            for number, (chain, members) in enumerate(groups, 1):
                shown = [(b, day.problems_of(b)) for b in members]
                shown = [(b, p) for b, p in shown if self.matches(needle, day, b, p)]
                if not shown:
                    continue
                title = f"chain {number}" if chain is not None else "not in a chain"
                key = f"chain:{day.name}:{number}"
                badges = " ".join(display.badge(p.code) for p in (chain.problems if chain else []))
                self.rows[key] = Row(day, chain)
                day_rows.append((key, [Text(f" {title}", style="italic"), "", "", "", badges, ""]))
                for backup, problems in shown:
                    key = f"backup:{day.name}:{number}:{backup.name}"  # a fork's base is in two chains
                    self.rows[key] = Row(day, chain, backup)
                    day_rows.append((key, self.backup_cells(backup, problems, now)))
            if day_rows:
                key = f"day:{day.name}"
                self.rows[key] = Row(day)
                rows.append((key, self.day_cells(day, folded=False)))
                rows.extend(day_rows)
        rows = [row for index, row in enumerate(rows)  # a host whose days the filter hid: no heading
                if not row[0].startswith("host:") or rows[index + 1 :][:1] and not rows[index + 1][0].startswith("host:")]
        for key, cells in rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in cells), key=key)
        if not rows:
            self.query_one("#detail", Static).update("No backups match." if needle else "No backups found.")
        if selected in self.rows:
            table.move_cursor(row=table.get_row_index(selected))
        else:
            first = next((k for k in self.rows if k.startswith("backup:")), None)
            if first is not None:
                table.move_cursor(row=table.get_row_index(first))
        self.show_detail()

    def day_cells(self, day, *, folded: bool) -> list:
        total = sum(b.size or 0 for b in day.backups)
        label = Text(f"{'+' if folded else '-'} {shown(day.name)}", style="bold")
        return [label, "", display.size(total), "", f"{len(day.backups)} backups", ""]

    def backup_cells(self, backup, problems, now) -> list:
        kind = {"full": "full", "incremental": "incr"}.get(backup.kind or "", "?")
        when = backup.timestamp.strftime("%H:%M:%S") if backup.timestamp else "-"
        badges = " ".join(dict.fromkeys(display.badge(p.code) for p in problems))
        return [
            f"  {kind} {when}",
            display.age(backup.timestamp, now),
            display.size(backup.size),
            display.encoding(backup),
            badges or (backup.state or "-"),
            display.lsn_range(backup.checkpoints),
        ]

    def highlighted_key(self) -> str | None:
        table = self.query_one("#backups", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - an empty or shrinking table has no cursor row
            return None

    def highlighted(self) -> Row | None:
        key = self.highlighted_key()
        return self.rows.get(key) if key else None

    @on(DataTable.RowHighlighted, "#backups")
    def row_highlighted(self) -> None:
        self.show_detail()
        self.refresh_bindings()

    def show_detail(self) -> None:
        row = self.highlighted()
        detail = self.query_one("#detail", Static)
        if row is None:
            return
        text = Text()
        if row.backup is None and row.chain is None:
            day = row.day
            text.append(f"{shown(day.name)}: ", style="bold")
            text.append(f"{len(day.backups)} backups in {len(day.chains)} chain(s)")
        elif row.backup is None:
            points = row.chain.restore_points()
            text.append(f"Chain of {len(row.chain.members)} backups, {len(points)} restorable point(s)")
            for problem in row.chain.problems:
                text.append(f"\n{display.badge(problem.code)} {shown(problem.message)}")
        else:
            backup = row.backup
            text.append(shown(backup.name), style="bold")
            cp = backup.checkpoints
            if cp is not None:
                text.append(f"  {display.backup_type(cp.backup_type)}, LSN {cp.from_lsn}..{cp.to_lsn} (last {cp.last_lsn})")
            info = backup.info
            tool = " ".join(str(x) for x in (getattr(info, "tool_name", None), getattr(info, "tool_version", None)) if x)
            if tool:
                text.append(f"  by {shown(tool)}")
            problems = row.day.problems_of(backup)
            for problem in problems:
                text.append(f"\n{display.badge(problem.code)} {shown(problem.message)}")
            if not problems:
                point = row.chain.point_upto(backup) if row.chain else None
                text.append("\nRestorable: Enter to choose the point, d to drill it." if point else
                            "\nNot restorable on its own.")
        detail.update(text)

    # -- actions ----------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "choose":
            row = self.highlighted()
            if row is not None and row.chain is None and row.backup is None:
                return True  # Enter on a day folds or unfolds it
        if action in ("choose", "drill"):
            row = self.highlighted()
            if row is None or row.chain is None or not row.chain.restore_points():
                return None
            if action == "drill" and row.backup is not None and row.chain.point_upto(row.backup) is None:
                return None
        if action == "refresh" and self.scanning:
            return None
        return True

    def selected_point(self):
        row = self.highlighted()
        if row is None or row.chain is None:
            return None
        if row.backup is not None:
            return row.chain.point_upto(row.backup)
        points = row.chain.restore_points()
        return points[-1] if points else None

    def action_fold(self) -> None:
        row = self.highlighted()
        if row is None or self.expanded is None:
            return
        self.expanded.symmetric_difference_update({row.day.name})
        self.fill_table()
        table = self.query_one("#backups", DataTable)
        table.move_cursor(row=table.get_row_index(f"day:{row.day.name}"))

    def action_choose(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#backups", DataTable).focus()
            return
        row = self.highlighted()
        if row is not None and row.chain is None and row.backup is None:
            self.action_fold()
            return
        row = self.highlighted()
        if row is None or row.chain is None:
            return
        self.post_message(OpenRestorePoint(row.day, row.chain, row.backup))

    def action_drill(self) -> None:
        point = self.selected_point()
        if point is not None:
            self.post_message(StartDrill(point))

    def action_newest(self) -> None:
        self.post_message(OpenNewestPoint())

    def action_scenarios(self) -> None:
        self.post_message(OpenScenarios())

    def action_reports(self) -> None:
        self.post_message(OpenReports())

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.remove_class("hidden")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if box.value:
            box.value = ""
            if self.inventory is not None:
                self.fill_table()
        box.add_class("hidden")
        self.query_one("#backups", DataTable).focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self) -> None:
        if self.inventory is not None:
            self.fill_table()



def _host(day) -> str:
    """The level above the day in the root: the host in `PREFIX/<host>/<day>/` ("" at the top)."""
    return day.name.rpartition("/")[0]


def _newest_timestamp(day):
    stamps = [b.timestamp for b in day.backups if b.timestamp is not None]
    return max(stamps) if stamps else datetime.min
