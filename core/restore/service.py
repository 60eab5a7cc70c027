"""Stop and start the database server, and wait until it is really down or up.

The wrong unit is a classic restore mistake (`mysql` vs `mysqld` vs `mariadb`),
so systemd units are detected rather than guessed. Custom `--stop-cmd` /
`--start-cmd` strings run through the shell (the test suite drives sandbox
servers with them). "Down" means nothing answers on the socket/port AND no
process holds InnoDB's lock on `ibdata1`; "up" means the server answers the
MySQL protocol (an access-denied reply counts: the server is serving).
While starting, a server is also known by its working directory: mariadbd
and mysqld change into their datadir right after reading their options, so
a server process that leaves it, or one launched here that never gets
there, has failed, even when it died before opening its error log.

Run as `xtrarestore-step stop|start …` so the plan's service steps are
ordinary commands the runner can run under sudo and journal.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

from ..errors import ServiceError
from ..files import open_regular

SYSTEMD_UNITS = ("mysql", "mysqld", "mariadb")
SYSTEMD = "systemd"
SYSV = "sysv"
CUSTOM = "custom"


class ServiceControl(NamedTuple):
    """How this host stops and starts its server (a named tuple: this module is a step's entry point)."""

    kind: str
    unit: str | None = None
    stop_cmd: str | None = None
    start_cmd: str | None = None

    def describe(self, action: str) -> str:
        if self.kind == SYSTEMD:
            return f"systemctl {action} {self.unit}"
        if self.kind == SYSV:
            return f"service {self.unit} {action}"
        return self.stop_cmd if action == "stop" else self.start_cmd  # type: ignore[return-value]

    def options(self) -> list[str]:
        """The entry point's options that name this control."""
        if self.kind == CUSTOM:
            return ["--kind", CUSTOM, "--stop-cmd", self.stop_cmd or "", "--start-cmd", self.start_cmd or ""]
        return ["--kind", self.kind, "--unit", self.unit or ""]

    def to_dict(self) -> dict:
        return {"kind": self.kind, "unit": self.unit, "stop_cmd": self.stop_cmd, "start_cmd": self.start_cmd}


def resolve_service(unit: str | None, stop_cmd: str | None, start_cmd: str | None) -> ServiceControl:
    """Pick the service control from the operator's options (detecting the systemd unit if asked)."""
    if stop_cmd or start_cmd:
        if not (stop_cmd and start_cmd):
            raise ServiceError("--stop-cmd and --start-cmd must be given together")
        return ServiceControl(CUSTOM, stop_cmd=stop_cmd, start_cmd=start_cmd)
    if unit and unit.startswith("sysv:"):
        return ServiceControl(SYSV, unit=unit.removeprefix("sysv:"))
    if unit and unit != "auto":
        return ServiceControl(SYSTEMD if _has_systemd() else SYSV, unit=unit)
    found = detect_systemd_units()
    if len(found) == 1:
        return ServiceControl(SYSTEMD, unit=found[0])
    if len(found) > 1:
        raise ServiceError(f"several MySQL units exist ({', '.join(found)}); name one with --service")
    for name in SYSTEMD_UNITS:
        if Path("/etc/init.d", name).exists():
            return ServiceControl(SYSV, unit=name)
    raise ServiceError("no mysql/mysqld/mariadb service found; use --service UNIT or --stop-cmd/--start-cmd")


def _has_systemd() -> bool:
    import shutil

    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def detect_systemd_units() -> list[str]:
    """The real units behind mysql / mysqld / mariadb (Debian makes the first two aliases of mariadb)."""
    if not _has_systemd():
        return []
    found: list[str] = []
    for name in SYSTEMD_UNITS:
        result = subprocess.run(
            ["systemctl", "show", "-p", "LoadState", "-p", "Id", f"{name}.service"],
            capture_output=True, text=True, timeout=30,
        )
        props = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
        unit = props.get("Id", f"{name}.service").removesuffix(".service")
        if props.get("LoadState") == "loaded" and unit not in found:
            found.append(unit)
    return found


# -- probes ----------------------------------------------------------------

def answers(socket_path: str | None, host: str | None, port: int | None, timeout: float = 2.0) -> bool:
    """True when a MySQL server sends its greeting on the socket or host/port."""
    try:
        if socket_path:
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.settimeout(timeout)
            conn.connect(socket_path)
        else:
            conn = socket.create_connection((host or "127.0.0.1", port or 3306), timeout=timeout)
    except OSError:
        return False
    with conn:
        try:
            greeting = conn.recv(5)
        except OSError:
            return False
    return len(greeting) == 5


def innodb_locked(datadir: Path) -> bool:
    """True while a server holds InnoDB's advisory lock on `ibdata1` (so it is still running)."""
    try:
        fd = os.open(datadir / "ibdata1", os.O_RDWR)
    except FileNotFoundError:
        return False
    except PermissionError as error:
        raise ServiceError(f"{datadir / 'ibdata1'}: cannot check whether a server uses it: {error.strerror}")
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


SERVER_NAMES = ("mariadbd", "mysqld")


def _comm(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def server_in(datadir: Path) -> bool | None:
    """Whether some process runs in *datadir* (a server's working directory); None when /proc cannot tell."""
    target = os.path.realpath(datadir)
    hidden = False
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{name}/cwd") == target:
                return True
        except PermissionError:  # a process we may not look into: it could be the server if named so
            hidden = hidden or _comm(name) in SERVER_NAMES
        except OSError:
            continue  # gone, or a kernel thread
    return None if hidden else False


def error_tail(path: Path | None, lines: int = 12) -> str:
    if path is None:
        return "(no error log known; pass --error-log)"
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError as error:
        return f"({path}: {error.strerror})"
    return "\n".join(text[-lines:])


# -- actions ---------------------------------------------------------------

def _command(control: ServiceControl, action: str) -> list[str] | str:
    if control.kind == SYSTEMD:
        return ["systemctl", action, control.unit or ""]
    if control.kind == SYSV:
        return ["service", control.unit or "", action]
    return (control.stop_cmd if action == "stop" else control.start_cmd) or ""


def _run(control: ServiceControl, action: str) -> int:
    command = _command(control, action)
    shown = command if isinstance(command, str) else " ".join(command)
    print(f"running: {shown}", flush=True)
    result = subprocess.run(command, shell=isinstance(command, str), stdin=subprocess.DEVNULL)
    print(f"exit status {result.returncode}", flush=True)
    return result.returncode


def stop(control: ServiceControl, *, socket_path: str | None, host: str | None, port: int | None,
         datadir: Path, timeout: float) -> None:
    """Stop the server and wait until it no longer answers and ibdata1 is free."""
    if not answers(socket_path, host, port) and not innodb_locked(datadir):
        print("server is already down", flush=True)
        return
    status = _run(control, "stop")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not answers(socket_path, host, port) and not innodb_locked(datadir):
            print("server is down", flush=True)
            return
        time.sleep(0.05)
    where = socket_path or f"{host}:{port}"
    raise ServiceError(
        f"{datadir}: the server is still running {timeout:.0f}s after "
        f"`{control.describe('stop')}` (exit {status}; still answering on {where} or holding ibdata1); nothing was moved"
    )


ABORTED = ("[ERROR] Aborting", "[ERROR] mysqld: Aborting", "[ERROR] mariadbd: Aborting")
NO_SPACE = ("No space left on device", "error number 28", "errno: 28", "errno 28", "Errcode: 28", "error 28",
            "error: 28")


def _log_size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path else 0
    except OSError:
        return 0


def _new_log_text(path: Path | None, offset: int) -> str:
    """What the server wrote to its error log since *offset* (all of it when the log was replaced)."""
    if path is None:
        return ""
    try:
        with open(open_regular(path), "rb") as log:  # a FIFO given as --error-log cannot hang the start
            if os.fstat(log.fileno()).st_size < offset:
                offset = 0
            log.seek(offset)
            return log.read(1 << 20).decode(errors="replace")
    except OSError:
        return ""


def start_failure(error_log: Path | None, text: str, why: str) -> ServiceError:
    """The one-line error for a start that failed; a full disk is named as such."""
    if any(mark in text for mark in NO_SPACE):
        return ServiceError(f"{error_log}: the server could not start: no space left on device "
                            f"(error 28) on its datadir's file system — free space, then resume or roll back")
    return ServiceError(f"{error_log or 'server'}: {why}")


SERVER_BINARY = re.compile(r"(^|[/\s])(mariadbd|mysqld|mariadbd-safe|mysqld_safe)(\s|$)")
APPEAR_WITHIN = 20.0  # seconds for a server launched by the start command to reach its datadir


def _launches_server(control: ServiceControl) -> bool:
    """Whether the start command runs the server binary on this host (not a unit, a container or a script)."""
    return control.kind == CUSTOM and bool(SERVER_BINARY.search(control.start_cmd or ""))


def start(control: ServiceControl, *, socket_path: str | None, host: str | None, port: int | None,
          timeout: float, error_log: Path | None, datadir: Path | None = None) -> None:
    """Start the server and wait until it answers; fail at once when it cannot.

    The wait ends early when the start command exits non-zero, the server
    writes that it is aborting into its error log, or (with *datadir*) the
    server process seen in the datadir is gone, or a start command that runs
    the server binary itself got none there within APPEAR_WITHIN seconds.
    Either way the error-log tail is shown and a full disk is named.
    """
    if answers(socket_path, host, port):
        print("server already answers", flush=True)
        return
    offset = _log_size(error_log)
    status = _run(control, "start")
    where = socket_path or f"{host}:{port}"
    began = time.monotonic()
    deadline = began + timeout
    launched_here = _launches_server(control)
    seen = False
    probed = 0.0
    why = ""
    while time.monotonic() < deadline:
        if answers(socket_path, host, port):
            print("server answers", flush=True)
            return
        if status != 0:
            why = f"`{control.describe('start')}` exited with status {status}; the server does not answer on {where}"
            break
        if any(mark in _new_log_text(error_log, offset) for mark in ABORTED):
            why = f"the server aborted while starting (`{control.describe('start')}` exit {status})"
            break
        now = time.monotonic()
        if datadir is not None and now - probed >= 0.1:
            probed = now
            running = server_in(datadir)
            seen = seen or bool(running)
            late = launched_here and now - began > APPEAR_WITHIN
            if running is False and (seen or late) and not answers(socket_path, host, port):
                why = (f"no server is running in {datadir} {now - began:.0f}s after `{control.describe('start')}` "
                       f"(exit {status}) and its error log has no word of it: it stopped before logging there "
                       f"(a mistyped option or option file? its log-error elsewhere?); run the start command by "
                       f"hand to see why")
                break
        time.sleep(0.05)
    else:
        why = (f"the server did not answer on {where} within {timeout:.0f}s after "
               f"`{control.describe('start')}` (exit {status})")
    print(f"--- tail of {error_log} ---\n{error_tail(error_log)}", flush=True)
    raise start_failure(error_log, _new_log_text(error_log, offset) or error_tail(error_log), why)


def run(argv: list[str]) -> int:
    """`xtrarestore-step stop|start …`."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step")
    parser.add_argument("action", choices=["stop", "start"])
    parser.add_argument("--kind", choices=[SYSTEMD, SYSV, CUSTOM], required=True)
    parser.add_argument("--unit")
    parser.add_argument("--stop-cmd")
    parser.add_argument("--start-cmd")
    parser.add_argument("--socket")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--datadir", type=Path)
    parser.add_argument("--error-log", type=Path)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args(argv)
    control = ServiceControl(args.kind, args.unit, args.stop_cmd, args.start_cmd)
    try:
        if args.action == "stop":
            stop(control, socket_path=args.socket, host=args.host, port=args.port,
                 datadir=args.datadir, timeout=args.timeout)
        else:
            start(control, socket_path=args.socket, host=args.host, port=args.port,
                  timeout=args.timeout, error_log=args.error_log, datadir=args.datadir)
    except ServiceError as error:
        print(f"error: {error}", flush=True)
        return 1
    return 0
