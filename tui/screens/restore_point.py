"""Restore point: how far along a chain to go. Always a prefix; never skip one.

Each row is "restore up to this backup". Rows past the last restorable point
stay visible, greyed, with the reason (a gap, an incomplete file…), and so do
the day's later backups that could not join the chain.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from xtrarestore.core.shown import shown

from .. import display
from ..messages import OpenPlan, OpenRollForward, RecoverTables, StartDrill
from ..widgets.row_table import RowTable


def unavailable_reason(day, chain, backup, first_bad) -> str:
    """Why restoring up to *backup* is impossible."""
    problems = day.problems_of(backup)
    if problems:
        return "; ".join(f"{display.badge(p.code)} {shown(p.message)}" for p in problems)
    if first_bad is not None and first_bad is not backup:
        return f"needs {shown(first_bad.name)}, which cannot be applied"
    return "cannot be applied"


class RestorePointScreen(Screen):
    """Pick the last backup to apply; Enter plans the restore, d drills it, t recovers tables of it."""

    TITLE_TEXT = "Restore point"
    AUTO_FOCUS = "#point-table"
    HELP = (
        "A restore applies the full backup, then each incremental in order. You may stop "
        "after any of them but never skip one, so each row means 'everything up to here'. "
        "Rows marked [UNAVAILABLE] say why that point cannot be reached."
    )

    BINDINGS = [
        Binding("enter", "plan", "Plan…", priority=True, tooltip="Show the exact restore plan for this point"),
        Binding("d", "drill", "Drill", tooltip="Rehearse this point on a throwaway server"),
        Binding("t", "tables", "Tables…", tooltip="Recover tables of this point into the running server"),
        Binding("r", "roll_forward", "Roll forward…",
                tooltip="Restore this point, then replay the binlogs to a time or past a bad transaction"),
        Binding("escape", "back", "Back", tooltip="Back to the inventory"),
    ]

    def __init__(self, day, chain, preselect=None) -> None:
        super().__init__()
        self.day = day
        self.chain = chain
        self.preselect = preselect
        self.points = {id(point.target): point for point in chain.restore_points()}
        self.row_backups: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="points"):
            yield Static(self.heading(), id="points-title")
            yield RowTable(id="point-table")
            yield Static("", id="point-detail")
        yield Footer(compact=True, show_command_palette=False)

    def heading(self) -> Text:
        incr = len(self.chain.members) - 1
        text = Text(f"{shown(self.day.name)}: chain of {shown(self.chain.members[0].name)}", style="bold")
        text.append(f" + {incr} incremental(s)" if incr else "")
        text.append("\nEach row restores everything up to and including that backup.", style="italic")
        return text

    def on_mount(self) -> None:
        table = self.query_one("#point-table", DataTable)
        table.add_column("#", key="n", width=3)
        table.add_column("Restore up to (data as of)", key="name", width=31)
        table.add_column("Reaches LSN", key="lsn", width=11)
        table.add_column("Status", key="status", width=120)
        first_bad = None
        for number, backup in enumerate(self.chain.members, 1):
            ok = id(backup) in self.points
            if not ok and first_bad is None:
                first_bad = backup
            self.add_row(table, str(number), backup, ok, first_bad)
        for backup in self.later_backups():
            own = self.day.chain_of(backup)
            blocker = next((m for m in own.members if self.day.problems_of(m)), None) if own else None
            self.add_row(table, "-", backup, False, blocker or first_bad)
        target = self.preselect if self.preselect is not None and id(self.preselect) in self.points else None
        if target is None and self.points:
            target = list(self.points.values())[-1].target
        if target is not None:
            table.move_cursor(row=table.get_row_index(f"b:{target.name}"))
        self.show_detail()

    def later_backups(self) -> list:
        """The day's backups after this chain that no restore point reaches (gap, incomplete…)."""
        end = self.chain.members[-1].timestamp
        found = []
        for chain in self.day.chains:
            if chain is self.chain or chain.restore_points():
                continue
            found += [b for b in chain.members if b.timestamp and end and b.timestamp > end]
        loose = [b for b in self.day.backups if self.day.chain_of(b) is None and not getattr(b, "copy_of", None)]
        found += [b for b in loose if b.timestamp and end and b.timestamp > end]
        return sorted(found, key=lambda b: (b.timestamp, b.name))

    def add_row(self, table: DataTable, number: str, backup, ok: bool, first_bad) -> None:
        cp = backup.checkpoints
        status = Text("[OK] restorable") if ok else Text("[UNAVAILABLE] ", style="dim")
        if not ok:
            status.append(unavailable_reason(self.day, self.chain, backup, first_bad), style="dim")
        style = "" if ok else "dim"
        key = f"b:{backup.name}"
        self.row_backups[key] = backup
        table.add_row(
            Text(number, style=style),
            Text(f"{backup.kind or '?':<11} {display.clock(backup.timestamp)}", style=style),
            Text(display.lsn(cp.to_lsn if cp else None), style=style),
            status,
            key=key,
        )

    def highlighted_point(self):
        table = self.query_one("#point-table", DataTable)
        if not table.row_count:
            return None, None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        backup = self.row_backups.get(key)
        return backup, self.points.get(id(backup))

    @on(DataTable.RowHighlighted, "#point-table")
    def highlighted(self) -> None:
        self.show_detail()
        self.refresh_bindings()

    def show_detail(self) -> None:
        backup, point = self.highlighted_point()
        detail = self.query_one("#point-detail", Static)
        if backup is None:
            return
        if point is None:
            detail.update(Text(f"[UNAVAILABLE] {shown(backup.name)}: "
                               + unavailable_reason(self.day, self.chain, backup, None)))
            return
        cp = point.target.checkpoints
        text = Text(f"Up to {shown(point.target.name)}", style="bold")
        text.append(f"\nData as of {display.clock(point.target.timestamp)}")
        if cp is not None:
            text.append(f", LSN {cp.to_lsn}")
        text.append(f"; applies the full backup and {len(point.members) - 1} incremental(s) in order")
        detail.update(text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("plan", "drill", "tables", "roll_forward"):
            return True if self.highlighted_point()[1] is not None else None
        return True

    def action_plan(self) -> None:
        point = self.highlighted_point()[1]
        if point is not None:
            self.post_message(OpenPlan(point))

    def action_drill(self) -> None:
        point = self.highlighted_point()[1]
        if point is not None:
            self.post_message(StartDrill(point))

    def action_tables(self) -> None:
        point = self.highlighted_point()[1]
        if point is not None:
            self.post_message(RecoverTables(point))
    def action_roll_forward(self) -> None:
        point = self.highlighted_point()[1]
        if point is not None:
            self.post_message(OpenRollForward(point))

    def action_back(self) -> None:
        self.app.pop_screen()
