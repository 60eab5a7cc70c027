"""The restore plan as data: pinned prepare sequences, step order, journal states, resume/rollback choices.

These are command-line construction tests (no server): the end-to-end truth is
in test_restore_e2e.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from xtrarestore.core import recovery
from xtrarestore.core.checkpoints import Checkpoints
from xtrarestore.core.journal import Journal, boot_id, load_state, read_records, summarize
from xtrarestore.core.lock import HostLock, LockBusyError
from xtrarestore.core.plan import WORKSPACE, Plan, Target, build_plan
from xtrarestore.core.preflight import datadir_checks, space_checks
from xtrarestore.core.privileges import Password
from xtrarestore.core.service import ServiceControl, resolve_service
from xtrarestore.core.tools import MARIADB, PERCONA, Tool, parse_version, prepare_sequence
from xtrarestore.core.verify import read_client_options

FULL, INC1, INC2 = Path("/w/full"), Path("/w/inc1"), Path("/w/inc2")
NOW = datetime(2026, 11, 21, 3, 15, tzinfo=UTC)


def test_mariadb_prepare_sequence_never_uses_apply_log_only():
    assert prepare_sequence(MARIADB, "mariabackup", FULL, [INC1, INC2]) == [
        ["mariabackup", "--prepare", "--target-dir=/w/full"],
        ["mariabackup", "--prepare", "--target-dir=/w/full", "--incremental-dir=/w/inc1"],
        ["mariabackup", "--prepare", "--target-dir=/w/full", "--incremental-dir=/w/inc2"],
    ]


def test_percona_prepare_sequence_applies_log_only_except_last():
    assert prepare_sequence(PERCONA, "xtrabackup", FULL, [INC1, INC2]) == [
        ["xtrabackup", "--prepare", "--apply-log-only", "--target-dir=/w/full"],
        ["xtrabackup", "--prepare", "--apply-log-only", "--target-dir=/w/full", "--incremental-dir=/w/inc1"],
        ["xtrabackup", "--prepare", "--target-dir=/w/full", "--incremental-dir=/w/inc2"],
    ]


def test_percona_full_alone_is_fully_prepared():
    assert prepare_sequence(PERCONA, "xtrabackup", FULL, []) == [["xtrabackup", "--prepare", "--target-dir=/w/full"]]


def test_version_parsing_tells_the_flavour():
    assert parse_version("mariabackup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)") == (
        MARIADB, "10.11.19")
    assert parse_version("xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64)") == (
        PERCONA, "8.0.35-30")


def _member(name, kind, from_lsn, to_lsn, last_lsn, *, compression=None, encrypted=False):
    return NS(name=name, path=Path("/backups/Mon") / name, artifact="stream", compression=compression,
              encrypted=encrypted, size=10 << 20, info=None,
              checkpoints=Checkpoints(kind, from_lsn, to_lsn, last_lsn))


def _point(*members):
    return NS(day=NS(name="Mon"), members=list(members))


POINT = _point(
    _member("full-11-20-2026_03-00-00.xbstream", "full-backuped", 0, 100, 110),
    _member("incremental-11-20-2026_06-00-00.xbstream", "incremental", 100, 200, 210),
    _member("incremental-11-20-2026_09-00-00.xbstream", "incremental", 200, 300, 310),
)
CUSTOM = ServiceControl("custom", stop_cmd="my-stop", start_cmd="my-start")


def _plan(tmp_path, point=POINT, tool=None, **target):
    tool = tool or Tool(MARIADB, Path("/usr/bin/mariabackup"), "10.11.19", Path("/usr/bin/mbstream"))
    datadir = tmp_path / "mysql"
    datadir.mkdir(exist_ok=True)
    return build_plan(point, Target(datadir=datadir, service=CUSTOM, socket=Path("/run/mysqld.sock"), **target),
                      tool=tool, workdir=tmp_path / "work", restore_id="r1", now=NOW, native=True,
                      python="/py")


def test_plan_orders_the_steps_and_marks_what_destroys(tmp_path):
    plan = _plan(tmp_path)
    names = [s.name for s in plan.steps]
    assert names == [
        "extract:chain",
        *(f"prepare:{m.name}" for m in POINT.members),
        "check-lsn", "stop", "move-aside", "create-datadir", "copy-back", "chown", "start", "verify",
    ]
    assert [s.name for s in plan.steps if s.destructive] == ["move-aside"]
    assert {s.name for s in plan.steps if s.privileged} == {
        "stop", "move-aside", "create-datadir", "copy-back", "chown", "start"}
    assert all(s.phase == WORKSPACE for s in plan.steps[:5])
    assert plan.aside == tmp_path / "mysql.before-restore-20261121T031500Z"
    assert plan.step("move-aside").argv == ["/py", "-m", "xtrarestore.core.steps", "rename",
                                            str(tmp_path / "mysql"), str(plan.aside)]
    assert plan.step("check-lsn").argv[-6:] == ["--type", "log-applied", "--to-lsn", "300", "--last-lsn", "310"]
    full = tmp_path / "work" / "data" / "full-11-20-2026_03-00-00"
    assert plan.step("copy-back").argv == ["/usr/bin/mariabackup", "--copy-back", f"--target-dir={full}",
                                           f"--datadir={tmp_path / 'mysql'}"]
    assert plan.steps[0].argv == ["/py", "-m", "xtrarestore.core.archive.parallel", "--no-sync", "--into", str(full.parent),
                                  *(str(m.path) for m in POINT.members)]


def test_plan_passes_key_file_path_and_server_config(tmp_path):
    plan = build_plan(POINT, Target(datadir=tmp_path, service=CUSTOM, host="db", port=3307,
                                    server_config=Path("/etc/mysql/my.cnf"), move_back=True),
                      tool=Tool(MARIADB, Path("/mb"), "10.11"), workdir=tmp_path / "w", key_file=Path("/k"),
                      native=True, python="/py")
    assert plan.steps[0].argv[3:5] == ["--key-file", "/k"]
    copy = plan.step("copy-back")
    assert copy.argv[:3] == ["/mb", "--defaults-file=/etc/mysql/my.cnf", "--move-back"] and copy.destructive
    assert plan.step("stop").argv[-8:-4] == ["--host", "db", "--port", "3307"]


def test_percona_vendor_extraction_decrypts_and_decompresses(tmp_path):
    point = _point(_member("full.xbstream", "full-backuped", 0, 5, 5, compression="qp", encrypted=True))
    tool = Tool(PERCONA, Path("/usr/bin/xtrabackup"), "8.0.35", Path("/usr/bin/xbstream"))
    plan = build_plan(point, Target(datadir=tmp_path, service=CUSTOM, socket=Path("/s")), tool=tool,
                      workdir=tmp_path / "w", key_file=Path("/backups/key"), native=False, python="/py")
    argv = plan.steps[0].argv
    assert argv[3:6] == ["vendor-extract", "--tool", "/usr/bin/xbstream"]
    assert argv[-4:] == ["--", "--decompress", "--decrypt=AES256", "--encrypt-key-file=/backups/key"]
    assert plan.step("prepare:full.xbstream").argv == ["/usr/bin/xtrabackup", "--prepare",
                                                       f"--target-dir={tmp_path / 'w' / 'data' / 'full'}"]
    assert plan.step("check-lsn").argv[5:7] == ["--type", "full-prepared"]


def test_plan_survives_the_journal_round_trip(tmp_path):
    plan = _plan(tmp_path)
    again = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert "DESTRUCTIVE" in "\n".join(plan.lines())


def _journal(tmp_path, plan, *events):
    journal = Journal.for_plan(plan, tmp_path / "state")
    journal.append({"event": "plan", "plan": plan.to_dict()})
    for name, status in events:
        journal.append({"event": "start", "step": name, "mode": "restore"})
        if status:
            journal.append({"event": "end", "step": name, "status": status, "mode": "restore"})
    return journal


def ok_before(plan, name: str) -> list[tuple[str, str]]:
    """Journal entries saying every step before *name* went well."""
    names = [s.name for s in plan.steps]
    return [(n, "ok") for n in names[: names.index(name)]]


def test_killed_after_move_aside_status_resume_and_rollback(tmp_path):
    plan = _plan(tmp_path)
    done = ok_before(plan, "create-datadir")  # up to move-aside
    journal = _journal(tmp_path, plan, *done, ("create-datadir", None))
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
    plan = _plan(tmp_path)
    journal = _journal(tmp_path, plan, *ok_before(plan, "copy-back"), ("copy-back", None))
    plan.aside.mkdir()
    state = load_state(journal.paths[0])
    steps = recovery.resume_steps(state)
    assert [s.name for s in steps][:4] == ["stop", "partial-aside", "create-datadir", "copy-back"]
    assert ".partial-restore-" in steps[1].argv[-1]
    assert [s.name for s in recovery.rollback_steps(state)] == ["stop", "failed-aside", "swap-back", "start"]


def test_unfinished_prepare_is_redone_from_a_fresh_extraction(tmp_path):
    plan = _plan(tmp_path)
    last_prepare = f"prepare:{POINT.members[-1].name}"
    journal = _journal(tmp_path, plan, *ok_before(plan, last_prepare), (last_prepare, None))
    state = load_state(journal.paths[0])
    assert not state.workspace_complete() and not state.touched_live
    assert [s.name for s in recovery.resume_steps(state)] == [s.name for s in plan.steps]
    assert recovery.rollback_steps(state) == []
    assert "The live server and datadir were not touched." in state.describe()


def test_a_copy_made_before_a_reboot_is_made_again(tmp_path):
    plan = _plan(tmp_path)
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
    plan = _plan(tmp_path)
    state = load_state(_journal(tmp_path, plan, *ok_before(plan, "stop")).paths[0])
    assert state.steps[0].boot == boot_id() != "" and not state.copy_from_earlier_boot()
    assert [s.name for s in recovery.resume_steps(state)][0] == "stop"


def test_discarded_copy_forgets_its_done_steps(tmp_path):
    plan = _plan(tmp_path)
    journal = _journal(tmp_path, plan, (plan.steps[0].name, "ok"), (plan.steps[3].name, "failed"))
    journal.append({"event": "reset"})
    state = summarize(read_records(journal.paths[0]))
    assert state.status_of(plan.steps[0].name) == "pending"
    assert state.status_of(plan.steps[3].name) == "failed"


def test_torn_last_journal_line_is_tolerated(tmp_path):
    plan = _plan(tmp_path)
    journal = _journal(tmp_path, plan, (plan.steps[0].name, "ok"))
    with open(journal.paths[0], "a") as f:
        f.write('{"event": "sta')
    assert load_state(journal.paths[0]).status_of(plan.steps[0].name) == "ok"


def test_preflight_refuses_tmp_and_short_space(tmp_path):
    plan = _plan(tmp_path)
    checks = {c.name: c for c in datadir_checks(plan)}
    assert not checks["not temporary"].ok and "/tmp" in checks["not temporary"].detail
    huge = _point(NS(**{**vars(POINT.members[0]), "size": 1 << 60}))
    [space] = space_checks(plan, huge.members)
    assert not space.ok and "needs about" in space.detail and "free" in space.detail


def test_second_lock_holder_is_refused(tmp_path):
    with HostLock(tmp_path / "restore.lock"):
        with pytest.raises(LockBusyError, match="another restore is running"):
            HostLock(tmp_path / "restore.lock").acquire()
    HostLock(tmp_path / "restore.lock").acquire().release()


def test_password_never_prints_itself():
    secret = Password("hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + repr([secret])
    assert secret.reveal() == "hunter2"


def test_custom_service_commands_must_come_in_pairs():
    assert resolve_service(None, "a", "b") == ServiceControl("custom", stop_cmd="a", start_cmd="b")
    with pytest.raises(Exception, match="together"):
        resolve_service(None, "a", None)


def test_client_section_is_read_without_includes(tmp_path):
    cnf = tmp_path / "backup.cnf"
    cnf.write_text("!includedir /etc/mysql/conf.d/\n[client]\nuser=backup\npassword='s3cret'\n"
                   "socket=/run/mysqld/mysqld.sock\nskip-ssl\n[mysqld]\ndatadir=/x\n")
    assert read_client_options(cnf) == {"user": "backup", "password": "s3cret",
                                        "socket": "/run/mysqld/mysqld.sock", "skip_ssl": ""}


def test_rename_step_recognises_a_rename_already_done(tmp_path):
    src, dst = tmp_path / "mysql", tmp_path / "mysql.before"
    src.mkdir()
    run = [sys.executable, "-m", "xtrarestore.core.steps", "rename", str(src), str(dst)]
    first = subprocess.run(run, capture_output=True, text=True)
    again = subprocess.run(run, capture_output=True, text=True)
    assert first.returncode == again.returncode == 0 and dst.is_dir() and not src.exists()
    assert "already renamed" in again.stdout
    src.mkdir()
    refused = subprocess.run(run, capture_output=True, text=True)
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stdout and src.is_dir()


def test_rollback_can_use_a_fixed_start_command(tmp_path):
    plan = _plan(tmp_path).with_service(ServiceControl("custom", stop_cmd="stop2", start_cmd="start2"))
    start = plan.step("start").argv
    assert start[start.index("--start-cmd") + 1] == "start2" and plan.service["start_cmd"] == "start2"
    assert [s.name for s in plan.steps][-2:] == ["start", "verify"]


def test_interrupted_move_back_needs_a_fresh_copy(tmp_path):
    plan = _plan(tmp_path, move_back=True)
    journal = _journal(tmp_path, plan, *ok_before(plan, "copy-back"), ("copy-back", None))
    plan.aside.mkdir()
    names = [s.name for s in recovery.resume_steps(load_state(journal.paths[0]))]
    workspace = [name for name, _ in ok_before(plan, "stop")]
    assert names[:len(workspace)] == workspace  # extract and prepare again, server still down
    assert names[len(workspace):] == ["stop", "partial-aside", "create-datadir", "copy-back", "chown", "start", "verify"]


def test_sysv_and_systemd_commands():
    assert ServiceControl("sysv", unit="mariadb").describe("stop") == "service mariadb stop"
    assert ServiceControl("systemd", unit="mysqld").describe("start") == "systemctl start mysqld"
    assert resolve_service("sysv:mysql", None, None) == ServiceControl("sysv", unit="mysql")


def test_binlog_position_comes_from_the_backup(tmp_path):
    from xtrarestore.core.verify import VerifyReport, read_binlog

    (tmp_path / "xtrabackup_binlog_info").write_text("mysql-bin.000042\t1234\t0-1-99\n")
    binlog = read_binlog(tmp_path)
    assert (binlog.file, binlog.position, binlog.gtid) == ("mysql-bin.000042", 1234, "0-1-99")
    report = VerifyReport("10.11", ["playground"], [], True, True, binlog)
    assert "binlog position at backup: mysql-bin.000042:1234, GTID 0-1-99" in report.lines()
    assert read_binlog(tmp_path / "nothing-here") is None


def test_custom_commands_with_a_password_are_refused(tmp_path):
    from xtrarestore.core.preflight import service_checks

    def check(stop):
        target = Target(datadir=tmp_path, service=ServiceControl("custom", stop_cmd=stop, start_cmd="start"))
        return service_checks(target)[0]

    assert not check("mysqladmin -uroot -pS3cret shutdown").ok
    assert not check("mysqladmin --password=S3cret shutdown").ok
    assert "S3cret" not in check("mysqladmin -pS3cret shutdown").detail
    assert check("mkdir -p /run/x && systemctl stop mariadb").ok


def test_systemd_aliases_count_once(tmp_path, monkeypatch):
    from xtrarestore.core import service

    fake = tmp_path / "systemctl"
    fake.write_text('#!/bin/sh\ncase "$6" in\n  mysql.service|mariadb.service) echo LoadState=loaded;'
                    ' echo Id=mariadb.service;;\n  *) echo LoadState=not-found; echo Id="$6";;\nesac\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(service, "_has_systemd", lambda: True)
    assert service.detect_systemd_units() == ["mariadb"]
    assert resolve_service("auto", None, None) == ServiceControl("systemd", unit="mariadb")


@pytest.mark.parametrize(("text", "ok"), [
    ("backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 300\nlast_lsn = 310\n", True),
    ("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 300\nlast_lsn = 310\n", False),
    ("backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 200\nlast_lsn = 210\n", False),
])
def test_lsn_check_after_prepare(tmp_path, text, ok):
    (tmp_path / "xtrabackup_checkpoints").write_text(text)
    result = subprocess.run([sys.executable, "-m", "xtrarestore.core.steps", "check-lsn", str(tmp_path),
                             "--type", "log-applied", "--to-lsn", "300", "--last-lsn", "310"],
                            capture_output=True, text=True)
    assert (result.returncode == 0) == ok and ("completed OK!" in result.stdout) == ok


def test_status_while_a_restore_runs_says_running(tmp_path):
    plan = _plan(tmp_path)
    journal = _journal(tmp_path, plan, (plan.steps[0].name, None))
    text = "\n".join(load_state(journal.paths[0]).describe(running=True))
    assert "RUNNING" in text and "INTERRUPTED" not in text and "resume would" not in text
    journal.append({"event": "start", "mode": "restore", "step": "partial-aside", "title": "Set aside"})
    assert [s.name for s in load_state(journal.paths[0]).extra] == ["partial-aside"]


def test_workspace_must_be_outside_the_backup_root_and_fresh(tmp_path):
    from xtrarestore.core.preflight import workspace_checks

    plan = _plan(tmp_path)
    assert all(c.ok for c in workspace_checks(plan, tmp_path / "backups"))
    inside, _ = workspace_checks(plan, tmp_path)
    assert not inside.ok and "read-only" in inside.detail
    (plan.extracted / "full").mkdir(parents=True)
    assert not workspace_checks(plan, tmp_path / "backups")[1].ok


def test_runner_streams_lines_checks_ok_and_journals(tmp_path):
    from xtrarestore.core.errors import StepFailedError
    from xtrarestore.core.plan import Step
    from xtrarestore.core.runner import Runner

    plan = _plan(tmp_path)
    journal = _journal(tmp_path, plan)
    events = []
    runner = Runner(plan, journal, on_event=events.append)
    good = Step("good", "Good", ["sh", "-c", "echo one; echo 'progress {\"n\": 1}'; echo completed OK!"])
    silent = Step("silent", "Exits 0 without the success line", ["sh", "-c", "echo almost"])
    (plan.extracted / "full").mkdir(parents=True)
    runner.run([good])
    assert [e.line for e in events if e.kind == "output"] == ["one", "completed OK!"]
    assert [e.progress for e in events if e.kind == "progress"] == ['{"n": 1}']
    with pytest.raises(StepFailedError, match="no 'completed OK!'"):
        runner.run([silent])
    assert not plan.extracted.exists()  # a failed workspace step discards the extracted copy
    with pytest.raises(StepFailedError):
        runner.run([silent])
    logs = sorted(p.name for p in (plan.workdir / "logs").iterdir())
    assert logs == ["01-good.log", "01-silent.2.log", "01-silent.log"]
    assert "almost" in (plan.workdir / "logs" / "01-silent.log").read_text()
    records = [r for r in read_records(journal.paths[1]) if r["event"] == "end"]
    assert [(r["step"], r["status"], r["exit"]) for r in records] == [
        ("good", "ok", 0), ("silent", "failed", 0), ("silent", "failed", 0)]


def test_symlinked_datadir_is_refused_with_the_real_path(tmp_path):
    real = tmp_path / "data" / "mysql"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    plan = build_plan(POINT, Target(datadir=tmp_path / "link", service=CUSTOM, socket=Path("/s")),
                      tool=Tool(MARIADB, Path("/mb"), "10.11"), workdir=tmp_path / "w", native=True)
    [check] = datadir_checks(plan)
    assert not check.ok and f"--datadir {real}" in check.detail
