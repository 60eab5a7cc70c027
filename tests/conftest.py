"""Shared fixtures: real throwaway MariaDB servers, and the `mariadb` marker on every test that needs one."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.restore.lock import describe_holder, holder_of, host_lock_path

# Restore locks are host-wide (/run/lock/xtrarestore); test runs side by side on one machine keep their own
# (shared by every user, like the real one: the sudo tests run the CLI as another user).
if "XTRARESTORE_LOCK_DIR" not in os.environ:
    os.environ["XTRARESTORE_LOCK_DIR"] = tempfile.mkdtemp(prefix="xtrarestore-locks-")
    os.chmod(os.environ["XTRARESTORE_LOCK_DIR"], 0o1777)


def _lock_openers(path: Path) -> list[int]:
    """Other processes with *path* open (the restore and the step guards that inherited its lock)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            if any(os.readlink(f"/proc/{name}/fd/{fd}") == str(path) for fd in os.listdir(f"/proc/{name}/fd")):
                found.append(int(name))
        except OSError:
            continue
    return found


@pytest.fixture(autouse=True)
def no_restore_outlives_its_test() -> Iterator[None]:
    """A test that leaves a restore holding the host lock fails here, and that restore is killed, so one
    failure does not turn every later restore in the run into a "host is locked" refusal."""
    yield
    path = host_lock_path()
    holder = holder_of(path)
    if holder is None:
        return
    for pid in _lock_openers(path):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    deadline = time.monotonic() + 30
    while holder_of(path) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    pytest.fail(f"the test left {describe_holder(holder)} holding the host lock (killed)")


@pytest.fixture(scope="session")
def server() -> Iterator[SandboxServer]:
    """One real MariaDB server for the whole session, with the tutorial's playground table."""
    with SandboxServer.create() as sandbox:
        sandbox.load_playground()
        yield sandbox


@pytest.fixture
def fresh_server() -> Iterator[SandboxServer]:
    """A real MariaDB server of this test's own, destroyed afterwards."""
    with SandboxServer.create() as sandbox:
        sandbox.load_playground()
        yield sandbox


# Fixtures (here and in the test modules) that start a real server or build backups with one.
SERVER_FIXTURES = {"server", "fresh_server", "backups", "demo", "tree", "inventory", "keyed", "story", "production",
                   "history", "make_binlog_server",
                   "root", "verified_server", "operator"}


def pytest_collection_modifyitems(items) -> None:
    """Mark the tests that start a real MariaDB server, so `-m 'not mariadb'` is a quick run."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mariadb)
