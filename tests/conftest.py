"""Shared fixtures: real throwaway MariaDB servers, and the `mariadb` marker on every test that needs one."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer

# Restore locks are host-wide (/run/lock/xtrarestore); test runs side by side on one machine keep their own
# (shared by every user, like the real one: the sudo tests run the CLI as another user).
if "XTRARESTORE_LOCK_DIR" not in os.environ:
    os.environ["XTRARESTORE_LOCK_DIR"] = tempfile.mkdtemp(prefix="xtrarestore-locks-")
    os.chmod(os.environ["XTRARESTORE_LOCK_DIR"], 0o1777)


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
