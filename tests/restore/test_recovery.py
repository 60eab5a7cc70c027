"""Where a journal says a restore stands, and what resume and rollback then run."""

from __future__ import annotations

from plan_support import POINT, journal_with, ok_before, plan_for
from xtrarestore.core.restore import recovery
from xtrarestore.core.restore.journal import Journal, boot_id, load_state, read_records, summarize
from xtrarestore.core.restore.service import ServiceControl


def test_killed_after_move_aside_status_resume_and_rollback(tmp_path):
    plan = plan_for(tmp_path, copy_back=True)
    done = ok_before(plan, "create-datadir")  # up to move-aside
    journal = journal_with(tmp_path, plan, *done, ("create-datadir", None))
    plan.datadir.rename(plan.aside)  # what the move-aside did
    state = load_state(journal.paths[1])
    assert state.status_of("move-aside") == "ok" and state.status_of("create-datadir") == "running"
    text = "\n".join(state.describe())
    assert "interrupted during step 'Create an empty" in text
    assert f"The previous datadir is at {plan.aside}; {plan.datadir} does not exist." in text
    assert [s.name for s in recovery.resume_steps(state)] == ["stop", "create-datadir", "copy-back", "chown",
                                                              "start", "verify"]
    rollback = recovery.rollback_steps(state)
    assert [s.name for s in rollback] == ["stop", "swap-back", "start"]
    assert rollback[1].argv[-2:] == [str(plan.aside), str(plan.datadir)]


def test_interrupted_copy_back_sets_the_partial_copy_aside(tmp_path):
    plan = plan_for(tmp_path, copy_back=True)
    journal = journal_with(tmp_path, plan, *ok_before(plan, "copy-back"), ("copy-back", None))
    plan.aside.mkdir()
    state = load_state(journal.paths[0])
    steps = recovery.resume_steps(state)
    assert [s.name for s in steps][:4] == ["stop", "partial-aside", "create-datadir", "copy-back"]
    assert ".partial-restore-" in steps[1].argv[-1]
    assert [s.name for s in recovery.rollback_steps(state)] == ["stop", "failed-aside", "swap-back", "start"]


def test_unfinished_prepare_is_redone_from_a_fresh_extraction(tmp_path):
    plan = plan_for(tmp_path)
    last_prepare = f"prepare:{POINT.members[-1].name}"
    journal = journal_with(tmp_path, plan, *ok_before(plan, last_prepare), (last_prepare, None))
    state = load_state(journal.paths[0])
    assert not state.workspace_complete() and not state.touched_live
    assert [s.name for s in recovery.resume_steps(state)] == [s.name for s in plan.steps]
    assert recovery.rollback_steps(state) == []
    assert "The live server and datadir were not touched." in state.describe()


def test_a_copy_made_before_a_reboot_is_made_again(tmp_path):
    plan = plan_for(tmp_path, copy_back=True)
    journal = Journal.for_plan(plan, tmp_path / "state")
    journal.append({"event": "plan", "plan": plan.to_dict()})
    for name, _ in ok_before(plan, "stop"):  # extracted and prepared in an earlier boot
        journal.append({"event": "start", "step": name, "mode": "restore"})
        journal.append({"event": "end", "step": name, "status": "ok", "mode": "restore", "boot": "an-earlier-boot"})
    state = load_state(journal.paths[0])
    assert state.workspace_complete() and state.copy_from_earlier_boot()
    assert [s.name for s in recovery.resume_steps(state)] == [s.name for s in plan.steps]
    assert "The machine restarted after the extracted copy was made: it is not trusted." in state.describe()
    for name in ("stop", "move-aside", "create-datadir", "copy-back"):  # once copied back, the copy is spent
        journal.append({"event": "start", "step": name, "mode": "restore"})
        journal.append({"event": "end", "step": name, "status": "ok", "mode": "restore"})
    state = load_state(journal.paths[0])
    assert not state.copy_from_earlier_boot()
    assert [s.name for s in recovery.resume_steps(state)] == ["stop", "chown", "start", "verify"]


def test_same_boot_copy_is_trusted(tmp_path):
    plan = plan_for(tmp_path)
    state = load_state(journal_with(tmp_path, plan, *ok_before(plan, "stop")).paths[0])
    assert state.steps[0].boot == boot_id() != "" and not state.copy_from_earlier_boot()
    assert next(s.name for s in recovery.resume_steps(state)) == "stop"


