"""The append-only restore journal, and what it says about where a restore stands.

Each record is one JSON line, flushed and fsynced before the step it describes
runs, so a kill or a dropped SSH session leaves an exact trail. The journal
lives in the workspace and, identically, in a state directory
(`/var/lib/xtrarestore/journal/` for root, `~/.local/state/xtrarestore/journal/`
otherwise) where `status` finds it even when the workspace is on another disk.
The first record holds the whole plan; `summarize` turns the records into a
`RestoreState` that says what resume and rollback would do.

Every record carries the kernel's boot id. The extracted copy is not synced to
disk (its write-back overlaps the next steps); if the machine restarted after
it was made and before copy-back finished, a resume makes it again.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..errors import XtraRestoreError
from ..files import open_regular
from .downtime import Downtime, measure
from .plan import SWAP, WORKSPACE, Plan

PENDING, RUNNING, OK, FAILED = "pending", "running", "ok", "failed"


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/xtrarestore")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "xtrarestore"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@functools.cache
def boot_id() -> str:
    """This boot's id (Linux; read once per process); empty where the kernel does not say."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


class Journal:
    """Append JSON lines to the workspace journal and its copy in the state directory."""

    def __init__(self, paths: list[Path]):
        self.paths = paths

    @classmethod
    def for_plan(cls, plan: Plan, state_dir: Path) -> Journal:
        return cls([plan.workdir / "journal.jsonl", journal_path(state_dir, plan.restore_id)])

    def append(self, record: dict) -> None:
        line = json.dumps({"time": now_iso(), "boot": boot_id(), **record}, sort_keys=True) + "\n"
        for path in self.paths:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)


def journal_path(state_dir: Path, restore_id: str) -> Path:
    return state_dir / "journal" / f"{restore_id}.jsonl"


