"""Restore locks: one per host and one per datadir, in a fixed place whatever --state-dir says,
held by the step guard too, and a refusal names its holder."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xtrarestore.core.errors import LockBusyError
from xtrarestore.core.restore import lock
from xtrarestore.core.restore.lock import HostLock, RestoreLock, datadir_holder, datadir_lock_path


def test_locks_live_in_run_lock_whatever_the_state_dir(monkeypatch):
    monkeypatch.delenv(lock.LOCK_DIR_ENV, raising=False)
    if os.geteuid() != 0:
        pytest.skip("root decides /run/lock/xtrarestore")
    assert lock.lock_dir() == Path("/run/lock/xtrarestore")
    assert lock.host_lock_path().parent == Path("/run/lock/xtrarestore")


def test_a_second_restore_is_refused_naming_the_holder(tmp_path, monkeypatch):
    monkeypatch.setenv(lock.LOCK_DIR_ENV, str(tmp_path / "locks"))
    one, two = tmp_path / "one" / "data", tmp_path / "two" / "data"
    with RestoreLock(one, "20260101-000000-aaaa"):
        with pytest.raises(LockBusyError) as busy:
            RestoreLock(two, "20260101-000000-bbbb").acquire()  # another datadir: the host lock stops it
        message = str(busy.value)
        assert "restore 20260101-000000-aaaa" in message and f"pid {os.getpid()}" in message
        assert "\n" not in message
        assert datadir_holder(one)["restore"] == "20260101-000000-aaaa"
        assert datadir_holder(two) is None
    RestoreLock(two, "20260101-000000-bbbb").acquire().release()
    assert datadir_holder(one) is None


def test_the_datadir_lock_is_keyed_by_the_resolved_path(tmp_path, monkeypatch):
    monkeypatch.setenv(lock.LOCK_DIR_ENV, str(tmp_path / "locks"))
    real = tmp_path / "var" / "data"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "var")
    assert datadir_lock_path(tmp_path / "link" / "data") == datadir_lock_path(real)
    with HostLock(datadir_lock_path(real), {"restore": "x", "pid": 1, "datadir": str(real)}, what=f"datadir {real}"):
        with pytest.raises(LockBusyError, match=f"locked by restore x \\(pid 1, datadir {real}\\)"):
            HostLock(datadir_lock_path(tmp_path / "link" / "data")).acquire()


def test_a_process_that_inherited_the_lock_keeps_it_after_the_holder_dies(tmp_path, monkeypatch):
    """What the step guard does: the lock lives as long as any process holding its descriptor."""
    monkeypatch.setenv(lock.LOCK_DIR_ENV, str(tmp_path / "locks"))
    datadir = tmp_path / "data"
    code = (
        "import os, subprocess, sys, time\n"
        "from pathlib import Path\n"
        "from xtrarestore.core.restore.lock import RestoreLock\n"
        f"held = RestoreLock(Path({str(datadir)!r}), 'r1').acquire()\n"
        "child = subprocess.Popen(['sleep', '30'], pass_fds=held.fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(child.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, lock.LOCK_DIR_ENV: str(tmp_path / "locks")})
    sleeper = int(out.stdout.split()[0])
    try:
        with pytest.raises(LockBusyError, match="restore r1"):
            RestoreLock(datadir, "r2").acquire()
    finally:
        os.kill(sleeper, 9)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{sleeper}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    RestoreLock(datadir, "r2").acquire().release()
