"""recover-table from start to end: check, restore into a throwaway server, transport, verify, clean up.

Order matters for "production unchanged on bad input": everything that can be
checked before the (long) throwaway restore is checked first (production
answers, target names are free, --replace is safe), the backup's own table
list is checked on the restored server before production is touched, and
the throwaway server is stopped and removed whatever happens. Each change to
production is journaled (state dir `tables/<id>.jsonl`) before it is made, so
`undo_unfinished` can take back what an interrupted session left: copied
files of a tablespace never imported, and tables it created and never
verified. Tables that were verified, and anything moved aside by --replace,
are never dropped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pymysql

from ..drills.sandbox import SandboxServer
from ..errors import PreconditionError, TableTransportError, XtraRestoreError
from ..restore.journal import Journal, default_state_dir, now_iso
from .catalog import backup_tables, missing_from
from .foreign import foreign_keys, live_referencing
from .report import RecoveryReport, Timing
from .server import ServerAddress, qualified, quote, server_identity, sql_error
from .transport import LOGICAL, Transporter, inspect_source, schema_exists, table_exists, unlogged

NAME_LIMIT = 64
_NAME = re.compile(r"^(?:`((?:[^`]|``)+)`|([^.`]+))\.(?:`((?:[^`]|``)+)`|([^.`]+))$")


def parse_table(text: str) -> tuple[str, str]:
    """`db.tbl` (or `` `db`.`t.x` ``) → (db, tbl); a one-line ValueError otherwise."""
    match = _NAME.match(text.strip())
    if not match:
        raise ValueError(f"{text!r}: not a table name of the form db.table")
    schema = (match.group(1) or "").replace("``", "`") or match.group(2)
    table = (match.group(3) or "").replace("``", "`") or match.group(4)
    if len(schema) > NAME_LIMIT or len(table) > NAME_LIMIT:
        raise ValueError(f"{text!r}: names are at most {NAME_LIMIT} characters")
    return schema, table


def restored_name(table: str, stamp: str, suffix: str = "restored") -> str:
    """`<table>__restored_<stamp>`, the table part shortened to fit MariaDB's 64 characters."""
    tail = f"__{suffix}_{stamp}"
    return table[: NAME_LIMIT - len(tail)] + tail


def plan_throwaway(
    root: Path,
    day: str | None,
    upto: str,
    *,
    until: str | None = None,
    skip: tuple[str, ...] = (),
    binlog_dirs: tuple[Path, ...] = (),
    from_server: Path | None = None,
    replay: str = "relay",
    key_file: Path | None = None,
    workroot: Path | None = None,
):
    """THE one place table recovery plans its throwaway restore (a drill kept running).

    With a stop point (`until`, `skip`) the throwaway server is rolled forward
    through the binlogs in *binlog_dirs* and those of the live *from_server*
    (usually production itself: it is running and holds the binlogs) before
    any table is brought over; the stop point is checked against the binlogs
    here, before anything is created.
    """
    from ..drills.drill import plan_drill

    return plan_drill(
        root,
        day,
        upto,
        key_file=key_file,
        workroot=workroot,
        until=until,
        skip=tuple(skip),
        binlog_dirs=tuple(Path(d) for d in binlog_dirs),
        from_server=Path(from_server) if from_server else None,
        replay=replay,
    )


@dataclass
class TableTarget:
    source: tuple[str, str]
    target: tuple[str, str]
    replace: bool = False
    live_rows: int | None = None  # --replace: rows the live table has now (named in the confirmation)
    aside: tuple[str, str] | None = None

    @property
    def label(self) -> str:
        return f"{self.source[0]}.{self.source[1]}"


@dataclass
class TableRecovery:
    """One recover-table session: its targets, its production server, its journal."""

    address: ServerAddress
    tables: list[TableTarget]
    replace: bool = False
    force_logical: bool = False
    state_dir: Path = field(default_factory=default_state_dir)
    notes: list[str] = field(default_factory=list)
    id: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))

    @property
    def journal_path(self) -> Path:
        return self.state_dir / "tables" / f"{self.id}.jsonl"


