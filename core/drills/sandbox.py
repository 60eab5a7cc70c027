"""Throwaway MariaDB servers in a temporary directory, and real backups of them.

A `SandboxServer` owns one directory holding its datadir, a private socket, its
error log and a `my.cnf`. Tests, the demo and drills use it to run a real
server and take real `mariabackup` backups laid out exactly as the
DigitalOcean `backup-mysql.sh` script lays them out (one directory a day,
`full-…`/`incremental-…` streams, `.incomplete` while running, the day's
`xtrabackup_checkpoints` from `--extra-lsndir`, `backup-progress.log`).

Servers are stopped by `stop()`, by leaving the context manager, and as a last
resort at interpreter exit, so a failing test leaves nothing running.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pymysql

from ..errors import SandboxError
from ..programs import find_program

_LIVE: set[SandboxServer] = set()
_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}:\d{2}\s+\d+\s+")

PLAYGROUND_SCHEMA = (
    "CREATE DATABASE IF NOT EXISTS playground",
    "CREATE TABLE IF NOT EXISTS playground.equipment ("
    " id INT NOT NULL AUTO_INCREMENT, type VARCHAR(50), quant INT, color VARCHAR(25),"
    " PRIMARY KEY(id))",
)


def _server_user() -> str | None:
    """The OS user mariadbd should run as: `mysql` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("mysql")
    except KeyError:
        return "root"
    return "mysql"


