"""`xtrarestore demo` is self-contained: its console restores into the demo's own production server,
never the host's, and quitting (q, SIGTERM, SIGHUP) stops everything it started."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from test_tui_flows import PtyConsole, confirm_typed
from tui_support import screen_text, var_tmp_dir, wait_for
from xtrarestore.core.drills.demo import build_demo, start_production
from xtrarestore.tui.app import XtraRestoreApp
from xtrarestore.tui.commands.demo import demo_settings
from xtrarestore.tui.messages import OpenNewestPoint
from xtrarestore.tui.screens.plan import PlanScreen
from xtrarestore.tui.screens.result import ResultScreen
from xtrarestore.tui.screens.run import RunScreen

pytestmark = pytest.mark.mariadb
PRODUCTION_GLOB = "xtrarestore-demo-production-*"


@pytest.fixture(scope="module")
def demo():
    work = var_tmp_dir("xtrarestore-demo-test-")
    built = build_demo(work / "demo", say=lambda line: None)
    yield built
    shutil.rmtree(work, ignore_errors=True)


def host_datadir_state() -> tuple:
    path = Path("/var/lib/mysql")
    if not path.exists():
        return ()
    return tuple(sorted((entry.name, entry.stat().st_mtime_ns) for entry in path.iterdir()))


def production_dirs() -> set[Path]:
    return set(Path("/var/tmp").glob(PRODUCTION_GLOB))


def test_demo_restore_changes_the_demos_own_production_and_rolls_back(demo):
    asyncio.run(_demo_restore(demo))


async def _demo_restore(demo):
    host_before = host_datadir_state()
    production = start_production(say=lambda line: None)
    try:
        before = production.rows()
        newest = demo.chain(demo.days[-1])[-1]
        assert before != newest.rows, "production's data must differ from the backups"
        app = XtraRestoreApp(demo_settings(demo, production))
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: getattr(app.screen, "inventory", None) is not None, timeout=60)
            app.post_message(OpenNewestPoint())
            await wait_for(pilot, lambda: "Each row restores" in screen_text(app))
            await pilot.press("enter")
            await wait_for(
                pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.plan is not None, timeout=120
            )
            plan = app.screen.plan
            assert plan.datadir == production.server.datadir and plan.upto == newest.name
            assert all("systemctl" not in s.command and "/var/lib/mysql " not in s.command for s in plan.steps)
            assert str(production.server.datadir) in screen_text(app)
            await pilot.press("x")
            await confirm_typed(pilot, "restore")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ResultScreen) and "[DATA OK]" in screen_text(app), timeout=300
            )
            assert "[RESTORED]" in screen_text(app)
            assert production.rows() == newest.rows
            await pilot.press("b")
            await confirm_typed(pilot, "rollback")
            await wait_for(
                pilot, lambda: isinstance(app.screen, ResultScreen) and "[ROLLED BACK]" in screen_text(app), timeout=300
            )
            assert app.screen.check_action("rollback", ()) is None, "rollback is greyed out once done"
            await pilot.press("escape")
            assert isinstance(app.screen, RunScreen) and app.screen.check_action("rollback", ()) is None
            assert production.rows() == before
            state_dir = Path(production.target_options["state_dir"])
            assert list((state_dir / "journal").glob("*.jsonl")), "the demo journals beside its own server"
    finally:
        production.stop()
    assert not production.base.exists() and not production.server.server_processes()
    assert host_datadir_state() == host_before, "the host's /var/lib/mysql must not be touched"


@pytest.mark.parametrize("how", ["q", "SIGTERM", "SIGHUP"])
def test_quitting_the_demo_stops_its_production_server(demo, how):
    before = production_dirs()
    argv = [sys.executable, "-m", "xtrarestore.tui.cli", "demo", "--workdir", str(demo.workdir)]
    with PtyConsole(argv, size=(24, 80)) as console:
        console.wait_text("Newest restorable", timeout=180)
        started = production_dirs() - before
        assert len(started) == 1, started
        base = started.pop()
        config = base / "server" / "my.cnf"
        assert config.exists() and _servers(config), "the demo's production server must be running"
        if how == "q":
            console.keys("q")
        elif how == "SIGTERM":
            os.kill(console.proc.pid, signal.SIGTERM)
        else:
            console.hang_up()
        console.wait_exit(timeout=120)
    deadline = time.monotonic() + 30
    while (_servers(config) or base.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _servers(config) and not base.exists()


def _servers(config: Path) -> list[int]:
    marker = f"--defaults-file={config}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
