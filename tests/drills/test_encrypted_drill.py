"""Drills of a backup of a server with data-at-rest encryption: the throwaway server starts like the original.

The original is a real sandbox server with `file_key_management`, encrypted
InnoDB tables and an encrypted redo log, a 32k page size and its own redo
log size; its backups are real mariabackup streams (a full and an
incremental). The drill must read the plugin, its key file and the format
settings from the backup's backup-my.cnf, give exact rows, and, with the key
file gone, refuse within seconds naming the key file and the plugin.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from xtrarestore.core.drills.drill import drill
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.drills.startup import option_lines
from xtrarestore.core.inventory.settings import backup_settings, parse_options

pytestmark = pytest.mark.mariadb

XTRARESTORE = str(Path(sys.executable).with_name("xtrarestore"))


def _key_file(folder: Path) -> Path:
    keys = folder / "keys.txt"
    keys.write_text("1;" + "a1" * 32 + "\n2;" + "b2" * 32 + "\n")
    keys.chmod(0o644)  # the server runs as mysql
    return keys


@pytest.fixture(scope="module")
def encrypted():
    """A day of backups (full + incremental) of a server with file_key_management, and the rows it holds."""
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-encrypted-", dir="/var/tmp"))
    base.chmod(0o711)
    keys = _key_file(base)
    options = ("plugin_load_add=file_key_management", f"file_key_management_filename={keys}",
               "file_key_management_encryption_algorithm=AES_CTR", "innodb_encrypt_tables=ON",
               "innodb_encrypt_log=ON", "innodb_encryption_threads=1", "innodb_page_size=32k")
    try:
        server = SandboxServer.create(base / "server", options=options)
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise
    try:
        server.load_playground()
        server.execute("CREATE TABLE playground.secrets (id INT PRIMARY KEY, what VARCHAR(40)) ENCRYPTED=YES")
        server.execute("INSERT INTO playground.secrets VALUES (1, 'first'), (2, 'second')")
        server.add_equipment("slide", 2, "blue")
        day = base / "backups" / "Mon"
        full = server.take_backup(day)
        server.execute("INSERT INTO playground.secrets VALUES (3, 'third')")
        server.add_equipment("swing", 10, "yellow")
        server.checkpoint()
        incremental = server.take_backup(day)
        encrypted_tables = server.execute(
            "SELECT COUNT(*) FROM information_schema.innodb_tablespaces_encryption WHERE name LIKE 'playground/%'")
    finally:
        server.destroy()
    yield SimpleNamespace(base=base, root=base / "backups", keys=keys, full=full, incremental=incremental,
                          encrypted_tables=encrypted_tables[0][0])
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workroot():
    path = Path(tempfile.mkdtemp(prefix="xtrarestore-test-drills-", dir="/var/tmp"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_the_backup_really_is_encrypted_at_rest(encrypted):
    assert encrypted.encrypted_tables >= 2
    extracted = encrypted.base / "look"
    extracted.mkdir()
    with open(encrypted.full, "rb") as stream:
        subprocess.run(["mbstream", "-x", "-C", str(extracted)], stdin=stream, check=True)
    cnf = (extracted / "backup-my.cnf").read_text()
    assert "file_key_management" in cnf and f"file_key_management_filename={encrypted.keys}" in cnf
    # mariabackup streams a table created since the last checkpoint as `.new` (renamed by prepare).
    data = [p for p in (extracted / "playground").glob("secrets.*") if p.suffix in (".ibd", ".new")]
    assert data and all(b"second" not in p.read_bytes() for p in data)
    assert b"first" not in (extracted / "ib_logfile0").read_bytes()  # the redo log is encrypted too


@pytest.mark.parametrize("upto, rows", [("full", 2), ("incremental", 3)])
def test_drill_of_an_encrypted_backup_gives_exact_rows(encrypted, workroot, upto, rows):
    target = getattr(encrypted, upto)
    result = drill(encrypted.root, "Mon", target.name, workroot=workroot)
    assert result.ok, result.error
    tables = {f"{t.schema}.{t.table}": (t.rows, t.check) for t in result.tables}
    assert tables["playground.secrets"] == (rows, "OK")
    assert tables["playground.equipment"] == (rows - 1, "OK")
    start = next(s for s in result.steps if s.name == "start")
    assert start.status == "done" and "sandbox-start" in start.command
    assert list(workroot.iterdir()) == []  # the throwaway server and its directory are gone


def test_drill_without_the_key_file_fails_fast_naming_it(encrypted, workroot, tmp_path):
    hidden = encrypted.keys.with_name("keys.moved")
    encrypted.keys.rename(hidden)
    try:
        began = time.monotonic()
        result = subprocess.run(
            [XTRARESTORE, "drill", "--root", str(encrypted.root), "--day", "Mon", "--upto", encrypted.full.name,
             "--workdir", str(workroot), "--reports-dir", str(tmp_path / "reports")],
            capture_output=True, text=True, timeout=60, check=False,
        )
        seconds = time.monotonic() - began
    finally:
        hidden.rename(encrypted.keys)
    assert result.returncode != 0 and seconds < 30, (seconds, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stdout + result.stderr, result.stderr
    assert str(encrypted.keys) in lines[0] and "file_key_management" in lines[0]
    assert lines[0].count(str(encrypted.keys)) == 1
    assert list(workroot.iterdir()) == []  # refused before anything was made


def test_a_server_that_dies_at_start_fails_at_once_with_its_reason_said_once(encrypted, workroot, tmp_path):
    """Keys replaced by other keys: prepare or start fails in seconds, the server's own error kept in the report."""
    saved = encrypted.keys.read_bytes()
    encrypted.keys.write_text("1;" + "c3" * 32 + "\n2;" + "d4" * 32 + "\n")
    try:
        began = time.monotonic()
        result = subprocess.run(
            [XTRARESTORE, "drill", "--root", str(encrypted.root), "--day", "Mon", "--upto", encrypted.full.name,
             "--workdir", str(workroot), "--reports-dir", str(tmp_path / "reports"),
             "--report-json", str(tmp_path / "report.json")],
            capture_output=True, text=True, timeout=120, check=False,
        )
        seconds = time.monotonic() - began
    finally:
        encrypted.keys.write_bytes(saved)
    assert result.returncode == 1 and seconds < 60, (seconds, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("xtrarestore: drill FAILED: "), result.stderr
    assert "[ERROR]" in lines[0] and str(encrypted.keys) in lines[0]
    reason = lines[0].split("FAILED: ", 1)[1].split(": ", 1)[1]
    assert (result.stdout + result.stderr).count(reason) == 1  # said once, not three times
    import json

    report = json.loads((tmp_path / "report.json").read_text())
    failed = [s for s in report["steps"] if s["status"] == "failed"]
    assert len(failed) == 1 and "[ERROR]" in failed[0]["detail"]
    assert list(workroot.iterdir()) == []


def test_a_start_that_exits_is_reported_at_once_with_the_log_lines(tmp_path):
    """`sandbox-start` on settings the server refuses: it exits, and we say why within seconds."""
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-dies-", dir="/var/tmp"))
    base.chmod(0o711)
    try:
        server = SandboxServer.awaiting_restore(base)
        backup = base / "backup"
        backup.mkdir()
        # Encrypted tables without a key management plugin: InnoDB refuses to start, the server exits.
        (backup / "backup-my.cnf").write_text("[mysqld]\ninnodb_page_size=16384\ninnodb_encrypt_tables=ON\n")
        began = time.monotonic()
        step = subprocess.run([str(Path(sys.executable).with_name("xtrarestore-step")), "sandbox-start",
                               "--base", str(base), "--backup-dir", str(backup), "--timeout", "120"],
                              capture_output=True, text=True, timeout=120, check=False)
        assert step.returncode == 1 and time.monotonic() - began < 60, step.stdout
        errors = [line for line in step.stdout.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and "the server exited at start-up" in errors[0]
        assert "encryption" in errors[0] and str(server.error_log) in errors[0]
        assert not server.server_processes()
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_settings_come_from_backup_my_cnf_then_the_original_config(tmp_path):
    """Format and encryption settings are kept, locations dropped, the rest `loose-`; the original fills gaps."""
    backup_cnf = tmp_path / "backup-my.cnf"
    backup_cnf.write_text(
        "# generated\n[mysqld]\ninnodb_checksum_algorithm=crc32\ninnodb_page_size=32768\n"
        "innodb_undo_directory=./\ninnodb_log_file_size=50331648\nplugin_load=file_key_management=fkm.so\n"
        "file_key_management_filekey=\nfile_key_management_filename=/k/keys.txt\ninnodb_encrypt_log=1\n")
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "enc.cnf").write_text(
        "[mariadb]\naria_encrypt_tables = ON\ninnodb-page-size = 4096\ndatadir=/var/lib/mysql\nport = 3307\n")
    original = tmp_path / "my.cnf"
    original.write_text(f"[client]\nport=1\n[mysqld]\nlower_case_table_names=1\n!includedir {tmp_path / 'conf.d'}\n")
    settings = backup_settings(backup_cnf, original)
    assert settings["innodb_page_size"] == "32768"  # the backup's own value wins
    assert settings["aria_encrypt_tables"] == "ON" and settings["lower_case_table_names"] == "1"
    assert "innodb_undo_directory" not in settings and "datadir" not in settings and "port" not in settings
    assert "file_key_management_filekey" not in settings  # `name=`: the default, not an empty value
    lines = option_lines(settings)
    assert "file_key_management_filename=/k/keys.txt" in lines and "plugin_load=file_key_management=fkm.so" in lines
    assert "loose-innodb_page_size=32768" in lines
    assert parse_options("[mysqld]\nskip-name-resolve\n") == {"skip_name_resolve": None}
    both = parse_options("[mariadb]\nplugin_load_add = a\nplugin-load-add=b.so\n")
    assert both == {"plugin_load_add": "a;b.so"}  # each line adds a plugin


def test_a_production_plan_checks_the_data_at_rest_key_file(encrypted, tmp_path):
    """Prepare needs the key file backup-my.cnf names: `plan` says so before a restore is attempted."""
    args = ["plan", "--root", str(encrypted.root), "--day", "Mon", "--upto", encrypted.incremental.name,
            "--datadir", str(tmp_path / "datadir"), "--stop-cmd", "true", "--start-cmd", "true",
            "--socket", str(tmp_path / "none.sock")]
    present = subprocess.run([XTRARESTORE, *args], capture_output=True, text=True, timeout=60, check=False)
    assert f"[ok] data-at-rest key: {encrypted.keys}" in present.stdout
    hidden = encrypted.keys.with_name("keys.moved")
    encrypted.keys.rename(hidden)
    try:
        missing = subprocess.run([XTRARESTORE, *args], capture_output=True, text=True, timeout=60, check=False)
    finally:
        hidden.rename(encrypted.keys)
    assert missing.returncode != 0
    line = next(line for line in missing.stdout.splitlines() if "data-at-rest key" in line)
    assert line.startswith("  [FAIL]") and str(encrypted.keys) in line and "file_key_management" in line
