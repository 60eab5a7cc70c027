"""Regenerate screenshots/*.svg from the real console on the demo backup root.

    .venv/bin/python scripts/screenshots.py [--workdir DIR] [--size 100x30]

Builds (or reuses) the `xtrarestore demo` backup root, starts a throwaway
MariaDB server to stand in for production, and drives the real app with
Textual's Pilot: browse, choose a point, plan, confirm, restore, result, a
failed start with its banner and rollback, a drill and its report, help, the
palette and the guided drills, the roll-forward screen on the demo's incident
with its "Undo this", and table recovery. Every picture is the app's own rendering.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from xtrarestore.core.archive.keys import load_key
from xtrarestore.core.drills.demo import build_demo
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp

OUT = Path(__file__).resolve().parent.parent / "screenshots"


async def until(pilot, condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting on {pilot.app.screen!r}")
        await pilot.pause(0.1)


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)


def shot(app, name: str) -> None:
    app.save_screenshot(f"{name}.svg", path=str(OUT))
    print(f"screenshots/{name}.svg")


async def typed(pilot, word: str) -> None:
    await pilot.press(*word, "enter")


async def restore_flow(app, pilot) -> None:
    from xtrarestore.tui.modals.confirm import ConfirmModal
    from xtrarestore.tui.screens.plan import PlanScreen
    from xtrarestore.tui.screens.result import ResultScreen
    from xtrarestore.tui.screens.run import RunScreen

    await until(pilot, lambda: getattr(app.screen, "inventory", None) is not None)
    await settle(pilot)
    shot(app, "inventory")
    await pilot.press("down", "enter")
    await settle(pilot)
    shot(app, "restore-point")
    await pilot.press("enter")
    await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
    await settle(pilot)
    shot(app, "plan")
    await pilot.press("x")
    await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
    await pilot.press(*"rest")
    await settle(pilot)
    shot(app, "confirm")
    await pilot.press(*"ore", "enter")
    await until(pilot, lambda: isinstance(app.screen, ResultScreen))
    await until(pilot, lambda: app.screen.report is not None)
    await settle(pilot)
    shot(app, "result")
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, RunScreen))
    await settle(pilot)
    shot(app, "run")
    await pilot.press("escape")
    await settle(pilot)


async def failure_flow(app, pilot) -> None:
    from xtrarestore.tui.screens.plan import PlanScreen
    from xtrarestore.tui.screens.result import ResultScreen
    from xtrarestore.tui.screens.run import RunScreen

    await until(pilot, lambda: getattr(app.screen, "inventory", None) is not None)
    await pilot.press("down", "enter", "enter")
    await until(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None)
    await pilot.press("x")
    await pilot.pause(0.2)
    await typed(pilot, "restore")
    await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.outcome == "failed")
    await settle(pilot)
    shot(app, "run-failed")
    await pilot.press("b")
    await pilot.pause(0.2)
    await typed(pilot, "rollback")
    await until(pilot, lambda: isinstance(app.screen, ResultScreen) and app.screen.report is not None)


async def drill_flow(app, pilot) -> None:
    from xtrarestore.tui.screens.drill import DrillReportScreen, DrillReportsScreen

    await until(pilot, lambda: getattr(app.screen, "inventory", None) is not None)
    await pilot.press("down", "d")
    await until(pilot, lambda: isinstance(app.screen, DrillReportScreen))
    await settle(pilot)
    shot(app, "drill-report")
    await pilot.press("escape", "escape")
    await settle(pilot)
    await pilot.press("p")
    await until(pilot, lambda: isinstance(app.screen, DrillReportsScreen) and app.screen.reports)
    await settle(pilot)
    shot(app, "drill-reports")
    await pilot.press("escape", "g", "down", "space")
    await settle(pilot)
    shot(app, "guided-drills")
    await pilot.press("escape", "f1")
    await settle(pilot)
    shot(app, "help")
    await pilot.press("escape", "ctrl+p")
    await pilot.pause(0.5)
    shot(app, "palette")


async def point_in_time_flow(app, pilot) -> None:
    """The newest point's roll-forward screen on the demo's incident, its Undo this, and table recovery."""
    def named(name: str):
        return lambda: type(app.screen).__name__ == name

    await until(pilot, lambda: named("InventoryScreen")() and app.screen.inventory is not None)
    await settle(pilot)
    await pilot.press("n")
    await until(pilot, named("RestorePointScreen"))
    await pilot.press("r")
    await until(pilot, lambda: named("RollForwardScreen")() and app.screen.resolved is not None)
    await settle(pilot)
    shot(app, "roll-forward")
    await pilot.press("u")
    await until(pilot, named("UndoScreen"))
    await settle(pilot)
    shot(app, "undo")
    await pilot.press("escape", "escape")
    await until(pilot, named("RestorePointScreen"))
    await pilot.press("t")
    await until(pilot, named("TablesScreen"))
    await settle(pilot)
    shot(app, "tables")


def settings(demo, server: SandboxServer, work: Path, **target) -> ConsoleSettings:
    options = {
        "datadir": str(server.datadir),
        "stop_cmd": server.stop_cmd,
        "start_cmd": server.start_cmd,
        "socket": str(server.socket),
        "workdir": str(work / f"workspace-{time.monotonic_ns()}"),
        "state_dir": str(work / "state"),
    }
    options.update(target)
    return ConsoleSettings(root=demo.root, key=load_key(demo.key_file) if demo.key_file else None,
                           key_file=demo.key_file, target_options=options, host="db1",
                           reports_dir=work / "reports", drill_workroot=work,
                           binlog_dirs=[demo.binlog_dir] if demo.binlog_dir else [])


async def main(size: tuple[int, int], workdir: Path | None) -> None:
    demo = build_demo(workdir)
    OUT.mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="xtrarestore-screenshots-", dir="/var/tmp"))
    work.chmod(0o711)
    server = SandboxServer.create(base=work / "production")
    try:
        server.load_playground()
        app = XtraRestoreApp(settings(demo, server, work))
        async with app.run_test(size=size) as pilot:
            await restore_flow(app, pilot)
        flag = work / "refuse-start-once"
        flag.write_text("")
        failing = f"if [ -e {flag} ]; then rm -f {flag}; echo 'refusing to start'; exit 1; fi; {server.start_cmd}"
        app = XtraRestoreApp(settings(demo, server, work, start_cmd=failing, start_timeout=3))
        async with app.run_test(size=size) as pilot:
            await failure_flow(app, pilot)
        app = XtraRestoreApp(settings(demo, server, work))
        async with app.run_test(size=size) as pilot:
            await drill_flow(app, pilot)
        app = XtraRestoreApp(settings(demo, server, work))
        async with app.run_test(size=size) as pilot:
            await point_in_time_flow(app, pilot)
    finally:
        server.destroy()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="demo work directory (default: xtrarestore demo's)")
    parser.add_argument("--size", default="100x30", help="terminal size, WIDTHxHEIGHT")
    args = parser.parse_args()
    width, height = (int(n) for n in args.size.split("x"))
    asyncio.run(main((width, height), args.workdir))
