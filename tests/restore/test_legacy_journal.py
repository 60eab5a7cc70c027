"""A journal written by the release that ran steps as `python -m xtrarestore.core.<module>` still rolls back.

The plan record below has exactly the shape that release wrote (a `python`
field, module paths in every internal step's argv). Its restore stopped a real
server, moved its datadir aside, created an empty one and failed in copy-back;
this release reads the journal and rolls it back for real.
"""

from __future__ import annotations

import json
import os
import sys

from xtrarestore.core.restore import recovery
from xtrarestore.core.restore.entry import step_program
from xtrarestore.core.restore.journal import Journal, load_state
from xtrarestore.core.restore.runner import Runner

OLD = [sys.executable, "-m"]


def _old_plan(server, workdir, aside) -> dict:
    """The plan record as the previous release serialised it."""
    service = ["--kind", "custom", "--stop-cmd", server.stop_cmd, "--start-cmd", server.start_cmd]
    reach = ["--socket", str(server.socket)]

    def step(name, title, argv, phase="swap", **extra):
        return {"name": name, "title": title, "argv": argv, "phase": phase, "destructive": False, "undo": "",
                "privileged": True, "expect_ok": True, "timeout": None, **extra}

    datadir = str(server.datadir)
    return {
        "restore_id": "20261120T030000Z-old1", "created": "2026-11-20T03:00:00+00:00",
        "workdir": str(workdir), "datadir": datadir, "aside": str(aside), "day": "Mon",
        "upto": "full-11-20-2026_03-00-00.xbstream", "members": ["full-11-20-2026_03-00-00.xbstream"],
        "tool": "mariabackup 10.11.19", "service": {"kind": "custom", "unit": None, "stop_cmd": server.stop_cmd,
                                                    "start_cmd": server.start_cmd},
        "steps": [
            step("extract:full-11-20-2026_03-00-00.xbstream", "Extract full",
                 [*OLD, "xtrarestore.core.archive.parallel", "--no-sync", "--into", str(workdir / "data"), "/x"],
                 phase="workspace", privileged=False),
            step("stop", "Stop the server", [*OLD, "xtrarestore.core.service", "stop", *service, *reach,
                                             "--datadir", datadir, "--timeout", "60"]),
            step("move-aside", "Move the live datadir aside",
                 [*OLD, "xtrarestore.core.steps", "rename", datadir, str(aside)], destructive=True),
            step("create-datadir", "Create an empty datadir",
                 [*OLD, "xtrarestore.core.steps", "create-datadir", datadir, "--like", str(aside)]),
            step("copy-back", "Copy the prepared files", ["/usr/bin/mariabackup", "--copy-back"]),
            step("chown", "Give the datadir its owner", [*OLD, "xtrarestore.core.steps", "chown", datadir,
                                                         "--like", str(aside)]),
            step("start", "Start the server", [*OLD, "xtrarestore.core.service", "start", *service, *reach,
                                               "--timeout", "60"]),
            step("verify", "Verify", [*OLD, "xtrarestore.core.verify", *reach, "--backup-dir", "/x"],
                 phase="verify", privileged=False),
        ],
        "reach": reach, "defaults_file": None, "error_log": None, "stop_timeout": 60.0, "start_timeout": 60.0,
        "python": sys.executable,
    }


def test_an_old_journal_rolls_back_through_the_step_program(fresh_server, tmp_path):
    server = fresh_server
    server.add_equipment("slide", 3, "red")
    before = server.execute("SELECT COUNT(*) FROM playground.equipment")
    workdir, aside = tmp_path / "work", server.datadir.with_name("data.before-restore-old")
    workdir.mkdir(mode=0o700)
    plan = _old_plan(server, workdir, aside)
    journal = Journal([workdir / "journal.jsonl", tmp_path / "state" / "journal" / "old1.jsonl"])
    journal.append({"event": "plan", "plan": plan})
    for name in ("extract:full-11-20-2026_03-00-00.xbstream", "stop", "move-aside", "create-datadir"):
        journal.append({"event": "start", "mode": "restore", "step": name})
        journal.append({"event": "end", "mode": "restore", "step": name, "status": "ok"})
    journal.append({"event": "start", "mode": "restore", "step": "copy-back"})
    journal.append({"event": "end", "mode": "restore", "step": "copy-back", "status": "failed"})
    # What that release had done on disk when copy-back failed.
    server.stop()
    os.rename(server.datadir, aside)
    server.datadir.mkdir()
    (server.datadir / "half-copied.ibd").write_bytes(b"x")

    state = load_state(journal.paths[1])
    assert state.plan.stepper == step_program()
    assert all("-m" not in step.argv for step in state.plan.steps if step.argv[0] != "/usr/bin/mariabackup")
    recovery.rollback(state, Runner(state.plan, journal))

    assert server.execute("SELECT COUNT(*) FROM playground.equipment") == before
    kept = [p for p in server.datadir.parent.iterdir() if ".failed-restore-" in p.name]
    assert len(kept) == 1 and (kept[0] / "half-copied.ibd").exists() and not aside.exists()
    done = [json.loads(line) for line in journal.paths[1].read_text().splitlines()]
    assert done[-1] == {**done[-1], "event": "outcome", "outcome": "rolled-back"}
