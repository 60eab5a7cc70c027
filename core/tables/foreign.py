"""Foreign keys around a recovered table: who references whom, and which rows would dangle.

Nothing here disables a check. The recovered copy is created without its
FOREIGN KEY constraints (definition.py says why); this module tells the
operator which constraints those were, which live tables reference the
original, and how many rows have no partner on the other side, so the swap
can be planned with the numbers in hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import pymysql

from .server import qualified, quote


@dataclass
class ForeignKey:
    direction: str  # "references" (the recovered table is the child) or "referenced-by" (a live child)
    constraint: str
    child: str
    parent: str
    columns: list[str]
    parent_columns: list[str]
    orphans: int | None  # child rows whose key has no parent row; None when it could not be counted

    def line(self) -> str:
        count = "?" if self.orphans is None else str(self.orphans)
        return (
            f"{self.child} ({', '.join(self.columns)}) -> {self.parent} ({', '.join(self.parent_columns)})"
            f" [{self.constraint}]: {count} orphan rows"
        )


def _constraints(conn, where: str, params: tuple) -> dict[tuple, list[tuple]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT CONSTRAINT_NAME, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA,"
            " REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE"
            f" WHERE REFERENCED_TABLE_NAME IS NOT NULL AND {where} ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION",
            params,
        )
        grouped: dict[tuple, list[tuple]] = {}
        for name, schema, table, column, ref_schema, ref_table, ref_column in cur.fetchall():
            grouped.setdefault((name, schema, table, ref_schema, ref_table), []).append((column, ref_column))
    return grouped


def _orphans(conn, child: tuple[str, str], parent: tuple[str, str], pairs: list[tuple]) -> int | None:
    not_null = " AND ".join(f"c.{quote(col)} IS NOT NULL" for col, _ in pairs)
    match = " AND ".join(f"p.{quote(ref)} = c.{quote(col)}" for col, ref in pairs)
    sql = (
        f"SELECT COUNT(*) FROM {qualified(*child)} c WHERE {not_null}"
        f" AND NOT EXISTS (SELECT 1 FROM {qualified(*parent)} p WHERE {match})"
    )
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return int(cur.fetchone()[0])
    except pymysql.MySQLError:  # a parent missing in production: the count is unknown, not fatal
        return None


def foreign_keys(source_conn, target_conn, source: tuple[str, str], recovered: tuple[str, str]) -> list[ForeignKey]:
    """Constraints of the backup's table (checked against production's parents) and live tables referencing it."""
    found = []
    for (name, _, _, ref_schema, ref_table), pairs in _constraints(
        source_conn, "TABLE_SCHEMA=%s AND TABLE_NAME=%s", source
    ).items():
        found.append(
            ForeignKey(
                "references",
                name,
                f"{recovered[0]}.{recovered[1]}",
                f"{ref_schema}.{ref_table}",
                [p[0] for p in pairs],
                [p[1] for p in pairs],
                _orphans(target_conn, recovered, (ref_schema, ref_table), pairs),
            )
        )
    for (name, schema, table, _, _), pairs in _constraints(
        target_conn, "REFERENCED_TABLE_SCHEMA=%s AND REFERENCED_TABLE_NAME=%s", source
    ).items():
        found.append(
            ForeignKey(
                "referenced-by",
                name,
                f"{schema}.{table}",
                f"{source[0]}.{source[1]}",
                [p[0] for p in pairs],
                [p[1] for p in pairs],
                _orphans(target_conn, (schema, table), recovered, pairs),
            )
        )
    return found


def live_referencing(target_conn, schema: str, table: str) -> list[str]:
    """Live tables whose foreign keys point at schema.table (a RENAME would carry them to the old table)."""
    groups = _constraints(target_conn, "REFERENCED_TABLE_SCHEMA=%s AND REFERENCED_TABLE_NAME=%s", (schema, table))
    return sorted({f"{s}.{t} ({name})" for name, s, t, _, _ in groups})
