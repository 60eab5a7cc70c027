"""The restore plan as data: step order, what each step destroys, its typed fields, the journal round trip."""

from __future__ import annotations

import json
from pathlib import Path

from plan_support import CUSTOM, POINT, member, plan_for, point_of
from xtrarestore.core.restore.placement import placement_blockers
from xtrarestore.core.restore.plan import WORKSPACE, Plan, Target, build_plan
from xtrarestore.core.restore.tools import MARIADB, PERCONA, Tool


def test_copy_back_plan_orders_the_steps_and_marks_what_destroys(tmp_path):
    plan = plan_for(tmp_path, copy_back=True)
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
    assert plan.step("move-aside").argv == ["/xs", "rename",
                                            str(tmp_path / "mysql"), str(plan.aside)]
    assert plan.step("check-lsn").argv[-6:] == ["--type", "log-applied", "--to-lsn", "300", "--last-lsn", "310"]
    full = tmp_path / "work" / "data" / "full-11-20-2026_03-00-00"
    assert plan.step("copy-back").argv == ["/usr/bin/mariabackup", "--copy-back", f"--target-dir={full}",
                                           f"--datadir={tmp_path / 'mysql'}"]
    assert plan.steps[0].argv == ["/xs", "extract", "--no-sync", "--into", str(full.parent),
                                  *(str(m.path) for m in POINT.members)]


def test_plan_passes_key_file_path_and_server_config(tmp_path):
    datadir = tmp_path / "mysql"
    plan = build_plan(POINT, Target(datadir=datadir, service=CUSTOM, host="db", port=3307,
                                    server_config=Path("/etc/mysql/my.cnf"), move_back=True),
                      tool=Tool(MARIADB, Path("/mb"), "10.11"), workdir=tmp_path / "w", key_file=Path("/k"),
                      native=True, stepper="/xs", swap_blockers=placement_blockers(
                          Target(datadir=datadir, service=CUSTOM, server_config=Path("/etc/mysql/my.cnf"))))
    assert plan.steps[0].argv[2:4] == ["--key-file", "/k"]
    copy = plan.step("copy-back")
    assert plan.swap == "copy-back" and "--server-config /etc/mysql/my.cnf" in plan.swap_reason
    assert copy.argv[:3] == ["/mb", "--defaults-file=/etc/mysql/my.cnf", "--move-back"] and copy.destructive
    assert plan.step("stop").argv[-8:-4] == ["--host", "db", "--port", "3307"]


def test_percona_vendor_extraction_decrypts_and_decompresses(tmp_path):
    point = point_of(member("full.xbstream", "full-backuped", 0, 5, 5, compression="qp", encrypted=True))
    tool = Tool(PERCONA, Path("/usr/bin/xtrabackup"), "8.0.35", Path("/usr/bin/xbstream"))
    plan = build_plan(point, Target(datadir=tmp_path, service=CUSTOM, socket=Path("/s")), tool=tool,
                      workdir=tmp_path / "w", key_file=Path("/backups/key"), native=False, stepper="/xs")
    argv = plan.steps[0].argv
    assert argv[1:4] == ["vendor-extract", "--tool", "/usr/bin/xbstream"]
    assert argv[-4:] == ["--", "--decompress", "--decrypt=AES256", "--encrypt-key-file=/backups/key"]
    assert plan.step("prepare:full.xbstream").argv == ["/usr/bin/xtrabackup", "--prepare",
                                                       f"--target-dir={tmp_path / 'w' / 'data' / 'full'}"]
    assert plan.step("check-lsn").argv[3:5] == ["--type", "full-prepared"]


def test_plan_survives_the_journal_round_trip(tmp_path):
    plan = plan_for(tmp_path)
    again = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert "DESTRUCTIVE" in "\n".join(plan.lines())


def test_binlog_position_comes_from_the_backup(tmp_path):
    from xtrarestore.core.restore.verify import VerifyReport, read_binlog

    (tmp_path / "xtrabackup_binlog_info").write_text("mysql-bin.000042\t1234\t0-1-99\n")
    binlog = read_binlog(tmp_path)
    assert (binlog.file, binlog.position, binlog.gtid) == ("mysql-bin.000042", 1234, "0-1-99")
    report = VerifyReport("10.11", ["playground"], [], True, True, binlog)
    assert "binlog position at backup: mysql-bin.000042:1234, GTID 0-1-99" in report.lines()
    assert read_binlog(tmp_path / "nothing-here") is None