def prepare(
    address: ServerAddress,
    names: list[str],
    *,
    rename_to: str | None = None,
    replace: bool = False,
    force_logical: bool = False,
    state_dir: Path | None = None,
) -> TableRecovery:
    """Check what can be checked before the restore; raise a one-line error, production untouched."""
    if rename_to and len(names) != 1:
        raise PreconditionError("--as names one table: give exactly one --table with it")
    if rename_to and replace:
        raise PreconditionError("--as and --replace: choose one")
    try:
        sources = [parse_table(n) for n in names]
        renamed = parse_table(rename_to) if rename_to else None
    except ValueError as error:
        raise PreconditionError(str(error)) from None
    if len(set(sources)) != len(sources):
        raise PreconditionError("the same --table is given twice")
    session = TableRecovery(
        address,
        [],
        replace=replace,
        force_logical=force_logical,
        state_dir=Path(state_dir) if state_dir else default_state_dir(),
    )
    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    conn = address.connect()
    try:
        for source in sources:
            target = renamed or (source[0], restored_name(source[1], stamp))
            item = TableTarget(source, target)
            if replace and table_exists(conn, *source):
                item.replace = True
                item.aside = (source[0], restored_name(source[1], stamp, "before"))
                referencing = live_referencing(conn, *source)
                if referencing:
                    raise PreconditionError(
                        f"{item.label}: referenced by {', '.join(referencing)}; a swap would leave their foreign"
                        " keys on the old table; recover under a new name and re-point them"
                    )
                triggers = _triggers(conn, *source)
                if triggers:
                    session.notes.append(
                        f"{item.label}: its triggers ({', '.join(triggers)}) stay with the table"
                        f" moved aside to {item.aside[0]}.{item.aside[1]}; re-create them"
                    )
                for name in (target, item.aside):
                    if table_exists(conn, *name):
                        raise PreconditionError(f"{name[0]}.{name[1]}: already exists in production")
            elif replace:
                item.target = source  # nothing live to replace (a dropped table): it comes back under its name
            if table_exists(conn, *item.target):
                raise PreconditionError(
                    f"{item.target[0]}.{item.target[1]}: already exists in production; choose another name with --as"
                )
            session.tables.append(item)
        if len({t.target for t in session.tables}) != len(session.tables):
            raise PreconditionError("two tables would get the same name in production")
    finally:
        conn.close()
    return session


def require_in_backup(session: TableRecovery, point) -> None:
    """Refuse, before any restore, tables the backup's own file list shows it does not hold."""
    absent = missing_from([t.source for t in session.tables], backup_tables(point.target))
    if absent:
        names = ", ".join(f"{s}.{t}" for s, t in absent)
        raise PreconditionError(f"{names}: not in the backup ({point.target.name} has no such table)")


def _triggers(conn, schema: str, table: str) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS"
            " WHERE EVENT_OBJECT_SCHEMA=%s AND EVENT_OBJECT_TABLE=%s ORDER BY TRIGGER_NAME",
            (schema, table),
        )
        return [row[0] for row in cur.fetchall()]


def live_rows(address: ServerAddress, schema: str, table: str) -> int:
    with address.connect() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {qualified(schema, table)}")
        return int(cur.fetchone()[0])


def run(
    session: TableRecovery,
    drill,
    *,
    confirm_replace: Callable[[TableTarget], bool] | None = None,
    on_progress: Callable[[str], None] | None = None,
    on_drill_event: Callable | None = None,
) -> RecoveryReport:
    """Restore *drill* (kept running), bring the tables over, verify, swap if asked; always remove the throwaway.

    Returns the report (also on failure); KeyboardInterrupt still removes the
    throwaway server and undoes unverified work, then propagates.
    """
    from ..drills.drill import run_drill

    say = on_progress or (lambda text: None)
    journal = Journal([session.journal_path])
    note = _noter(journal)
    report = RecoveryReport(
        id=session.id,
        status="running",
        started=now_iso(),
        root=str(drill.root),
        day=drill.day,
        upto=drill.upto,
        target=session.address.label,
        journal=str(session.journal_path),
        notes=list(session.notes),
    )
    conn = session.address.connect()
    note(
        "begin",
        throwaway=str(drill.base),
        target=session.address.to_json(),
        tables=[{"source": ".".join(t.source), "target": ".".join(t.target)} for t in session.tables],
    )
    try:
        report.production["before"] = server_identity(conn)
        began = time.monotonic()
        say(f"Restoring {drill.day} up to {drill.upto} into a throwaway server in {drill.base}")
        drilled = run_drill(drill, keep=True, on_event=on_drill_event)
        report.steps.append(
            Timing(
                "throwaway restore (extract, prepare, copy back, start, verify)",
                time.monotonic() - began,
                "done" if drilled.ok else "failed",
            )
        )
        report.steps += [Timing(f"  {s.title}", s.seconds, s.status) for s in drilled.steps if s.seconds]
        report.roll_forward = drilled.roll_forward
        if not drilled.ok:
            raise XtraRestoreError(f"the throwaway restore failed: {drilled.error}")
        _transport_all(session, drill, conn, report, note, say, confirm_replace)
        report.status = "success"
    except (XtraRestoreError, pymysql.MySQLError, OSError, ValueError) as error:
        report.status = "failed"
        if isinstance(error, pymysql.MySQLError):
            report.error = sql_error(error)
        elif isinstance(error, XtraRestoreError):
            report.error = str(error)
        else:
            report.error = f"{type(error).__name__}: {error}"
        note("failed", error=report.error)
    finally:
        undone = report.status == "success" or _undo(session, report)
        began = time.monotonic()
        remove_throwaway(drill.base)
        note("throwaway-removed", path=str(drill.base))
        report.steps.append(Timing("stop and remove the throwaway server", time.monotonic() - began))
        try:
            report.production["after"] = after = server_identity(conn)
            before = report.production.get("before", after)
            if after["uptime"] < before["uptime"] or after["pid"] != before["pid"]:
                report.notes.append("production's server restarted during the recovery (not by xtrarestore)")
        except pymysql.MySQLError:
            pass
        conn.close()
        if report.status == "running":
            report.status = "failed"
            report.error = "interrupted"
        report.finished = now_iso()
        if undone:  # else the journal stays unfinished: `recover-table --cleanup` takes it back later
            note("finished", status=report.status)
    return report


