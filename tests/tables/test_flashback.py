"""Flashback against a real binlogging server: bad DELETE and UPDATE undone exactly, unsafe cases refused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.tui.cli import main

from .conftest import binlog_options, snapshot

pytestmark = pytest.mark.mariadb


@pytest.fixture
def shop() -> Iterator[SandboxServer]:
    with SandboxServer.create(options=binlog_options(31)) as server:
        server.execute(
            "CREATE DATABASE shop",
            "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2), note TEXT)",
            "CREATE TABLE shop.stock (id INT PRIMARY KEY, qty INT, price DOUBLE)",
            "CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))",
            "INSERT INTO shop.orders SELECT seq, CONCAT('c', seq), seq / 4, REPEAT('x', seq % 50) FROM shop.seq_1_to_3000",
            "INSERT INTO shop.stock SELECT seq, seq * 3, seq * 0.1 FROM shop.seq_1_to_400",
        )
        yield server


def gtid_of(server: SandboxServer, *statements: str) -> str:
    """Run *statements* in one session and return the GTID of the last transaction it wrote."""
    return server.execute(*statements, "SELECT @@last_gtid")[0][0]


def flashback(server: SandboxServer, *gtids: str, extra: tuple[str, ...] = ("--yes",)) -> int:
    args = ["flashback", "--binlog-dir", str(server.datadir), "--socket", str(server.socket), *extra]
    for gtid in gtids:
        args += ["--gtid", gtid]
    return main(args)


def test_a_bad_delete_and_update_are_undone_exactly(shop, capsys):
    orders, stock = snapshot(shop, "shop", "orders"), snapshot(shop, "shop", "stock")
    delete = gtid_of(shop, "DELETE FROM shop.orders WHERE id % 3 = 0")
    update = gtid_of(shop, "UPDATE shop.stock SET qty = 0, price = price * 2 WHERE id < 300")
    shop.execute("INSERT INTO shop.audit (what) VALUES ('later, other table')")
    assert flashback(shop, delete, update) == 0
    out = capsys.readouterr().out
    assert "shop.orders: 1000 rows put back" in out and "shop.stock: 299 rows changed back" in out
    assert snapshot(shop, "shop", "orders") == orders
    assert snapshot(shop, "shop", "stock") == stock
    assert shop.execute("SELECT what FROM shop.audit") == [("later, other table",)]


def test_a_later_change_to_the_same_table_is_refused_naming_its_gtid(shop, capsys):
    before = snapshot(shop, "shop", "orders")
    delete = gtid_of(shop, "DELETE FROM shop.orders WHERE id < 100")
    later = gtid_of(shop, "UPDATE shop.orders SET total = 0 WHERE id = 500")
    after = snapshot(shop, "shop", "orders")
    assert flashback(shop, delete) == 2
    err = capsys.readouterr().err.strip()
    assert later in err and "recover-table" in err and "\n" not in err
    assert snapshot(shop, "shop", "orders") == after != before


def test_ddl_is_refused(shop, capsys):
    drop = gtid_of(shop, "DROP TABLE shop.stock")
    assert flashback(shop, drop) == 2
    assert "DDL (DROP TABLE)" in capsys.readouterr().err


def test_a_minimal_row_image_is_refused(shop, capsys):
    update = gtid_of(shop, "SET SESSION binlog_row_image = MINIMAL", "UPDATE shop.stock SET qty = 1 WHERE id < 10")
    assert flashback(shop, update) == 2
    assert "minimal row image" in capsys.readouterr().err


def test_statement_format_dml_is_refused(shop, capsys):
    delete = gtid_of(shop, "SET SESSION binlog_format = STATEMENT", "DELETE FROM shop.stock WHERE id < 10")
    assert flashback(shop, delete) == 2
    assert "STATEMENT format" in capsys.readouterr().err


def test_an_unknown_gtid_is_refused(shop, capsys):
    assert flashback(shop, "0-31-999999") == 2
    assert "0-31-999999: not in the binlogs" in capsys.readouterr().err


def test_nothing_is_applied_without_the_typed_word(shop, monkeypatch, capsys):
    delete = gtid_of(shop, "DELETE FROM shop.stock WHERE id < 50")
    after = snapshot(shop, "shop", "stock")
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    assert flashback(shop, delete, extra=()) == 1
    assert "Not applied." in capsys.readouterr().out
    assert snapshot(shop, "shop", "stock") == after


def test_a_reverse_the_server_refuses_rolls_back_whole(shop, capsys):
    """Rows put back collide with a key re-used since: the one transaction rolls back, nothing half done."""
    delete = gtid_of(shop, "DELETE FROM shop.stock WHERE id IN (1, 2)")
    shop.execute("CREATE TABLE shop.blocker (id INT)")  # another table: no conflict seen in the binlog
    shop.execute("SET SESSION sql_log_bin = 0", "INSERT INTO shop.stock VALUES (2, 0, 0)")  # unlogged change
    after = snapshot(shop, "shop", "stock")
    assert flashback(shop, delete) == 2
    assert "rolled back" in capsys.readouterr().err
    assert snapshot(shop, "shop", "stock") == after


def test_a_reverse_cut_into_many_binlog_statements_is_still_exact(shop, monkeypatch):
    """Big reverses are cut under max_allowed_packet; cut small here so one DELETE spans many statements."""
    from xtrarestore.core.tables import flashback as module

    monkeypatch.setattr(module, "CHUNK", 8192)
    orders = snapshot(shop, "shop", "orders")
    delete = gtid_of(shop, "DELETE FROM shop.orders WHERE id > 10")
    plan = module.plan_flashback([shop.datadir], [delete])
    assert plan.script.count("BINLOG '") > 10
    assert flashback(shop, delete) == 0
    assert snapshot(shop, "shop", "orders") == orders


def test_a_table_that_cannot_roll_back_is_refused(shop, capsys):
    shop.execute("CREATE TABLE shop.plain (id INT PRIMARY KEY) ENGINE=Aria", "INSERT INTO shop.plain VALUES (1), (2)")
    delete = gtid_of(shop, "DELETE FROM shop.plain")
    assert flashback(shop, delete) == 2
    assert "engine Aria cannot roll back" in capsys.readouterr().err
    assert shop.execute("SELECT COUNT(*) FROM shop.plain") == [(0,)]
