"""Prepare beside the datadir and swap by rename: the plan, where the workspace goes, resume and rollback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plan_support import POINT, journal_with, ok_before, plan_for
from xtrarestore.core.restore import recovery
from xtrarestore.core.restore.downtime import measure
from xtrarestore.core.restore.journal import Journal, load_state
from xtrarestore.core.restore.memory import available_memory, memory_option, parse_size, prepare_memory
from xtrarestore.core.restore.placement import COPY_BACK, RENAME, place_workspace, sibling_workdir
from xtrarestore.core.restore.plan import SWAP, WORKSPACE
from xtrarestore.core.restore.swap import MANIFEST, keep_record
from xtrarestore.core.restore.tools import MARIADB, PERCONA, prepare_sequence

SWAP_STEPS = ["stop", "move-aside", "swap-in", "start"]


def test_rename_plan_does_everything_that_grows_with_the_data_before_the_stop(tmp_path):
    plan = plan_for(tmp_path)
    names = [s.name for s in plan.steps]
    assert names == ["extract:chain", *(f"prepare:{m.name}" for m in POINT.members), "check-lsn",
                     "keep-record", "chown", *SWAP_STEPS, "verify"]
    assert plan.swap == RENAME and not plan.swap_reason
    assert [s.name for s in plan.downtime_steps] == SWAP_STEPS
    assert all(s.phase == WORKSPACE for s in plan.steps[: names.index("stop")])
    assert [s.name for s in plan.steps if s.phase == SWAP] == SWAP_STEPS
    full = tmp_path / "work" / "data" / "full-11-20-2026_03-00-00"
    assert plan.step("chown").argv == ["/xs", "chown", str(full), "--like", str(plan.datadir)]
    assert plan.step("swap-in").argv == ["/xs", "rename", str(full), str(plan.datadir)]
    assert plan.step("keep-record").argv == ["/xs", "keep-record", str(full), "--into", str(plan.record)]
    verify = plan.step("verify").argv
    assert verify[verify.index("--backup-dir") + 1] == str(plan.record)  # the binlog position moved there
    text = "\n".join(plan.lines())
    assert "swap by rename" in text and "--copy-back" not in text
    assert "production down (stop → answering): steps 8-11: stop, move-aside, swap-in, start" in text


def test_copy_back_plan_says_why_and_which_steps_are_down(tmp_path):
    plan = plan_for(tmp_path, copy_back=True)
    text = "\n".join(plan.lines())
    assert "swap by copy-back (fallback: engine files live outside the datadir" in text
    assert "steps 6-11: stop, move-aside, create-datadir, copy-back, chown, start" in text


def test_the_workspace_goes_beside_the_datadir_unless_it_cannot(tmp_path):
    datadir = tmp_path / "mysql"
    datadir.mkdir()
    fallback = tmp_path / "elsewhere"
    beside = place_workspace(datadir, "r1", workdir=None, fallback=fallback, need=1 << 20)
    assert (beside.workdir, beside.swap) == (sibling_workdir(datadir, "r1"), RENAME)
    assert beside.workdir == tmp_path / "mysql.restore-r1"
    given = place_workspace(datadir, "r1", workdir=tmp_path / "w", fallback=fallback, need=0)
    assert (given.workdir, given.swap) == (tmp_path / "w", RENAME)
    full = place_workspace(datadir, "r1", workdir=None, fallback=fallback, need=1 << 60)
    assert full.workdir == fallback and full.swap == COPY_BACK and "not enough space beside" in full.reason
    blocked = place_workspace(datadir, "r1", workdir=None, fallback=fallback, need=0, blockers=["engine files"])
    assert blocked.swap == COPY_BACK and blocked.reason == "engine files"


def test_a_workdir_on_another_file_system_falls_back_to_copy_back(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no /dev/shm on its own file system here")
    datadir = tmp_path / "mysql"
    datadir.mkdir()
    placed = place_workspace(datadir, "r1", workdir=shm / "w", fallback=tmp_path / "f", need=0)
    assert placed.swap == COPY_BACK and placed.workdir == shm / "w"
    assert placed.reason == f"--workdir {shm / 'w'} is on another file system than {datadir}"
    mount = place_workspace(shm, "r1", workdir=None, fallback=tmp_path / "f", need=0)
    assert mount.swap == COPY_BACK and "is a mount point" in mount.reason


@pytest.mark.parametrize("step", SWAP_STEPS)
def test_resume_after_a_kill_at_each_swap_step_runs_the_rest(tmp_path, step):
    plan = plan_for(tmp_path)
    journal = journal_with(tmp_path, plan, *ok_before(plan, step), (step, None))
    full = plan.extracted / "full-11-20-2026_03-00-00"
    full.mkdir(parents=True)
    if step in ("swap-in", "start"):  # what the renames before the kill did
        plan.datadir.rename(plan.aside)
    if step == "start":
        full.rename(plan.datadir)
    state = load_state(journal.paths[0])
    assert not state.needs_fresh_copy() and state.touched_live
    rest = SWAP_STEPS[SWAP_STEPS.index(step):]
    expected = rest if rest[0] in ("stop", "start") else ["stop", *rest]  # stopped again before a rename
    assert [s.name for s in recovery.resume_steps(state)] == [*expected, "verify"]
    rollback = [s.name for s in recovery.rollback_steps(state)]
    if step in ("stop", "move-aside"):
        assert rollback == ["start"] and plan.datadir.exists()  # the live datadir never moved
    elif step == "swap-in":
        assert rollback == ["stop", "swap-back", "start"]
    else:
        assert rollback == ["stop", "failed-aside", "swap-back", "start"]


def test_a_copy_synced_before_a_reboot_is_trusted_one_not_synced_is_made_again(tmp_path):
    plan = plan_for(tmp_path)
    journal = Journal.for_plan(plan, tmp_path / "state")
    journal.append({"event": "plan", "plan": plan.to_dict()})
    for name, _ in ok_before(plan, "chown"):
        journal.append({"event": "start", "step": name, "mode": "restore"})
        journal.append({"event": "end", "step": name, "status": "ok", "mode": "restore", "boot": "an-earlier-boot"})
    assert load_state(journal.paths[0]).needs_fresh_copy()
    journal.append({"event": "start", "step": "chown", "mode": "restore"})
    journal.append({"event": "end", "step": "chown", "status": "ok", "mode": "restore", "boot": "an-earlier-boot"})
    state = load_state(journal.paths[0])
    assert not state.needs_fresh_copy()  # chown synced it to disk
    assert [s.name for s in recovery.resume_steps(state)] == [*SWAP_STEPS, "verify"]


def test_keep_record_moves_what_copy_back_leaves_out(tmp_path):
    prepared, record = tmp_path / "full", tmp_path / "record"
    kept = ["ibdata1", "ib_logfile0", "aria_log_control", "mysql/user.MAI", "shop/orders.ibd", "ib_buffer_pool",
            "xtrabackup_info.d/not-top"]
    left = ["backup-my.cnf", "xtrabackup_checkpoints", "xtrabackup_binlog_info", "mariadb_backup_info",
            "ib_logfile1", "shop/orders.ibd.qp", "shop/t.frm.xbcrypt", "shop/x.pmap"]
    for name in kept + left:
        path = prepared / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"" if name == "ib_logfile1" else b"x")
    moved = keep_record(prepared, record)
    assert sorted(map(str, moved)) == sorted(left)
    assert all((prepared / name).exists() for name in kept)
    assert not any((prepared / name).exists() for name in left) and all((record / n).exists() for n in left)
    assert sorted((record / MANIFEST).read_text().split()) == sorted(left)
    assert keep_record(prepared, record) == []  # a resumed step finds nothing left to move


def test_prepare_memory_is_a_capped_share_of_what_is_available():
    assert available_memory("MemTotal: 100 kB\nMemAvailable:   8388608 kB\n") == 8 << 30
    assert available_memory("MemTotal: 100 kB\n") is None
    assert prepare_memory(8 << 30) == 2 << 30
    assert prepare_memory(1 << 40) == 16 << 30
    assert prepare_memory(512 << 20) is None and prepare_memory(None) is None
    assert prepare_memory(8 << 30, data=700 << 20) == 700 << 20  # no bigger than the backups
    assert prepare_memory(8 << 30, data=10 << 20) is None  # the tool's default is plenty
    assert memory_option(2 << 30) == "--use-memory=2G" and memory_option(1536 << 20) == "--use-memory=1536M"
    assert parse_size("4G") == 4 << 30 and parse_size("0") == 0
    with pytest.raises(ValueError, match="give a size"):
        parse_size("lots")
    mariadb = prepare_sequence(MARIADB, "mb", Path("/f"), [Path("/i")], memory=2 << 30)
    assert all(argv[1:3] == ["--prepare", "--use-memory=2G"] for argv in mariadb)
    percona = prepare_sequence(PERCONA, "xb", Path("/f"), [Path("/i")], memory=1 << 30)
    assert percona[0][1:4] == ["--prepare", "--apply-log-only", "--use-memory=1G"]


def test_downtime_runs_from_a_successful_stop_to_a_successful_start():
    def rec(event, step, time, status=None, mode="restore"):
        return {"event": event, "step": step, "time": f"2026-12-01T05:00:{time:06.3f}+00:00", "status": status,
                "mode": mode}

    failed_stop = [rec("start", "stop", 1), rec("end", "stop", 2, "failed")]
    assert measure(failed_stop) is None  # the server never went down
    down = [*failed_stop, rec("start", "stop", 10), rec("end", "stop", 12, "ok"), rec("start", "start", 13)]
    assert measure(down).ongoing and "not answering yet" in measure(down).line()
    up = [*down, rec("end", "start", 14.5, "failed"), rec("start", "start", 20, mode="rollback"),
          rec("end", "start", 21.25, "ok", mode="rollback")]
    assert measure(up).seconds == pytest.approx(11.25)
    assert measure(up).line() == "production down (stop → answering): 11.2s"
