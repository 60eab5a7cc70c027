"""Stop points the binlogs cannot reach are refused at plan time, in one line, with nothing created."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys

import pytest

from xtrarestore.core.drills.drill import plan_drill
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.errors import BinlogCorruptError, BinlogEncryptedError, BinlogOffError, StopPointError

from .conftest import BASENAME, binlog_options, new_base

pytestmark = pytest.mark.mariadb


def _refused(production, workroot, error, **stop) -> str:
    with pytest.raises(error) as caught:
        plan_drill(production.root, "Mon", production.backup.name, workroot=workroot, **stop)
    message = str(caught.value)
    assert "\n" not in message and message
    assert list(workroot.iterdir()) == []  # nothing was created
    return message


def test_a_missing_file_in_the_range_is_named(production, workroot):
    archive = production.archive("missing", drop=(f"{BASENAME}.000002",))
    message = _refused(production, workroot, StopPointError, until=f"gtid:{production.last_gtid}",
                       binlog_dirs=[archive])
    assert f"{BASENAME}.000002" in message and "missing" in message


def test_a_time_past_the_missing_file_is_refused_but_one_before_it_plans(production, workroot):
    archive = production.archive("missing-time", drop=(f"{BASENAME}.000002",))
    _refused(production, workroot, StopPointError, until="end", binlog_dirs=[archive])
    planned = plan_drill(production.root, "Mon", production.backup.name, workroot=workroot,
                         until=f"before:{production.delete_gtid}", binlog_dirs=[archive])
    assert planned.plan.roll_forward["gtid_target"] != production.delete_gtid


def test_a_truncated_binlog_is_named_with_its_offset(production, workroot):
    archive = production.archive("truncated")
    path = archive / f"{BASENAME}.000002"
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size - 40)
    message = _refused(production, workroot, StopPointError, until=f"gtid:{production.last_gtid}",
                       binlog_dirs=[archive])
    assert str(path) in message or path.name in message


def test_a_checksum_bad_binlog_is_named(production, workroot):
    archive = production.archive("flipped")
    path = archive / f"{BASENAME}.000001"
    data = bytearray(path.read_bytes())
    data[len(data) - 300] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises((StopPointError, BinlogCorruptError)) as caught:
        plan_drill(production.root, "Mon", production.backup.name, workroot=workroot, until="end",
                   binlog_dirs=[archive])
    assert path.name in str(caught.value) and "\n" not in str(caught.value)
    assert list(workroot.iterdir()) == []


def test_a_gtid_not_in_the_range(production, workroot):
    message = _refused(production, workroot, StopPointError, until="gtid:0-21-999999",
                       binlog_dirs=[production.binlog_dir])
    assert "0-21-999999" in message and "not in the binlogs" in message


def test_a_time_before_the_backup(production, workroot):
    message = _refused(production, workroot, StopPointError, until="2001-02-03 04:05:06",
                       binlog_dirs=[production.binlog_dir])
    assert "before the backup" in message and "host time zone" in message


def test_a_skip_outside_the_range(production, workroot):
    message = _refused(production, workroot, StopPointError, until=f"before:{production.delete_gtid}",
                       skip=(production.drop_gtid,), binlog_dirs=[production.binlog_dir])
    assert production.drop_gtid in message


def test_another_servers_archive(production, workroot):
    base = new_base()
    other = SandboxServer.create(base / "other", options=binlog_options(22))
    try:
        other.execute("CREATE DATABASE elsewhere", "CREATE TABLE elsewhere.t (id INT PRIMARY KEY)",
                      *(f"INSERT INTO elsewhere.t VALUES ({n})" for n in range(30)), "FLUSH BINARY LOGS")
        message = _refused(production, workroot, StopPointError, until="end", binlog_dirs=[other.datadir])
        assert "another server" in message or "server_id" in message
    finally:
        other.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_binlog_off_on_the_backup(workroot):
    base = new_base()
    server = SandboxServer.create(base / "nolog")
    try:
        server.load_playground()
        backup = server.take_backup(base / "backups" / "Tue")
        os.chmod(base / "backups", 0o755)
        with pytest.raises(BinlogOffError) as caught:
            plan_drill(base / "backups", "Tue", backup.name, workroot=workroot, until="end",
                       binlog_dirs=[server.datadir])
        assert backup.name in str(caught.value) and "binary logging was off" in str(caught.value)
        assert list(workroot.iterdir()) == []
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_an_encrypted_binlog_without_its_key(workroot):
    base = new_base()
    keys = base / "keys.txt"
    keys.write_text("1;" + secrets.token_hex(32) + "\n")
    keys.chmod(0o644)
    server = SandboxServer.create(base / "enc", options=binlog_options(
        23, "plugin-load-add=file_key_management", f"file-key-management-filename={keys}", "encrypt-binlog=ON"))
    try:
        server.execute("CREATE DATABASE secret", "CREATE TABLE secret.t (id INT PRIMARY KEY)")
        backup = server.take_backup(base / "backups" / "Wed")
        os.chmod(base / "backups", 0o755)
        server.execute("INSERT INTO secret.t VALUES (1)", "FLUSH BINARY LOGS")
        with pytest.raises(BinlogEncryptedError) as caught:
            plan_drill(base / "backups", "Wed", backup.name, workroot=workroot, until="end",
                       binlog_dirs=[server.datadir])
        assert "mariadb-binlog -R --raw" in str(caught.value) and "\n" not in str(caught.value)
        assert list(workroot.iterdir()) == []
    finally:
        server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_the_cli_refuses_in_one_line(production, workroot, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "xtrarestore.tui.cli", "drill", "--root", str(production.root), "--day", "Mon",
         "--upto", production.backup.name, "--workdir", str(workroot), "--until", "gtid:0-21-999999",
         "--binlog-dir", str(production.binlog_dir), "--reports-dir", str(tmp_path / "reports")],
        check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    refusal = [line for line in result.stderr.splitlines() if "drill refused" in line]
    assert len(refusal) == 1 and "0-21-999999" in refusal[0] and "Traceback" not in result.stderr
