"""Guided drills: short checklists for common incidents, each step opening its screen.

A drill is worth most when it rehearses the real procedure, so each scenario
walks the same screens an incident would, in order; ticking a step off is the
operator's own record of where they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from ..messages import BackToInventory, OpenNewestPoint, OpenReports


@dataclass(frozen=True)
class Task:
    text: str
    go: str = ""
    """Where Enter leads: inventory, newest, drill-newest, rollforward, reports, find, or nothing."""


@dataclass(frozen=True)
class Scenario:
    title: str
    tasks: tuple[Task, ...]


SCENARIOS = (
    Scenario("Server lost - restore the latest", (
        Task("Read the newest restorable point and its age (top line)", "inventory"),
        Task("Open the newest chain; pick its last [OK] point", "newest"),
        Task("Drill that point first if time allows (d)", "drill-newest"),
        Task("Plan: read every check and command, then type the host name", "newest"),
        Task("Run: watch each step; on a failure read the banner first"),
        Task("Result: compare row counts, note binlog position and RTO"),
    )),
    Scenario("Bad change at 12:54 - restore the last backup before it", (
        Task("Find the backups of that day (/ and the day name)", "find"),
        Task("Pick the last point whose time is before 12:54", "inventory"),
        Task("Drill it and confirm the bad change is absent from the data", "inventory"),
        Task("Or roll the newest point forward to 12:54 (t, the time)", "rollforward"),
        Task("Restore it; the result shows the GTID and time reached"),
    )),
    Scenario("Accidental DELETE/DROP - undo it with the binlogs", (
        Task("Open the binlogs after the newest point: the event list", "rollforward"),
        Task("Find the DELETE/DROP (/ and its table); note its time and GTID"),
        Task("Stop just before it (b), or skip it and keep what followed (s)"),
        Task("Drill that stop point (d): no data is touched", "rollforward"),
        Task("Report: GTID reached, transactions applied, rows", "reports"),
        Task("Plan it (Enter): read the stop point, type the host name", "rollforward"),
        Task("Result: check the GTID and time reached and the table's rows"),
    )),
    Scenario("A backup is damaged - restore up to the last good one", (
        Task("Spot [GAP] / [INCOMPLETE] / [FORK] badges; read the reason below the table", "inventory"),
        Task("Open the chain: rows after the damage say why they are unavailable", "newest"),
        Task("Drill the last reachable point", "drill-newest"),
        Task("Decide: restore it, or use another day's chain"),
    )),
    Scenario("Routine - prove the newest backup restores", (
        Task("Drill the newest restorable point", "drill-newest"),
        Task("Read the report: [DRILL PASSED], row counts, RTO", "reports"),
        Task("Compare the RTO with earlier drills", "reports"),
    )),
)


class ScenariosScreen(Screen):
    """Checklists; Enter opens the step's screen, Space ticks it off."""

    TITLE_TEXT = "Guided drills"
    AUTO_FOCUS = "#tasks"
    HELP = (
        "Checklists for common incidents. Each step names the screen that does it: Enter goes "
        "there, Space ticks the step off. Rehearse them as drills (d) on a throwaway server, so "
        "the real incident follows a path you already walked."
    )

    BINDINGS = [
        Binding("enter", "go", "Go", priority=True, tooltip="Open the screen for this step"),
        Binding("space", "tick", "Tick", tooltip="Mark this step done (or not)"),
        Binding("escape", "back", "Back", tooltip="Back to the inventory"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.done: set[str] = set()
        self.tasks: dict[str, Task] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Guided drills: pick an incident, follow its steps", id="scenarios-title")
        yield DataTable(id="tasks", cursor_type="row", show_header=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one("#tasks", DataTable)
        table.add_column("Done", key="done", width=4)
        width = max(len(task.text) for scenario in SCENARIOS for task in scenario.tasks) + 5
        table.add_column("Step", key="text", width=width)
        table.add_column("Go", key="go", width=15)
        for number, scenario in enumerate(SCENARIOS, 1):
            table.add_row("", Text(f"{number}. {scenario.title}", style="bold"), "", key=f"s{number}")
            for index, task in enumerate(scenario.tasks, 1):
                key = f"s{number}t{index}"
                self.tasks[key] = task
                table.add_row(Text("[ ]"), Text(f"  {index}. {task.text}"), Text(f"-> {task.go}" if task.go else ""),
                              key=key)
        table.move_cursor(row=1)

    def current(self) -> tuple[str | None, Task | None]:
        table = self.query_one("#tasks", DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return key, self.tasks.get(key)

    @on(DataTable.RowHighlighted, "#tasks")
    def moved(self) -> None:
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("go", "tick"):
            key, task = self.current()
            if task is None or (action == "go" and not task.go):
                return None
        return True

    def action_tick(self) -> None:
        key, task = self.current()
        if task is None:
            return
        self.done.symmetric_difference_update({key})
        table = self.query_one("#tasks", DataTable)
        table.update_cell(key, "done", Text("[x]" if key in self.done else "[ ]"))

    def action_go(self) -> None:
        key, task = self.current()
        if task is None or not task.go:
            return
        if task.go == "reports":
            self.post_message(OpenReports())
        elif task.go in ("newest", "drill-newest", "rollforward"):
            self.post_message(OpenNewestPoint(drill=task.go == "drill-newest", roll_forward=task.go == "rollforward"))
        else:
            self.post_message(BackToInventory(search=task.go == "find"))

    def action_back(self) -> None:
        self.app.pop_screen()
