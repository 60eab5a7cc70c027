"""Drills and the demo against real MariaDB servers and real mariabackup backups.

One demo root (built once for the module by `core.demo` from a real sandbox
server) supplies every chain: a compressed day with a gap, an encrypted and
compressed day, and a plain day ending in an interrupted backup. The demo's
manifest says how many rows each backup holds, so restored row counts are
checked against what was written.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from xtrarestore.core.archive.keys import load_key
from xtrarestore.core.drills import report as reports
from xtrarestore.core.drills.demo import DemoRoot, build_demo, load_demo
from xtrarestore.core.drills.drill import drill, plan_drill, run_drill
from xtrarestore.core.errors import SandboxError
from xtrarestore.core.inventory.scan import scan
from xtrarestore.tui.cli import main

pytestmark = pytest.mark.mariadb


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoRoot:
    return build_demo(tmp_path_factory.mktemp("demo"), say=lambda line: None)


@pytest.fixture
def workroot() -> Iterator[Path]:
    """Where drills put their sandboxes: outside pytest's 0700 tmp, so `mysql` can reach them."""
    path = Path(tempfile.mkdtemp(prefix="xtrarestore-test-drills-", dir="/var/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def servers_under(path: Path) -> list[str]:
    """Command lines of mariadbd processes whose arguments mention *path*."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
            except OSError:
                continue
            if os.path.basename(argv[0]) == "mariadbd" and any(str(path) in a for a in argv):
                found.append(" ".join(argv))
    return found


def rows_of(result) -> dict[str, int]:
    return {f"{t.schema}.{t.table}": t.rows for t in result.tables}


def by_state(demo: DemoRoot, day: str, state: str):
    return [b for b in demo.backups if b.day == day and b.state == state]


# -- the demo root -----------------------------------------------------------------


def test_demo_root_shows_every_day_and_problem(demo):
    gap_day, enc_day, plain_day = demo.days
    inventory = scan(demo.root, key=load_key(demo.key_file))
    days = {d.name: d for d in inventory.days}
    assert list(days) == demo.days or sorted(days) == sorted(demo.days)
    codes = {d: {p.code for c in days[d].chains for p in c.problems} for d in days}
    assert "gap" in codes[gap_day]
    assert "incomplete" in codes[plain_day]
    assert not codes[enc_day]
    assert all(b.compression for b in days[gap_day].backups)
    assert all(b.encrypted and b.compression for b in days[enc_day].backups)
    assert not any(b.encrypted or b.compression for b in days[plain_day].backups if b.artifact == "stream")
    assert len(by_state(demo, gap_day, "deleted")) == 1
    assert not (demo.root / gap_day / by_state(demo, gap_day, "deleted")[0].name).exists()
    assert (demo.root / "encryption_key").read_bytes() == load_key(demo.key_file)
    assert len(load_key(demo.key_file)) == 32


def test_demo_is_reused_when_valid_and_rebuilt_when_damaged(demo, tmp_path):
    said: list[str] = []
    again = build_demo(demo.workdir, say=said.append)
    assert again.reused and said == [f"Using the demo backup root already built in {demo.root}"]
    copy = tmp_path / "copy"
    shutil.copytree(demo.workdir, copy, symlinks=True)
    manifest = json.loads((copy / "demo.json").read_text())
    (copy / "demo.json").write_text(json.dumps(manifest))
    victim = next(iter(manifest["sizes"]))
    assert load_demo(copy) is not None
    (copy / "backups" / victim).unlink()
    assert load_demo(copy) is None


def test_demo_refuses_a_directory_that_is_not_a_demo(tmp_path):
    (tmp_path / "precious").write_text("not ours")
    with pytest.raises(Exception, match="not a demo work directory"):
        build_demo(tmp_path, say=lambda line: None)
    assert (tmp_path / "precious").read_text() == "not ours"


# -- drills of real chains ---------------------------------------------------------


def test_drill_of_a_compressed_chain_restores_the_rows_written(demo, workroot):
    gap_day = demo.days[0]
    chain = demo.chain(gap_day)
    assert len(chain) == 2 and all(b.compressed for b in chain)
    result = drill(demo.root, gap_day, chain[-1].name, workroot=workroot)
    assert result.ok, result.error
    assert rows_of(result) == chain[-1].rows
    assert all(t.check == "OK" for t in result.tables)
    assert [m["name"] for m in result.restore_point["members"]] == [b.name for b in chain]
    assert result.rto_seconds > 0 and {s.status for s in result.steps} == {"done"}
    names = [s.name for s in result.steps]
    assert "swap-in" in names and "copy-back" not in names  # the drill swaps by rename, like a restore
    assert 0 < result.downtime_seconds < result.rto_seconds and result.before_stop_seconds > 0
    assert list(workroot.iterdir()) == [] and servers_under(workroot) == []


def test_drill_of_an_encrypted_chain_restores_the_rows_written(demo, workroot):
    enc_day = demo.days[1]
    chain = demo.chain(enc_day)
    assert len(chain) == 3 and all(b.encrypted for b in chain)
    result = drill(demo.root, enc_day, chain[-1].name, key_file=demo.key_file, workroot=workroot)
    assert result.ok, result.error
    assert rows_of(result) == chain[-1].rows
    assert result.restore_point["to_lsn"] == result.restore_point["members"][-1]["to_lsn"]
    assert list(workroot.iterdir()) == [] and servers_under(workroot) == []


def test_drill_up_to_the_full_restores_only_the_full(demo, workroot):
    plain_day = demo.days[2]
    full = demo.chain(plain_day)[0]
    result = drill(demo.root, plain_day, full.name, workroot=workroot)
    assert result.ok, result.error
    assert rows_of(result) == full.rows


def test_drill_of_an_encrypted_chain_without_key_is_refused_before_touching(demo, workroot):
    enc_day = demo.days[1]
    result = drill(demo.root, enc_day, demo.chain(enc_day)[-1].name, workroot=workroot)
    assert not result.ok and "--key-file" in result.error
    assert list(workroot.iterdir()) == []


def test_drill_across_a_gap_fails_before_touching_anything(demo, workroot):
    gap_day = demo.days[0]
    after_gap = [b for b in demo.backups if b.day == gap_day][-1]
    before = {p: p.stat().st_mtime_ns for p in demo.root.rglob("*")}
    result = drill(demo.root, gap_day, after_gap.name, workroot=workroot)
    assert not result.ok
    assert "gap" in result.error and after_gap.name in result.error
    assert result.steps == [] and result.tables == []
    assert list(workroot.iterdir()) == []
    assert {p: p.stat().st_mtime_ns for p in demo.root.rglob("*")} == before


def test_no_server_is_left_running_when_a_drill_is_cancelled(demo, workroot):
    plain_day = demo.days[2]
    cancel = threading.Event()
    seen: list[str] = []

    def on_event(event):
        if event.kind == "finished" and event.step.name == "start":
            seen.extend(servers_under(workroot))
            cancel.set()

    result = drill(demo.root, plain_day, demo.chain(plain_day)[-1].name, workroot=workroot,
                   on_event=on_event, cancel=cancel)
    assert seen, "the sandbox server should have been running when the drill was cancelled"
    assert not result.ok and "cancelled" in result.error
    assert next(s for s in result.steps if s.name == "verify").status == "skipped"
    assert servers_under(workroot) == [] and list(workroot.iterdir()) == []


def test_no_server_is_left_running_when_a_drill_is_interrupted(demo, workroot):
    plain_day = demo.days[2]
    planned = plan_drill(demo.root, plain_day, demo.chain(plain_day)[-1].name, workroot=workroot)

    def on_event(event):
        if event.kind == "started" and event.step.name == "verify":
            assert servers_under(workroot)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_drill(planned, on_event=on_event)
    assert servers_under(workroot) == [] and list(workroot.iterdir()) == []


# -- the command line and the report -------------------------------------------------


def test_drill_command_exit_status_and_json_report(demo, workroot, tmp_path, capsys):
    plain_day = demo.days[2]
    upto = demo.chain(plain_day)[-1]
    out = tmp_path / "report.json"
    status = main(["drill", "--root", str(demo.root), "--day", plain_day, "--upto", upto.name,
                   "--workdir", str(workroot), "--reports-dir", str(tmp_path / "reports"),
                   "--report-json", str(out), "--report-md", str(tmp_path / "report.md")])
    assert status == 0
    data = json.loads(out.read_text())
    assert data["status"] == "success"
    assert {"status", "restore_point", "steps", "tables", "problems", "rto_seconds"} <= set(data)
    assert {"from_lsn", "to_lsn", "last_lsn", "time", "members"} <= set(data["restore_point"])
    assert all({"name", "title", "seconds", "share", "status"} <= set(s) for s in data["steps"])
    assert abs(sum(s["share"] for s in data["steps"]) - 1) < 0.01
    assert {f"{t['schema']}.{t['table']}": t["rows"] for t in data["tables"]} == upto.rows
    assert any(p["code"] == "incomplete" for p in data["problems"])
    assert "PASSED" in (tmp_path / "report.md").read_text()
    listed = reports.list_reports(tmp_path / "reports")
    assert [r.id for _, r in listed] == [data["id"]]
    assert "Drill PASSED" in capsys.readouterr().out

    gap_day = demo.days[0]
    after_gap = [b for b in demo.backups if b.day == gap_day][-1]
    status = main(["drill", "--root", str(demo.root), "--day", gap_day, "--upto", after_gap.name,
                   "--workdir", str(workroot), "--reports-dir", str(tmp_path / "reports"),
                   "--report-json", str(out)])
    assert status == 1
    data = json.loads(out.read_text())
    assert data["status"] == "failed" and data["problems"][0]["code"] == "chain"
    assert "nothing was touched" in capsys.readouterr().err
    assert len(reports.list_reports(tmp_path / "reports")) == 2


def test_drill_keep_leaves_a_server_to_connect_to(demo, workroot, tmp_path, capsys):
    plain_day = demo.days[2]
    upto = demo.chain(plain_day)[-1]
    status = main(["drill", "--root", str(demo.root), "--day", plain_day, "--upto", upto.name,
                   "--workdir", str(workroot), "--reports-dir", str(tmp_path), "--keep"])
    out = capsys.readouterr().out
    try:
        assert status == 0
        assert servers_under(workroot)
        line = next(x for x in out.splitlines() if "mariadb --socket=" in x)
        socket_path = line.split("--socket=")[1].split()[0]
        import pymysql

        with pymysql.connect(unix_socket=socket_path, user="root") as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM playground.equipment")
            assert cur.fetchone()[0] == upto.rows["playground.equipment"]
    finally:
        for pid_file in workroot.glob("*/server/run/mysqld.pid"):
            from xtrarestore.core.drills.drill import _terminate

            _terminate(int(pid_file.read_text()))
    assert servers_under(workroot) == []


def test_demo_command_says_what_to_install_when_mariadb_is_missing(monkeypatch, tmp_path, capsys):
    from xtrarestore.core import programs

    monkeypatch.setattr(programs, "_EXTRA_DIRS", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["demo", "--workdir", str(tmp_path / "demo"), "--no-console"]) == 1
    assert "apt-get install -y mariadb-server mariadb-backup" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists()


def test_demo_command_reuses_the_demo_without_console(demo, capsys):
    assert main(["demo", "--workdir", str(demo.workdir), "--no-console"]) == 0
    out = capsys.readouterr().out
    assert "already built" in out and f"xtrarestore drill --root {demo.root}" in out


def test_report_round_trip_and_markdown_without_a_server(tmp_path):
    step = reports.StepResult("extract:x", "Extract x", "done", 3.0)
    overhead = reports.StepResult("drill:cleanup", "Clean up", "done", 1.0, in_rto=False)
    down = [reports.StepResult(name, name, "done", 0.0) for name in ("stop", "move-aside", "swap-in", "start")]
    report = reports.DrillReport(
        id="20260101T000000Z-abcd", status=reports.SUCCESS, started="2026-01-01T00:00:00+00:00",
        steps=[step, *down, reports.StepResult("verify", "Verify", "done", 1.0), overhead],
        tables=[reports.TableResult("playground", "equipment", 2, "InnoDB", "OK")],
        binlog={"file": "mysql-bin.000003", "position": 1234, "gtid": "0-1-42"},
    )
    assert report.rto_seconds == 4.0 and report.total_seconds == 5.0
    assert report.share(step) == 0.75 and report.share(overhead) == 0.0
    down[0].seconds, down[-1].seconds = 0.5, 1.5
    assert (report.before_stop_seconds, report.downtime_seconds, report.rto_seconds) == (3.0, 2.0, 6.0)
    json_path, md_path = reports.save(report, tmp_path)
    again = reports.load(json_path)
    assert again.to_dict() == report.to_dict()
    markdown = md_path.read_text()
    assert "`mysql-bin.000003:1234`, GTID 0-1-42" in markdown
    assert "before the stop 3.0s (production still answering); downtime (stop → answering) **2.0s**" in markdown
    assert "| Extract x | done | 3.0s | 50% |" in markdown and "| playground.equipment | InnoDB | 2 | OK |" in markdown
    (tmp_path / "drill-broken.json").write_text("{not json")
    assert [r.id for _, r in reports.list_reports(tmp_path)] == [report.id]


def test_killing_the_drill_command_stops_its_server(demo, workroot, tmp_path):
    import subprocess
    import sys

    plain_day = demo.days[2]
    command = [sys.executable, "-m", "xtrarestore.tui.cli", "drill", "--root", str(demo.root), "--day", plain_day,
               "--upto", demo.chain(plain_day)[-1].name, "--workdir", str(workroot),
               "--reports-dir", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stdout:
            if "Start the throwaway server" in line and "done" in line:
                break
        assert servers_under(workroot)
        proc.terminate()
        assert proc.wait(timeout=60) == 130
    finally:
        proc.kill()
    assert "interrupted" in proc.stderr.read()
    assert servers_under(workroot) == [] and list(workroot.iterdir()) == []


def test_a_drill_plan_aims_only_at_its_own_sandbox_and_creates_nothing(demo, workroot):
    plain_day = demo.days[2]
    planned = plan_drill(demo.root, plain_day, demo.chain(plain_day)[-1].name, workroot=workroot)
    assert list(workroot.iterdir()) == []
    plan = planned.plan
    assert all(p.is_relative_to(planned.base) for p in (plan.datadir, plan.aside, plan.workdir))
    assert plan.service["kind"] == "custom" and str(planned.base) in plan.service["start_cmd"]
    assert not any(step.privileged for step in plan.steps)
    assert [s.name for s in planned.steps][:2] == ["drill:find", "drill:sandbox"]
    assert planned.steps[-1].name == "drill:cleanup" and planned.steps[-2].name == "verify"


@pytest.mark.parametrize("now", ["2026-11-21 15:00:00", "2026-11-21 00:20:00", "2026-11-23 01:30:00"])
def test_demo_schedule_never_puts_a_backup_in_the_future(now):
    from datetime import datetime

    from xtrarestore.core.drills.demo import WEEKDAYS, schedule

    moment = datetime.fromisoformat(now)
    days = schedule(moment, [4, 3, 4])
    assert [len(times) for _, times in days] == [4, 3, 4]
    stamps = [t for _, times in days for t in times]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps) and stamps[-1] < moment
    assert all(WEEKDAYS[t.weekday()] == name for name, times in days for t in times)
    assert len({name for name, _ in days}) == 3


def test_a_drill_never_removes_a_directory_it_did_not_create(demo, workroot):
    plain_day = demo.days[2]
    planned = plan_drill(demo.root, plain_day, demo.chain(plain_day)[-1].name, workroot=workroot)
    planned.base.mkdir()
    (planned.base / "someone-elses").write_text("keep me")
    result = run_drill(planned)
    assert not result.ok and "exists" in result.error
    assert (planned.base / "someone-elses").read_text() == "keep me"


def test_a_workdir_too_deep_for_a_socket_is_refused_before_anything_is_created(demo, tmp_path):
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    with pytest.raises(SandboxError, match="longer than a Unix socket path may be"):
        plan_drill(demo.root, demo.days[-1], "latest", key_file=demo.key_file, workroot=deep)
    assert list(deep.iterdir()) == []
