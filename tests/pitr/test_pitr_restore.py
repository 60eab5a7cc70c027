"""Point-in-time restores over a sandbox production server, through the CLI, with its own binlogs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.restore.journal import find_journal, load_state

from .conftest import BASENAME, Production, binlog_options, new_base, orders, table_state, write_history

pytestmark = pytest.mark.mariadb
CLI = [sys.executable, "-m", "xtrarestore.tui.cli"]


@pytest.fixture
def victim() -> Iterator[Production]:
    """A production server of this test's own: the restore replaces its datadir."""
    base = new_base()
    server = SandboxServer.create(base / "prod", options=binlog_options(31))
    try:
        yield write_history(server, base)
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def _restore(production: Production, *extra: str, check: int = 0) -> subprocess.CompletedProcess:
    server = production.server
    args = ["restore", "--root", str(production.root), "--day", "Mon", "--upto", production.backup.name,
            "--datadir", str(server.datadir), "--stop-cmd", server.stop_cmd, "--start-cmd", server.start_cmd,
            "--socket", str(server.socket), "--defaults-file", str(server.config),
            "--state-dir", str(production.base / "state"), "--workdir", str(production.base / "work"),
            "--stop-timeout", "60", "--start-timeout", "120", *extra, "--yes"]
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900,
                            check=False)
    assert result.returncode == check, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_restore_before_the_drop_with_the_binlogs_of_the_replaced_datadir(victim):
    result = _restore(victim, "--until", f"before:{victim.drop_gtid}")
    assert f"everything before GTID {victim.drop_gtid}" in result.stdout
    assert table_state(victim.server) == victim.states["before-drop"]
    state = load_state(find_journal(victim.base / "state"))
    step = state.plan.step("roll-forward")
    assert str(state.plan.aside) in " ".join(step.argv)  # read from the moved-aside datadir
    assert (state.plan.aside / f"{BASENAME}.000002").exists()  # the old binlogs are untouched
    assert not list(victim.server.datadir.glob("*xtrarestore_pitr*"))  # relay links and index removed
    # Running the step again finds everything applied and changes nothing.
    again = subprocess.run(step.argv, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stdout
    assert "nothing left to apply" in again.stdout
    assert table_state(victim.server) == victim.states["before-drop"]


def test_restore_skipping_the_delete_from_an_archive(victim):
    archive = victim.archive("restore-skip")
    _restore(victim, "--binlog-dir", str(archive), "--until", f"gtid:{victim.last_gtid}",
             "--skip", victim.delete_gtid)
    assert orders(victim.server) == victim.rows_without_delete
    assert table_state(victim.server)["shop.audit"] is None


def test_restore_refuses_a_stop_point_past_the_binlogs_before_stopping_the_server(victim):
    result = _restore(victim, "--until", "2099-01-01 00:00:00Z", check=2)
    assert "past the end of the binlogs" in result.stderr and "UTC" in result.stderr
    assert victim.server.ping() and table_state(victim.server) == victim.states["end"]
