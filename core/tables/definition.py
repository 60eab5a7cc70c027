"""A table's definition, taken from the throwaway server and retargeted at production.

`SHOW CREATE TABLE` on the restored server is the definition the tablespace
was written with. Production gets it under the new name with an explicit
ROW_FORMAT (production's default may differ, and IMPORT refuses a different
one) and without FOREIGN KEY constraints: their names are unique per
database in InnoDB (the live table still holds them) and a recovered copy
must not block writes to its parents. The dropped constraints are reported,
never hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .server import qualified

_HEAD = re.compile(r"^CREATE TABLE `(?:[^`]|``)+` \(", re.DOTALL)
_FOREIGN = re.compile(r"^\s*CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY ")
_ROW_FORMAT = re.compile(r"\bROW_FORMAT=", re.IGNORECASE)


@dataclass(frozen=True)
class Definition:
    sql: str
    foreign_keys: tuple[str, ...]  # the CONSTRAINT … FOREIGN KEY clauses left out, as written


def retarget(create_sql: str, schema: str, name: str, *, row_format: str | None = None) -> Definition:
    """`CREATE TABLE `schema`.`name` …` from SHOW CREATE TABLE text, foreign keys left out."""
    match = _HEAD.match(create_sql)
    if not match:
        raise ValueError("SHOW CREATE TABLE did not start with CREATE TABLE `name` (")
    lines = create_sql[match.end() :].split("\n")
    kept, dropped = [], []
    for line in lines:
        if _FOREIGN.match(line):
            dropped.append(line.strip().rstrip(","))
        else:
            kept.append(line)
    # The column/key lines end with ',' except the last before ") ENGINE=…": fix it after removals.
    close = next(i for i, line in enumerate(kept) if line.startswith(")"))
    if close > 0:
        kept[close - 1] = kept[close - 1].rstrip().rstrip(",")
    body = "\n".join(kept)
    if row_format and not _ROW_FORMAT.search(kept[close]):
        kept[close] = f"{kept[close]} ROW_FORMAT={row_format.upper()}"
        body = "\n".join(kept)
    return Definition(f"CREATE TABLE {qualified(schema, name)} ({body}", tuple(dropped))


def without_partitioning(create_sql: str) -> str:
    """The definition of a partitioned table with its PARTITION BY clause removed (a clone to exchange with)."""
    cut = re.search(r"\n ?PARTITION BY ", create_sql)
    return create_sql[: cut.start()] if cut else create_sql
