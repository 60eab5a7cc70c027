"""The sandbox helper runs a real server and takes DigitalOcean-style backups."""

from datetime import datetime, timedelta

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer, live_servers
from xtrarestore.core.errors import SandboxError

pytestmark = pytest.mark.mariadb


def test_day_directory_like_backup_mysql_sh(fresh_server, tmp_path):
    day = tmp_path / "Mon"
    when = datetime(2026, 11, 16, 3, 0, 0)
    fresh_server.add_equipment("slide", 2, "blue")
    full = fresh_server.take_backup(day, when=when)
    fresh_server.add_equipment("swing", 10, "yellow")
    inc = fresh_server.take_backup(day, when=when + timedelta(hours=1), compress=True)
    assert full.name == "full-11-16-2026_03-00-00.xbstream"
    assert inc.name == "incremental-11-16-2026_04-00-00.xbstream"
    assert full.read_bytes()[:8] == b"XBSTCK01"
    checkpoints = (day / "xtrabackup_checkpoints").read_text()
    assert "backup_type = incremental" in checkpoints
    assert (day / "backup-progress.log").read_text().rstrip().endswith("completed OK!")
    assert (day / "xtrabackup_info").exists()


def test_interrupted_backup_leaves_incomplete_file(fresh_server, tmp_path):
    partial = fresh_server.take_backup(tmp_path / "Tue", interrupt_after=64 * 1024)
    assert partial.name.endswith(".xbstream.incomplete")
    assert partial.stat().st_size >= 64 * 1024
    assert not list((tmp_path / "Tue").glob("*.xbstream"))


def test_server_is_gone_after_destroy():
    sandbox = SandboxServer.create()
    pid = sandbox.pid()
    assert pid is not None and sandbox.ping()
    sandbox.destroy()
    assert sandbox not in set(live_servers())
    assert not sandbox.base.exists()
    with pytest.raises(ProcessLookupError):
        import os

        os.kill(pid, 0)


def test_start_failure_names_the_error_log():
    sandbox = SandboxServer.create(start=False)
    sandbox.config.write_text(sandbox.config.read_text().replace("[mariadbd]", "[mariadbd]\nno-such-option=1"))
    with pytest.raises(SandboxError, match="error.log"):
        sandbox.start(timeout=20)
    sandbox.destroy()
