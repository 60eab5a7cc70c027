"""Reaching the production server (socket or host/port, credentials only from a --defaults-file).

Table recovery talks to production over SQL and, for files, through the
datadir the server itself reports. Credentials never leave the option file:
pymysql and the mariadb client both read it; no password is ever in argv.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

import pymysql

from ..errors import PreconditionError


@dataclass(frozen=True)
class ServerAddress:
    """Where production answers and which option file holds its [client] credentials."""

    socket: str | None = None
    host: str | None = None
    port: int | None = None
    defaults_file: str | None = None

    def __post_init__(self) -> None:
        if not self.socket and not self.host:
            raise PreconditionError("the target server: give --socket, or --host with --port")
        if self.defaults_file and not Path(self.defaults_file).is_file():
            what = "not a regular file" if Path(self.defaults_file).exists() else "not found"
            raise PreconditionError(f"{self.defaults_file}: option file {what}")

    @property
    def label(self) -> str:
        return f"socket {self.socket}" if self.socket else f"{self.host}:{self.port or 3306}"

    def connect(self, database: str | None = None, *, autocommit: bool = True) -> pymysql.connections.Connection:
        """A connection, or PreconditionError saying the server is unreachable (one line, no secret)."""
        options = {"database": database, "autocommit": autocommit, "connect_timeout": 10, "charset": "utf8mb4"}
        if self.defaults_file:
            options.update(read_default_file=self.defaults_file, read_default_group="client")
        else:
            options["user"] = getpass.getuser()
        if self.socket:
            options["unix_socket"] = self.socket
        else:
            options.update(host=self.host, port=self.port or 3306)
        try:
            return pymysql.connect(**options)
        except pymysql.MySQLError as error:
            raise PreconditionError(f"{self.label}: cannot reach the server: {_message(error)}") from None

    def client_args(self) -> list[str]:
        """Connection options for the mariadb client (the option file first, as the client requires)."""
        args = [f"--defaults-file={self.defaults_file}"] if self.defaults_file else ["--no-defaults"]
        if self.socket:
            args.append(f"--socket={self.socket}")
        else:
            args += [f"--host={self.host}", f"--port={self.port or 3306}", "--protocol=tcp"]
        if not self.defaults_file:
            args.append(f"--user={getpass.getuser()}")
        return args

    def to_json(self) -> dict:
        return {"socket": self.socket, "host": self.host, "port": self.port, "defaults_file": self.defaults_file}


def _message(error: pymysql.MySQLError) -> str:
    args = getattr(error, "args", ())
    text = str(args[1]) if len(args) > 1 else str(error)
    return " ".join(text.split())[:200]


def sql_error(error: pymysql.MySQLError) -> str:
    """A server error as one line: `ERROR 1234: message`."""
    args = getattr(error, "args", ())
    code = args[0] if args and isinstance(args[0], int) else None
    return f"ERROR {code}: {_message(error)}" if code else _message(error)


def quote(name: str) -> str:
    """An identifier in backticks (backticks inside doubled): names come from servers, never trusted."""
    return "`" + name.replace("`", "``") + "`"


def qualified(schema: str, table: str) -> str:
    return f"{quote(schema)}.{quote(table)}"


def server_identity(conn) -> dict:
    """What says the server was not restarted: its uptime, pid file, datadir and version."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@hostname, @@datadir, @@pid_file, @@version, @@port")
        host, datadir, pid_file, version, port = cur.fetchone()
        cur.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")
        uptime = int(cur.fetchone()[1])
    return {
        "hostname": host,
        "datadir": datadir,
        "pid_file": pid_file,
        "version": version,
        "port": port,
        "uptime": uptime,
        "pid": local_server_pid(conn),
    }


def local_server_pid(conn) -> int | None:
    """The pid of the server behind *conn* when it runs on this host: its pid file names a process
    whose working directory is the server's datadir (mariadbd runs in its datadir)."""
    with conn.cursor() as cur:
        cur.execute("SELECT @@pid_file, @@datadir")
        pid_file, datadir = cur.fetchone()
    try:
        pid = int(Path(pid_file if Path(pid_file).is_absolute() else Path(datadir) / pid_file).read_text().strip())
        return pid if os.path.samefile(f"/proc/{pid}/cwd", datadir) else None
    except (OSError, ValueError):
        return None
