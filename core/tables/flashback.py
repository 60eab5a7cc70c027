"""Flashback: reverse bad DML transactions from the binlog, when that is provably safe.

The binlog's ROW events with full row images hold every row as it was, so a
bad DELETE or UPDATE can be undone without any restore: `mariadb-binlog
--flashback` turns exactly those transactions (GTID start to end offset)
into their reverse. It is refused, with the reason and `recover-table` as
the way out, when it cannot be exact:

* DDL, or DML written in STATEMENT format (no rows to reverse);
* a row image lacking columns (binlog_row_image MINIMAL or NOBLOB);
* a transaction that did not commit (rolled back, XA prepared, cut off);
* any later transaction touching the same table (named by GTID): its rows may
  be the ones being put back, and we cannot prove otherwise without the rows.

The reverse is applied to production in ONE transaction through the
`mariadb` client (credentials from the --defaults-file only): either all of
it lands or none.
"""

from __future__ import annotations

import base64
import re
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from ..binlog import Transaction, open_binlog_sources, read_binlog
from ..errors import FlashbackRefused, XtraRestoreError
from ..programs import find_program
from .server import ServerAddress, qualified

UNDO = {"delete": "rows put back", "update": "rows changed back", "insert": "rows removed"}
_CONTROL = {"BEGIN", "COMMIT", "ROLLBACK", "START TRANSACTION"}
# Binlog event types (MariaDB sql/log_event.h) and the rows event flag that ends a statement.
TABLE_MAP = 19
ROWS_EVENTS = frozenset({23, 24, 25, 30, 31, 32, 166, 167, 168, 169, 170, 171})
STMT_END_F = 0x1
CHUNK = 4 << 20  # bytes of events per BINLOG statement, well under the default max_allowed_packet (16M)


@dataclass
class Located:
    transaction: Transaction
    path: Path


@dataclass
class FlashbackPlan:
    """The transactions to reverse (binlog order), what the reverse does per table, and how far we looked."""

    targets: list[Located]
    effect: dict[str, dict[str, int]]  # schema.table -> {"rows put back": n, …}
    scanned_to: str
    later_transactions: int
    script: str = field(default="", repr=False)

    @property
    def tables(self) -> list[tuple[str, str]]:
        return sorted(
            {
                (c.schema.decode(errors="replace"), c.table.decode(errors="replace"))
                for t in self.targets
                for c in t.transaction.changes
            }
        )

    @property
    def rows(self) -> int:
        return sum(sum(v.values()) for v in self.effect.values())


def _all_transactions(binlog_dirs: list[Path]) -> list[Located]:
    found = []
    binlogs = open_binlog_sources(binlog_dirs)
    for base in binlogs.basenames:
        for _, path in binlogs.sequence(base):
            found += [Located(t, path) for t in read_binlog(path, keep_damaged=True).transactions]
    return found


def plan_flashback(binlog_dirs: list[Path], gtids: list[str]) -> FlashbackPlan:
    """Find *gtids* in the binlogs and check they can be reversed exactly; raise FlashbackRefused if not."""
    wanted = list(dict.fromkeys(g.strip() for g in gtids))
    if not wanted:
        raise FlashbackRefused("flashback: give at least one --gtid D-S-N")
    timeline = _all_transactions(binlog_dirs)
    where = {item.transaction.gtid: index for index, item in enumerate(timeline) if item.transaction.gtid}
    missing = [g for g in wanted if g not in where]
    if missing:
        raise FlashbackRefused(f"{', '.join(missing)}: not in the binlogs in {', '.join(map(str, binlog_dirs))}")
    indexes = sorted(where[g] for g in wanted)
    targets = [timeline[i] for i in indexes]
    for item in targets:
        _check_reversible(item.transaction)
    touched = {(c.schema, c.table) for item in targets for c in item.transaction.changes}
    conflicts = []
    target_set = set(indexes)
    for index in range(indexes[0] + 1, len(timeline)):
        if index in target_set:
            continue
        later = timeline[index].transaction
        if _touches(later, touched):
            conflicts.append(later.gtid or f"{timeline[index].path.name}:{later.start}")
    if conflicts:
        shown = ", ".join(conflicts[:8]) + (f" and {len(conflicts) - 8} more" if len(conflicts) > 8 else "")
        names = ", ".join(sorted(f"{s.decode(errors='replace')}.{t.decode(errors='replace')}" for s, t in touched))
        raise FlashbackRefused(
            f"{names} changed again after the event by {shown}: flashback could undo those"
            " changes too; use recover-table"
        )
    effect: dict[str, dict[str, int]] = {}
    for item in targets:
        for change in item.transaction.changes:
            per = effect.setdefault(change.name, {})
            per[UNDO[change.kind]] = per.get(UNDO[change.kind], 0) + (change.rows or 0)
    last = timeline[-1]
    plan = FlashbackPlan(
        targets, effect, f"{last.path.name}:{last.transaction.end}", len(timeline) - 1 - indexes[0] - (len(indexes) - 1)
    )
    plan.script = build_reverse(plan)
    return plan


