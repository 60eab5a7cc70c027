"""A datadir on a small file system: the space check counts what the server creates at its first start,
and a start that runs out of space says so in one line. Needs root (mounts a tmpfs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.restore.journal import find_journal, load_state

pytestmark = pytest.mark.mariadb

CLI = [sys.executable, "-m", "xtrarestore.tui.cli"]
MIB = 1 << 20


@pytest.fixture(scope="module")
def small_disk():
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-disk-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    mount = base / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400m,mode=755", "tmpfs", str(mount)]).returncode:
        shutil.rmtree(base)
        pytest.skip("cannot mount a tmpfs here")
    server = None
    try:
        server = SandboxServer.create(mount / "prod")
        server.load_playground()
        server.add_equipment("slide", 2, "blue")
        full = server.take_backup(base / "backups" / "Mon")
        server.add_equipment("swing", 10, "yellow")
        os.chmod(base / "backups", 0o755)
        yield NS(server=server, base=base, mount=mount, full=full, runs=iter(range(100)))
    finally:
        if server is not None:
            server.destroy()
        subprocess.run(["umount", str(mount)])
        shutil.rmtree(base, ignore_errors=True)


def _args(env, **over) -> list[str]:
    server = env.server
    options = {
        "--root": str(env.base / "backups"), "--day": "Mon", "--upto": env.full.name,
        "--datadir": str(server.datadir), "--stop-cmd": server.stop_cmd, "--start-cmd": server.start_cmd,
        "--socket": str(server.socket), "--defaults-file": str(server.config), "--error-log": str(server.error_log),
        "--state-dir": str(env.base / "state"), "--workdir": str(env.base / "work" / str(next(env.runs))),
        "--stop-timeout": "60", "--start-timeout": "120",
    }
    options.update(over)
    return [part for key, value in options.items() for part in (key, value)]


def _cli(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    if check is not None:
        assert result.returncode == check, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _fill_to(env, free: int, name: str = "filler") -> Path:
    """Leave about *free* bytes free on the small file system (another tenant's file)."""
    filler = env.mount / name
    filler.unlink(missing_ok=True)
    available = shutil.disk_usage(env.mount).free
    subprocess.run(["fallocate", "-l", str(max(available - free, 4096)), str(filler)], check=True)
    return filler


def _rows(server) -> list[str]:
    return [row[0] for row in server.execute("SELECT type FROM playground.equipment ORDER BY id")]


def test_room_for_the_copy_but_not_the_redo_log_is_refused(small_disk):
    env = small_disk
    copy = env.full.stat().st_size
    filler = _fill_to(env, copy + 45 * MIB)  # the copy fits; the 96 MiB redo log of its first start does not
    try:
        refused = _cli("restore", *_args(env), "--yes", check=2)
    finally:
        filler.unlink()
    assert "space for copy-back + first start" in refused.stderr and "needs about" in refused.stderr
    assert "nothing was touched" in refused.stderr and refused.stderr.count("\n") == 1
    assert _rows(env.server) == ["slide", "swing"]
    assert not list(env.server.datadir.parent.glob("data.before-restore-*"))


def test_a_start_that_runs_out_of_space_says_so(small_disk):
    env = small_disk
    server = env.server
    # Everything fits when the restore checks; then another file takes the space just before the start.
    squeeze = (f"fallocate -l $(( $(df --output=avail -B1 {env.mount} | tail -1) - 8388608 )) "
               f"{env.mount / 'late-filler'}; {server.start_cmd}")
    failed = _cli("restore", *_args(env, **{"--start-cmd": squeeze}), "--yes", check=1)
    state = load_state(find_journal(env.base / "state"))
    start = next(s for s in state.steps if s.name == "start")
    assert start.status == "failed" and "no space left on device" in start.error, failed.stdout[-3000:]
    assert "\n" not in start.error
    (env.mount / "late-filler").unlink()
    _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes", "--start-cmd", server.start_cmd)
    assert _rows(server) == ["slide", "swing"]
    assert not (server.datadir / "xtrabackup_info").exists()
