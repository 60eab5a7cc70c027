"""Start, resume and roll back a restore, always through the runner and the journal.

Resume continues from what the journal proves was done: an extraction or
prepare that did not finish means the whole extracted copy is discarded and
rebuilt from the source backups (an incremental is never applied twice); a
copy-back that did not finish has its partial datadir renamed aside (not
deleted) and starts over. Rollback puts the previous datadir back and starts
the server on it; the restored datadir is kept as `…failed-restore-<stamp>`;
when the live server was never touched it only discards the extracted copy.

Both read the journal again when they act (under the restore's locks), not
the summary shown before the confirmation, and refuse when that state says
the action is unsafe: a step process still runs, or (for resume) a rollback
has started. Each derives its steps from the journal and the directories on
disk, so repeating it after it was itself killed carries on where it stopped.
"""

from __future__ import annotations

from ..errors import PreconditionError, StepFailedError
from .journal import FAILED, OK, PENDING, RUNNING, RestoreState, load_state
from .plan import SWAP, WORKSPACE, Plan, Step, utc_stamp
from .runner import Runner


def _finish(runner: Runner, steps: list[Step], mode: str, success: str) -> None:
    try:
        runner.run(steps, mode=mode)
    except StepFailedError:
        runner.journal.append({"event": "outcome", "outcome": "failed" if mode == "restore" else "rollback-failed"})
        raise
    note_downtime(runner)
    runner.journal.append({"event": "outcome", "outcome": success})


def note_downtime(runner: Runner) -> None:
    """Journal the measured downtime (stop → answering) as a record of its own."""
    from .downtime import downtime_record
    from .journal import read_records

    record = downtime_record(read_records(runner.journal.paths[-1]))
    if record is not None:
        runner.journal.append(record)


def start(plan: Plan, runner: Runner) -> None:
    """Journal the plan, then run every step."""
    runner.journal.append({"event": "plan", "plan": plan.to_dict()})
    _finish(runner, plan.steps, "restore", "completed")


def _rename_step(plan: Plan, name: str, title: str, src, dst) -> Step:
    return Step(name, title, [plan.stepper, "rename", str(src), str(dst)], phase=SWAP, privileged=True,
                source=str(src), target=str(dst))


def _start_before_server_steps(plan: Plan, todo: list[Step]) -> None:
    """Roll-forward and verify talk to the restored server: after a reboot it may be down, so a resume starts
    it first (the start step does nothing when the server already answers)."""
    names = [s.name for s in plan.steps]
    if "start" not in names or plan.step("start") in todo:
        return
    after = set(names[names.index("start") + 1:])
    first = next((i for i, s in enumerate(todo) if s.name in after), None)
    if first is not None:
        todo.insert(first, plan.step("start"))


def resume_steps(state: RestoreState) -> list[Step]:
    """The steps a resume runs, in order (see module docstring)."""
    plan = state.plan
    if state.finished:
        return []
    if state.needs_fresh_copy():
        todo = [s for s in plan.steps if s.phase == WORKSPACE or state.status_of(s.name) != OK]
    else:
        todo = [s for s in plan.steps if state.status_of(s.name) != OK]
    swap_left = {s.name for s in todo if s.phase == SWAP} & {"move-aside", "create-datadir", "copy-back", "chown",
                                                             "swap-in"}
    if swap_left and plan.step("stop") not in todo:
        first_swap = next(i for i, s in enumerate(todo) if s.phase == SWAP)
        todo.insert(first_swap, plan.step("stop"))
    _start_before_server_steps(plan, todo)
    if state.status_of("copy-back") in (RUNNING, FAILED) and plan.datadir.exists() and plan.aside.exists():
        partial = plan.datadir.with_name(f"{plan.datadir.name}.partial-restore-{utc_stamp()}")
        at = todo.index(plan.step("copy-back"))
        todo[at:at] = [
            _rename_step(plan, "partial-aside", f"Set the partial copy aside as {partial.name}", plan.datadir, partial),
            plan.step("create-datadir"),
        ]
    return todo


def rollback_steps(state: RestoreState) -> list[Step]:
    """Stop, keep the restored datadir as `.failed-restore-<stamp>`, rename the old one back, start."""
    plan = state.plan
    stop, start_ = plan.step("stop"), plan.step("start")
    if not plan.aside.exists():
        return [] if state.status_of("stop") == PENDING else [start_]
    steps = [stop]
    if plan.datadir.exists():
        failed = plan.datadir.with_name(f"{plan.datadir.name}.failed-restore-{utc_stamp()}")
        steps.append(_rename_step(plan, "failed-aside", f"Keep the restored datadir as {failed.name}",
                                  plan.datadir, failed))
    steps.append(_rename_step(plan, "swap-back", f"Rename {plan.aside.name} back to {plan.datadir.name}",
                              plan.aside, plan.datadir))
    steps.append(start_)
    return steps


def current(state: RestoreState, action: str, runner: Runner) -> RestoreState:
    """*state* read again from its journal now, with the runner's plan; raise when *action* is unsafe."""
    if state.path is not None:
        state = load_state(state.path)
    state.plan = runner.plan  # the same plan, maybe with the operator's service override
    why = state.refusal(action)
    if why:
        raise PreconditionError(f"{why}; nothing was touched")
    return state


def resume(state: RestoreState, runner: Runner) -> None:
    state = current(state, "resume", runner)
    runner.journal.append({"event": "resume"})
    steps = resume_steps(state)
    if state.needs_fresh_copy():
        why = "made before the machine restarted" if state.copy_from_earlier_boot() else "not completely prepared"
        runner.discard_workspace(f"resuming: the extracted copy was {why}; extracting it again")
    _finish(runner, steps, "restore", "completed")


def rollback(state: RestoreState, runner: Runner) -> None:
    state = current(state, "rollback", runner)
    runner.journal.append({"event": "rollback"})
    steps = rollback_steps(state)
    if not steps and not state.moved_aside:
        runner.discard_workspace("rolled back before the live server was touched")
    _finish(runner, steps, "rollback", "rolled-back")
