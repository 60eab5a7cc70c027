"""SVG snapshots of every console screen at 80x24 and 120x40.

The inventory is a real backup tree (sandbox server + mariabackup) with fixed
backup times, a pinned clock and LSNs/sizes renumbered by `stable_scan`, so the
pictures only change when the screens do. Live-restore screens replay a fixed
event sequence (`ReplayJob`); the result screen verifies a real server.
Update with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import shutil

import pytest
from textual.screen import Screen

import xtrarestore.tui.screens
from tui_support import (
    NOW,
    ReplayJob,
    fixed_checks,
    fixed_plan,
    fixed_report,
    fixed_timeline,
    new_server,
    snapshot_tree,
    stable_scan,
    wait_for,
)
from xtrarestore.core.drills.report import save
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.fixture(scope="module")
def tree():
    root = snapshot_tree()
    reports = root.parent / "reports"
    save(fixed_report(), reports)
    save(fixed_report("failed", "2026-11-16T10:00:00+00:00"), reports)
    yield root
    shutil.rmtree(root.parent, ignore_errors=True)


@pytest.fixture(scope="module")
def verified_server():
    """A real server holding two rows, for the result screen's verification."""
    server = new_server()
    server.add_equipment("slide", 2, "blue")
    server.add_equipment("swing", 10, "yellow")
    yield server
    server.destroy()


def make_app(tree) -> XtraRestoreApp:
    return XtraRestoreApp(ConsoleSettings(root=tree, scanner=stable_scan, now=lambda: NOW, host="db1",
                                          reports_dir=tree.parent / "reports"))


async def scanned(pilot):
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "inventory", None) is not None, timeout=30)
    await settle(pilot)
    return pilot.app.screen.inventory


