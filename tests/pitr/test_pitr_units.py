"""Server-free parts of point-in-time recovery: resume arithmetic, the step's command line, the binlog view."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from xtrarestore.core.binlog import (
    BinlogPosition,
    FileSpan,
    Gtid,
    NotableEvent,
    Statement,
    Timeline,
    Transaction,
    resolve_stop_point,
)
from xtrarestore.core.errors import BinlogOffError
from xtrarestore.core.restore.pitr import RollForward, backup_position, roll_forward_step
from xtrarestore.core.restore.rollforward import already_applied, remaining_segments
from xtrarestore.tui.commands.binlog import show

BASE = int(datetime(2026, 11, 17, 1, 0, tzinfo=UTC).timestamp())


def timeline(count: int = 10) -> Timeline:
    transactions = [Transaction(f"0-5-{n}", 0, 5, n, "b.000001", 100 * n, 100 * n + 100, BASE + n, "xid", (), ())
                    for n in range(1, count + 1)]
    drop = Statement(transactions[6].start, 0, b"shop", b"DROP TABLE `\x1b[31mred[/]`", False)
    notable = [NotableEvent("drop", transactions[6], "shop.\x1b[31mred[/]", None, drop, True)]
    span = FileSpan("b.000001", "/x/b.000001", 100 * count + 200, 5, "10.11", False, 100, 100 * count + 100,
                    BASE, BASE + count, "0-5-0", "0-5-1", f"0-5-{count}", count)
    return Timeline(start=BinlogPosition("b.000001", 100, "0-5-0"), files=[span], gaps=[],
                    transactions=transactions, reachable=count, notable=notable, start_state={0: Gtid(0, 5, 0)},
                    earliest_until=BASE, covered_until=BASE + count, end_state={0: Gtid(0, 5, count)})


def test_resume_starts_after_the_last_transaction_the_server_holds():
    stop = resolve_stop_point(timeline(), "end", ["0-5-7"])
    assert already_applied(stop, {}) == 0
    assert already_applied(stop, {0: Gtid(0, 5, 4)}) == 4
    assert already_applied(stop, {0: Gtid(0, 5, 10)}) == len(stop.transactions) == 9
    # from the fifth transaction on: up to the skipped one, then after it
    assert [(str(a), str(b)) for a, b in remaining_segments(stop, 4)] == [
        ("b.000001:500", "b.000001:700"), ("b.000001:800", "b.000001:1100")]
    # past the skipped one: a single segment
    assert [(str(a), str(b)) for a, b in remaining_segments(stop, 7)] == [("b.000001:900", "b.000001:1100")]
    assert remaining_segments(stop, 9) == []


def test_the_step_command_carries_no_password_and_the_resolved_position(tmp_path):
    tl = timeline()
    stop = resolve_stop_point(tl, "2026-11-17 01:00:05Z")
    roll = RollForward(stop=stop, timeline=tl, dirs=[Path("/archive")], run_dirs=[Path("/archive")])
    plan = NS(stepper="xtrarestore-step", reach=["--socket", "/run/s.sock"], workdir=tmp_path)
    target = NS(defaults_file=Path("/etc/mysql/backup.cnf"), datadir=Path("/var/lib/mysql"))
    step = roll_forward_step(roll, target, plan, backup_dir=tmp_path / "full")
    argv = step.argv
    assert argv[:2] == ["xtrarestore-step", "roll-forward"]
    assert argv[argv.index("--until") + 1] == "b.000001:500"  # a time is resolved once, at plan time
    assert argv[argv.index("--expect-gtid") + 1] == "0-5-4"
    assert argv[argv.index("--defaults-file") + 1] == "/etc/mysql/backup.cnf"
    assert not any("password" in a.lower() for a in argv)
    assert step.name == "roll-forward" and step.undo


def test_a_backup_without_a_binlog_position_is_binlog_off():
    backup = NS(binlog=None, info=NS(fields={}), path=Path("/b/full.xbstream"))
    with pytest.raises(BinlogOffError, match="full.xbstream.*binary logging was off"):
        backup_position(backup)
    backup.info.fields["binlog_pos"] = "filename 'm.000002', position '377', GTID of the last change '0-1-9'"
    assert backup_position(backup) == BinlogPosition("m.000002", 377, "0-1-9")


def test_the_binlog_view_fits_80_columns_and_escapes_what_it_read():
    out = io.StringIO()
    show(timeline(), out=out)
    text = out.getvalue()
    assert "\x1b" not in text and "\\x1b[31mred[/]" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "UTC" in text and "drop" in text


def test_relay_copies_that_would_fill_the_disk_are_refused_before_any_is_made(tmp_path):
    """Binlogs on another file system are copied beside the relay logs: with too little room there the
    step refuses in one line naming the directory and the sizes, and copies nothing."""
    import subprocess

    from xtrarestore.core.errors import ReplayError
    from xtrarestore.core.restore.rollforward import RelayLayout, place_relay_logs

    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(small)], check=False).returncode:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        archive = tmp_path / "archive"
        archive.mkdir()
        files = []
        for number in (1, 2):
            path = archive / f"mysql-bin.{number:06d}"
            path.write_bytes(b"\xfebin" + bytes(20 << 20))
            files.append(path)
        layout = RelayLayout(index=small / "relay.index", prefix="./relay.", directory=small, uid=0, gid=0)
        with pytest.raises(ReplayError) as refused:
            place_relay_logs(layout, files)
        message = str(refused.value)
        assert str(small) in message and "40 MiB" in message and "--replay pipe" in message and "\n" not in message
        assert list(small.iterdir()) == []
        local = small / "mysql-bin.000003"
        local.write_bytes(b"\xfebin" + bytes(1 << 20))
        assert place_relay_logs(layout, [local]) == ["./relay.000003"]  # same file system: a link, no room needed
        assert (small / "relay.000003").stat().st_ino == local.stat().st_ino
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_the_plan_counts_the_relay_copies_of_binlogs_on_another_file_system(tmp_path):
    """Only binlogs the replay cannot hard-link (another file system) cost space, and only with the relay
    method (the restore's space check counts them: tests/restore/test_preflight.py)."""
    import dataclasses
    import os

    binlog = tmp_path / "b.000001"
    binlog.write_bytes(bytes(1200))
    tl = timeline()
    tl.files[0] = dataclasses.replace(tl.files[0], path=str(binlog))
    roll = RollForward(stop=resolve_stop_point(tl, "end"), timeline=tl, dirs=[tmp_path], run_dirs=[tmp_path])
    assert roll.relay_copy_bytes(os.stat(tmp_path).st_dev) == 0  # linked where it lies
    assert roll.relay_copy_bytes(os.stat("/proc").st_dev) == tl.files[0].size
    assert dataclasses.replace(roll, method="pipe").relay_copy_bytes(os.stat("/proc").st_dev) == 0


def test_a_pipe_replay_without_its_programs_refuses_before_marking_itself_started(tmp_path, monkeypatch):
    """A missing mariadb-binlog is said before the state file claims a pipe began (which would make every retry
    refuse as if rows had been applied). The host has the programs, so their absence is faked."""
    from xtrarestore.core.errors import ToolNotFoundError
    from xtrarestore.core.restore import rollforward

    def missing(names, hint=""):
        raise ToolNotFoundError(f"{' / '.join(names)} not found on this host")

    monkeypatch.setattr(rollforward, "find_program", missing)
    state_file = tmp_path / "rollforward-state.json"
    with pytest.raises(ToolNotFoundError, match="mariadb-binlog"):
        rollforward.pipe_replay(None, None, None, None, 0, [], rollforward.StepState(state_file))
    assert not rollforward.StepState(state_file).data.get("pipe_started")


def test_binlogs_in_a_bucket_are_refused_with_the_way_round(capsys):
    """--binlog-dir reads local directories; an s3:// URL is named whole with how to copy it down."""
    from xtrarestore.tui.cli import main

    assert main(["binlog", "--binlog-dir", "s3://backups/db1/binlogs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s3://backups/db1/binlogs: binlogs are read from local directories" in err
    assert "aws s3 sync s3://backups/db1/binlogs DIR" in err
