"""recover-table as of just before an incident: the throwaway copy rolled forward through production's binlogs.

The case a DBA meets: a backup, good writes afterwards, then `DELETE FROM`
empties a table, and production keeps writing to other tables. The table is
brought back under a new name as it was just before the DELETE (its rows and
CHECKSUM TABLE equal those read from production at that moment), production
is never restarted and its later writes stay.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.tui.cli import main

from .conftest import binlog_options, identity, snapshot

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))  # the console tests' helpers
from tui_support import screen_text, wait_for

pytestmark = pytest.mark.mariadb


@dataclass
class Emptied:
    production: SandboxServer
    root: Path
    upto: str
    incident: str  # GTID of the DELETE
    reference: tuple[list[tuple], int]  # shop.items just before the DELETE
    later: tuple[list[tuple], int]  # shop.ledger after the incident (later good writes)


@pytest.fixture(scope="module")
def emptied(tmp_path_factory) -> Iterator[Emptied]:
    production = SandboxServer.create(options=binlog_options(41))
    try:
        production.execute(
            "CREATE DATABASE shop",
            "CREATE TABLE shop.items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2), note TEXT)",
            "CREATE TABLE shop.ledger (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))",
            "INSERT INTO shop.items SELECT seq, CONCAT('item ', seq), seq * 0.5, REPEAT('n', seq % 30)"
            " FROM shop.seq_1_to_400",
        )
        root = tmp_path_factory.mktemp("backups")
        backup = production.take_backup(root / "Mon")
        production.execute(  # good writes after the backup: they must come back too
            "INSERT INTO shop.items SELECT seq, CONCAT('new ', seq), seq, 'after the backup' FROM shop.seq_401_to_1650",
            "UPDATE shop.items SET price = price + 1 WHERE id % 7 = 0",
            "DELETE FROM shop.items WHERE id BETWEEN 10 AND 19",
            "INSERT INTO shop.ledger (what) VALUES ('before the incident')",
        )
        reference = snapshot(production, "shop", "items")
        incident = production.execute("DELETE FROM shop.items", "SELECT @@last_gtid")[0][0]
        production.execute(  # production goes on: later writes to other tables, across a binlog rotation
            "INSERT INTO shop.ledger (what) VALUES ('after the incident 1')",
            "FLUSH BINARY LOGS",
            "INSERT INTO shop.ledger (what) VALUES ('after the incident 2')",
        )
        yield Emptied(production, root, backup.name, incident, reference, snapshot(production, "shop", "ledger"))
    finally:
        production.destroy()


@pytest.fixture
def workroot() -> Iterator[Path]:
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="xtrarestore-test-asof-", dir="/var/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def recover_table(emptied: Emptied, workroot: Path, state: Path, *args: str) -> int:
    return main(
        [
            "recover-table",
            "--root",
            str(emptied.root),
            "--day",
            "Mon",
            "--upto",
            emptied.upto,
            "--socket",
            str(emptied.production.socket),
            "--workdir",
            str(workroot),
            "--state-dir",
            str(state),
            "--reports-dir",
            str(state / "reports"),
            "--table",
            "shop.items",
            *args,
        ]
    )


def saved_report(state: Path) -> dict:
    """The JSON report of the one recovery run with *state* (as `recover_table` sets its reports dir)."""
    return json.loads(next((state / "reports").glob("*.json")).read_text())


@pytest.mark.parametrize("binlogs", ["production's own (through its socket)", "--from-server", "--binlog-dir"])
def test_the_emptied_table_comes_back_as_of_just_before_the_incident(emptied, workroot, tmp_path, binlogs, capsys):
    production = emptied.production
    before = identity(production)
    names = {"--binlog-dir": "items_asof_dir", "--from-server": "items_asof_from_server"}
    name = names.get(binlogs, "items as-of prod's")  # a name the server's file names encode (@0020, @0027…)
    extra = {
        "--binlog-dir": ["--binlog-dir", str(production.datadir)],
        "--from-server": ["--from-server", str(production.socket)],
    }.get(binlogs, [])
    status = recover_table(
        emptied, workroot, tmp_path, "--as", f"shop.{name}", "--until", f"before:{emptied.incident}", *extra
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert snapshot(production, "shop", name) == emptied.reference
    assert production.execute("SELECT COUNT(*) FROM shop.items") == [(0,)]  # the live table is left as it is
    assert snapshot(production, "shop", "ledger") == emptied.later
    after = identity(production)
    assert after[0] == before[0] and after[1] >= before[1]
    report = saved_report(tmp_path)
    assert report["roll_forward"]["stop_point"] and report["status"] == "success"
    assert "rolled forward" in out
    assert os.listdir(workroot) == []


def test_recovered_as_of_the_backup_alone_has_the_backed_up_rows_only(emptied, workroot, tmp_path):
    status = recover_table(emptied, workroot, tmp_path, "--as", "shop.items_at_backup")
    assert status == 0
    assert emptied.production.execute("SELECT COUNT(*), MAX(id) FROM shop.items_at_backup") == [(400, 400)]


def test_the_console_recovers_as_of_just_before_the_event_chosen_on_the_roll_forward_screen(
    emptied, workroot, tmp_path
):
    asyncio.run(_as_of_from_the_console(emptied, workroot, tmp_path))


async def _as_of_from_the_console(emptied: Emptied, workroot: Path, tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
    from xtrarestore.tui.screens.restore_point import RestorePointScreen
    from xtrarestore.tui.screens.roll_forward import RollForwardScreen
    from xtrarestore.tui.screens.tables import TableRecoveryScreen, TablesScreen

    production = emptied.production
    settings = ConsoleSettings(
        root=emptied.root,
        target_options={"socket": str(production.socket)},
        reports_dir=tmp_path / "reports",
        drill_workroot=workroot,
        host="db-test",
        binlog_dirs=[production.datadir],
    )
    app = XtraRestoreApp(settings)
    before = identity(production)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "inventory", None) is not None, timeout=60)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RestorePointScreen))
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RollForwardScreen) and app.screen.timeline is not None)
        screen = app.screen
        table = screen.query_one("#event-table", DataTable)
        row = next(
            i
            for i, key in enumerate(table.rows)
            if getattr(screen.events.get(key.value), "gtid", None) == emptied.incident
        )
        table.move_cursor(row=row)
        await pilot.press("b")  # stop just before the DELETE
        assert screen.until == f"before:{emptied.incident}" and screen.resolved is not None
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TablesScreen) and app.screen.tables is not None)
        assert "rolled forward" in screen_text(app)
        picker = app.screen.query_one("#table-list")
        listed = [str(o.prompt) for o in picker.options]
        while picker.highlighted is None or listed[picker.highlighted] != "shop.items":
            await pilot.press("down")
        await pilot.press("space", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, TableRecoveryScreen), timeout=300)
        text = screen_text(app)
        assert "[DONE]" in text and "rolled forward to" in text, text
    names = [t for (t,) in production.execute("SHOW TABLES FROM shop") if t.startswith("items__restored_")]
    assert len(names) == 1
    assert snapshot(production, "shop", names[0]) == emptied.reference
    assert identity(production)[0] == before[0]
    assert snapshot(production, "shop", "ledger") == emptied.later


def test_undo_this_weighs_both_ways_rehearses_and_flashes_back_after_the_typed_word(emptied, workroot, tmp_path):
    """Rehearsed on a throwaway copy first (production untouched), then applied and checked against the
    rehearsal. It puts shop.items back in production: the tests after it recover as of before the incident, from the
    backup and the binlogs, which that does not change."""
    asyncio.run(_undo_from_the_console(emptied, workroot, tmp_path))


async def _undo_from_the_console(emptied: Emptied, workroot: Path, tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
    from xtrarestore.tui.modals.confirm import ConfirmModal
    from xtrarestore.tui.screens.restore_point import RestorePointScreen
    from xtrarestore.tui.screens.roll_forward import RollForwardScreen
    from xtrarestore.tui.screens.run import RunScreen
    from xtrarestore.tui.screens.tables import TablesScreen
    from xtrarestore.tui.screens.undo import UndoScreen

    production = emptied.production
    settings = ConsoleSettings(
        root=emptied.root,
        target_options={"socket": str(production.socket)},
        reports_dir=tmp_path / "reports",
        drill_workroot=workroot,
        host="db-test",
    )
    app = XtraRestoreApp(settings)
    before = identity(production)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "inventory", None) is not None, timeout=60)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RestorePointScreen))
        await pilot.press("r")  # the binlogs are read from production itself, through its socket
        await wait_for(pilot, lambda: isinstance(app.screen, RollForwardScreen) and app.screen.timeline is not None)
        screen = app.screen
        table = screen.query_one("#event-table", DataTable)
        row = next(
            i
            for i, key in enumerate(table.rows)
            if getattr(screen.events.get(key.value), "gtid", None) == emptied.incident
        )
        table.move_cursor(row=row)
        await pilot.press("u")
        await wait_for(pilot, lambda: isinstance(app.screen, UndoScreen) and app.screen.choice is not None)
        undo = app.screen
        assert undo.choice.flashback is not None and undo.choice.flashback.rows == len(emptied.reference[0])
        assert undo.choice.recovery.seconds > 0 and undo.choice.until == f"before:{emptied.incident}"
        text = screen_text(app)
        assert "Flashback (safe here)" in text and "Recover the table as of just before" in text, text
        await pilot.press("r")  # table recovery as of just before it: the Tables screen with that stop point
        await wait_for(pilot, lambda: isinstance(app.screen, TablesScreen))
        assert app.screen.stop.until == f"before:{emptied.incident}"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is undo)
        assert "not rehearsed yet" in screen_text(app)
        await pilot.press("t")  # the rehearsal: a throwaway copy rolled forward to just after the event
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))
        await wait_for(pilot, lambda: app.screen is undo and undo.rehearsal is not None, timeout=300)
        rows = len(emptied.reference[0])
        assert undo.rehearsal.before["shop.items"][0] == 0 and undo.rehearsal.after["shop.items"][0] == rows
        assert "[REHEARSED]" in screen_text(app) and f"shop.items: 0 -> {rows} rows" in screen_text(app)
        assert identity(production)[0] == before[0] and not list(workroot.iterdir())  # copy removed
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.press(*"flashback", "enter")
        await wait_for(pilot, lambda: app.screen is undo and undo.outcome is not None, timeout=120)
        assert "[FLASHBACK APPLIED]" in undo.outcome, undo.outcome
        assert "production's tables match the rehearsal" in undo.outcome, undo.outcome
    assert snapshot(production, "shop", "items") == emptied.reference
    assert snapshot(production, "shop", "ledger") == emptied.later
    assert identity(production)[0] == before[0]


def test_a_tablespace_recovery_stays_out_of_the_binlog_so_a_later_roll_forward_passes_it(
    emptied, workroot, tmp_path, capsys
):
    """An IMPORT needs a file placed by hand on production: no replica and no later roll-forward through
    production's binlog could repeat it. So it is not written there, and a second recovery rolled forward
    past the first one's moment succeeds (it used to stop on the first one's IMPORT TABLESPACE)."""
    production = emptied.production
    start = production.execute("SELECT @@gtid_binlog_pos")[0][0]
    assert recover_table(emptied, workroot, tmp_path / "first", "--as", "shop.items_first",
                         "--until", f"before:{emptied.incident}") == 0
    first = saved_report(tmp_path / "first")
    assert [t["method"] for t in first["tables"]] == ["tablespace"]
    assert "kept out of production's binlog" in first["tables"][0]["reason"]
    assert production.execute("SELECT @@gtid_binlog_pos")[0][0] == start  # nothing of it was binlogged
    expected = snapshot(production, "shop", "ledger")
    marker = production.execute("INSERT INTO shop.ledger (what) VALUES ('marker')", "SELECT @@last_gtid")[0][0]
    try:
        status = main([
            # the point named as the inventory shows it, DAY/NAME without .xbstream: no --day needed
            "recover-table", "--root", str(emptied.root), "--upto", f"Mon/{emptied.upto.removesuffix('.xbstream')}",
            "--socket", str(production.socket), "--workdir", str(workroot), "--state-dir", str(tmp_path / "second"),
            "--reports-dir", str(tmp_path / "second" / "reports"), "--table", "shop.ledger",
            "--as", "shop.ledger_before_marker", "--until", f"before:{marker}",
        ])
        assert status == 0, capsys.readouterr().out[-3000:]
        assert snapshot(production, "shop", "ledger_before_marker") == expected
    finally:
        production.execute("DELETE FROM shop.ledger WHERE what = 'marker'")


def test_with_a_binlog_reader_attached_the_table_goes_through_the_binlog(emptied, workroot, tmp_path, capsys):
    """A replica or a binlog archiver streams production's binlog: the table is copied logically, so the rows
    reach that reader too (an IMPORT would reach it as a statement it cannot repeat)."""
    import subprocess
    import time

    from xtrarestore.core.programs import find_program

    production = emptied.production
    first = production.execute("SHOW BINARY LOGS")[0][0]
    archive = tmp_path / "archive"
    archive.mkdir()
    reader = subprocess.Popen(
        [str(find_program(["mariadb-binlog", "mysqlbinlog"])), f"--defaults-file={production.config}",
         "--read-from-remote-server", "--raw", "--stop-never", f"--result-file={archive}/", first],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        readers = "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'"
        while production.execute(readers)[0][0] == 0:
            assert time.monotonic() < deadline and reader.poll() is None, "the binlog reader did not attach"
            time.sleep(0.1)
        start = production.execute("SELECT @@gtid_binlog_pos")[0][0]
        status = recover_table(emptied, workroot, tmp_path, "--as", "shop.items_for_readers",
                               "--until", f"before:{emptied.incident}")
        assert status == 0, capsys.readouterr().out[-3000:]
        report = saved_report(tmp_path)
        [table] = report["tables"]
        assert table["method"] == "logical" and "streams its binlog to 1 replica(s) or reader(s)" in table["reason"]
        assert snapshot(production, "shop", "items_for_readers") == emptied.reference
        assert production.execute("SELECT @@gtid_binlog_pos")[0][0] != start  # the rows went through the binlog
    finally:
        reader.kill()
        reader.wait()


def test_a_rehearsal_that_cannot_run_says_why_on_the_undo_screen(emptied, workroot, tmp_path):
    """A rehearsal refused at planning (a transaction the binlogs do not hold): the run screen fails it, Enter
    goes back to Undo, which names the reason; nothing was created and production was not touched."""
    asyncio.run(_rehearsal_refused(emptied, workroot, tmp_path))


async def _rehearsal_refused(emptied: Emptied, workroot: Path, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from xtrarestore.core.restore.pitr import open_timeline
    from xtrarestore.core.restore.request import locate
    from xtrarestore.core.tables.undo import Estimate, UndoChoice
    from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
    from xtrarestore.tui.screens.run import RunScreen
    from xtrarestore.tui.screens.undo import UndoScreen

    production = emptied.production
    point = locate(emptied.root, "Mon", emptied.upto, None)
    binlogs = [Path(production.execute("SELECT @@log_bin_basename")[0][0]).parent]
    timeline = open_timeline(binlogs, point=point)
    event = next(e for e in timeline.notable if e.gtid == emptied.incident)
    unknown = SimpleNamespace(gtid="0-1-999999")  # not in production's binlogs: the stop point cannot resolve
    plan = SimpleNamespace(effect={"shop.items": {"rows put back": 1}}, tables=[("shop", "items")],
                           targets=[SimpleNamespace(transaction=unknown)])
    choice = UndoChoice(event.gtid, event.kind, event.table, Estimate(1.0, 1000, 1), None, Estimate(9.0, 1000, 1),
                        "restore", plan)
    settings = ConsoleSettings(root=emptied.root, target_options={"socket": str(production.socket)},
                               reports_dir=tmp_path / "reports", drill_workroot=workroot, host="db-test")
    app = XtraRestoreApp(settings)
    before = identity(production)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "inventory", None) is not None, timeout=60)
        undo = UndoScreen(settings, point, event, timeline, binlogs, choice=choice)
        await app.push_screen(undo)
        await wait_for(pilot, lambda: app.screen is undo and undo.choice is not None)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.outcome == "failed")
        assert "Enter: back to Undo" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is undo and undo.rehearsal_error is not None)
        text = screen_text(app)
        assert "[REHEARSAL FAILED]" in text and "0-1-999999" in undo.rehearsal_error, (text, undo.rehearsal_error)
        assert undo.rehearsal is None and app.job is None
    assert identity(production)[0] == before[0] and list(workroot.iterdir()) == []  # same server process
