"""Parsing without a server: --until values, binlog positions, Previous_gtids, which statements are notable."""

from __future__ import annotations

import ast
import struct
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from xtrarestore.core.binlog import (
    Gtid,
    Statement,
    Transaction,
    parse_binlog_info,
    parse_gtid_list,
    parse_until,
    read_backup_position,
)
from xtrarestore.core.binlog.reader import parse_previous_gtids
from xtrarestore.core.binlog.timeline import find_notable
from xtrarestore.core.errors import BinlogCorruptError, BinlogError, BinlogOffError, StopPointError

ROOM = Path(__file__).resolve().parents[2] / "core" / "binlog"


@pytest.fixture
def host_zone(monkeypatch):
    """Switch the host time zone for one test (POSIX TZ strings need no tzdata)."""

    def switch(tz: str) -> None:
        monkeypatch.setenv("TZ", tz)
        time.tzset()

    yield switch
    monkeypatch.undo()
    time.tzset()


def test_time_without_offset_is_read_in_the_host_zone_and_says_so(host_zone):
    host_zone("XST-3")  # three hours east of UTC
    local = parse_until("2026-01-15 10:00:00")
    given = parse_until("2026-01-15 10:00:00+03:00")
    assert local.epoch == given.epoch == int(datetime(2026, 1, 15, 7, tzinfo=UTC).timestamp())
    assert "host time zone" in local.zone and "+03:00" in local.zone and "XST" in local.zone
    assert "given" in given.zone


def test_time_with_z_or_compact_offset():
    moment = datetime(2026, 3, 1, 12, 30, 5, tzinfo=UTC)
    assert parse_until("2026-03-01 12:30:05Z").epoch == int(moment.timestamp())
    west = moment.astimezone(timezone(-timedelta(hours=5)))
    assert parse_until(west.strftime("%Y-%m-%dT%H:%M:%S-0500")).epoch == int(moment.timestamp())


def test_gtid_position_and_end_forms():
    assert parse_until("gtid:0-11-42").gtid == Gtid(0, 11, 42)
    before = parse_until("before:2-3-7")
    assert (before.kind, before.gtid) == ("before", Gtid(2, 3, 7))
    at = parse_until("mariadb-bin.000012:4711")
    assert (at.kind, at.file, at.pos) == ("position", "mariadb-bin.000012", 4711)
    assert parse_until(" END ").kind == "end"


@pytest.mark.parametrize("text", ["yesterday", "gtid:0-11", "before:x-1-2", "2026-13-01 00:00:00", "file:12"])
def test_malformed_until_is_one_line_error(text):
    with pytest.raises(StopPointError) as caught:
        parse_until(text)
    assert "\n" not in str(caught.value) and "--until" in str(caught.value)


def test_binlog_info_with_several_domains_and_per_file_lines():
    position = parse_binlog_info("mariadb-bin.000003\t1234\t0-1-100,2-1-7\n")
    assert (position.file, position.pos) == ("mariadb-bin.000003", 1234)
    assert position.gtids == {0: Gtid(0, 1, 100), 2: Gtid(2, 1, 7)}
    last = parse_binlog_info("mariadb-bin.000001\t330\t[]\nmariadb-bin.000002\t642\t0-1-7\n")
    assert (last.file, last.pos, last.gtid) == ("mariadb-bin.000002", 642, "0-1-7")
    assert parse_gtid_list("[]") == {}
    mysql = parse_binlog_info("binlog.000007\t157\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n")
    assert (mysql.pos, mysql.gtid, mysql.gtids) == (157, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", {})
    with pytest.raises(BinlogError, match="not a MariaDB GTID"):
        parse_binlog_info("mariadb-bin.000001\t4\t0-1\n")
    with pytest.raises(BinlogError):
        parse_binlog_info("mariadb-bin.000001 not-a-number\n")


def test_backup_without_binlog_position_means_binlog_was_off(tmp_path):
    with pytest.raises(BinlogOffError, match="binary logging was off"):
        read_backup_position(tmp_path)
    (tmp_path / "xtrabackup_binlog_info").write_text("")
    with pytest.raises(BinlogOffError):
        read_backup_position(tmp_path)
    (tmp_path / "mariadb_backup_binlog_info").write_text("mariadb-bin.000009\t4\t0-1-1\n")
    assert read_backup_position(tmp_path).file == "mariadb-bin.000009"


def test_binlog_room_imports_only_the_standard_library_and_core_errors():
    allowed_local = {"errors", "files"}
    for source in ROOM.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                if node.level == 2:
                    assert node.module in allowed_local, f"{source.name}: from ..{node.module}"
                else:
                    assert node.level == 1, source.name
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
                for name in names:
                    top = name.split(".")[0]
                    assert top in sys.stdlib_module_names or top == "__future__", f"{source.name}: {name}"


def test_mysql_previous_gtids_body_reads_as_a_gtid_set():
    uuid = bytes(range(16))
    body = struct.pack("<Q", 1) + uuid + struct.pack("<Q", 2) + struct.pack("<qq", 1, 6) + struct.pack("<qq", 9, 10)
    assert parse_previous_gtids(body, "x") == "00010203-0405-0607-0809-0a0b0c0d0e0f:1-5:9"
    with pytest.raises(BinlogCorruptError, match="x: Previous_gtids"):
        parse_previous_gtids(body[:-4], "x")


@pytest.mark.parametrize(
    "sql, kind, table",
    [
        (b"DROP TABLE `shop`.`orders` /* generated by server */", "drop", "shop.orders"),
        (b"drop database if exists shop", "drop", "shop.*"),
        (b"TRUNCATE orders", "truncate", "app.orders"),
        (b"RENAME TABLE a TO b, c TO d", "rename", "app.a"),
        (b"ALTER ONLINE TABLE s.t ADD COLUMN c INT", "alter", "s.t"),
        (b"DELETE FROM t", "delete", None),
        (b"DROP TEMPORARY TABLE IF EXISTS `t`", None, None),
        (b"UPDATE t SET a = 1 WHERE id = 2", None, None),
        (b"CREATE TABLE t (i INT)", None, None),
    ],
)
def test_which_statements_are_notable(sql, kind, table):
    txn = Transaction("0-1-5", 0, 1, 5, "mariadb-bin.000001", 100, 200, 0, "statement", (), ())
    event = find_notable([replace(txn, statements=(Statement(120, 0, b"app", sql, False),))], reachable=1)
    assert [(e.kind, e.table) for e in event] == ([(kind, table)] if kind else [])
