"""The console's "Recover tables…": pick from the backup's own list, watch it run, read what came back."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp

from .conftest import snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))  # the console tests' helpers
from tui_support import screen_text, wait_for

pytestmark = pytest.mark.mariadb


def test_tables_are_picked_from_the_backup_and_recovered_under_a_new_name(incident, workroot, tmp_path):
    asyncio.run(_recover_from_the_console(incident, workroot, tmp_path))


async def _recover_from_the_console(incident, workroot, tmp_path):
    from xtrarestore.tui.screens.restore_point import RestorePointScreen
    from xtrarestore.tui.screens.tables import TableRecoveryScreen, TablesScreen

    production = incident.production
    settings = ConsoleSettings(
        root=incident.root,
        target_options={"socket": str(production.socket)},
        reports_dir=tmp_path / "reports",
        drill_workroot=workroot,
        host="db-test",
    )
    app = XtraRestoreApp(settings)
    pid = production.pid()
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "inventory", None) is not None, timeout=60)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RestorePointScreen))
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TablesScreen) and app.screen.tables is not None)
        listed = [str(o.prompt) for o in app.screen.query_one("#table-list").options]
        assert "shop.parent" in listed and "mysql.user" not in listed
        await pilot.press("enter")  # nothing picked yet: nothing starts
        assert isinstance(app.screen, TablesScreen)
        picker = app.screen.query_one("#table-list")
        while picker.highlighted is None or listed[picker.highlighted] != "shop.parent":
            await pilot.press("down")
        await pilot.press("space", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TableRecoveryScreen), timeout=300)
        text = screen_text(app)
        assert "[DONE]" in text and "shop.parent__restored_" in text, text
    recovered = [t for (t,) in production.execute("SHOW TABLES FROM shop") if t.startswith("parent__restored_")]
    assert len(recovered) == 1
    assert snapshot(production, "shop", recovered[0]) == incident.before["parent"]
    assert production.pid() == pid
    assert not list(workroot.iterdir())
