"""The internal step actions and the runner that executes them."""

from __future__ import annotations

import subprocess

import pytest

from plan_support import journal_with, plan_for
from xtrarestore.core.restore.entry import step_program
from xtrarestore.core.restore.journal import read_records

STEP = step_program()


def test_rename_step_recognises_a_rename_already_done(tmp_path):
    src, dst = tmp_path / "mysql", tmp_path / "mysql.before"
    src.mkdir()
    run = [STEP, "rename", str(src), str(dst)]
    first = subprocess.run(run, capture_output=True, text=True)
    again = subprocess.run(run, capture_output=True, text=True)
    assert first.returncode == again.returncode == 0 and dst.is_dir() and not src.exists()
    assert "already renamed" in again.stdout
    src.mkdir()
    refused = subprocess.run(run, capture_output=True, text=True)
    assert refused.returncode == 1 and "refusing to overwrite" in refused.stdout and src.is_dir()


@pytest.mark.parametrize(("text", "ok"), [
    ("backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 300\nlast_lsn = 310\n", True),
    ("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 300\nlast_lsn = 310\n", False),
    ("backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 200\nlast_lsn = 210\n", False),
])
def test_lsn_check_after_prepare(tmp_path, text, ok):
    (tmp_path / "xtrabackup_checkpoints").write_text(text)
    result = subprocess.run([STEP, "check-lsn", str(tmp_path),
                             "--type", "log-applied", "--to-lsn", "300", "--last-lsn", "310"],
                            capture_output=True, text=True)
    assert (result.returncode == 0) == ok and ("completed OK!" in result.stdout) == ok


def test_runner_streams_lines_checks_ok_and_journals(tmp_path):
    from xtrarestore.core.errors import StepFailedError
    from xtrarestore.core.restore.plan import Step
    from xtrarestore.core.restore.runner import Runner

    plan = plan_for(tmp_path)
    journal = journal_with(tmp_path, plan)
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
