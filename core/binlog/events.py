"""The values the binlog reader hands out: GTIDs, transactions and what they changed.

Everything read from a binlog (schema and table names, SQL text) is kept as
the raw bytes or as text decoded with replacement characters: it is data
written by whoever had access to the server, never safe to print as is.
Display is the caller's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

# How the C walk says a transaction ended (END_* in _walk.c), by index.
END_KINDS = ("xid", "commit", "rollback", "statement", "xa-prepare", "cut")
# Rows event kinds (rows_kind in _walk.c), by index.
ROW_KINDS = ("insert", "update", "delete")

_GTID = re.compile(r"^(\d+)-(\d+)-(\d+)$")


@dataclass(frozen=True, slots=True, order=True)
class Gtid:
    """A MariaDB global transaction id, domain-server-sequence."""

    domain: int
    server_id: int
    seq: int

    def __str__(self) -> str:
        return f"{self.domain}-{self.server_id}-{self.seq}"

    @classmethod
    def parse(cls, text: str) -> Gtid:
        match = _GTID.match(text.strip())
        if not match:
            raise ValueError(f"not a MariaDB GTID (domain-server-sequence): {text[:60]!r}")
        return cls(*(int(part) for part in match.groups()))


def parse_gtid_list(text: str) -> dict[int, Gtid]:
    """A GTID position as servers print it (`0-1-100,2-1-7`; `[]` or empty for none), by domain."""
    text = text.strip().strip("[]").strip()
    found: dict[int, Gtid] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        gtid = Gtid.parse(part)
        found[gtid.domain] = gtid
    return found


def format_gtid_list(by_domain: dict[int, Gtid]) -> str:
    """The inverse of `parse_gtid_list`, domains in order."""
    return ",".join(str(by_domain[d]) for d in sorted(by_domain))


@dataclass(frozen=True, slots=True)
class TableChange:
    """Rows one transaction changed in one table, by kind (insert, update, delete).

    `rows` is None when the row images could not be walked (a column type the
    reader does not know, a MySQL partial JSON update). `full_image` is False
    when some row image lacks columns (binlog_row_image MINIMAL or NOBLOB):
    such changes cannot be reversed from the binlog alone.
    """

    schema: bytes
    table: bytes
    kind: str
    rows: int | None
    full_image: bool = True

    @property
    def name(self) -> str:
        """`schema.table`, decoded with replacement characters (still untrusted text)."""
        return f"{self.schema.decode(errors='replace')}.{self.table.decode(errors='replace')}"


@dataclass(frozen=True, slots=True)
class Statement:
    """A query event inside a transaction (DDL, or DML written in STATEMENT format)."""

    pos: int
    exec_time: int
    schema: bytes
    sql: bytes
    compressed: bool

    @property
    def verb(self) -> str:
        """What the statement does, upper-cased: `DROP TABLE`, `DROP TEMPORARY TABLE`, `TRUNCATE`, `DELETE`…"""
        words = _leading_words(self.sql)
        if not words:
            return ""
        objects = [w for w in words[1:] if w in _OBJECTS]
        if not objects:
            return words[0]
        temporary = " TEMPORARY" if "TEMPORARY" in words[: words.index(objects[0])] else ""
        return f"{words[0]}{temporary} {objects[0]}"

    @property
    def text(self) -> str:
        """The SQL decoded with replacement characters (untrusted: escape before display)."""
        return self.sql.decode(errors="replace")


_COMMENT = re.compile(rb"/\*.*?\*/|--[^\n]*\n|#[^\n]*\n", re.S)
_WORD = re.compile(rb"[A-Za-z_]+")
# Words that name what a statement acts on (DROP *TABLE*, CREATE *VIEW*).
_OBJECTS = frozenset("TABLE TABLES DATABASE SCHEMA VIEW INDEX TRIGGER PROCEDURE FUNCTION EVENT SEQUENCE USER".split())


def _leading_words(sql: bytes, limit: int = 6) -> list[str]:
    """The first few keywords, comments skipped (`DROP TEMPORARY TABLE IF EXISTS` → DROP TEMPORARY TABLE …)."""
    head = _COMMENT.sub(b" ", sql[:400])
    return [m.group().upper().decode() for m in _WORD.finditer(head)][:limit]


@dataclass(slots=True)
class Transaction:
    """One event group: GTID to COMMIT/Xid, with where it lies and what it changed.

    `time` is the commit time (timestamp of the event that ends the group), UTC
    seconds; `start`/`end` are the file offsets of its first event and of the
    byte after its last.
    """

    gtid: str | None
    domain: int
    server_id: int
    seq: int
    file: str
    start: int
    end: int
    time: int
    end_kind: str
    changes: tuple[TableChange, ...]
    statements: tuple[Statement, ...]

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.time, UTC)

    @property
    def row_count(self) -> int:
        return sum(change.rows or 0 for change in self.changes)

    @property
    def mariadb_gtid(self) -> Gtid | None:
        return Gtid(self.domain, self.server_id, self.seq) if self.domain >= 0 else None