async def settle(pilot) -> None:
    """Let workers finish and tables lay out their columns (the machine may be busy)."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)


async def mon_point(pilot):
    inventory = await scanned(pilot)
    day = next(d for d in inventory.days if d.name == "Mon")
    return day.chains[0].restore_points()[1]


# -- how to reach each screen --------------------------------------------------------


async def inventory(pilot, server):
    await scanned(pilot)
    await pilot.press("down", "down")  # onto a [GAP] backup: its reason shows below the table
    await settle(pilot)


async def restore_point(pilot, server):
    await scanned(pilot)
    await pilot.press("down", "enter")  # Tue chain: the deleted incremental leaves later rows unavailable
    await settle(pilot)


async def plan(pilot, server):
    from xtrarestore.tui.screens.plan import PlanScreen

    point = await mon_point(pilot)
    await pilot.app.push_screen(PlanScreen(point, built=(fixed_plan(point), fixed_checks(), None)))
    await wait_for(pilot, lambda: pilot.app.screen.plan is not None)


async def steady_inputs(pilot) -> None:
    """A blinking cursor would make the picture depend on timing."""
    from textual.widgets import Input

    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False
    await pilot.pause(0.2)


async def confirm(pilot, server):
    await plan(pilot, server)
    await pilot.press("x", *"db")
    await steady_inputs(pilot)


async def password(pilot, server):
    from xtrarestore.tui.modals.password import PasswordModal

    await plan(pilot, server)  # pushed directly: this root test process never needs sudo
    await pilot.app.push_screen(PasswordModal())
    await pilot.press(*"secret")
    await steady_inputs(pilot)


async def run(pilot, server):
    from xtrarestore.tui.screens.run import RunScreen

    point = await mon_point(pilot)
    screen = RunScreen(ReplayJob(fixed_plan(point), point))
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.outcome == "failed")
    await settle(pilot)


async def result(pilot, server):
    from xtrarestore.tui.screens.result import ResultScreen

    point = await mon_point(pilot)
    job = ReplayJob(fixed_plan(point, socket=server.socket), point, fail_at=None)
    screen = ResultScreen(job)
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.report is not None)
    await settle(pilot)


async def help_screen(pilot, server):
    await scanned(pilot)
    await pilot.press("f1")


async def palette(pilot, server):
    await scanned(pilot)
    from textual.widgets import OptionList

    await pilot.press("ctrl+p")
    await wait_for(pilot, lambda: bool(pilot.app.screen.query(OptionList))
                   and pilot.app.screen.query_one(OptionList).option_count >= 9)
    await steady_inputs(pilot)


async def drill_report(pilot, server):
    from xtrarestore.tui.screens.drill import DrillReportScreen

    await scanned(pilot)
    await pilot.app.push_screen(DrillReportScreen(fixed_report()))


async def drill_reports(pilot, server):
    await scanned(pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: bool(getattr(pilot.app.screen, "reports", None)))
    await settle(pilot)


async def roll_forward(pilot, server):
    from xtrarestore.tui.screens.roll_forward import RollForwardScreen

    point = await mon_point(pilot)
    screen = RollForwardScreen(point, timeline=fixed_timeline())
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.timeline is not None and screen.problem is not None)  # end: past the gap
    await pilot.press("down", "s", "down", "b")  # skip the mass UPDATE, stop before the DROP
    await wait_for(pilot, lambda: screen.skip != [])
    await steady_inputs(pilot)
    await settle(pilot)


async def scenarios(pilot, server):
    await scanned(pilot)
    await pilot.press("g", "down", "space")
    await settle(pilot)


async def tables(pilot, server):
    from xtrarestore.tui.screens.tables import TablesScreen

    point = await mon_point(pilot)
    screen = TablesScreen(pilot.app.settings, point)
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.tables is not None)
    await pilot.press("down", "space")
    await settle(pilot)


async def table_recovery(pilot, server):
    from xtrarestore.core.tables.report import RecoveryReport, Timing
    from xtrarestore.tui.screens.tables import TableRecoveryScreen

    await scanned(pilot)
    report = RecoveryReport(
        id="20261117T100000Z", status="success", started="2026-11-17T10:00:00+00:00", day="Mon",
        upto="incremental-11-17-2026_10-00-00.xbstream", target="socket /run/mysqld/mysqld.sock",
        production={"before": {"uptime": 86400}, "after": {"uptime": 86431}},
        steps=[Timing("throwaway restore (extract, prepare, copy back, start, verify)", 21.5)],
        tables=[{"source": "shop.orders", "target": "shop.orders__restored_20261117_100000", "method": "tablespace",
                 "reason": "InnoDB file-per-table", "rows": 500, "checksum": 2670884628, "verified": True}],
        foreign_keys=["shop.orders__restored_20261117_100000 (customer_id) -> shop.customers (id)"
                      " [orders_customer]: 0 orphan rows"],
        notes=["shop.orders__restored_20261117_100000: created without `CONSTRAINT `orders_customer` FOREIGN KEY"
               " (`customer_id`) REFERENCES `customers` (`id`)` (re-add it after the swap)"],
    )
    await pilot.app.push_screen(TableRecoveryScreen(report))


async def undo(pilot, server):
    from types import SimpleNamespace

    from xtrarestore.core.tables.undo import Estimate, UndoChoice
    from xtrarestore.tui.screens.undo import UndoScreen

    point = await mon_point(pilot)
    timeline = fixed_timeline()
    event = timeline.notable[0]  # the mass DELETE on shop.orders
    plan = SimpleNamespace(effect={"shop.orders": {"rows put back": 1250}})
    choice = UndoChoice(event.gtid, event.kind, event.table, Estimate(1.4, 310_000, 1250), None,
                        Estimate(52.0, 1_900_000_000, 4800), "restore 1.7 GB, roll forward 11.2 KB of binlog,"
                        " bring over 96.0 MB", plan)
    screen = UndoScreen(pilot.app.settings, point, event, timeline, [], choice=choice)
    await pilot.app.push_screen(screen)
    await wait_for(pilot, lambda: screen.choice is not None)
    await settle(pilot)


SCREENS = {
    "UndoScreen": undo,
    "InventoryScreen": inventory,
    "RestorePointScreen": restore_point,
    "PlanScreen": plan,
    "ConfirmModal": confirm,
    "PasswordModal": password,
    "RunScreen": run,
    "ResultScreen": result,
    "HelpScreen": help_screen,
    "CommandPalette": palette,
    "DrillReportScreen": drill_report,
    "DrillReportsScreen": drill_reports,
    "ScenariosScreen": scenarios,
    "TablesScreen": tables,
    "TableRecoveryScreen": table_recovery,
    "RollForwardScreen": roll_forward,
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen(name, size, snap_compare, tree, verified_server):
    async def before(pilot):
        await SCREENS[name](pilot, verified_server)

    assert snap_compare(make_app(tree), terminal_size=size, run_before=before)


def test_every_screen_has_a_snapshot():
    screens = set()
    for module in pkgutil.iter_modules(xtrarestore.tui.screens.__path__, "xtrarestore.tui.screens."):
        for name, cls in inspect.getmembers(importlib.import_module(module.name), inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.name:
                screens.add(name)
    assert screens, "no screens found"
    assert screens <= set(SCREENS), f"screens without a snapshot test: {sorted(screens - set(SCREENS))}"
