"""Shared fixtures: real throwaway MariaDB servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xtrarestore.core.sandbox import SandboxServer


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