def test_discarded_copy_forgets_its_done_steps(tmp_path):
    plan = plan_for(tmp_path)
    journal = journal_with(tmp_path, plan, (plan.steps[0].name, "ok"), (plan.steps[3].name, "failed"))
    journal.append({"event": "reset"})
    state = summarize(read_records(journal.paths[0]))
    assert state.status_of(plan.steps[0].name) == "pending"
    assert state.status_of(plan.steps[3].name) == "failed"


def test_torn_last_journal_line_is_tolerated(tmp_path):
    plan = plan_for(tmp_path)
    journal = journal_with(tmp_path, plan, (plan.steps[0].name, "ok"))
    with open(journal.paths[0], "a") as f:
        f.write('{"event": "sta')
    assert load_state(journal.paths[0]).status_of(plan.steps[0].name) == "ok"


def test_rollback_can_use_a_fixed_start_command(tmp_path):
    plan = plan_for(tmp_path).with_service(ServiceControl("custom", stop_cmd="stop2", start_cmd="start2"))
    start = plan.step("start").argv
    assert start[start.index("--start-cmd") + 1] == "start2" and plan.service["start_cmd"] == "start2"
    assert [s.name for s in plan.steps][-2:] == ["start", "verify"]


def test_interrupted_move_back_needs_a_fresh_copy(tmp_path):
    plan = plan_for(tmp_path, copy_back=True, move_back=True)
    journal = journal_with(tmp_path, plan, *ok_before(plan, "copy-back"), ("copy-back", None))
    plan.aside.mkdir()
    names = [s.name for s in recovery.resume_steps(load_state(journal.paths[0]))]
    workspace = [name for name, _ in ok_before(plan, "stop")]
    assert names[:len(workspace)] == workspace  # extract and prepare again, server still down
    assert names[len(workspace):] == ["stop", "partial-aside", "create-datadir", "copy-back", "chown", "start", "verify"]


def test_status_while_a_restore_runs_says_running(tmp_path):
    plan = plan_for(tmp_path)
    journal = journal_with(tmp_path, plan, (plan.steps[0].name, None))
    text = "\n".join(load_state(journal.paths[0]).describe(running=True))
    assert "RUNNING" in text and "INTERRUPTED" not in text and "resume would" not in text
    journal.append({"event": "start", "mode": "restore", "step": "partial-aside", "title": "Set aside"})
    assert [s.name for s in load_state(journal.paths[0]).extra] == ["partial-aside"]


def test_a_completed_restore_whose_old_datadir_was_removed_refuses_rollback(tmp_path):
    """Rolling back onto nothing would stop production and claim success: refused, naming the missing path."""
    plan = plan_for(tmp_path)
    journal = journal_with(tmp_path, plan, *[(s.name, "ok") for s in plan.steps])
    journal.append({"event": "outcome", "outcome": "completed"})
    plan.aside.mkdir()
    state = load_state(journal.paths[0])
    assert state.offers([]) == ["rollback"]
    assert f"status --id {plan.restore_id} --rollback" in state.describe(live=[])[-1]
    plan.aside.rmdir()  # the operator freed the space
    state = load_state(journal.paths[0])
    assert state.offers([]) == []
    assert str(plan.aside) in state.refusal("rollback", []) and "nothing to roll back to" in state.describe(live=[])[-1]


def test_resume_after_the_start_starts_the_server_again_before_talking_to_it(tmp_path):
    """Killed (or rebooted) during roll-forward or verify: the server may be down, so the resume starts it first
    (a no-op when it answers); a resume that still has the start step to run does not start it twice."""
    from xtrarestore.core.restore.plan import SWAP, Step

    cases = {"roll-forward": ["start", "roll-forward", "verify"], "verify": ["start", "verify"],
             "start": ["start", "roll-forward", "verify"]}
    for step, expected in cases.items():
        (tmp_path / step).mkdir()
        plan = plan_for(tmp_path / step)
        at = [s.name for s in plan.steps].index("verify")
        plan.steps.insert(at, Step("roll-forward", "Roll forward", ["/xs", "roll-forward"], phase=SWAP))
        journal = journal_with(tmp_path / step, plan, *ok_before(plan, step), (step, None))
        assert [s.name for s in recovery.resume_steps(load_state(journal.paths[0]))] == expected, step
