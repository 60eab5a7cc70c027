"""Execute a plan's steps with pexpect, stream their output as events, journal everything.

Each step runs in a pseudo-terminal of its own (so tools flush line by line and
sudo can ask for its password), in its own session (so a hang-up of the
operator's terminal does not reach it), under a guard that kills the step's
whole process group if this process dies (guard.py); the guard's pid, process
group and start time are journaled so `status` can tell whether a step of an
interrupted restore still runs. The runner ignores SIGHUP while it
runs: when the SSH session drops, the current step finishes, its outcome is
journaled and the plan carries on, with output going only to the log files.

A step succeeds when it exits 0 and, if it is a backup-tool or extraction step,
printed `completed OK!`. When a workspace step (extract, prepare, LSN check)
fails, the extracted copy is discarded: a half-prepared copy is never re-used.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pexpect

from ..errors import StepFailedError
from ..programs import OK_LINE
from .entry import step_program
from .guard import guard_argv, proc_stat
from .journal import Journal
from .plan import WORKSPACE, Plan, Step
from .privileges import Password, is_root, new_prompt, sudo_prefix
from .ptyspawn import spawn

HANGUP_NOTE = "terminal hung up (SIGHUP); carrying on, output goes to the log files only"
_LINE_END = re.compile(r"\r\n|\n|\r")


@dataclass
class Event:
    """Something the console or CLI may show: kind is started/output/progress/finished/failed/note."""

    kind: str
    step: Step | None = None
    index: int = 0
    line: str = ""
    progress: str = ""
    error: str = ""
    seconds: float = 0.0


class Runner:
    """Runs steps of *plan* in order, journaling to *journal*, reporting to *on_event*."""

    def __init__(self, plan: Plan, journal: Journal, *, on_event: Callable[[Event], None] | None = None,
                 password: Password | None = None, cancel: threading.Event | None = None,
                 keep_fds: list[int] | None = None):
        """*keep_fds* (the restore's lock descriptors) are inherited by each step's guard."""
        self.plan = plan
        self.journal = journal
        self.on_event = on_event or (lambda event: None)
        self.password = password
        self.cancel = cancel or threading.Event()
        self.hung_up = False
        self.keep_fds = list(keep_fds or [])

    # -- public -------------------------------------------------------------

    def run(self, steps: list[Step], *, mode: str = "restore") -> None:
        """Run *steps* in order; raise StepFailedError at the first failure (after journaling it)."""
        restore = self._catch_hangup()
        try:
            for index, step in enumerate(steps, 1):
                if self.cancel.is_set():
                    self.note(f"cancelled before step '{step.title}'")
                    raise StepFailedError(f"restore {self.plan.restore_id}: cancelled before '{step.title}'")
                self.run_step(step, index, mode=mode)
        finally:
            restore()

    def note(self, message: str) -> None:
        self.journal.append({"event": "note", "message": message})
        self._emit(Event("note", line=message))

    def run_step(self, step: Step, index: int, *, mode: str = "restore") -> None:
        log_dir = self.plan.workdir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        prefix = "rollback-" if mode == "rollback" else ""
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", step.name)
        log_path = log_dir / f"{prefix}{index:02d}-{safe}.log"
        attempt = 1
        while log_path.exists():  # a resumed step keeps the log of its earlier attempt
            attempt += 1
            log_path = log_dir / f"{prefix}{index:02d}-{safe}.{attempt}.log"
        self.journal.append({"event": "start", "mode": mode, "step": step.name, "title": step.title,
                             "phase": step.phase, "command": self._scrub(step.command), "log": str(log_path)})
        self._emit(Event("started", step, index))
        began = time.monotonic()
        try:
            status, saw_ok, last = self._execute(step, log_path, index, mode)
        except StepFailedError as error:
            status, saw_ok, last = -1, False, str(error)
        seconds = time.monotonic() - began
        error = None
        if status != 0:
            error = f"exit status {status}" + (f": {last}" if last else "")
        elif step.expect_ok and not saw_ok:
            error = f"no '{OK_LINE}' in its output" + (f" (last line: {last})" if last else "")
        self.journal.append({"event": "end", "mode": mode, "step": step.name, "status": "failed" if error else "ok",
                             "exit": status, "error": self._scrub(error) if error else None,
                             "seconds": round(seconds, 3)})
        if error:
            self._emit(Event("failed", step, index, error=error, seconds=seconds))
            if step.phase == WORKSPACE and mode == "restore":
                self.discard_workspace(f"step '{step.title}' failed; a resume extracts it again")
            raise StepFailedError(f"{log_path}: step '{step.title}' failed: {self._scrub(error)}")
        self._emit(Event("finished", step, index, seconds=seconds))

    def discard_workspace(self, why: str) -> None:
        """Delete our extracted copy (never a source backup): it must not be prepared again."""
        if self.plan.extracted.exists():
            shutil.rmtree(self.plan.extracted)
        self.journal.append({"event": "reset"})
        self.note(f"discarded the extracted copy {self.plan.extracted} ({why})")

    # -- internals ----------------------------------------------------------

    def _argv(self, step: Step) -> tuple[list[str], str | None]:
        guarded = guard_argv(step_program(), self.plan.restore_id, list(step.argv))  # this install's guard
        if step.privileged and not is_root():
            prompt = new_prompt()
            return [*sudo_prefix(prompt), *guarded], prompt
        return guarded, None

    def _execute(self, step: Step, log_path: Path, index: int, mode: str) -> tuple[int, bool, str]:
        argv, prompt = self._argv(step)
        saw_ok = False
        last = ""
        answered = 0
        deadline = time.monotonic() + step.timeout if step.timeout else None
        child = spawn(argv[0], argv[1:], echo=False, encoding="utf-8", codec_errors="replace",
                      timeout=None, dimensions=(50, 250), env={**os.environ, "LC_ALL": "C"},
                      pass_fds=self.keep_fds)
        stat = proc_stat(child.pid)
        self.journal.append({"event": "spawned", "mode": mode, "step": step.name, "pid": child.pid,
                             "pgid": child.pid, "started": stat[2] if stat else 0,
                             "command": self._scrub(shlex.join(argv))})
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as log:
                log.write(f"$ {self._scrub(step.command)}\n")
                pending = ""
                while True:
                    try:
                        chunk = child.read_nonblocking(65536, timeout=0.5)
                    except pexpect.TIMEOUT:
                        chunk = ""
                    except pexpect.EOF:
                        child.wait()
                        break
                    pending += chunk
                    *lines, pending = _LINE_END.split(pending)
                    for line in lines:
                        line = self._scrub(line)
                        log.write(line + "\n")
                        if line.strip() == OK_LINE or line.rstrip().endswith(OK_LINE):
                            saw_ok = True
                        if line.strip():
                            last = line.strip()
                        self._emit_line(step, index, line)
                    if prompt and pending.endswith(prompt):
                        pending = ""
                        answered += 1
                        if self.password is None or answered > 1:
                            _kill(child)
                            why = "wrong sudo password" if answered > 1 else "sudo asked for a password"
                            raise StepFailedError(f"{step.name}: {why}")
                        child.sendline(self.password.reveal())
                    if deadline and time.monotonic() > deadline:
                        _kill(child)
                        raise StepFailedError(f"{step.name}: no result after {step.timeout:.0f}s")
                    if self.cancel.is_set() and step.phase == WORKSPACE:
                        _kill(child)
                        raise StepFailedError(f"{step.name}: cancelled")
                if pending:
                    log.write(self._scrub(pending) + "\n")
                    if pending.strip().endswith(OK_LINE):
                        saw_ok = True
                    last = self._scrub(pending.strip()) or last
                log.flush()
        finally:
            if not child.isalive():
                child.ptyproc.delayafterclose = 0  # reaped already: skip pexpect's 0.1 s grace sleep
            child.close()
        status = child.exitstatus if child.exitstatus is not None else 128 + (child.signalstatus or 0)
        return status, saw_ok, last

    def _emit_line(self, step: Step, index: int, line: str) -> None:
        if line.startswith("progress "):
            self._emit(Event("progress", step, index, progress=line[len("progress "):]))
        else:
            self._emit(Event("output", step, index, line=line))

    def _emit(self, event: Event) -> None:
        if self.hung_up and event.kind in ("output", "progress"):
            return
        try:
            self.on_event(event)
        except OSError:
            self._detach_terminal()

    def _scrub(self, text: str) -> str:
        if self.password is not None and self.password.reveal() and self.password.reveal() in text:
            return text.replace(self.password.reveal(), "***")
        return text

    def _catch_hangup(self) -> Callable[[], None]:
        """Keep going when the terminal hangs up; return a function restoring the old handler."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = signal.signal(signal.SIGHUP, self._on_hangup)
        return lambda: signal.signal(signal.SIGHUP, previous)

    def _on_hangup(self, signum, frame) -> None:
        """The operator's terminal is gone: journal it once and carry on, writing to the log files only."""
        if not self.hung_up:
            self._detach_terminal()
            self.journal.append({"event": "note", "message": HANGUP_NOTE})

    def _detach_terminal(self) -> None:
        self.hung_up = True
        detach_terminal()


def _kill(child: pexpect.spawn) -> None:
    """End a step and everything it started: SIGKILL its process group, or (under sudo) ask its guard."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (PermissionError, ProcessLookupError):
        child.terminate(force=True)


def detach_terminal() -> None:
    """Point stdout/stderr at /dev/null and stdin at a pipe nobody writes to.

    After a hang-up, writes to the dead terminal fail or block, and reads from it
    return end-of-file at once (a busy loop for anything polling its input); the
    pipe's write end is left open on purpose so reads simply wait.
    """
    idle, _writer = os.pipe()
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(idle, 0)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(idle)
    os.close(null)
