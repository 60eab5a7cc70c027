"""Server-free: table names, the retargeted definition, the cut of a flashback's BINLOG statements."""

from __future__ import annotations

import base64
import zlib

import pytest

from xtrarestore.core.errors import PreconditionError
from xtrarestore.core.tables import flashback
from xtrarestore.core.tables.definition import retarget, without_partitioning
from xtrarestore.core.tables.recover import parse_table, plan_throwaway, restored_name
from xtrarestore.core.tables.server import ServerAddress, quote

CHILD = """CREATE TABLE `child` (
  `id` int(11) NOT NULL,
  `parent_id` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  KEY `child_parent` (`parent_id`),
  CONSTRAINT `child_parent` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=latin1 COLLATE=latin1_swedish_ci
 PARTITION BY HASH (`id`)
PARTITIONS 2"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("shop.orders", ("shop", "orders")),
        ("`shop`.`odd.name`", ("shop", "odd.name")),
        ("`we``ird`.t", ("we`ird", "t")),
    ],
)
def test_table_names_parse(text, expected):
    assert parse_table(text) == expected


@pytest.mark.parametrize("text", ["orders", "a.b.c", ".t", "db.", "`db`.`t"])
def test_malformed_table_names_are_refused(text):
    with pytest.raises(ValueError, match="not a table name"):
        parse_table(text)


def test_restored_names_fit_in_64_characters():
    assert restored_name("orders", "20260101_120000") == "orders__restored_20260101_120000"
    long = restored_name("x" * 64, "20260101_120000")
    assert len(long) == 64 and long.endswith("__restored_20260101_120000")


def test_the_definition_is_retargeted_without_foreign_keys_and_with_its_row_format():
    definition = retarget(CHILD, "shop", "child__restored_1", row_format="Dynamic")
    assert definition.sql.startswith("CREATE TABLE `shop`.`child__restored_1` (")
    assert "FOREIGN KEY" not in definition.sql and "KEY `child_parent` (`parent_id`)\n)" in definition.sql
    assert "ROW_FORMAT=DYNAMIC" in definition.sql
    assert definition.foreign_keys == (
        "CONSTRAINT `child_parent` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`)",
    )
    assert "PARTITION" not in without_partitioning(definition.sql)


def test_identifiers_are_quoted():
    assert quote("a`b") == "`a``b`"


def test_stop_points_reach_the_drill_that_plans_the_throwaway_restore(tmp_path, monkeypatch):
    from xtrarestore.core.drills import drill

    seen = {}
    monkeypatch.setattr(drill, "plan_drill", lambda *args, **kwargs: seen.update(args=args, **kwargs) or "planned")
    planned = plan_throwaway(
        tmp_path,
        "Mon",
        "full",
        until="before:0-1-9",
        skip=("0-1-7",),
        binlog_dirs=(tmp_path,),
        from_server=tmp_path / "prod.sock",
    )
    assert planned == "planned" and seen["args"] == (tmp_path, "Mon", "full")
    assert (seen["until"], seen["skip"], seen["binlog_dirs"]) == ("before:0-1-9", ("0-1-7",), (tmp_path,))
    assert seen["from_server"] == tmp_path / "prod.sock" and seen["replay"] == "relay"


def test_a_server_address_needs_a_socket_or_host(tmp_path):
    with pytest.raises(PreconditionError, match="--socket"):
        ServerAddress()
    with pytest.raises(PreconditionError, match="option file not found"):
        ServerAddress(socket="/x.sock", defaults_file=str(tmp_path / "none.cnf"))
    assert "--password" not in " ".join(ServerAddress(socket="/x.sock").client_args())


def _event(kind: int, body: bytes, flags: int = 0) -> bytes:
    """A binlog event with a CRC32: header (19 bytes), a rows-like post-header (table id, flags), body."""
    payload = (5).to_bytes(6, "little") + flags.to_bytes(2, "little") + body
    size = 19 + len(payload) + 4
    head = (0).to_bytes(4, "little") + bytes([kind]) + (1).to_bytes(4, "little") + size.to_bytes(4, "little")
    head += (0).to_bytes(4, "little") + (0).to_bytes(2, "little")
    event = head + payload
    return event + zlib.crc32(event).to_bytes(4, "little")


def test_a_big_binlog_statement_is_cut_with_its_table_map_repeated(monkeypatch):
    monkeypatch.setattr(flashback, "CHUNK", 300)
    table_map = _event(19, b"map")
    rows = [_event(30, bytes(100)) for _ in range(5)]
    rows[-1] = _event(30, bytes(100), flags=1)
    encoded = "\n".join(base64.b64encode(e).decode() for e in [table_map, *rows])
    output = f"DELIMITER /*!*/;\nSTART TRANSACTION/*!*/;\nBINLOG '\n{encoded}\n'/*!*/;\nCOMMIT\n/*!*/;\nDELIMITER ;\n"
    statements = flashback.reverse_statements(output)
    assert len(statements) == 3
    groups = [flashback._events(s[len("BINLOG '") : -1]) for s in statements]
    assert all(group[0] == table_map for group in groups)
    assert [len(g) - 1 for g in groups] == [2, 2, 1]
    for group in groups:
        last = group[-1]
        assert int.from_bytes(last[25:27], "little") & 1  # each cut ends a statement
        assert zlib.crc32(last[:-4]) == int.from_bytes(last[-4:], "little")
