"""A production sandbox with a backup, then an incident: tables dropped and emptied while others keep changing."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer

SCHEMA = (
    "CREATE DATABASE shop",
    "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2), placed DATETIME(3))",
    (
        "CREATE TABLE shop.events (id INT NOT NULL, day DATE NOT NULL, what VARCHAR(30), PRIMARY KEY (id, day))"
        " PARTITION BY RANGE (YEAR(day)) (PARTITION p2024 VALUES LESS THAN (2025),"
        " PARTITION p2025 VALUES LESS THAN (2026), PARTITION pmax VALUES LESS THAN MAXVALUE)"
    ),
    "CREATE TABLE shop.parent (id INT PRIMARY KEY, name VARCHAR(20))",
    (
        "CREATE TABLE shop.child (id INT PRIMARY KEY, parent_id INT, note VARCHAR(20),"
        " CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES shop.parent (id))"
    ),
    "CREATE TABLE shop.notes (id INT PRIMARY KEY, body TEXT, FULLTEXT KEY body_ft (body))",
    "CREATE TABLE shop.tally (id INT PRIMARY KEY, n INT) ENGINE=Aria",
    "CREATE TABLE shop.busy (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))",
    (
        "INSERT INTO shop.orders SELECT seq, CONCAT('customer ', seq), seq * 1.25, '2026-01-02 03:04:05.678'"
        " FROM shop.seq_1_to_500"
    ),
    (
        "INSERT INTO shop.events SELECT seq, DATE_ADD('2024-06-01', INTERVAL seq DAY), CONCAT('e', seq)"
        " FROM shop.seq_1_to_900"
    ),
    "INSERT INTO shop.parent SELECT seq, CONCAT('p', seq) FROM shop.seq_1_to_20",
    "INSERT INTO shop.child SELECT seq, 1 + seq % 20, CONCAT('c', seq) FROM shop.seq_1_to_100",
    "INSERT INTO shop.notes SELECT seq, CONCAT('note number ', seq, ' about blue widgets') FROM shop.seq_1_to_60",
    "INSERT INTO shop.tally SELECT seq, seq * seq FROM shop.seq_1_to_30",
)
TABLES = ("orders", "events", "parent", "child", "notes", "tally")


def binlog_options(server_id: int) -> tuple[str, ...]:
    return ("log-bin=mariadb-bin", f"server-id={server_id}", "binlog-format=ROW", "binlog-row-image=FULL")


def snapshot(server: SandboxServer, schema: str, table: str) -> tuple[list[tuple], int]:
    """Every row in key order and the table's CHECKSUM TABLE."""
    rows = server.execute(f"SELECT * FROM `{schema}`.`{table}` ORDER BY 1, 2")
    checksum = server.execute(f"CHECKSUM TABLE `{schema}`.`{table}` EXTENDED")[0][1]
    return rows, checksum


@dataclass
class Incident:
    production: SandboxServer
    root: Path
    day: str
    upto: str
    before: dict[str, tuple[list[tuple], int]] = field(default_factory=dict)  # as backed up


def identity(server: SandboxServer) -> tuple[int, int]:
    """(pid, uptime) of a running server."""
    return server.pid(), int(server.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")[0][1])


@pytest.fixture(scope="module")
def incident(tmp_path_factory) -> Iterator[Incident]:
    """A production server with a full backup of shop.*; the tests do the damage themselves."""
    production = SandboxServer.create(options=binlog_options(21))
    try:
        production.execute(*SCHEMA)
        root = tmp_path_factory.mktemp("backups")
        backup = production.take_backup(root / "Mon")
        found = Incident(production, root, "Mon", backup.name)
        found.before = {t: snapshot(production, "shop", t) for t in TABLES}
        yield found
    finally:
        production.destroy()


@pytest.fixture
def workroot() -> Iterator[Path]:
    """Where throwaway servers live: outside pytest's 0700 tmp, so `mysql` reaches them."""
    path = Path(tempfile.mkdtemp(prefix="xtrarestore-test-tables-", dir="/var/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)