def _check_reversible(trx: Transaction) -> None:
    gtid = trx.gtid
    if trx.statements:
        verb = trx.statements[0].verb or "a statement"
        kind = (
            "DDL"
            if not any(s.verb in ("INSERT", "UPDATE", "DELETE", "REPLACE") for s in trx.statements)
            else "DML written in STATEMENT format"
        )
        raise FlashbackRefused(f"{gtid}: {kind} ({verb}) cannot be reversed from the binlog; use recover-table")
    if not trx.changes:
        raise FlashbackRefused(f"{gtid}: changes no rows; nothing to reverse")
    if trx.end_kind not in ("xid", "commit"):
        raise FlashbackRefused(f"{gtid}: did not commit ({trx.end_kind}); nothing to reverse")
    partial = [c.name for c in trx.changes if not c.full_image]
    if partial:
        raise FlashbackRefused(
            f"{gtid}: {', '.join(sorted(set(partial)))} logged with a minimal row image"
            " (binlog_row_image is not FULL): the old rows are not in the binlog; use recover-table"
        )


def _touches(trx: Transaction, tables: set[tuple[bytes, bytes]]) -> bool:
    if any((c.schema, c.table) in tables for c in trx.changes):
        return True
    # DDL or STATEMENT DML naming the table (conservative: the name as a word anywhere counts, but not
    # as part of a longer name such as the `<table>__restored_<stamp>` recover-table creates).
    for statement in trx.statements:
        text = statement.sql.lower()
        if any(_word(table.lower()).search(text) for _, table in tables):
            return True
    return False


def _word(name: bytes) -> re.Pattern:
    """The name quoted whole (`` `name` ``), or bare and not touching identifier characters or a backtick."""
    quoted = rb"`" + re.escape(name.replace(b"`", b"``")) + rb"`"
    bare = rb"(?<![0-9a-z_$`\x80-\xff])" + re.escape(name) + rb"(?![0-9a-z_$`\x80-\xff])"
    return re.compile(quoted + rb"|" + bare)


