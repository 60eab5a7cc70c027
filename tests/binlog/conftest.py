"""Real binlogging MariaDB servers for the binlog tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xtrarestore.core.sandbox import SandboxServer

BASENAME = "mariadb-bin"


def binlog_options(server_id: int = 11, *extra: str) -> tuple[str, ...]:
    """Binary logging as PITR needs it: ROW format, full images, a server id of our choosing."""
    return (f"log-bin={BASENAME}", f"server-id={server_id}", "binlog-format=ROW", "binlog-row-image=FULL", *extra)


@pytest.fixture
def make_binlog_server() -> Iterator:
    """Start binlogging servers on demand (extra server options as arguments); all destroyed afterwards."""
    started: list[SandboxServer] = []

    def make(*extra: str, server_id: int = 11) -> SandboxServer:
        server = SandboxServer.create(options=binlog_options(server_id, *extra))
        started.append(server)
        return server

    yield make
    for server in started:
        server.destroy()
