"""Bring one table from the throwaway server into production, and prove it arrived whole.

Three ways, chosen per table from what the throwaway server says about it:

* `tablespace` — plain InnoDB: FLUSH TABLES … FOR EXPORT on the throwaway
  server, CREATE + DISCARD TABLESPACE in production (the discard confirmed by
  the file being gone), `.ibd`/`.cfg` copied with the owner and mode of the
  server's own files, IMPORT TABLESPACE. A failed IMPORT leaves a file with a
  duplicate space id that stops the next crash recovery: it is removed at once.
* `partitions` — a partitioned table cannot be discarded (ERROR 1031): each
  partition goes through a non-partitioned clone and EXCHANGE PARTITION.
* `logical` — FULLTEXT indexes (re-adding one on an imported table crashed
  10.11), other engines, encrypted tablespaces, or a production server whose
  datadir is not on this host: `mariadb-dump` of the rows piped into the
  `mariadb` client, nothing written to disk.

The two physical ways run with the session's binlog off: an IMPORT depends on
a file placed by hand on this one server, so neither a replica nor a later
roll-forward through these binlogs could repeat it (a roll-forward from an older
backup stopped on it). When production streams its binlog to replicas or
binlog readers, the table goes logically instead, so they receive its rows.

Every change to production is announced to the journal before it is made, so
an interrupted session can be cleaned up (see recovery.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from ..errors import TableTransportError as TransportError
from ..programs import find_program
from .definition import retarget, without_partitioning
from .server import ServerAddress, local_server_pid, qualified, quote, sql_error

TABLESPACE, PARTITIONS, LOGICAL = "tablespace", "partitions", "logical"
# Applied to the production client of a logical copy: the dump is taken in UTC, keeps explicit zeros
# in AUTO_INCREMENT columns, and is read as utf8mb4. Checks (foreign keys, unique) stay on.
LOGICAL_INIT = "SET time_zone='+00:00', sql_mode=CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')"


@dataclass
class SourceTable:
    """What the throwaway server says about one table of the backup."""

    schema: str
    name: str
    engine: str
    row_format: str | None
    create_sql: str
    partitions: list[str]
    subpartitioned: bool
    fulltext: bool
    encrypted: bool
    rows: int = 0
    checksum: int | None = None

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    def method(self, *, files_reachable: bool) -> tuple[str, str]:
        """The way this table can travel, and why."""
        if self.engine.lower() != "innodb":
            return LOGICAL, f"engine {self.engine}"
        if self.fulltext:
            return LOGICAL, "FULLTEXT index (importing one is unsafe on MariaDB 10.11)"
        if self.encrypted:
            return LOGICAL, "encrypted tablespace (production may lack its key)"
        if not files_reachable:
            return LOGICAL, "production's datadir is not on this host, or innodb_file_per_table is off"
        if self.subpartitioned:
            return LOGICAL, "subpartitions"
        if self.partitions:
            return PARTITIONS, f"{len(self.partitions)} partitions, exchanged one by one"
        return TABLESPACE, "InnoDB file-per-table"


@dataclass
class Moved:
    """One table brought over: where to, how, and the evidence."""

    source: str
    target: str
    method: str
    reason: str
    rows: int = 0
    checksum: int | None = None
    source_rows: int = 0
    source_checksum: int | None = None
    seconds: float = 0.0
    dropped_foreign_keys: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return self.rows == self.source_rows and self.checksum == self.source_checksum


def inspect_source(conn, schema: str, table: str) -> SourceTable | None:
    """The table as restored, or None when the backup has no such base table."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT ENGINE, ROW_FORMAT, CREATE_OPTIONS FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s AND TABLE_TYPE='BASE TABLE'",
            (schema, table),
        )
        found = cur.fetchone()
        if found is None:
            return None
        engine, row_format, options = found
        cur.execute(f"SHOW CREATE TABLE {qualified(schema, table)}")
        create_sql = cur.fetchone()[1]
        cur.execute(
            "SELECT PARTITION_NAME, SUBPARTITION_NAME FROM information_schema.PARTITIONS"
            " WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s AND PARTITION_NAME IS NOT NULL"
            " ORDER BY PARTITION_ORDINAL_POSITION",
            (schema, table),
        )
        parts = cur.fetchall()
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.STATISTICS"
            " WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s AND INDEX_TYPE='FULLTEXT'",
            (schema, table),
        )
        fulltext = cur.fetchone()[0] > 0
        cur.execute("SELECT @@innodb_encrypt_tables")
        encrypt_all = str(cur.fetchone()[0]).upper() not in ("OFF", "0")
    options = (options or "").lower()
    encrypted = "encrypted=yes" in options.replace("`", "").replace("'", "") or (
        encrypt_all and "encrypted=no" not in options.replace("`", "").replace("'", "")
    )
    source = SourceTable(
        schema,
        table,
        engine or "",
        row_format,
        create_sql,
        partitions=[p[0] for p in parts if p[0]] if not any(p[1] for p in parts) else [],
        subpartitioned=any(p[1] for p in parts),
        fulltext=fulltext,
        encrypted=encrypted,
    )
    source.rows, source.checksum = count_and_checksum(conn, schema, table)
    return source