def _undo(session: TableRecovery, report: RecoveryReport) -> bool:
    """Take back unverified work on a fresh connection (the session's may be what failed)."""
    try:
        conn = session.address.connect()
        try:
            report.notes += undo_unfinished(read_records(session.journal_path), conn)
        finally:
            conn.close()
    except (XtraRestoreError, pymysql.MySQLError) as error:
        report.notes.append(
            f"could not take back the unfinished work ({error}); run xtrarestore recover-table --cleanup"
        )
        return False
    return True


def _transport_all(session, drill, conn, report, note, say, confirm_replace) -> None:
    src = drill.sandbox.connect()
    try:
        began = time.monotonic()
        found = {}
        for item in session.tables:
            source = inspect_source(src, *item.source)
            if source is None:
                raise PreconditionError(f"{item.label}: not in the backup ({drill.day}/{drill.upto} has no such table)")
            found[item.source] = source
        report.steps.append(
            Timing("read the tables on the throwaway server (rows, checksum)", time.monotonic() - began)
        )
        mover = Transporter(src, drill.sandbox.config, drill.sandbox.datadir, session.address, conn, note)
        physical = set()
        for item in session.tables:
            schema = item.target[0]
            if not schema_exists(conn, schema):
                note("creating-schema", schema=schema)
                with conn.cursor() as cur:
                    cur.execute(f"CREATE DATABASE {quote(schema)}")
                report.notes.append(f"database {schema} did not exist in production: created")
            say(f"Bringing {item.label} into production as {schema}.{item.target[1]}")
            moved = mover.move(found[item.source], *item.target, force_logical=session.force_logical)
            report.steps.append(Timing(f"bring {item.label} over ({moved.method})", moved.seconds))
            report.tables.append({**moved.__dict__, "verified": moved.verified})
            if moved.method != LOGICAL:
                physical.add(item.label)
            if not moved.verified:
                raise TableTransportError(
                    f"{moved.target}: {moved.rows} rows, checksum {moved.checksum} in production but"
                    f" {moved.source_rows} rows, checksum {moved.source_checksum} on the throwaway server"
                )
            note("verified", table=moved.target, rows=moved.rows, checksum=moved.checksum)
            for clause in moved.dropped_foreign_keys:
                report.notes.append(f"{moved.target}: created without `{clause}` (re-add it after the swap)")
            report.foreign_keys += [fk.line() for fk in foreign_keys(src, conn, item.source, item.target)]
        for item in session.tables:
            if item.replace:
                _swap(session, item, conn, note, report, confirm_replace, binlog=item.label not in physical)
    finally:
        src.close()


def _swap(session, item: TableTarget, conn, note, report, confirm_replace, *, binlog: bool) -> None:
    """Rename the live table aside and the recovered one into its place; out of the binlog when the recovered
    table itself is (a replica or a roll-forward would not have it to rename)."""
    item.live_rows = live_rows(session.address, *item.source)
    if confirm_replace is None or not confirm_replace(item):
        report.notes.append(
            f"{item.label}: not replaced (not confirmed); the recovered rows are in {item.target[0]}.{item.target[1]}"
        )
        return
    live, aside, new = qualified(*item.source), qualified(*item.aside), qualified(*item.target)
    note("swapping", table=item.label, aside=".".join(item.aside), recovered=".".join(item.target))
    with unlogged(conn, when=not binlog), conn.cursor() as cur:
        cur.execute(f"RENAME TABLE {live} TO {aside}, {new} TO {live}")
    note("swapped", table=item.label, aside=".".join(item.aside))
    report.notes.append(
        f"{item.label}: replaced; its {item.live_rows} rows of before the swap are kept in"
        f" {item.aside[0]}.{item.aside[1]}"
    )


