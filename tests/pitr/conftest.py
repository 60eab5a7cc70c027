"""A binlogging sandbox "production" server with backups and an incident, for point-in-time recovery tests.

The history: orders and an audit table; a full backup (a real mariabackup
stream in a backup root); more orders and audit rows (phase A); a second
boundary (the time stop point); a bad `DELETE FROM shop.orders WHERE id > 50`;
more orders (phase B) across a binlog rotation; another rotation; `DROP TABLE shop.audit`; one last
order. The table contents (row counts and CHECKSUM TABLE) are recorded at each
moment a stop point can name, straight from the source server.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer

BASENAME = "prod-bin"
TABLES = ("shop.orders", "shop.audit")


def binlog_options(server_id: int, *extra: str) -> tuple[str, ...]:
    return (f"log-bin={BASENAME}", f"server-id={server_id}", "binlog-format=ROW", "binlog-row-image=FULL", *extra)


def table_state(server: SandboxServer, tables=TABLES) -> dict[str, tuple[int, int] | None]:
    """Row count and CHECKSUM TABLE of each table (None when the table does not exist)."""
    state = {}
    existing = {f"{s}.{t}" for s, t in server.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'shop'")}
    for name in tables:
        if name not in existing:
            state[name] = None
            continue
        count = server.execute(f"SELECT COUNT(*) FROM {name}")[0][0]
        checksum = server.execute(f"CHECKSUM TABLE {name}")[0][1]
        state[name] = (count, checksum)
    return state


def orders(server: SandboxServer) -> list[tuple]:
    return [tuple(row) for row in server.execute("SELECT id, customer, note, amount FROM shop.orders ORDER BY id")]


def last_gtid(server: SandboxServer) -> str:
    return next(g for g in server.execute("SELECT @@gtid_binlog_pos")[0][0].split(",") if g.startswith("0-"))


@dataclass
class Production:
    server: SandboxServer
    base: Path
    root: Path
    backup: Path
    stop_time: str  # host time zone: after phase A, before the DELETE
    delete_gtid: str
    drop_gtid: str
    last_gtid: str
    states: dict[str, dict] = field(default_factory=dict)  # moment -> table_state
    rows_without_delete: list[tuple] = field(default_factory=list)  # orders at the end had the DELETE been skipped
    runs: Iterator[int] = field(default_factory=lambda: iter(range(1000)))

    @property
    def binlog_dir(self) -> Path:
        return self.server.datadir

    def archive(self, name: str, *, drop: tuple[str, ...] = ()) -> Path:
        """A copy of the binlogs (an archive), without the files named in *drop*."""
        target = self.base / "archives" / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        for path in sorted(self.server.datadir.glob(f"{BASENAME}.[0-9]*")):
            if path.name not in drop:
                shutil.copy2(path, target / path.name)
        os.chmod(target.parent, 0o755)
        return target


def write_history(server: SandboxServer, base: Path) -> Production:
    server.execute(
        "CREATE DATABASE shop",
        "CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer INT, note VARCHAR(100),"
        " amount DECIMAL(10,2)) ENGINE=InnoDB",
        "CREATE TABLE shop.audit (id INT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(40)) ENGINE=InnoDB",
        "INSERT INTO shop.orders (customer, note, amount) SELECT seq % 9, CONCAT('first ', seq), seq / 10"
        " FROM shop.seq_1_to_2000",
    )
    root = base / "backups"
    backup = server.take_backup(root / "Mon")
    os.chmod(root, 0o755)
    for i in range(40):  # phase A: one transaction each
        server.execute("INSERT INTO shop.orders (customer, note, amount) VALUES (%s, %s, 1.5)", params=(i % 4, f"A{i}"))
    server.execute("UPDATE shop.orders SET amount = amount + 2 WHERE customer = 3",
                   "INSERT INTO shop.audit (what) VALUES ('phase A')")
    time.sleep(1.2)
    stop_time = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    time.sleep(1.2)
    states = {"before-delete": table_state(server)}
    kept = orders(server)
    server.execute("DELETE FROM shop.orders WHERE id > 50")
    delete_gtid = last_gtid(server)
    time.sleep(1.1)
    for i in range(20):  # phase B, across a binlog rotation
        server.execute("INSERT INTO shop.orders (customer, note, amount) VALUES (%s, %s, 2.5)", params=(i, f"B{i}"))
        if i == 9:
            server.execute("FLUSH BINARY LOGS")
    server.execute("INSERT INTO shop.audit (what) VALUES ('phase B')")
    server.execute("FLUSH BINARY LOGS")
    states["before-drop"] = table_state(server)
    server.execute("DROP TABLE shop.audit")
    drop_gtid = last_gtid(server)
    server.execute("INSERT INTO shop.orders (customer, note, amount) VALUES (99, 'last', 9.5)")
    states["end"] = table_state(server)
    after = [row for row in orders(server) if row[0] > max(r[0] for r in kept)]
    return Production(server=server, base=base, root=root, backup=backup, stop_time=stop_time,
                      delete_gtid=delete_gtid, drop_gtid=drop_gtid, last_gtid=last_gtid(server), states=states,
                      rows_without_delete=kept + after)


def new_base() -> Path:
    base = Path(tempfile.mkdtemp(prefix="xr-pitr-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    return base


@pytest.fixture(scope="module")
def production() -> Iterator[Production]:
    """A running binlogging server (server_id 21) with its history, a backup root and its binlogs."""
    base = new_base()
    server = None
    try:
        server = SandboxServer.create(base / "prod", options=binlog_options(21))
        yield write_history(server, base)
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workroot() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="xr-pitr-d-", dir="/var/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)
