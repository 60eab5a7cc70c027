"""Flashback rehearsed first on a throwaway copy (a restore rolled forward to just after the bad transactions).

A real backup, good writes, a bad DELETE and a bad UPDATE, later writes to
another table; `flashback --root --upto` restores the backup into a throwaway
server, rolls it forward to the last bad transaction, reverses there and
shows rows before/after, then applies to production, whose tables must end
exactly as they were before the damage and match the rehearsal.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.restore.guard import cmdline
from xtrarestore.tui.cli import main

from .conftest import binlog_options, identity, snapshot
from .test_recover_table import throwaway_processes

pytestmark = pytest.mark.mariadb


@pytest.fixture
def workroot() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="xtrarestore-test-rehearsal-", dir="/var/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def damaged(tmp_path) -> Iterator[tuple]:
    """(server, backup root, backup name, {table: snapshot before the damage}, [bad GTIDs], ledger after)."""
    with SandboxServer.create(options=binlog_options(51)) as server:
        server.execute(
            "CREATE DATABASE shop",
            "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2), note TEXT)",
            "CREATE TABLE shop.stock (id INT PRIMARY KEY, qty INT, price DOUBLE)",
            "CREATE TABLE shop.ledger (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))",
            "INSERT INTO shop.orders SELECT seq, CONCAT('c', seq), seq / 4, REPEAT('x', seq % 50) FROM shop.seq_1_to_2000",
            "INSERT INTO shop.stock SELECT seq, seq * 3, seq * 0.1 FROM shop.seq_1_to_400",
        )
        root = tmp_path / "backups"
        backup = server.take_backup(root / "Mon")
        server.execute(  # good writes after the backup, before the damage
            "INSERT INTO shop.orders SELECT seq, CONCAT('late ', seq), seq, 'after backup' FROM shop.seq_2001_to_2600",
            "UPDATE shop.stock SET qty = qty + 1 WHERE id % 5 = 0",
        )
        prior = {t: snapshot(server, "shop", t) for t in ("orders", "stock")}
        delete = server.execute("DELETE FROM shop.orders WHERE id % 3 = 0", "SELECT @@last_gtid")[0][0]
        update = server.execute(
            "UPDATE shop.stock SET qty = 0, price = price * 2 WHERE id < 300", "SELECT @@last_gtid"
        )[0][0]
        server.execute(
            "INSERT INTO shop.ledger (what) VALUES ('later, other table')",
            "FLUSH BINARY LOGS",
            "INSERT INTO shop.ledger (what) VALUES ('later still')",
        )
        yield server, root, backup.name, prior, [delete, update], snapshot(server, "shop", "ledger")


def flashback(server, gtids, *extra) -> int:
    args = ["flashback", "--binlog-dir", str(server.datadir), "--socket", str(server.socket), *extra]
    for gtid in gtids:
        args += ["--gtid", gtid]
    return main(args)


def test_a_bad_delete_and_update_are_rehearsed_then_undone_exactly(damaged, workroot, capsys):
    server, root, upto, prior, gtids, ledger = damaged
    before = identity(server)
    status = flashback(
        server, gtids, "--root", str(root), "--day", "Mon", "--upto", upto, "--workdir", str(workroot), "--yes"
    )
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"rolled forward to gtid:{gtids[-1]}" in out
    deleted, kept = 2600 // 3, 2600 - 2600 // 3
    assert f"shop.orders: {kept} -> 2600 rows (checksum {prior['orders'][1]})" in out, out
    assert f"shop.stock: 400 -> 400 rows (checksum {prior['stock'][1]})" in out, out
    assert f"{deleted} rows put back" in out
    assert "match the rehearsal" in out
    assert snapshot(server, "shop", "orders") == prior["orders"]
    assert snapshot(server, "shop", "stock") == prior["stock"]
    assert snapshot(server, "shop", "ledger") == ledger
    assert identity(server)[0] == before[0]
    assert os.listdir(workroot) == []


def test_a_dry_run_rehearses_and_leaves_production_as_it_is(damaged, workroot, capsys):
    server, root, upto, prior, gtids, _ = damaged
    damaged_orders = snapshot(server, "shop", "orders")
    status = flashback(server, gtids, "--root", str(root), "--upto", upto, "--workdir", str(workroot), "--dry-run")
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"-> 2600 rows (checksum {prior['orders'][1]})" in out
    assert snapshot(server, "shop", "orders") == damaged_orders
    assert os.listdir(workroot) == []


def test_without_a_backup_root_it_says_no_rehearsal_happened(damaged, capsys):
    server, _, _, prior, gtids, _ = damaged
    assert flashback(server, gtids, "--yes") == 0
    assert "NOT rehearsed on a throwaway copy" in capsys.readouterr().out
    assert snapshot(server, "shop", "orders") == prior["orders"]


def test_a_restore_point_that_is_not_there_refuses_before_anything_production_unchanged(damaged, workroot, capsys):
    server, root, _, _, gtids, _ = damaged
    damaged_orders = snapshot(server, "shop", "orders")
    status = flashback(
        server, gtids[:1], "--root", str(root), "--upto", "no-such-backup", "--yes", "--workdir", str(workroot)
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and "no-such-backup" in err and "\n" not in err
    assert snapshot(server, "shop", "orders") == damaged_orders
    assert os.listdir(workroot) == []


def test_a_kill_during_the_rehearsal_removes_the_throwaway_copy(damaged, workroot):
    """SIGTERM while the copy's server runs: the command stops as on Ctrl-C, and no server or directory is left."""
    server, root, upto, _, gtids, _ = damaged
    damaged_orders = snapshot(server, "shop", "orders")
    command = [sys.executable, "-m", "xtrarestore.tui.cli", "flashback", "--binlog-dir", str(server.datadir),
               "--socket", str(server.socket), "--gtid", gtids[0], "--root", str(root), "--upto", upto,
               "--workdir", str(workroot), "--dry-run"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not any(_is_mariadbd(pid) for pid in throwaway_processes(workroot)):
            assert proc.poll() is None and time.monotonic() < deadline, "the rehearsal never started its server"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert status == 130, proc.stderr.read()
    assert "interrupted" in proc.stderr.read()
    assert throwaway_processes(workroot) == [] and os.listdir(workroot) == []
    assert snapshot(server, "shop", "orders") == damaged_orders


def _is_mariadbd(pid: int) -> bool:
    return [os.path.basename(arg) for arg in cmdline(pid)[:1]] == ["mariadbd"]
