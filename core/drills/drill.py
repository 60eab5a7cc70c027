"""Restore drills: restore a chosen point into a throwaway server, verify it, time it.

A drill is the restore plan itself (extract, prepare, LSN check, stop, move
aside, copy back, chown, start, verify) aimed at a sandbox: the datadir is a
fresh directory of ours and the service is a private `mariadbd` (the flavour
installed on this host) on a socket of its own, driven by start/stop commands.
So a drill rehearses exactly what a real restore would run, and its step times
add up to the recovery time (RTO) this backup would cost. Production datadirs
and services are never named in a drill's plan.

The chain is checked before anything is created; whatever happens afterwards
(failure, cancel, Ctrl-C) the sandbox server is stopped, and its directory is
removed unless the operator asked to keep it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ChainError, SandboxError, XtraRestoreError
from ..storage.location import root_path
from .report import FAILED, SUCCESS, DrillReport, StepResult, TableResult
from .sandbox import SandboxServer

FIND = "drill:find"
SANDBOX = "drill:sandbox"
CLEANUP = "drill:cleanup"
LOG_LINES = 40  # the end of the throwaway server's error log kept in a failed drill's report


MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the closing NUL


def default_workroot() -> Path:
    """Where drills put their sandboxes: /var/tmp (disk, not a RAM /tmp), reachable by `mysql`."""
    return Path(tempfile.gettempdir() if not Path("/var/tmp").is_dir() else "/var/tmp")


@dataclass
class Drill:
    """A drill ready to run: the restore point, the plan aimed at its sandbox, every step in order."""

    id: str
    root: Path
    point: object
    plan: object
    sandbox: SandboxServer
    base: Path
    key_file: Path | None
    steps: list  # core.plan.Step, drill-only steps included
    started: str
    find_seconds: float
    problems: list[dict] = field(default_factory=list)
    created: bool = False  # set once its directory exists: only then is there anything to remove
    encryption: str = ""  # the backup's data-at-rest encryption, named when prepare or start fails

    @property
    def day(self) -> str:
        return self.point.day.name

    @property
    def upto(self) -> str:
        return self.point.members[-1].name


def plan_drill(root: Path, day: str | None, upto: str, *, key_file: Path | None = None,
               workroot: Path | None = None, server_config: Path | None = None, until: str | None = None,
               skip: tuple[str, ...] = (), binlog_dirs: list[Path] | tuple[Path, ...] = (),
               from_server: Path | None = None, replay: str = "relay") -> Drill:
    """Find and check the restore point and plan its drill. Creates nothing.

    Raises ChainError (a gap, an incomplete backup, …), StopPointError (a stop
    point the binlogs cannot reach) or another XtraRestoreError with the
    reason, before anything is touched. The throwaway server starts with the
    settings in the backup's backup-my.cnf (encryption plugin, page and log
    sizes…), filled from *server_config*, the original server's option file,
    when given (see `startup`). With *until* or *skip* the drill rolls the
    throwaway server forward through the binlogs in *binlog_dirs* (and the
    live *from_server*'s).
    """
    from ..archive.keys import load_key
    from ..archive.targets import check_target
    from ..inventory.settings import backup_cnf_text, backup_settings, check_key_files, describe_encryption
    from ..restore.plan import Step, Target, new_restore_id
    from ..restore.preflight import require
    from ..restore.request import RestoreRequest, plan_restore
    from ..restore.service import CUSTOM, ServiceControl

    began = time.monotonic()
    started = datetime.now(UTC).isoformat(timespec="seconds")
    root = root_path(root)
    drill_id = new_restore_id()
    workroot = check_target(Path(workroot), "--workdir", roots=[root], container=True) if workroot else None
    base = (workroot or default_workroot()) / f"xtrarestore-drill-{drill_id}"
    sandbox = SandboxServer(base=base / "server")
    if len(os.fsencode(sandbox.socket)) > MAX_SOCKET_PATH:
        raise SandboxError(f"{sandbox.socket}: longer than a Unix socket path may be ({MAX_SOCKET_PATH} bytes); "
                           "give a shorter --workdir")
    target = Target(
        datadir=sandbox.datadir,
        service=ServiceControl(CUSTOM, stop_cmd=sandbox.stop_cmd, start_cmd=sandbox.start_cmd),
        socket=sandbox.socket,
        error_log=sandbox.error_log,
        stop_timeout=60.0,
        start_timeout=120.0,
    )
    request = RestoreRequest(root=root, day=day, upto=upto, target=target, key_file=key_file,
                             workdir=base / "work", restore_id=drill_id, until=until, skip=tuple(skip),
                             binlog_dirs=[Path(d) for d in binlog_dirs], from_server=from_server, replay=replay)
    # The restore's own preconditions: disk space for extraction and copy-back, the tool, the key.
    planned = plan_restore(request, production=False)
    require(planned.checks)
    plan, point = planned.plan, planned.point
    # A key file the backup's server needed and that is gone: refused now, not after extract and prepare.
    full = point.members[0]
    settings = backup_settings(backup_cnf_text(full, load_key(key_file) if key_file else None), server_config)
    check_key_files(settings, f"{full.path}: backup-my.cnf")
    encryption = describe_encryption(settings)
    # backup-my.cnf: set aside in the record before a swap by rename, else still in the prepared copy
    settings_dir = plan.record or Path(plan.step("copy-back").source)
    plan = _start_like_backup(plan, sandbox, settings_dir, server_config)
    if not all(path.is_relative_to(base) for path in (plan.datadir, plan.aside, plan.workdir)):
        raise SandboxError(f"{base}: the drill's plan points outside its sandbox; refusing to run it")
    for step in plan.steps:
        step.privileged = False  # every file and process of a drill is ours: no sudo, ever
    steps = [
        Step(FIND, "Find the restore point and check its chain", []),
        Step(SANDBOX, "Set up the throwaway server's directory", []),
        *plan.steps,
        Step(CLEANUP, "Stop and remove the throwaway server", []),
    ]
    return Drill(
        id=drill_id, root=root, point=point, plan=plan, sandbox=sandbox, base=base, key_file=key_file,
        steps=steps, started=started, find_seconds=time.monotonic() - began,
        problems=_chain_problems(point), encryption=encryption,
    )


def _start_like_backup(plan, sandbox: SandboxServer, prepared: Path, server_config: Path | None):
    """The plan with its start step running `xtrarestore-step sandbox-start` on the prepared backup's settings."""
    import shlex

    from ..restore.service import CUSTOM, ServiceControl

    argv = [plan.stepper, "sandbox-start", "--base", str(sandbox.base), "--backup-dir", str(prepared),
            "--timeout", str(int(plan.start_timeout))]
    if server_config is not None:
        argv += ["--server-config", str(Path(server_config).absolute())]
    control = ServiceControl(CUSTOM, stop_cmd=sandbox.stop_cmd, start_cmd=shlex.join(argv))
    plan = plan.with_service(control)
    plan.step("stop").title = "Stop the throwaway server and wait until it is down"
    plan.step("start").title = "Start the throwaway server with the backup's settings and wait until it answers"
    return plan


def run_drill(drill: Drill, *, on_event: Callable | None = None, cancel: threading.Event | None = None,
              keep: bool = False) -> DrillReport:
    """Run *drill*; always return its report (success or failure) unless interrupted by Ctrl-C.

    On KeyboardInterrupt the sandbox is still stopped and removed, then the
    interrupt propagates.
    """
    from ..restore.journal import Journal
    from ..restore.runner import Event, Runner

    emit = on_event or (lambda event: None)
    report = _new_report(drill)
    results = {s.name: StepResult(s.name, s.title, command=s.command if s.argv else None,
                                  in_rto=s.name not in (SANDBOX, CLEANUP)) for s in drill.steps}
    report.steps = list(results.values())
    said: dict[str, list[str]] = {}  # each step's own `error:` lines: the reason, in its words
    index_of = {s.name: n for n, s in enumerate(drill.steps, 1)}

    def own(step, body: Callable[[], None]) -> None:
        result = results[step.name]
        result.status, result.started = "running", _now()
        emit(Event("started", step, index_of[step.name]))
        began = time.monotonic()
        try:
            body()
        except BaseException as error:
            result.status, result.seconds = "failed", time.monotonic() - began
            result.detail = str(error) or type(error).__name__
            emit(Event("failed", step, index_of[step.name], error=result.detail, seconds=result.seconds))
            raise
        result.status, result.seconds = "done", time.monotonic() - began
        emit(Event("finished", step, index_of[step.name], seconds=result.seconds))

    def relay(event) -> None:
        if event.step is not None:
            event.index = index_of.get(event.step.name, event.index)
            result = results.get(event.step.name)
            if result is not None:
                if event.kind == "started":
                    result.status, result.started = "running", _now()
                elif event.kind == "output" and (own := _own_error(event.line)):
                    said.setdefault(event.step.name, []).append(own)
                elif event.kind in ("finished", "failed"):
                    result.status, result.seconds = ("done" if event.kind == "finished" else "failed"), event.seconds
                    if event.error:
                        result.detail = event.error = _reason(event.error, said.get(event.step.name, []))
                        if drill.encryption and event.step.name.startswith(("prepare", "start")):
                            result.detail = event.error = f"{event.error}; {drill.encryption}"
        emit(event)

    find = results[FIND]
    find.status, find.seconds, find.started = "done", drill.find_seconds, drill.started
    emit(Event("finished", drill.steps[0], 1, seconds=drill.find_seconds))
    succeeded = False
    try:
        own(drill.steps[1], lambda: _set_up(drill))
        runner = Runner(drill.plan, Journal([drill.base / "journal.jsonl"]), on_event=relay, cancel=cancel)
        runner.run(drill.plan.steps)
        _read_verification(drill, report)
        succeeded = not any(t.check != "OK" for t in report.tables if t.check != "not checked")
        if not succeeded:
            report.error = "CHECK TABLE reported problems"
    except XtraRestoreError as error:
        failed = next((r for r in report.steps if r.status == "failed" and r.detail), None)
        report.error = f"{failed.title}: {failed.detail}" if failed else str(error)
    except (OSError, ValueError, KeyError) as error:
        report.error = f"{type(error).__name__}: {error}"
    finally:
        if not succeeded and drill.created:
            report.server["log"] = drill.sandbox.log_lines(LOG_LINES)  # the directory goes: keep its story
        if not report.tables and (drill.plan.workdir / "verify.json").exists():
            _read_verification(drill, report)  # a failed CHECK TABLE still shows which table
        elif report.roll_forward is None and drill.created:
            _read_roll_forward(drill, report)  # a failed roll-forward still names its stop point
        keep_running = keep and succeeded
        cleanup = drill.steps[-1]
        if keep:
            results[CLEANUP].title = cleanup.title = (
                "Keep the throwaway server running" if keep_running
                else "Stop the throwaway server, keep its directory"
            )
        own(cleanup, lambda: _clean_up(drill, keep_dir=keep, keep_running=keep_running))
        for result in report.steps:
            if result.status == "pending":
                result.status = "skipped"
        report.status = SUCCESS if succeeded else FAILED
        report.finished = _now()
        report.server.update(kept=keep_running, directory=str(drill.base) if keep else None)
        report.problems += [{"code": "check-table", "backup": None, "message": f"{t.schema}.{t.table}: {t.check}"}
                            for t in report.tables if t.check not in ("OK", "not checked")]
        if report.error and not succeeded:
            report.problems.append({"code": "drill-failed", "backup": None, "message": report.error})
    return report


def drill(root: Path, day: str | None, upto: str, *, key_file: Path | None = None, workroot: Path | None = None,
          keep: bool = False, on_event: Callable | None = None, cancel: threading.Event | None = None,
          server_config: Path | None = None, **roll_forward) -> DrillReport:
    """Plan and run a drill; a point that cannot be restored gives a failed report, nothing touched.

    *roll_forward* takes `plan_drill`'s until, skip, binlog_dirs, from_server and replay.
    """
    try:
        planned = plan_drill(root, day, upto, key_file=key_file, workroot=workroot, server_config=server_config,
                             **roll_forward)
    except XtraRestoreError as error:
        return refused_report(root, day or "", upto, error)
    return run_drill(planned, on_event=on_event, cancel=cancel, keep=keep)


def _own_error(line: str) -> str | None:
    """A step's own error line (`error: …` from our steps, `[ERROR] …` from mariabackup/mariadbd), unstamped."""
    line = line.strip()
    if line.startswith("error: "):
        return line.removeprefix("error: ")
    if "[ERROR]" in line:
        return "[ERROR]" + line.split("[ERROR]", 1)[1]
    return None


def _reason(error: str, said: list[str]) -> str:
    """A failed step's reason said once: its first own `error:` line, else the runner's summary."""
    first = next((line for line in said if line), None)
    if first is None:
        return error
    status = error.split(":", 1)[0] if error.startswith("exit status") else ""
    return f"{first} ({status})" if status else first


def refused_report(root: Path, day: str, upto: str, error: Exception) -> DrillReport:
    """The report of a drill refused before anything was created (a gap, a missing key…)."""
    code = "chain" if isinstance(error, ChainError) else "refused"
    return DrillReport(
        id=f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-refused", status=FAILED, started=_now(), finished=_now(),
        host=socket.gethostname(), root=str(root), day=day, upto=upto, error=str(error),
        problems=[{"code": code, "backup": upto, "message": str(error)}],
    )


# -- internals ---------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _set_up(drill: Drill) -> None:
    """The drill's own directory: 0711 so `mysql` reaches its server; the workspace stays 0700."""
    drill.base.mkdir(mode=0o711, parents=True)
    drill.created = True
    os.chmod(drill.base, 0o711)
    SandboxServer.awaiting_restore(drill.sandbox.base)
    drill.plan.workdir.mkdir(mode=0o700)


def _clean_up(drill: Drill, *, keep_dir: bool, keep_running: bool) -> None:
    """Stop the sandbox (by pid file, then by anything running its my.cnf) and remove it unless kept."""
    if not drill.created:
        return  # the directory was never ours (or never made): leave it alone
    if not keep_running:
        drill.sandbox.stop()
        for pid in drill.sandbox.server_processes():
            _terminate(pid)
    if not keep_dir:
        shutil.rmtree(drill.base, ignore_errors=True)
    else:
        shutil.rmtree(drill.plan.extracted, ignore_errors=True)


def _terminate(pid: int, timeout: float = 30.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read_verification(drill: Drill, report: DrillReport) -> None:
    data = json.loads((drill.plan.workdir / "verify.json").read_text())
    report.server["version"] = data.get("server_version")
    report.schemas = list(data.get("schemas", []))
    report.tables = [
        TableResult(t["schema"], t["name"], t["rows"] if t.get("rows") is not None else -1, t.get("engine"),
                    t.get("check") or "not checked")
        for t in data.get("tables", [])
    ]
    report.binlog = data.get("binlog")
    _read_roll_forward(drill, report)


def _read_roll_forward(drill: Drill, report: DrillReport) -> None:
    """The plan's stop point, with what the roll-forward step reached (when it ran)."""
    planned = getattr(drill.plan, "roll_forward", None)
    if not planned:
        return
    report.roll_forward = dict(planned)
    state = drill.plan.workdir / "rollforward.json"
    if state.exists():
        report.roll_forward.update(json.loads(state.read_text()).get("outcome") or {})


def _new_report(drill: Drill) -> DrillReport:
    members = [_member(m) for m in drill.point.members]
    target = members[-1]
    return DrillReport(
        id=drill.id, status="running", started=drill.started, host=socket.gethostname(), root=str(drill.root),
        day=drill.day, upto=drill.upto, tool=drill.plan.tool,
        restore_point={
            "day": drill.day, "upto": drill.upto, "time": target["time"],
            "from_lsn": members[0]["from_lsn"], "to_lsn": target["to_lsn"], "last_lsn": target["last_lsn"],
            "members": members,
        },
        server={"socket": str(drill.sandbox.socket), "datadir": str(drill.sandbox.datadir),
                "pid_file": str(drill.sandbox.pid_file)},
        problems=list(drill.problems),
    )


def _member(backup) -> dict:
    cp = getattr(backup, "checkpoints", None)
    stamp = getattr(backup, "timestamp", None)
    return {
        "name": backup.name,
        "type": getattr(backup, "kind", None),
        "time": stamp.isoformat(timespec="seconds") if stamp else None,
        "from_lsn": getattr(cp, "from_lsn", None),
        "to_lsn": getattr(cp, "to_lsn", None),
        "last_lsn": getattr(cp, "last_lsn", None),
        "size": getattr(backup, "size", None),
        "compression": getattr(backup, "compression", None),
        "encrypted": bool(getattr(backup, "encrypted", False)),
    }


def _chain_problems(point) -> list[dict]:
    """Problems the inventory found in the point's day (a gap or an interrupted backup after it…)."""
    chains = getattr(point.day, "chains", None) or [point.chain]
    return [
        {"code": p.code, "backup": getattr(p.backup, "name", p.backup), "message": p.message}
        for chain in chains
        for p in chain.problems
    ]
