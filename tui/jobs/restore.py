"""The console's restore: the CLI's plan, run through the core runner, journal and recovery.

Nothing here decides how to restore. The plan and its checks come from the
same `prepare` the `plan`/`restore` commands use; the steps run through
`core.recovery` (start, resume, rollback), which journals every step. This
module only adapts that to the run screen: a thread-safe event callback, a
host lock held while steps run, and "stop after the running step" for quit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

DEFAULT_TARGET = {
    "datadir": "/var/lib/mysql",
    "service": "auto",
    "socket": "/run/mysqld/mysqld.sock",
}
TARGET_OPTIONS = (
    "datadir", "service", "stop_cmd", "start_cmd", "socket", "host", "port", "defaults_file", "error_log",
    "server_config", "workdir", "state_dir", "move_back", "stop_timeout", "start_timeout", "extract_jobs",
)


def target_options(settings, point, stop=None) -> dict:
    """The `plan` command's options for this point and the console's restore target (and stop point)."""
    given = {k: v for k, v in (settings.target_options or {}).items() if v is not None}
    given.setdefault("datadir", DEFAULT_TARGET["datadir"])
    if not (given.get("socket") or given.get("host")):
        given["socket"] = DEFAULT_TARGET["socket"]
    if not (given.get("service") or given.get("stop_cmd") or given.get("start_cmd")):
        given["service"] = DEFAULT_TARGET["service"]
    options = {**given, "root": str(settings.root), "key_file": settings.key_file,
               "day": point.day.name, "upto": point.target.name}
    if stop is not None:
        options.update(until=stop.until, skip=tuple(stop.skip),
                       binlog_dir=[str(d) for d in getattr(settings, "binlog_dirs", None) or ()])
    return options


def build(settings, point, stop=None):
    """The planned restore of *point* (plan, checks…), exactly as `xtrarestore plan` builds it."""
    from xtrarestore.core.restore.request import plan_restore

    from ..commands.plan import request_from

    request = request_from(target_options(settings, point, stop))
    return plan_restore(request), request.state_dir


class RestoreJob:
    """One restore shown on the run screen: run, then retry (resume) or roll back."""

    kind = "restore"

    def __init__(self, settings, plan, point, state_dir: Path | None, *,
                 clock: Callable[[], float] = time.monotonic, password=None):
        """*password* is the checked sudo `Password` (None when root or nothing is privileged)."""
        from xtrarestore.core.restore.journal import default_state_dir

        self.settings = settings
        self.plan = plan
        self.point = point
        self.state_option = state_dir
        self.state_dir = state_dir or default_state_dir()
        self.clock = clock
        self.password = password  # a core.privileges.Password: held in memory only, never printed
        self.steps = list(plan.steps)
        self.title = f"Restore {plan.day} up to {plan.upto} into {plan.datadir}"
        self.running = False
        self.current_title: str | None = None
        self.cancel = threading.Event()
        self.stop_requested = False

    # -- what the run screen calls ----------------------------------------------

    def prepare(self) -> list:
        """The plan was built and confirmed before the job: its steps are known."""
        return self.steps

    def run(self, emit) -> None:
        from xtrarestore.core.restore import recovery

        with self._runner(emit) as runner:
            recovery.start(self.plan, runner)

    def retry(self, emit) -> None:
        from xtrarestore.core.restore import recovery

        if not self.started():  # refused before its first step (another restore held the lock): start again
            return self.run(emit)
        state = self.state()
        with self._runner(emit) as runner:
            recovery.resume(state, runner)

    def rollback(self, emit) -> None:
        from xtrarestore.core.restore import recovery

        state = self.state()
        with self._runner(emit) as runner:
            recovery.rollback(state, runner)

    def stop_after_step(self) -> None:
        """Let the running step finish, then stop before the next one (journaled)."""
        self.stop_requested = True

    def note_hangup(self) -> None:
        """Journal that the operator's terminal hung up (the restore carries on)."""
        from xtrarestore.core.restore.journal import Journal
        from xtrarestore.core.restore.runner import HANGUP_NOTE

        journal = Journal.for_plan(self.plan, self.state_dir)
        if all(path.exists() for path in journal.paths):  # not before the restore's own first record
            journal.append({"event": "note", "message": HANGUP_NOTE})

    def started(self) -> bool:
        """Whether the restore got as far as its journal (a refused start, such as a busy lock, did not)."""
        return self.journal_path().exists()

    def can_retry(self) -> bool:
        return not self.started() or "resume" in self.state().offers()

    def can_rollback(self) -> bool:
        if not self.started():
            return False
        state = self.state()
        return state.outcome != "rolled-back" and state.touched_live and not state.live_processes()

    def has_result(self) -> bool:
        return self.started() and self.state().outcome in ("completed", "rolled-back")

    def retry_resets(self, failed: str | None) -> list[str]:
        from xtrarestore.core.restore.recovery import resume_steps

        if not self.started():
            return [step.name for step in self.steps]
        return [step.name for step in resume_steps(self.state())]

    def rollback_summary(self) -> str:
        from xtrarestore.core.restore.journal import rollback_summary
        from xtrarestore.core.shown import shown

        return "Rollback will:\n" + "".join(f"  - {shown(line)}\n" for line in rollback_summary(self.state()))

    def failure_advice(self) -> str:
        if not self.started():
            return "Nothing was started: the live server and datadir were not touched."
        state = self.state()
        if not state.touched_live:
            return "The live server and datadir were not touched."
        if state.moved_aside:
            return f"The previous datadir is kept at {self.plan.aside}."
        return f"The live datadir is still in place at {self.plan.datadir}."

    def log_path(self, step: str) -> Path | None:
        if not self.started():
            return None
        entry = next((s for s in self.state().steps + self.state().rollback if s.name == step), None)
        return Path(entry.log) if entry and entry.log else None

    def journal_path(self) -> Path:
        from xtrarestore.core.restore.journal import journal_path

        return journal_path(self.state_dir, self.plan.restore_id)

    def state(self):
        from xtrarestore.core.restore.journal import load_state

        return load_state(self.journal_path())

    # -- internals -----------------------------------------------------------------

    def _runner(self, emit):
        return _LockedRunner(self, emit)


class _LockedRunner:
    """Holds the host's and datadir's locks while a runner works; turns "stop after step" into the runner's cancel."""

    def __init__(self, job: RestoreJob, emit) -> None:
        self.job = job
        self.emit = emit

    def __enter__(self):
        from xtrarestore.core.restore.journal import Journal
        from xtrarestore.core.restore.lock import RestoreLock
        from xtrarestore.core.restore.runner import Runner

        job = self.job
        job.cancel.clear()
        self.lock = RestoreLock(job.plan.datadir, job.plan.restore_id, job.journal_path()).acquire()
        journal = Journal.for_plan(job.plan, job.state_dir)
        return Runner(job.plan, journal, on_event=self.on_event, cancel=job.cancel,
                      password=job.password, keep_fds=self.lock.fds)

    def on_event(self, event) -> None:
        if event.kind in ("finished", "failed") and self.job.stop_requested:
            self.job.cancel.set()
        self.emit(event)

    def __exit__(self, *exc) -> None:
        self.lock.release()