def build_reverse(plan: FlashbackPlan) -> str:
    """The reverse of every target (newest first) as one transaction of BINLOG statements."""
    tool = str(find_program(["mariadb-binlog", "mysqlbinlog"]))
    statements: list[str] = []
    for item in reversed(plan.targets):
        trx = item.transaction
        result = subprocess.run(
            [tool, "--flashback", f"--start-position={trx.start}", f"--stop-position={trx.end}", str(item.path)],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if result.returncode != 0:
            line = (result.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
            raise XtraRestoreError(f"{item.path}: mariadb-binlog --flashback failed for {trx.gtid}: {line[:200]}")
        mine = reverse_statements(result.stdout.decode())
        if not any(s.startswith("BINLOG") for s in mine[1:]):
            raise XtraRestoreError(f"{item.path}: mariadb-binlog --flashback gave no row events for {trx.gtid}")
        statements += mine
    return "START TRANSACTION;\n" + "".join(f"{s};\n" for s in statements) + "COMMIT;\n"


def reverse_statements(output: str) -> list[str]:
    """The statements of mariadb-binlog output, without its own transaction control (we wrap them in one).

    BINLOG statements are cut to at most CHUNK bytes of events each: the
    reverse of one big DELETE comes as one statement larger than the server's
    max_allowed_packet.
    """
    body = output.split("DELIMITER /*!*/;", 1)[-1].split("\nDELIMITER ;", 1)[0]
    kept = []
    for chunk in body.split("/*!*/;"):
        text = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("#")).strip()
        if not text or text.upper() in _CONTROL or text.upper().startswith(("XA ", "SET @@SESSION.GTID")):
            continue
        if text.startswith("BINLOG '") and text.endswith("'"):
            kept += [_binlog_statement(events) for events in _chunks(_events(text[len("BINLOG '") : -1]))]
        else:
            kept.append(text)
    return kept


def _events(encoded: str) -> list[bytes]:
    """The binlog events of a BINLOG statement (each base64-encoded on its own, lines of 76)."""
    chars = "".join(encoded.split())
    events, at = [], 0
    while at < len(chars):
        head = base64.b64decode(chars[at : at + 28])
        size = int.from_bytes(head[9:13], "little")
        width = 4 * ((size + 2) // 3)
        if size < 19 or at + width > len(chars):
            raise XtraRestoreError("mariadb-binlog --flashback printed a BINLOG statement that does not decode")
        events.append(base64.b64decode(chars[at : at + width]))
        at += width
    return events


def _chunks(events: list[bytes]) -> list[list[bytes]]:
    """Events regrouped so no group passes CHUNK bytes: each group repeats the table maps its rows need
    and ends its last rows event with STMT_END_F (the server closes the tables there)."""
    groups: list[list[bytes]] = []
    maps: list[bytes] = []
    group: list[bytes] = []
    size = 0
    for event in events:
        kind = event[4]
        if kind == TABLE_MAP:
            maps.append(event)
            group.append(event)
            continue
        if kind not in ROWS_EVENTS:
            group.append(event)
            continue
        if size and size + len(event) > CHUNK:
            group[-1] = _end_statement(group[-1])
            groups.append(group)
            group, size = list(maps), 0
        group.append(event)
        size += len(event)
        if int.from_bytes(event[25:27], "little") & STMT_END_F:
            groups.append(group)
            group, size, maps = [], 0, []
    if group:
        groups.append(group)
    return groups


def _end_statement(event: bytes) -> bytes:
    """The rows event with STMT_END_F set, its CRC32 recomputed when it carries one."""
    checked = zlib.crc32(event[:-4]) == int.from_bytes(event[-4:], "little")
    flags = int.from_bytes(event[25:27], "little") | STMT_END_F
    changed = event[:25] + flags.to_bytes(2, "little") + event[27:]
    if checked:
        changed = changed[:-4] + zlib.crc32(changed[:-4]).to_bytes(4, "little")
    return changed


def _binlog_statement(events: list[bytes]) -> str:
    lines = []
    for event in events:
        encoded = base64.b64encode(event).decode()
        lines += [encoded[i : i + 76] for i in range(0, len(encoded), 76)]
    return "BINLOG '\n" + "\n".join(lines) + "\n'"


def count_rows(address: ServerAddress, tables: list[tuple[str, str]]) -> dict[str, int | None]:
    counts: dict[str, int | None] = {}
    with address.connect() as conn, conn.cursor() as cur:
        for schema, table in tables:
            try:
                cur.execute(f"SELECT COUNT(*) FROM {qualified(schema, table)}")
                counts[f"{schema}.{table}"] = int(cur.fetchone()[0])
            except pymysql.MySQLError:  # a table that is gone is shown as such, not fatal here
                counts[f"{schema}.{table}"] = None
    return counts


def require_transactional(plan: FlashbackPlan, address: ServerAddress) -> None:
    """Refuse tables whose engine cannot roll back: a reverse failing half-way would stay half applied."""
    with address.connect() as conn, conn.cursor() as cur:
        for schema, table in plan.tables:
            cur.execute(
                "SELECT t.ENGINE, e.TRANSACTIONS FROM information_schema.TABLES t"
                " LEFT JOIN information_schema.ENGINES e ON e.ENGINE = t.ENGINE"
                " WHERE t.TABLE_SCHEMA=%s AND t.TABLE_NAME=%s",
                (schema, table),
            )
            found = cur.fetchone()
            if found is None:
                raise FlashbackRefused(f"{schema}.{table}: not in {address.label}; use recover-table")
            if found[1] != "YES":
                raise FlashbackRefused(
                    f"{schema}.{table}: engine {found[0]} cannot roll back, so the reverse could not be applied"
                    " in one transaction; use recover-table"
                )


def apply(plan: FlashbackPlan, address: ServerAddress) -> None:
    """Run the reverse in production in one transaction; on any error nothing of it stays."""
    _run_reverse(plan, address.client_args(), address.label, "the flashback was refused and rolled back")


def _run_reverse(plan: FlashbackPlan, client_args: list[str], label: str, failure: str) -> None:
    client = [str(find_program(["mariadb", "mysql"])), *client_args, "--batch"]
    result = subprocess.run(client, input=plan.script.encode(), capture_output=True, check=False)
    if result.returncode != 0:
        line = (result.stderr.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
        raise XtraRestoreError(f"{label}: {failure}: {line[:200]}")


def table_states(conn, tables: list[tuple[str, str]]) -> dict[str, tuple[int, int] | None]:
    """Rows and CHECKSUM TABLE of each table (None when it does not exist)."""
    states: dict[str, tuple[int, int] | None] = {}
    with conn.cursor() as cur:
        for schema, table in tables:
            try:
                cur.execute(f"SELECT COUNT(*) FROM {qualified(schema, table)}")
                rows = int(cur.fetchone()[0])
                cur.execute(f"CHECKSUM TABLE {qualified(schema, table)}")
                states[f"{schema}.{table}"] = (rows, int(cur.fetchone()[1] or 0))
            except pymysql.MySQLError:
                states[f"{schema}.{table}"] = None
    return states


@dataclass
class Rehearsal:
    """The reverse applied on a throwaway copy rolled forward to just after the last target transaction."""

    until: str
    before: dict[str, tuple[int, int] | None]  # on the copy, as production had them just after the event
    after: dict[str, tuple[int, int] | None]  # on the copy once reversed: what production should get
    seconds: float
    restore_seconds: float

    def lines(self) -> list[str]:
        out = []
        for table in sorted(self.after):
            was, now = self.before.get(table), self.after[table]
            out.append(
                f"{table}: {was[0] if was else 'absent'} -> {now[0] if now else 'absent'} rows"
                f" (checksum {now[1] if now else '-'})"
            )
        return out

    def unlike(self, address: ServerAddress, tables: list[tuple[str, str]]) -> list[str]:
        """The *tables* whose rows or CHECKSUM TABLE in *address* now differ from what the rehearsal ended with."""
        with address.connect() as conn:
            now = table_states(conn, tables)
        return [table for table in sorted(now) if now[table] != self.after.get(table)]


def reverse_step():
    """The rehearsal's last step, after the throwaway restore: the reverse applied on the copy, which then goes."""
    from ..restore.plan import Step

    return Step("rehearse-reverse", "Apply the reverse on the throwaway copy, then remove it", [])


def _until(plan: FlashbackPlan) -> str:
    return f"gtid:{plan.targets[-1].transaction.gtid}"


def plan_rehearsal(
    plan: FlashbackPlan,
    root: Path,
    day: str | None,
    upto: str,
    *,
    binlog_dirs: list[Path],
    from_server: Path | None = None,
    key_file: Path | None = None,
    workroot: Path | None = None,
):
    """The throwaway restore of *root*/*day*/*upto* rolled forward to `gtid:<last target>` (creates nothing)."""
    from ..drills.drill import plan_drill

    return plan_drill(root, day, upto, key_file=key_file, workroot=workroot, until=_until(plan),
                      binlog_dirs=list(binlog_dirs), from_server=from_server)


def run_rehearsal(plan: FlashbackPlan, drill, *, on_event=None, cancel=None) -> Rehearsal:
    """Run *drill* (from `plan_rehearsal`), apply the reverse there and return the rows and checksums before
    and after. The throwaway server is removed whatever happens; any failure (restore, roll-forward, the
    reverse refused, *cancel* set) raises with the reason, and production has not been touched.
    """
    import time

    from ..drills.drill import run_drill
    from ..restore.runner import Event
    from .recover import remove_throwaway

    emit = on_event or (lambda event: None)
    began = time.monotonic()
    try:
        drilled = run_drill(drill, keep=True, on_event=on_event, cancel=cancel)
        if not drilled.ok:
            raise XtraRestoreError(f"the throwaway copy for the rehearsal failed: {drilled.error}")
        restored = time.monotonic() - began
        step, index = reverse_step(), len(drill.steps) + 1
        emit(Event("started", step, index))
        began_reverse = time.monotonic()
        try:
            before, after = _reverse_on(drill.sandbox, plan)
        except XtraRestoreError as error:
            emit(Event("failed", step, index, error=str(error), seconds=time.monotonic() - began_reverse))
            raise
        seconds = time.monotonic() - began_reverse
    finally:
        remove_throwaway(drill.base)
    emit(Event("finished", step, index, seconds=time.monotonic() - began_reverse))  # the copy is gone now
    return Rehearsal(_until(plan), before, after, seconds, restored)


def _reverse_on(sandbox, plan: FlashbackPlan) -> tuple[dict, dict]:
    """The tables' rows and checksums on the throwaway copy before and after the reverse applied there."""
    conn = sandbox.connect()
    try:
        before = table_states(conn, plan.tables)
        missing = [name for name, state in before.items() if state is None]
        if missing:
            raise XtraRestoreError(
                f"{', '.join(missing)}: not on the throwaway copy at {_until(plan)}; the backup predates the table"
            )
        client = ["--no-defaults", f"--socket={sandbox.socket}", "--user=root"]
        _run_reverse(plan, client, "the throwaway copy", "the reverse was refused in the rehearsal")
        return before, table_states(conn, plan.tables)
    finally:
        conn.close()