# -- interrupted sessions -----------------------------------------------------------------


def remove_throwaway(base: Path) -> None:
    """Stop the throwaway server (pid file, then anything running its my.cnf) and remove its directory."""
    base = Path(base)
    server = SandboxServer(base=base / "server")
    if server.config.exists():
        server.stop()
        for pid in server.server_processes():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    shutil.rmtree(base, ignore_errors=True)


def read_records(path: Path) -> list[dict]:
    """A session's journal lines; a torn last line (a kill mid-write) is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def undo_unfinished(records: list[dict], conn) -> list[str]:
    """Take back what a session left half done in production; return one line per action.

    Files copied and never imported are removed (while their table is still
    discarded); tables it created and never verified are dropped. Verified
    tables, and tables of a swap that happened, are left alone.
    """
    done: list[str] = []
    created: list[str] = []
    copied: dict[str, list[str]] = {}
    finished_tables: set[str] = set()
    swapped_aside: dict[str, str] = {}
    schemas: list[str] = []
    unlogged_tables: set[str] = set()
    for record in records:
        event, table = record.get("event"), record.get("table")
        if event == "creating" and table not in created:
            created.append(table)
            if record.get("binlog") is False:
                unlogged_tables.add(table)
        elif event in ("copying", "copied"):
            copied[table] = record.get("files", [])
        elif event in ("imported", "import-failed"):
            copied.pop(table, None)
        elif event in ("verified", "dropped-clone"):
            finished_tables.add(table)
        elif event == "swapping":
            swapped_aside[record.get("recovered")] = record.get("aside")
        elif event == "creating-schema":
            schemas.append(record.get("schema"))
    for table in reversed(created):
        if table in finished_tables:
            continue
        schema, name = table.split(".", 1)
        aside = swapped_aside.get(table)
        if aside and table_exists(conn, *aside.split(".", 1)):
            continue  # the swap happened: the recovered table is live now
        if not table_exists(conn, schema, name):
            continue
        if table in copied and _discarded(conn, schema, name):
            for path in copied[table]:
                try:
                    Path(path).unlink()
                    done.append(f"removed {path} (copied, never imported)")
                except FileNotFoundError:
                    pass
        try:
            with unlogged(conn, when=table in unlogged_tables), conn.cursor() as cur:
                cur.execute(f"DROP TABLE {qualified(schema, name)}")
            done.append(f"dropped {table} (created by this recovery, never verified)")
        except pymysql.MySQLError as error:
            done.append(f"could not drop {table}: {sql_error(error)}")
    for schema in schemas:
        if schema_exists(conn, schema) and _empty_schema(conn, schema):
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE {quote(schema)}")
            done.append(f"dropped the empty database {schema} (created by this recovery)")
    return done


def _empty_schema(conn, schema: str) -> bool:
    """No table, view, routine, event or trigger: nothing of anyone's would go with it."""
    with conn.cursor() as cur:
        for sql in (
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s",
            "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA=%s",
            "SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA=%s",
        ):
            cur.execute(sql, (schema,))
            if cur.fetchone()[0]:
                return False
    return True


def _discarded(conn, schema: str, name: str) -> bool:
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT 1 FROM {qualified(schema, name)} LIMIT 0")
    except pymysql.MySQLError as error:
        return error.args[0] == 1814  # ER_TABLESPACE_DISCARDED
    return False


def unfinished_sessions(state_dir: Path | None = None) -> list[Path]:
    """Journals of recover-table sessions that never wrote `finished` (killed mid-way)."""
    directory = Path(state_dir or default_state_dir()) / "tables"
    return [
        p for p in sorted(directory.glob("*.jsonl")) if not any(r.get("event") == "finished" for r in read_records(p))
    ]


def clean_up(journal: Path) -> list[str]:
    """Remove an interrupted session's throwaway server and take back its unverified work."""
    records = read_records(journal)
    begin = next((r for r in records if r.get("event") == "begin"), {})
    done = []
    if begin.get("throwaway"):
        remove_throwaway(Path(begin["throwaway"]))
        done.append(f"removed the throwaway server in {begin['throwaway']}")
    target = begin.get("target") or {}
    if target.get("socket") or target.get("host"):
        conn = ServerAddress(**target).connect()
        try:
            done += undo_unfinished(records, conn)
        finally:
            conn.close()
    Journal([journal]).append({"event": "finished", "status": "cleaned-up", "actions": done})
    return done


def _noter(journal: Journal) -> Callable[..., None]:
    def note(event: str, **fields) -> None:
        journal.append({"event": event, **fields})

    return note
