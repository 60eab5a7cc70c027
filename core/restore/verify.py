"""Check a restored server with PyMySQL: it answers, what it holds, and that tables are sound.

Credentials come from a `--defaults-file` `[client]` section (like the seed's
`/etc/mysql/backup.cnf`), never from argv. Row counts are exact `COUNT(*)`;
on big servers the number of tables counted and checked is capped
(`sample`), and the report says so. The binlog position (and GTID) comes from
the backup's `xtrabackup_binlog_info`, for a later roll-forward.

`xtrarestore-step verify` prints the report and `completed OK!`, so
verification is an ordinary, journaled plan step.
"""

from __future__ import annotations

import argparse
import configparser
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymysql

from ..errors import VerifyError, XtraRestoreError
from ..files import open_regular
from ..inventory.checkpoints import BinlogPosition, parse_binlog_info

SYSTEM_SCHEMAS = ("information_schema", "performance_schema", "sys", "mysql")
BINLOG_FILES = ("xtrabackup_binlog_info", "mariadb_backup_binlog_info")


@dataclass
class ConnectionParams:
    """How to reach the server. The password, if any, comes only from the defaults file."""

    socket: str | None = None
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def connect(self, timeout: float = 10.0) -> pymysql.connections.Connection:
        kwargs: dict = {"user": self.user or "root", "connect_timeout": timeout, "autocommit": True}
        if self.password is not None:
            kwargs["password"] = self.password
        if self.socket:
            kwargs["unix_socket"] = self.socket
        else:
            kwargs.update(host=self.host or "127.0.0.1", port=self.port or 3306)
        return pymysql.connect(**kwargs)


def read_client_options(path: Path) -> dict[str, str]:
    """The `[client]` section of a MySQL option file (`!include` lines are ignored)."""
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None,
                                       comment_prefixes=("#", ";", "!"))
    try:
        with open(open_regular(path), encoding="utf-8", errors="replace") as handle:  # a FIFO cannot hang us
            parser.read_string(handle.read(), source=str(path))
    except OSError as error:
        raise VerifyError(f"{path}: cannot read the defaults file: {error.strerror}") from None
    except configparser.Error as error:
        raise VerifyError(f"{path}: not a MySQL option file ({type(error).__name__})") from None
    if not parser.has_section("client"):
        return {}
    return {key.replace("-", "_"): (value or "").strip().strip("'\"") for key, value in parser.items("client")}


def params_from(socket: str | None, host: str | None, port: int | None, defaults_file: Path | None) -> ConnectionParams:
    options = read_client_options(defaults_file) if defaults_file else {}
    return ConnectionParams(
        socket=socket or (options.get("socket") if not host else None),
        host=host or options.get("host"),
        port=port or (int(options["port"]) if options.get("port", "").isdigit() else None),
        user=options.get("user"),
        password=options.get("password"),
    )


@dataclass
class TableReport:
    schema: str
    name: str
    engine: str | None
    rows: int | None
    check: str | None


@dataclass
class VerifyReport:
    server_version: str
    schemas: list[str]
    tables: list[TableReport]
    counted_all: bool
    checked_all: bool
    binlog: BinlogPosition | None

    @property
    def problems(self) -> list[TableReport]:
        return [t for t in self.tables if t.check not in (None, "OK")]

    def rows(self, schema: str, table: str) -> int | None:
        return next((t.rows for t in self.tables if (t.schema, t.name) == (schema, table)), None)

    def lines(self) -> list[str]:
        out = [f"server {self.server_version}: {len(self.schemas)} schemas, {len(self.tables)} tables"]
        for t in self.tables:
            rows = "-" if t.rows is None else str(t.rows)
            out.append(f"  {t.schema}.{t.name:<30} {t.engine or '':<8} rows {rows:>10}  check {t.check or '-'}")
        if not self.counted_all:
            out.append("  (row counts on a sample of tables only)")
        if not self.checked_all:
            out.append("  (CHECK TABLE on a sample of tables only)")
        if self.binlog:
            gtid = f", GTID {self.binlog.gtid}" if self.binlog.gtid else ""
            out.append(f"binlog position at backup: {self.binlog.file}:{self.binlog.position}{gtid}")
        else:
            out.append("binlog position at backup: not recorded (binary log off)")
        return out


def read_binlog(directory: Path | None) -> BinlogPosition | None:
    for name in BINLOG_FILES:
        path = directory / name if directory else None
        if path and path.exists():
            return parse_binlog_info(path.read_text())
    return None


def verify(params: ConnectionParams, *, sample: int | None = 200, backup_dir: Path | None = None) -> VerifyReport:
    """Connect and report schemas, tables, exact row counts and CHECK TABLE results."""
    try:
        conn = params.connect()
    except pymysql.MySQLError as error:
        where = params.socket or f"{params.host}:{params.port}"
        raise VerifyError(f"{where}: cannot connect to the restored server: {error.args[-1]}") from None
    with conn, conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = cur.fetchone()[0]
        cur.execute("SELECT schema_name FROM information_schema.schemata ORDER BY schema_name")
        schemas = [row[0] for row in cur.fetchall()]
        cur.execute(
            "SELECT table_schema, table_name, engine FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE' AND table_schema NOT IN %s ORDER BY table_schema, table_name",
            (SYSTEM_SCHEMAS,),
        )
        listed = cur.fetchall()
        tables = []
        for number, (schema, name, engine) in enumerate(listed):
            in_sample = sample is None or number < sample
            rows = check = None
            if in_sample:
                ident = f"`{schema.replace('`', '``')}`.`{name.replace('`', '``')}`"
                cur.execute(f"SELECT COUNT(*) FROM {ident}")
                rows = cur.fetchone()[0]
                cur.execute(f"CHECK TABLE {ident}")
                results = cur.fetchall()
                check = next((r[3] for r in results if r[2] in ("status", "error")), "OK")
            tables.append(TableReport(schema, name, engine, rows, check))
    complete = sample is None or len(listed) <= sample
    return VerifyReport(version, schemas, tables, complete, complete, read_binlog(backup_dir))


def run(argv: list[str]) -> int:
    """`xtrarestore-step verify …`."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step verify")
    parser.add_argument("--socket")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--defaults-file", type=Path)
    parser.add_argument("--backup-dir", type=Path, help="the prepared backup (for xtrabackup_binlog_info)")
    parser.add_argument("--sample", type=int, default=200, help="count and check at most this many tables")
    parser.add_argument("--json", type=Path, help="also write the report here as JSON")
    args = parser.parse_args(argv)
    try:
        params = params_from(args.socket, args.host, args.port, args.defaults_file)
        report = verify(params, sample=args.sample, backup_dir=args.backup_dir)
    except XtraRestoreError as error:
        print(f"error: {error}", flush=True)
        return 1
    for line in report.lines():
        print(line, flush=True)
    if args.json:
        args.json.write_text(json.dumps(asdict(report), default=str, indent=1))
    if report.problems:
        print(f"error: CHECK TABLE reported problems in {len(report.problems)} tables", flush=True)
        return 1
    return 0