def _chown(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@dataclass(eq=False)
class SandboxServer:
    """A private MariaDB server living entirely inside ``base``."""

    base: Path
    port: int | None = None
    buffer_pool: str = "128M"
    options: tuple[str, ...] = ()  # extra [mariadbd] lines, e.g. ("log-bin=mariadb-bin", "server-id=11")
    user: str | None = field(default_factory=_server_user)
    _process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def datadir(self) -> Path:
        return self.base / "data"

    @property
    def rundir(self) -> Path:
        return self.base / "run"

    @property
    def socket(self) -> Path:
        return self.rundir / "mysqld.sock"

    @property
    def pid_file(self) -> Path:
        return self.rundir / "mysqld.pid"

    @property
    def error_log(self) -> Path:
        return self.rundir / "error.log"

    @property
    def config(self) -> Path:
        return self.base / "my.cnf"

    # -- life cycle -------------------------------------------------------

    @classmethod
    def create(
        cls, base: Path | None = None, *, port: int | None = None, start: bool = True, options: tuple[str, ...] = ()
    ) -> SandboxServer:
        """Initialise a new datadir under *base* (a fresh temp dir by default) and start it."""
        if base is None:
            base = Path(tempfile.mkdtemp(prefix="xtrarestore-sandbox-"))
        base.mkdir(parents=True, exist_ok=True)
        # The server may run as `mysql`: it must be able to reach its files.
        os.chmod(base, 0o711)
        server = cls(base=base, port=port, options=options)
        server.rundir.mkdir(exist_ok=True)
        _chown(server.rundir, server.user)
        server.write_config()
        server.install_db()
        if start:
            server.start()
        return server

    @classmethod
    def awaiting_restore(cls, base: Path, *, port: int | None = None) -> SandboxServer:
        """A stopped sandbox with an empty datadir, the target of a drill's copy-back.

        Nothing is initialised: the restored files become its datadir, and
        `start_cmd`/`stop_cmd` drive it like a production service.
        """
        base.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o711)
        server = cls(base=base, port=port)
        server.rundir.mkdir(exist_ok=True)
        _chown(server.rundir, server.user)
        server.datadir.mkdir(mode=0o750, exist_ok=True)
        _chown(server.datadir, server.user)
        server.write_config()
        return server

    def server_processes(self) -> list[int]:
        """Pids of every mariadbd running with this sandbox's my.cnf, however it was started."""
        marker = f"--defaults-file={self.config}".encode()
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in argv[1:] and os.path.basename(argv[0]) in (b"mariadbd", b"mysqld"):
                found.append(int(entry.name))
        return found

    def write_config(self, *, private: bool = False) -> None:
        """Write my.cnf; *private* (0600) when the options carry a secret (an encryption plugin's key)."""
        lines = [
            "[mariadbd]",
            f"datadir={self.datadir}",
            f"socket={self.socket}",
            f"pid-file={self.pid_file}",
            f"log-error={self.error_log}",
            # Its own temporary files: servers in other pid namespaces share /tmp, and same-named
            # '#sql-temptable-<pid>-…' files made concurrent mariadb-install-db runs fail here.
            f"tmpdir={self.rundir}",
            f"innodb-buffer-pool-size={self.buffer_pool}",
            "innodb-log-file-size=48M",
            "max-connections=50",
            *self.options,
        ]
        if self.port is None:
            lines.append("skip-networking")
        else:
            lines += [f"port={self.port}", "bind-address=127.0.0.1"]
        lines += ["", "[client]", f"socket={self.socket}", "user=root", ""]
        fd = os.open(self.config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("\n".join(lines))
        os.chmod(self.config, 0o600 if private else 0o644)

    def install_db(self) -> None:
        install = find_program(["mariadb-install-db", "mysql_install_db"])
        args = [
            str(install),
            f"--defaults-file={self.config}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ]
        if self.user:
            args.append(f"--user={self.user}")
        result = subprocess.run(args, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SandboxError(f"{self.datadir}: mariadb-install-db failed: {tail[0]}")

    def server_command(self) -> list[str]:
        """The command line that runs this server in the foreground."""
        args = [str(find_program(["mariadbd", "mysqld"])), f"--defaults-file={self.config}"]
        if self.user:
            args.append(f"--user={self.user}")
        return args

    @property
    def start_cmd(self) -> str:
        """A shell command that starts this server in the background (for `--start-cmd`)."""
        quoted = " ".join(shlex.quote(a) for a in self.server_command())
        return f"setsid {quoted} >/dev/null 2>&1 </dev/null &"

    @property
    def stop_cmd(self) -> str:
        """A shell command that asks this server to shut down (for `--stop-cmd`)."""
        return f"kill $(cat {shlex.quote(str(self.pid_file))})"

    def start(self, timeout: float = 60.0, ready: Callable[[], bool] | None = None) -> None:
        """Start the server and wait until *ready* (default: root can log in on its socket).

        A server process that exits meanwhile fails at once, with its log's error lines.
        """
        ready = ready or self.ping
        if self.is_running():
            return
        self._process = subprocess.Popen(
            self.server_command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _LIVE.add(self)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise SandboxError(f"{self.error_log}: the server exited at start-up (status {self._process.returncode}):"
                                   f" {self.error_tail()}")
            if ready():
                return
            time.sleep(0.1)
        self.kill()
        raise SandboxError(f"{self.error_log}: server did not answer within {timeout:.0f}s")

    def stop(self, timeout: float = 60.0) -> None:
        """Shut the server down cleanly (SIGTERM), killing it if it does not go in time."""
        pid = self.pid()
        if pid is None:
            _LIVE.discard(self)
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            if self._process is not None:
                self._process.poll()
            time.sleep(0.05)
        if _alive(pid):
            self.kill()
        if self._process is not None:
            self._process.wait()
            self._process = None
        _LIVE.discard(self)

    def kill(self) -> None:
        pid = self.pid()
        for target in {pid, self._process.pid if self._process else None} - {None}:
            try:
                os.kill(target, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._process is not None:
            self._process.wait()
            self._process = None
        _LIVE.discard(self)

    def destroy(self) -> None:
        """Stop the server and remove its whole directory."""
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    # -- state ------------------------------------------------------------

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            if self._process is not None and self._process.poll() is None:
                return self._process.pid
            return None
        return pid if _alive(pid) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def ping(self) -> bool:
        try:
            self.connect().close()
        except pymysql.MySQLError:
            return False
        return True

    def error_tail(self, lines: int = 4) -> str:
        """The `[ERROR]` lines of the last start in the log (else its last lines), without their time stamps.

        The first errors are the cause (a plugin's option), the last the
        consequence (Aborting): with more than *lines*, the first ones and the last are kept.
        """
        text = self.log_lines()
        if not text:
            return "no error log"
        starts = [n for n, line in enumerate(text) if "Starting MariaDB" in line or "starting as process" in line]
        text = text[starts[-1]:] if starts else text
        errors = list(dict.fromkeys(_STAMP.sub("", line) for line in text if "[ERROR]" in line))
        if not errors:
            errors = [_STAMP.sub("", line) for line in text[-lines:]]
        if len(errors) > lines:
            errors = [*errors[: lines - 1], "…", errors[-1]]
        return " | ".join(errors)

    def log_lines(self, count: int = 200) -> list[str]:
        """The last *count* lines of the error log (empty when there is none)."""
        try:
            with open(self.error_log, "rb") as log:
                log.seek(max(0, os.fstat(log.fileno()).st_size - 64 * count * 4))
                return log.read().decode(errors="replace").strip().splitlines()[-count:]
        except OSError:
            return []

    # -- SQL --------------------------------------------------------------

    def connect(self, database: str | None = None) -> pymysql.connections.Connection:
        return pymysql.connect(
            unix_socket=str(self.socket), user="root", database=database, autocommit=True, connect_timeout=5
        )

    def execute(self, *statements: str, params: tuple | None = None) -> list[tuple]:
        """Run statements; return the rows of the last one."""
        with self.connect() as conn, conn.cursor() as cur:
            rows: list[tuple] = []
            for sql in statements:
                cur.execute(sql, params)
                rows = list(cur.fetchall())
            return rows

    def checkpoint(self, timeout: float = 30.0) -> int:
        """Flush dirty pages until InnoDB's checkpoint reaches the current LSN; return it.

        The next backup's `to_lsn` (the checkpoint LSN) then covers everything
        written so far. On a quiet server it would otherwise stay put between
        backups, and a missing incremental would leave no visible gap.
        """
        target = self._lsn("Innodb_lsn_current")
        self.execute("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0.001", "SET GLOBAL innodb_max_dirty_pages_pct = 0")
        deadline = time.monotonic() + timeout
        while True:
            # The checkpoint writes a record of its own, so it can only catch up with the LSN seen before.
            checkpoint = self._lsn("Innodb_lsn_last_checkpoint")
            if checkpoint >= target:
                return checkpoint
            if time.monotonic() > deadline:
                raise SandboxError(f"{self.error_log}: InnoDB did not checkpoint within {timeout:.0f}s")
            time.sleep(0.05)

    def _lsn(self, variable: str) -> int:
        return int(self.execute("SHOW GLOBAL STATUS LIKE %s", params=(variable,))[0][1])

    def load_playground(self) -> None:
        """Create the DigitalOcean tutorial's `playground.equipment` table."""
        self.execute(*PLAYGROUND_SCHEMA)

    def add_equipment(self, kind: str, quant: int, color: str) -> None:
        self.execute(
            "INSERT INTO playground.equipment (type, quant, color) VALUES (%s, %s, %s)",
            params=(kind, quant, color),
        )

    def fill(self, megabytes: int, schema: str = "bulk", table: str = "filler") -> None:
        """Grow `schema.table` by roughly *megabytes* of poorly compressible rows."""
        self.execute(
            f"CREATE DATABASE IF NOT EXISTS `{schema}`",
            f"CREATE TABLE IF NOT EXISTS `{schema}`.`{table}` ("
            " id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, payload VARBINARY(1024)) ENGINE=InnoDB",
        )
        rows = megabytes * 1024 * 1024 // 1100
        batch = 2000
        with self.connect(database=schema) as conn, conn.cursor() as cur:
            for start in range(0, rows, batch):
                count = min(batch, rows - start)
                cur.execute(
                    f"INSERT INTO `{schema}`.`{table}` (payload)"
                    " SELECT RANDOM_BYTES(1024) FROM seq_1_to_%s",
                    (count,),
                )

    # -- backups ----------------------------------------------------------

    def take_backup(
        self,
        day_dir: Path,
        *,
        when: datetime | None = None,
        compress: bool = False,
        interrupt_after: int | None = None,
        keep_failed: bool = False,
        extra_args: tuple[str, ...] = (),
    ) -> Path:
        """Take one backup into *day_dir* the way `backup-mysql.sh` does.

        The first backup of a day is full; later ones are incremental from the
        day's `xtrabackup_checkpoints`. With *interrupt_after* the backup is
        killed once that many bytes were streamed, leaving `….xbstream.incomplete`.
        With *keep_failed* a failing backup is still renamed to `.xbstream`, as a
        script without error trapping would leave it.
        """
        day_dir.mkdir(parents=True, exist_ok=True)
        for stale in day_dir.glob("*.incomplete"):
            stale.unlink()
        checkpoints = day_dir / "xtrabackup_checkpoints"
        lsn = _to_lsn(checkpoints)
        kind = "incremental" if lsn is not None else "full"
        target = _free_name(day_dir, kind, when or datetime.now())
        partial = target.with_name(target.name + ".incomplete")
        args = [
            str(find_program(["mariabackup", "mariadb-backup"])),
            "--backup",
            "--user=root",
            f"--socket={self.socket}",
            f"--extra-lsndir={day_dir}",
            "--stream=xbstream",
            f"--target-dir={day_dir}",
        ]
        if compress:
            args.append("--compress")
        if lsn is not None:
            args.append(f"--incremental-lsn={lsn}")
        args += extra_args
        with open(partial, "wb") as out, open(day_dir / "backup-progress.log", "wb") as log:
            proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
            status = _pump(proc, out, interrupt_after)
        if interrupt_after is not None:
            return partial
        if status != 0 and not keep_failed:
            raise SandboxError(f"{day_dir / 'backup-progress.log'}: mariabackup exited with status {status}")
        partial.rename(target)
        return target


def _pump(proc: subprocess.Popen, out, interrupt_after: int | None) -> int:
    """Copy the backup stream to *out*; kill the backup once *interrupt_after* bytes went by."""
    written = 0
    assert proc.stdout is not None
    while block := proc.stdout.read(1 << 20):
        out.write(block)
        written += len(block)
        if interrupt_after is not None and written >= interrupt_after:
            proc.kill()
            break
    proc.stdout.close()
    return proc.wait()


def _to_lsn(checkpoints: Path) -> int | None:
    try:
        match = re.search(r"^to_lsn\s*=\s*(\d+)", checkpoints.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _free_name(day_dir: Path, kind: str, when: datetime) -> Path:
    """`full-MM-DD-YYYY_HH-MM-SS.xbstream`, moved on by seconds until the name is free."""
    stamp = when.timestamp()
    while True:
        name = f"{kind}-{datetime.fromtimestamp(stamp):%m-%d-%Y_%H-%M-%S}.xbstream"
        path = day_dir / name
        if not path.exists() and not path.with_name(name + ".incomplete").exists():
            return path
        stamp += 1


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget(server: SandboxServer) -> None:
    """Let *server* outlive this process (a drill's start step: the drill stops it later)."""
    _LIVE.discard(server)


def live_servers() -> Iterator[SandboxServer]:
    """Sandbox servers started by this process and not yet stopped."""
    return iter(list(_LIVE))


@atexit.register
def _stop_all() -> None:
    for server in list(_LIVE):
        server.kill()