def find_journal(state_dir: Path, restore_id: str | None = None) -> Path:
    """The journal of *restore_id*, or of the most recent restore."""
    if restore_id:
        path = journal_path(state_dir, restore_id)
        if not path.exists():
            raise XtraRestoreError(f"{path}: no journal for restore {restore_id}")
        return path
    journals = sorted((state_dir / "journal").glob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    if not journals:
        raise XtraRestoreError(f"{state_dir / 'journal'}: no restore journal found")
    return journals[-1]


def read_records(path: Path) -> list[dict]:
    records = []
    try:
        with open(open_regular(path), "rb") as journal:  # a FIFO or device in the state directory cannot hang us
            lines = journal.read().decode(errors="replace").splitlines()
    except OSError as error:
        raise XtraRestoreError(f"{path}: cannot read the journal: {error.strerror or error}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            # A torn last line is what a kill mid-write leaves; anything else is corruption.
            if number == len(lines):
                break
            raise XtraRestoreError(f"{path}: line {number} is not JSON") from None
    if not records or records[0].get("event") != "plan":
        raise XtraRestoreError(f"{path}: does not start with a plan record")
    return records


@dataclass
class StepState:
    name: str
    title: str
    phase: str
    status: str = PENDING
    started: str | None = None
    ended: str | None = None
    log: str | None = None
    error: str | None = None
    boot: str = ""  # the boot id its end record was written in


@dataclass
class RestoreState:
    """Where a restore stands, from its journal (and a look at the datadir and its sibling)."""

    plan: Plan
    steps: list[StepState]
    outcome: str | None = None
    rollback: list[StepState] = field(default_factory=list)
    extra: list[StepState] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    downtime: Downtime | None = None
    rollback_started: bool = False
    """A rollback began (it may not have finished): from then on only rollback is safe."""
    unended: list[dict] = field(default_factory=list)
    """`spawned` records (pid, pgid, start time) of this boot's steps that never journaled their end."""
    path: Path | None = None
    """The journal this state was read from, so an action can read it again at the moment it acts."""

    def status_of(self, name: str) -> str:
        """A step's status; a step this plan does not have (copy-back in a rename swap) never ran."""
        return next((s.status for s in self.steps if s.name == name), PENDING)

    @property
    def finished(self) -> bool:
        return self.outcome in ("completed", "rolled-back")

    @property
    def touched_live(self) -> bool:
        """Has any step that changes the live server started?"""
        return any(s.status != PENDING for s in self.steps if s.phase == SWAP)

    @property
    def moved_aside(self) -> bool:
        return self.plan.aside.exists()

    def current(self) -> StepState | None:
        """The step that was running or failed last, if any."""
        for s in reversed(self.steps):
            if s.status in (RUNNING, FAILED):
                return s
        return None

    def workspace_complete(self) -> bool:
        return all(s.status == OK for s in self.steps if s.phase == WORKSPACE)

    def copy_from_earlier_boot(self) -> bool:
        """Was the extracted copy, still needed, made before the machine last restarted?"""
        now = boot_id()
        made = [s.boot for s in self.steps if s.phase == WORKSPACE and s.status == OK]
        return self.status_of(self.plan.settled_by) != OK and any(b and now and b != now for b in made)

    def needs_fresh_copy(self) -> bool:
        """An unfinished extract/prepare, an unfinished move-back (which empties the prepared copy),
        or a copy made before a reboot (its files may never have reached the disk)."""
        moving = (any(s.name == "copy-back" and s.destructive for s in self.plan.steps)
                  and self.status_of("copy-back") in (RUNNING, FAILED))
        return moving or not self.workspace_complete() or self.copy_from_earlier_boot()

    def live_processes(self) -> list[tuple[int, str]]:
        """Processes of this restore's steps still running now (pid, command line)."""
        from .guard import live_processes

        return live_processes(self.plan.restore_id, self.unended)

    def refusal(self, action: str, live: list[tuple[int, str]] | None = None) -> str | None:
        """Why *action* ("resume" or "rollback") is not safe from this state, or None when it is."""
        plan = self.plan
        live = self.live_processes() if live is None else live
        if live:
            shown = ", ".join(f"pid {pid} ({command[:120]})" for pid, command in live[:3])
            more = f" and {len(live) - 3} more" if len(live) > 3 else ""
            return (f"restore {plan.restore_id}: step processes still run: {shown}{more}; "
                    "wait until they end (or stop them) before acting")
        if self.outcome == "rolled-back" or (action == "resume" and self.finished):
            return f"restore {plan.restore_id} is already {self.outcome}; nothing to do"
        if action == "rollback" and self.outcome == "completed" and not plan.aside.exists():
            return (f"{plan.aside}: the previous datadir is no longer there; nothing to roll back to "
                    f"({plan.datadir} keeps the restored data)")
        if action == "resume":
            if self.rollback_started:
                return (f"restore {plan.restore_id}: a rollback has started; resuming could move the old "
                        "datadir aside again — finish the rollback with --rollback")
            if (self.status_of("copy-back") in (RUNNING, FAILED) and plan.datadir.exists()
                    and not plan.aside.exists()):
                return (f"{plan.datadir}: the restore's copy-back did not finish but the previous datadir is not "
                        f"at {plan.aside}; {plan.datadir} may hold the real data — refusing to set it aside")
        return None

    def offers(self, live: list[tuple[int, str]] | None = None) -> list[str]:
        """The actions safe from the state on disk now, in the order `status` shows them."""
        live = self.live_processes() if live is None else live
        return [action for action in ("resume", "rollback") if self.refusal(action, live) is None]

    def describe(self, *, running: bool = False, live: list[tuple[int, str]] | None = None) -> list[str]:
        """Plain sentences: what happened, what is on disk, and the actions safe from there.

        *running* says a restore holds the host lock right now, so a started
        step is in progress rather than interrupted; *live* are step processes
        still running (looked up when not given).
        """
        plan = self.plan
        out = [f"restore {plan.restore_id}: day {plan.day}, up to {plan.upto}; datadir {plan.datadir}"]
        marks = {"ok": "done", "failed": "FAILED", "running": "RUNNING" if running else "INTERRUPTED",
                 "pending": "not run"}
        for number, s in enumerate(self.steps, 1):
            line = f"  {number:2d}. {marks[s.status]:<11} {s.title}"
            if s.error:
                line += f" — {s.error}"
            out.append(line)
        for label, extra in (("resume", self.extra), ("rollback", self.rollback)):
            for s in extra:
                out.append(f"      {label} {s.status:<8} {s.title}" + (f" — {s.error}" if s.error else ""))
        out += [f"  note: {n}" for n in self.notes]
        if self.downtime is not None:
            out.append(self.downtime.line())
        if running:
            out.append("A restore is running now (it holds the host lock); run status again to follow it.")
            return out
        live = self.live_processes() if live is None else live
        if live:
            out.append("Step processes of this restore are still running (nothing may act until they end):")
            out += [f"  pid {pid}: {command[:200]}" for pid, command in live]
            return out
        if self.outcome == "completed":
            if not plan.aside.exists():
                out.append(f"The restore completed. The previous datadir is gone from {plan.aside}: "
                           "there is nothing to roll back to.")
                return out
            out.append(f"The restore completed. The previous datadir is kept at {plan.aside}: "
                       f"`xtrarestore status --id {plan.restore_id} --rollback` brings it back. Once the restored "
                       f"data is confirmed, removing it (and the workspace {plan.workdir}) frees the space.")
            return out
        if self.outcome == "rolled-back":
            out.append(f"Rolled back: {plan.datadir} holds the previous data again and the server was started.")
            return out
        cur = self.current()
        if cur is not None:
            how = "was interrupted during" if cur.status == RUNNING else "failed at"
            out.append(f"The restore {how} step '{cur.title}'" + (f" (log: {cur.log})." if cur.log else "."))
        if self.copy_from_earlier_boot():
            out.append("The machine restarted after the extracted copy was made: it is not trusted.")
        if not self.touched_live:
            out.append("The live server and datadir were not touched.")
        elif self.moved_aside:
            exists = "exists" if plan.datadir.exists() else "does not exist"
            out.append(f"The previous datadir is at {plan.aside}; {plan.datadir} {exists}.")
        else:
            out.append(f"The live datadir is still in place at {plan.datadir} (not moved).")
        offers = self.offers(live)
        if "resume" in offers:
            out.append("resume would: " + "; ".join(resume_summary(self)))
        else:
            out.append(f"resume is not offered: {self.refusal('resume', live)}")
        out.append("rollback would: " + "; ".join(rollback_summary(self)))
        return out


def resume_summary(state: RestoreState) -> list[str]:
    if state.needs_fresh_copy():
        return ["discard the extracted copy", "extract and prepare again from the source backups",
                "then run every remaining step"]
    todo = [s for s in state.steps if s.status != OK]
    out = []
    if state.status_of("copy-back") in (RUNNING, FAILED):
        out.append(f"set the partial copy in {state.plan.datadir} aside (renamed, not deleted)")
    out += [s.title for s in todo]
    return out or ["nothing: every step is done"]


def rollback_summary(state: RestoreState) -> list[str]:
    plan = state.plan
    if not state.moved_aside:
        if state.status_of("stop") == PENDING:
            return [f"nothing on the server: only discard the extracted copy in {plan.extracted}"]
        return ["start the server on its untouched datadir"]
    out = ["stop the server if it runs"]
    if plan.datadir.exists():
        out.append(f"rename {plan.datadir} to {plan.datadir.name}.failed-restore-<stamp>")
    out += [f"rename {plan.aside} back to {plan.datadir}", "start the server and wait until it answers"]
    return out


def summarize(records: list[dict]) -> RestoreState:
    plan = Plan.from_dict(records[0]["plan"])
    steps = {s.name: StepState(s.name, s.title, s.phase) for s in plan.steps}
    state = RestoreState(plan, list(steps.values()))
    rollback: dict[str, StepState] = {}
    extra: dict[str, StepState] = {}  # steps a resume added (setting a partial copy aside)
    spawned: dict[tuple, dict] = {}  # (mode, step) -> its last spawned record, dropped at its end
    for record in records[1:]:
        event = record.get("event")
        name = record.get("step")
        if event == "spawned" and record.get("boot") == boot_id():
            spawned[(record.get("mode"), name)] = record
        elif event == "end":
            spawned.pop((record.get("mode"), name), None)
        table = rollback if record.get("mode") == "rollback" else steps if name in steps else extra
        if event == "start":
            if name not in table:
                table[name] = StepState(name, record.get("title", name), record.get("phase", ""))
            table[name].status, table[name].started, table[name].log = RUNNING, record["time"], record.get("log")
            table[name].title = record.get("title", table[name].title)  # a later attempt may use another command
            table[name].ended = table[name].error = None
        elif event == "end":
            entry = table[name]
            entry.status, entry.ended, entry.error = record["status"], record["time"], record.get("error")
            entry.boot = record.get("boot", "")
        elif event == "reset":
            # The extracted copy is gone: what was done in it no longer counts.
            for entry in steps.values():
                if entry.phase == WORKSPACE and entry.status in (OK, RUNNING):
                    entry.status = PENDING
        elif event in ("resume", "rollback"):
            state.outcome = None
            state.rollback_started = state.rollback_started or event == "rollback"
        elif event == "note":
            state.notes.append(record["message"])
        elif event == "outcome":
            state.outcome = record["outcome"]
    state.rollback = list(rollback.values())
    state.extra = list(extra.values())
    state.downtime = measure(records)
    state.unended = list(spawned.values())
    return state


def load_state(path: Path) -> RestoreState:
    records = read_records(path)
    try:
        state = summarize(records)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise XtraRestoreError(f"{path}: not a journal this version can read ({type(error).__name__}: {error})"
                               ) from None
    state.path = path
    return state
