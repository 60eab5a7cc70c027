"""The console's point-in-time restore on a real binlogging server: inventory reach, event list, plan, run, result."""

from __future__ import annotations

import asyncio
import io
import shutil
import time
from collections.abc import Iterator

import pytest
from rich.console import Console
from textual.widgets import Input

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
from xtrarestore.tui.modals.confirm import ConfirmModal
from xtrarestore.tui.screens.inventory import InventoryScreen
from xtrarestore.tui.screens.plan import PlanScreen
from xtrarestore.tui.screens.result import ResultScreen
from xtrarestore.tui.screens.roll_forward import RollForwardScreen

from .conftest import Production, binlog_options, new_base, table_state, write_history

pytestmark = pytest.mark.mariadb
SIZE = (80, 24)


def screen_text(app) -> str:
    """What the terminal shows now, as plain text."""
    console = Console(width=app.size.width, height=app.size.height, file=io.StringIO(), record=True,
                      color_system=None, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def wait_for(pilot, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; screen was:\n{screen_text(pilot.app)}")
        await pilot.pause(0.1)
    await pilot.pause()


@pytest.fixture
def console_victim() -> Iterator[Production]:
    base = new_base()
    server = SandboxServer.create(base / "prod", options=binlog_options(41))
    try:
        yield write_history(server, base)
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def settings_for(production: Production) -> ConsoleSettings:
    server = production.server
    options = {"datadir": str(server.datadir), "stop_cmd": server.stop_cmd, "start_cmd": server.start_cmd,
               "socket": str(server.socket), "workdir": str(production.base / "workspace"),
               "state_dir": str(production.base / "state"), "start_timeout": 120}
    return ConsoleSettings(root=production.root, target_options=options, host="db-test",
                           reports_dir=production.base / "reports", binlog_dirs=[production.archive("console")])


async def _stop_before_the_delete_from_the_event_list(production: Production) -> None:
    app = XtraRestoreApp(settings_for(production))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen) and app.screen.inventory is not None)
        await wait_for(pilot, lambda: "with binlogs: to " in screen_text(app))  # the RPO with binlogs
        await pilot.press("down", "down", "enter")  # the day, its chain, the full backup: restore points
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RollForwardScreen) and app.screen.resolved is not None)
        screen = app.screen
        kinds = [e.kind for e in screen.timeline.notable]
        assert kinds == ["delete", "drop"]
        await pilot.press("slash", *"delete", "enter")  # filter the list to the DELETE
        assert len(screen.events) == 1
        await pilot.press("b")
        assert screen.until == f"before:{production.delete_gtid}"
        assert f"everything before GTID {production.delete_gtid}" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
        assert app.screen.plan.roll_forward["until"] == f"before:{production.delete_gtid}"
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        assert f"everything before GTID {production.delete_gtid}" in screen_text(app)
        assert isinstance(app.focused, Input)  # the typed word is the safeguard: the input has the focus
        await pilot.press(*"restore", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), timeout=600)
        await wait_for(pilot, lambda: "rolled forward to GTID" in screen_text(app))
        assert table_state(production.server) == production.states["before-delete"]


def test_stop_before_the_delete_from_the_event_list(console_victim):
    asyncio.run(_stop_before_the_delete_from_the_event_list(console_victim))


async def _guided_scenario_from_the_event_list_to_a_verified_drill(production: Production, workroot) -> None:
    from xtrarestore.tui.screens.drill import DrillReportScreen, report_body
    from xtrarestore.tui.screens.scenarios import ScenariosScreen

    settings = settings_for(production)
    settings.drill_workroot = workroot
    app = XtraRestoreApp(settings)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen) and app.screen.inventory is not None)
        await pilot.press("g")
        await wait_for(pilot, lambda: isinstance(app.screen, ScenariosScreen))
        table = app.screen.query_one("#tasks")
        row = next(i for i, key in enumerate(table.rows) if app.screen.tasks.get(key.value)
                   and "event list" in app.screen.tasks[key.value].text)
        table.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RollForwardScreen) and app.screen.timeline is not None)
        screen = app.screen
        await pilot.press("slash", *"orders", "enter")  # the DELETE on shop.orders
        assert [e.kind for e in screen.events.values()] == ["delete"]
        await pilot.press("s")  # skip it, keep what followed
        assert screen.skip == [production.delete_gtid] and screen.resolved is not None
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DrillReportScreen), timeout=240)
        assert "[DRILL PASSED]" in screen_text(app)
        report = app.screen.report
        body = io.StringIO()
        Console(file=body, width=80, color_system=None).print(report_body(report, None))
        assert "rolled forward" in body.getvalue() and production.delete_gtid in body.getvalue()
        assert report.ok and report.roll_forward["skip"] == [production.delete_gtid]
        rows = {f"{t.schema}.{t.table}": t.rows for t in report.tables}
        assert rows["shop.orders"] == len(production.rows_without_delete)


def test_guided_scenario_from_the_event_list_to_a_verified_drill(production, workroot):
    asyncio.run(_guided_scenario_from_the_event_list_to_a_verified_drill(production, workroot))
