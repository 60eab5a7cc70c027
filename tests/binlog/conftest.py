"""Real binlogging MariaDB servers for the binlog tests."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer

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


@dataclass
class TruthTransaction:
    """A transaction as `mariadb-binlog -vv` prints it."""

    gtid: str
    start: int
    end: int = 0
    time: int = 0
    rows: int = 0
    tables: set[str] = field(default_factory=set)
    compressed_events: int = 0


_HEADER = re.compile(r"^#(\d{6})\s+(\d{1,2}:\d{2}:\d{2}) server id (\d+)\s+end_log_pos (\d+)\s.*?\t(.*)$")


def binlog_truth(path: Path) -> tuple[list[TruthTransaction], list[int], str | None]:
    """Transactions, event start offsets and the Gtid_list text of *path*, according to mariadb-binlog.

    Times are read with TZ=UTC so the printed local time is UTC.
    """
    out = subprocess.run(
        ["mariadb-binlog", "-vv", "--base64-output=decode-rows", str(path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    transactions: list[TruthTransaction] = []
    starts: list[int] = []
    gtid_list = None
    current: TruthTransaction | None = None
    at = 0
    listing = False  # inside a Gtid list printed over several lines
    for line in out.splitlines():
        if listing:
            gtid_list += line.lstrip("# ").rstrip("]")
            listing = not line.endswith("]")
            continue
        if line.startswith("# at "):
            at = int(line[5:])
            starts.append(at)
            continue
        if line.startswith("# Number of rows: ") and current is not None:
            current.rows += int(line.split(":")[1])
            continue
        match = _HEADER.match(line)
        if not match:
            continue
        stamp = datetime.strptime(f"{match[1]} {match[2]}", "%y%m%d %H:%M:%S").replace(tzinfo=UTC)
        end, what = int(match[4]), match[5]
        if what.startswith("Gtid list"):
            gtid_list = what[len("Gtid list ") :].lstrip("[").rstrip("]")
            listing = not what.endswith("]")
        elif what.startswith("GTID "):
            current = TruthTransaction(gtid=what.split()[1], start=at)
            transactions.append(current)
            if what.split()[-1] != "trans":  # a standalone group: one statement
                current.end = -1
        elif current is not None:
            if "compressed" in what.lower():
                current.compressed_events += 1
            table = re.match(r"Table_map: `(.*)`\.`(.*)` mapped", what)
            if table:
                current.tables.add(f"{table[1]}.{table[2]}")
            if what.startswith("Xid") or (current.end == -1 and what.startswith("Query")):
                current.end, current.time = end, int(stamp.timestamp())
                current = None
    return transactions, sorted(set(starts)), gtid_list


def mariadb_binlog_gtids(*args: str) -> list[str]:
    """The GTIDs `mariadb-binlog ARGS` would replay (read with TZ=UTC)."""
    out = subprocess.run(
        ["mariadb-binlog", *args], capture_output=True, text=True, check=True, env={**os.environ, "TZ": "UTC"}
    ).stdout
    return re.findall(r"\tGTID (\d+-\d+-\d+)", out)


@dataclass
class History:
    """A binlogging server's recorded past: a backup in the middle, an incident after it."""

    server: SandboxServer
    backup_dir: Path
    incident_gtid: str  # the big DELETE
    drop_gtid: str  # the DROP TABLE

    @property
    def binlogs(self) -> list[Path]:
        return sorted(self.server.datadir.glob(f"{BASENAME}.[0-9]*"))


def _gtid_pos(server: SandboxServer) -> str:
    return server.execute("SELECT @@gtid_binlog_pos")[0][0]


def _last_gtid(server: SandboxServer, domain: int) -> str:
    return next(g for g in _gtid_pos(server).split(",") if g.startswith(f"{domain}-"))


def write_history(server: SandboxServer, backup_dir: Path) -> History:
    """Inserts, a real mariabackup backup, updates in two GTID domains, a 1,200-row DELETE, a DROP TABLE,
    several binlog files. Phases are a second apart so stop times fall between them."""
    server.execute(
        "CREATE DATABASE shop",
        "CREATE TABLE shop.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer INT, note VARCHAR(300),"
        " amount DECIMAL(10,2), payload BLOB, code CHAR(4), flags BIT(11), placed DATETIME(3),"
        " state ENUM('new','paid'), gone INT NULL) ENGINE=InnoDB",
        "CREATE TABLE shop.audit (id INT PRIMARY KEY AUTO_INCREMENT, what VARCHAR(40)) ENGINE=InnoDB",
    )
    for i in range(30):
        server.execute(
            "INSERT INTO shop.orders (customer, note, amount, payload, code, flags, placed, state)"
            " VALUES (%s, %s, 9.99, REPEAT('p', 700), 'ab', b'101', NOW(3), 'new')",
            params=(i % 5, f"order {i}"),
        )
    server.execute(
        "INSERT INTO shop.orders (customer, note) SELECT seq % 7, CONCAT('bulk ', seq) FROM shop.seq_1_to_1500"
    )
    server.execute("FLUSH BINARY LOGS")
    subprocess.run(
        [
            "mariabackup",
            "--backup",
            "--user=root",
            f"--socket={server.socket}",
            f"--target-dir={backup_dir}",
        ],
        check=True,
        capture_output=True,
    )
    time.sleep(1.1)
    server.execute("UPDATE shop.orders SET amount = amount + 1 WHERE customer = 3")
    server.execute("SET SESSION gtid_domain_id = 2", "INSERT INTO shop.audit (what) VALUES ('domain two')")
    server.execute("FLUSH BINARY LOGS")
    server.execute("INSERT INTO shop.audit (what) VALUES ('before the incident')")
    time.sleep(1.1)
    server.execute("DELETE FROM shop.orders WHERE id > 300")
    incident = _last_gtid(server, 0)
    time.sleep(1.1)
    server.execute("INSERT INTO shop.audit (what) VALUES ('after the incident')")
    server.execute("FLUSH BINARY LOGS")
    server.execute("DROP TABLE shop.audit")
    drop = _last_gtid(server, 0)
    server.execute("INSERT INTO shop.orders (customer, note) VALUES (1, 'last')")
    return History(server=server, backup_dir=backup_dir, incident_gtid=incident, drop_gtid=drop)


@pytest.fixture(scope="session")
def history(tmp_path_factory) -> Iterator[History]:
    """One binlogging server with a written history, stopped so its binlogs are closed."""
    server = SandboxServer.create(options=binlog_options(11))
    try:
        recorded = write_history(server, tmp_path_factory.mktemp("backup") / "full")
        server.stop()
        yield recorded
    finally:
        server.destroy()
