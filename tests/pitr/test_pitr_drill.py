"""Point-in-time drills on real servers: a backup plus the binlogs, to a time, before the incident, past it."""

from __future__ import annotations

import json

import pytest

from xtrarestore.core.drills.drill import plan_drill, run_drill
from xtrarestore.core.drills.sandbox import SandboxServer

from .conftest import BASENAME, orders, table_state

pytestmark = pytest.mark.mariadb


def _drill_and_look(production, workroot, **stop):
    """Run a kept drill with *stop*; return (report, table state, orders) of the rolled-forward server."""
    planned = plan_drill(production.root, "Mon", production.backup.name, workroot=workroot, **stop)
    report = run_drill(planned, keep=True)
    sandbox = SandboxServer(base=planned.sandbox.base)
    try:
        assert report.ok, report.error
        return report, table_state(sandbox), orders(sandbox)
    finally:
        sandbox.stop()


def test_drill_to_a_time_from_an_archive_stops_before_the_delete(production, workroot):
    archive = production.archive("time")
    report, state, _ = _drill_and_look(production, workroot, until=production.stop_time, binlog_dirs=[archive])
    assert state == production.states["before-delete"]
    rf = report.roll_forward
    assert "host time zone" in rf["stop_point"]
    assert rf["transactions_applied"] == rf["transactions"] == 42  # 40 inserts, the UPDATE and the audit row
    assert rf["gtid_reached"] and rf["time_reached"].endswith("UTC")
    assert json.loads(json.dumps(report.to_dict()))["roll_forward"]["gtid_reached"] == rf["gtid_reached"]


def test_drill_before_the_delete_with_the_live_servers_binlogs(production, workroot):
    report, state, _ = _drill_and_look(production, workroot, until=f"before:{production.delete_gtid}",
                                       from_server=production.server.socket)
    assert state == production.states["before-delete"]
    assert report.roll_forward["gtid_target"] == report.roll_forward["gtid_reached"]


def test_drill_skipping_the_delete_keeps_every_other_transaction(production, workroot):
    archive = production.archive("skip")
    report, state, rows = _drill_and_look(production, workroot, until=f"gtid:{production.last_gtid}",
                                          skip=(production.delete_gtid,), binlog_dirs=[archive])
    assert rows == production.rows_without_delete
    assert state["shop.audit"] is None  # the DROP TABLE was not skipped
    assert report.roll_forward["skip"] == [production.delete_gtid]


def test_drill_with_the_pipe_reaches_the_same_state(production, workroot):
    archive = production.archive("pipe")
    _, state, _ = _drill_and_look(production, workroot, until=f"before:{production.drop_gtid}",
                                  binlog_dirs=[archive], replay="pipe")
    assert state == production.states["before-drop"]
    assert sorted(p.name for p in archive.iterdir()) == sorted(
        p.name for p in production.server.datadir.glob(f"{BASENAME}.[0-9]*"))


def test_a_second_run_of_the_step_continues_from_what_the_server_holds(production, workroot):
    """The step after a partial roll-forward (here: a drill kept at the DELETE) applies only the rest."""
    import subprocess

    archive = production.archive("resume")
    planned = plan_drill(production.root, "Mon", production.backup.name, workroot=workroot,
                         until=f"before:{production.delete_gtid}", binlog_dirs=[archive])
    report = run_drill(planned, keep=True)
    sandbox = SandboxServer(base=planned.sandbox.base)
    try:
        assert report.ok, report.error
        argv = list(planned.plan.step("roll-forward").argv)
        for option in ("--until", "--expect-gtid"):
            at = argv.index(option)
            del argv[at:at + 2]
        argv += ["--until", f"gtid:{production.last_gtid}", "--skip", production.delete_gtid]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout
        assert f"already holds {report.roll_forward['transactions_applied']} of" in result.stdout
        assert orders(sandbox) == production.rows_without_delete
    finally:
        sandbox.stop()


def test_an_sql_error_stops_the_step_with_one_line_and_cleans_up(production, workroot):
    """A row in the way of a replayed INSERT: the applier's Last_SQL_Error, the GTID, nothing left behind."""
    import subprocess

    archive = production.archive("sql-error")
    planned = plan_drill(production.root, "Mon", production.backup.name, workroot=workroot,
                         until=f"before:{production.delete_gtid}", binlog_dirs=[archive])
    report = run_drill(planned, keep=True)
    sandbox = SandboxServer(base=planned.sandbox.base)
    try:
        assert report.ok, report.error
        in_the_way = production.rows_without_delete[-21][0]  # the first order of phase B
        sandbox.execute("INSERT INTO shop.orders (id, customer, note) VALUES (%s, 0, 'in the way')",
                        params=(in_the_way,))
        server_id = sandbox.execute("SELECT @@server_id")[0][0]
        argv = list(planned.plan.step("roll-forward").argv)
        for option in ("--until", "--expect-gtid"):
            at = argv.index(option)
            del argv[at:at + 2]
        argv += ["--until", "end"]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        errors = [line for line in result.stdout.splitlines() if line.startswith("error:")]
        assert result.returncode == 1 and len(errors) == 1, result.stdout
        assert "Duplicate entry" in errors[0] and "GTID 0-21-" in errors[0]
        assert not list(sandbox.datadir.glob("*xtrarestore_pitr*"))
        assert sandbox.execute("SELECT @@server_id")[0][0] == server_id
        assert sandbox.execute("SELECT @@innodb_flush_log_at_trx_commit")[0][0] == 1
    finally:
        sandbox.stop()