def count_and_checksum(conn, schema: str, table: str) -> tuple[int, int | None]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {qualified(schema, table)}")
        rows = int(cur.fetchone()[0])
        cur.execute(f"CHECKSUM TABLE {qualified(schema, table)} EXTENDED")
        checksum = cur.fetchone()[1]
    return rows, None if checksum is None else int(checksum)


def table_exists(conn, schema: str, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s",
            (schema, table),
        )
        return cur.fetchone()[0] > 0


def schema_exists(conn, schema: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME=%s", (schema,))
        return cur.fetchone()[0] > 0


class Transporter:
    """Moves tables from one throwaway server (ours) into production.

    *note* is the journal: called with (event, fields) before and after each
    change to production. *source_config* is the throwaway server's my.cnf
    (its [client] section reaches it), *source_datadir* its datadir.
    """

    def __init__(
        self,
        source_conn,
        source_config: Path,
        source_datadir: Path,
        target: ServerAddress,
        target_conn,
        note: Callable[..., None],
    ):
        self.src = source_conn
        self.source_config = Path(source_config)
        self.source_datadir = Path(source_datadir)
        self.target = target
        self.dst = target_conn
        self.note = note
        self.datadir = self._local_datadir()
        self.binlog_readers = binlog_readers(target_conn)
        self.may_unlog = _may_unlog(target_conn)

    def _local_datadir(self) -> Path | None:
        """Production's datadir when that very server runs on this host, else None (rows travel logically)."""
        pid = local_server_pid(self.dst)
        if pid is None:
            return None
        with self.dst.cursor() as cur:
            cur.execute("SELECT @@datadir, @@innodb_file_per_table")
            datadir, per_table = cur.fetchone()
        return Path(datadir) if str(per_table).upper() in ("1", "ON") else None

    # -- one table ---------------------------------------------------------------

    def move(self, source: SourceTable, schema: str, name: str, *, force_logical: bool = False) -> Moved:
        began = time.monotonic()
        method, reason = source.method(files_reachable=self.datadir is not None)
        if force_logical and method != LOGICAL:
            method, reason = LOGICAL, "asked for (--logical)"
        elif method != LOGICAL and self.binlog_readers:
            method, reason = LOGICAL, (f"production streams its binlog to {self.binlog_readers} replica(s) or "
                                       "reader(s): the rows go through it, so they get the table too")
        elif method != LOGICAL and not self.may_unlog:
            method, reason = LOGICAL, "an import must stay out of the binlog: SET sql_log_bin needs BINLOG ADMIN"
        elif method != LOGICAL:
            reason += "; kept out of production's binlog (nothing else could repeat the import)"
        moved = Moved(
            source.label, f"{schema}.{name}", method, reason, source_rows=source.rows, source_checksum=source.checksum
        )
        # IMPORT needs the source's row format, explicit (production's default may differ); other
        # engines keep their definition as is (an explicit ROW_FORMAT changes an Aria table's records).
        row_format = source.row_format if source.engine.lower() == "innodb" else None
        definition = retarget(source.create_sql, schema, name, row_format=row_format)
        moved.dropped_foreign_keys = list(definition.foreign_keys)
        if self.datadir is not None:
            self._require_space(source, schema)
        if method == LOGICAL:
            self._create(schema, name, definition.sql)
            self._logical(source, schema, name)
        else:
            with unlogged(self.dst):
                self._create(schema, name, definition.sql, binlog=False)
                if method == TABLESPACE:
                    self._import(source.schema, source.name, schema, name)
                else:
                    self._exchange_partitions(source, schema, name)
        moved.rows, moved.checksum = count_and_checksum(self.dst, schema, name)
        moved.seconds = time.monotonic() - began
        return moved

    def _create(self, schema: str, name: str, sql: str, *, binlog: bool = True) -> None:
        self.note("creating", table=f"{schema}.{name}", binlog=binlog)
        self._target_sql(sql, f"{schema}.{name}: cannot create it in production")
        self.note("created", table=f"{schema}.{name}")

    # -- transportable tablespace ---------------------------------------------------

    def _import(self, src_schema: str, src_name: str, schema: str, name: str) -> None:
        """DISCARD, copy the exported files, IMPORT; on failure nothing of ours stays in the datadir."""
        label = f"{schema}.{name}"
        target_ibd = self._tablespace_file(self.dst, self.datadir, schema, name)
        if target_ibd is None:
            raise TransportError(
                f"{label}: production did not create a file-per-table tablespace for it "
                "(innodb_file_per_table=OFF?); use --logical"
            )
        if not target_ibd.exists():
            raise TransportError(
                f"{target_ibd}: production's new table has no file where the server says; nothing copied; use --logical"
            )
        owner = os.stat(target_ibd)
        self._target_sql(
            f"ALTER TABLE {qualified(schema, name)} DISCARD TABLESPACE", f"{label}: DISCARD TABLESPACE refused"
        )
        if target_ibd.exists():
            raise TransportError(f"{target_ibd}: still there after DISCARD TABLESPACE; nothing copied")
        self.note("discarded", table=label)
        source_ibd = self._tablespace_file(self.src, self.source_datadir, src_schema, src_name)
        if source_ibd is None:
            raise TransportError(f"{src_schema}.{src_name}: no tablespace file on the throwaway server")
        copied: list[Path] = []
        with self.src.cursor() as cur:
            cur.execute(f"FLUSH TABLES {qualified(src_schema, src_name)} FOR EXPORT")
            try:
                pairs = [(source_ibd, target_ibd), (source_ibd.with_suffix(".cfg"), target_ibd.with_suffix(".cfg"))]
                self.note("copying", table=label, files=[str(t) for _, t in pairs])
                for origin, copy in pairs:
                    if origin.exists():
                        _copy_as(origin, copy, owner)
                        copied.append(copy)
                self.note("copied", table=label, files=[str(c) for c in copied])
            except OSError as error:
                _remove(copied)
                raise TransportError(f"{target_ibd.parent}: cannot copy the tablespace: {error.strerror}") from None
            finally:
                cur.execute("UNLOCK TABLES")
        try:
            with self.dst.cursor() as cur:
                cur.execute(f"ALTER TABLE {qualified(schema, name)} IMPORT TABLESPACE")
        except pymysql.MySQLError as error:
            _remove(copied)  # a stray .ibd with a duplicate space id would stop the next crash recovery
            self.note("import-failed", table=label, files=[str(c) for c in copied], error=sql_error(error))
            raise TransportError(
                f"{label}: IMPORT TABLESPACE refused ({sql_error(error)}); "
                "the copied files were removed; --logical copies the rows instead"
            ) from None
        _remove([c for c in copied if c.suffix == ".cfg"])
        self.note("imported", table=label)

    def _tablespace_file(self, conn, datadir: Path, schema: str, name: str) -> Path | None:
        """The table's .ibd, as the server names it (its file-name encoding of the schema and table)."""
        with conn.cursor() as cur:
            cur.execute(
                "SELECT FILENAME FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME ="
                " CONCAT(CAST(CONVERT(%s USING filename) AS BINARY), '/', CAST(CONVERT(%s USING filename) AS BINARY))",
                (schema, name),
            )
            found = cur.fetchone()
        if not found or not found[0]:
            return None
        path = Path(found[0])
        return path if path.is_absolute() else (datadir / path).resolve()

    # -- partitions -----------------------------------------------------------------

    def _exchange_partitions(self, source: SourceTable, schema: str, name: str) -> None:
        """Each partition: out of the source into a clone, imported as a clone in production, exchanged in."""
        for index, partition in enumerate(source.partitions):
            scratch = f"xr_part_{index}"
            clone = f"{name[:40]}__xr_part_{index}"
            with self.src.cursor() as cur:
                cur.execute(f"DROP TABLE IF EXISTS {qualified(source.schema, scratch)}")  # the throwaway is ours
                cur.execute(
                    f"CREATE TABLE {qualified(source.schema, scratch)} LIKE {qualified(source.schema, source.name)}"
                )
                cur.execute(f"ALTER TABLE {qualified(source.schema, scratch)} REMOVE PARTITIONING")
                cur.execute(
                    f"ALTER TABLE {qualified(source.schema, source.name)} EXCHANGE PARTITION {quote(partition)}"
                    f" WITH TABLE {qualified(source.schema, scratch)}"
                )
                cur.execute(f"SHOW CREATE TABLE {qualified(source.schema, scratch)}")
                scratch_sql = cur.fetchone()[1]
            clone_sql = without_partitioning(retarget(scratch_sql, schema, clone, row_format=source.row_format).sql)
            self._create(schema, clone, clone_sql, binlog=False)
            self._import(source.schema, scratch, schema, clone)
            self._target_sql(
                f"ALTER TABLE {qualified(schema, name)} EXCHANGE PARTITION {quote(partition)}"
                f" WITH TABLE {qualified(schema, clone)}",
                f"{schema}.{name}: EXCHANGE PARTITION {partition} refused",
            )
            self.note("exchanged", table=f"{schema}.{name}", partition=partition)
            self._target_sql(f"DROP TABLE {qualified(schema, clone)}", f"{schema}.{clone}: cannot drop the empty clone")
            self.note("dropped-clone", table=f"{schema}.{clone}")

    # -- logical copy -----------------------------------------------------------------

    def _logical(self, source: SourceTable, schema: str, name: str) -> None:
        """Rows only (the table exists already): the dump streams straight into the production client."""
        label = f"{schema}.{name}"
        staged = source.schema, source.name
        if (schema, name) != staged:
            # The dump names the table it reads: give it the target name on the throwaway server (ours).
            with self.src.cursor() as cur:
                cur.execute(f"CREATE DATABASE IF NOT EXISTS {quote(schema)}")
                cur.execute(f"RENAME TABLE {qualified(*staged)} TO {qualified(schema, name)}")
        dump = [
            str(find_program(["mariadb-dump", "mysqldump"])),
            f"--defaults-file={self.source_config}",
            "--compact",
            "--no-create-info",
            "--skip-triggers",
            "--hex-blob",
            "--single-transaction",
            "--quick",
            "--default-character-set=utf8mb4",
            "--tz-utc",
            schema,
            name,
        ]
        client = [
            str(find_program(["mariadb", "mysql"])),
            *self.target.client_args(),
            "--default-character-set=utf8mb4",
            f"--init-command={LOGICAL_INIT}",
            "--batch",
            schema,
        ]
        self.note("loading", table=label)
        reader = subprocess.Popen(dump, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        writer = subprocess.run(client, stdin=reader.stdout, capture_output=True, check=False)
        reader.stdout.close()
        dump_err = reader.stderr.read()
        reader.wait()
        if reader.returncode != 0 or writer.returncode != 0:
            failed = dump_err if reader.returncode else writer.stderr
            line = (failed.decode(errors="replace").strip().splitlines() or ["no message"])[-1][:200]
            raise TransportError(f"{label}: the logical copy failed ({line})")
        self.note("loaded", table=label)

    # -- helpers -------------------------------------------------------------------

    def _require_space(self, source: SourceTable, schema: str) -> None:
        """Production's datadir must hold the table and keep a margin: we never fill the live server's disk."""
        with self.src.cursor() as cur:
            cur.execute(
                "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES"
                " WHERE TABLE_SCHEMA=%s AND TABLE_NAME=%s",
                (source.schema, source.name),
            )
            need = int(cur.fetchone()[0])
        usage = shutil.disk_usage(self.datadir)
        margin = max(usage.total // 20, 256 << 20)  # leave 5% (at least 256 MB) for the server itself
        if usage.free - need < margin:
            raise TransportError(
                f"{self.datadir}: not enough space for {schema}.{source.name} in production"
                f" (needs {need >> 20} MB and a margin of {margin >> 20} MB, {usage.free >> 20} MB free)"
            )

    def _target_sql(self, sql: str, context: str) -> None:
        try:
            with self.dst.cursor() as cur:
                cur.execute(sql)
        except pymysql.MySQLError as error:
            raise TransportError(f"{context}: {sql_error(error)}") from None


def binlog_readers(conn) -> int:
    """Connections reading the server's binlog (replicas, binlog archivers); 0 when we may not look."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
            return int(cur.fetchone()[0])
    except pymysql.MySQLError:
        return 0


def _may_unlog(conn) -> bool:
    """Whether this session may turn its binlog off (SET sql_log_bin needs BINLOG ADMIN)."""
    try:
        with unlogged(conn):
            return True
    except pymysql.MySQLError:
        return False


@contextmanager
def unlogged(conn, when: bool = True) -> Iterator[None]:
    """This session's statements stay out of the binlog while inside (only *when* true; SET sql_log_bin needs
    BINLOG ADMIN)."""
    if not when:
        yield
        return
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin=0")
    try:
        yield
    finally:
        with conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin=1")


def _copy_as(origin: Path, copy: Path, owner: os.stat_result) -> None:
    """Copy *origin* to *copy* (new file only) with the owner and mode of the server's own file, synced."""
    with open(origin, "rb") as src, open(copy, "xb") as dst:
        shutil.copyfileobj(src, dst, 8 << 20)
        dst.flush()
        os.fchown(dst.fileno(), owner.st_uid, owner.st_gid)
        os.fchmod(dst.fileno(), owner.st_mode & 0o7777)
        os.fsync(dst.fileno())


def _remove(paths: list[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
