"""Timelines and stop points over real binlogs, checked against mariadb-binlog."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone

import pytest

from xtrarestore.core.binlog import (
    BinlogPosition,
    build_timeline,
    open_binlog_sources,
    read_backup_position,
    resolve_stop_point,
)
from xtrarestore.core.errors import BinlogCorruptError, StopPointError

from .conftest import BASENAME, binlog_truth, mariadb_binlog_gtids

pytestmark = pytest.mark.mariadb


def _truth_after(history, position):
    """mariadb-binlog's transactions from the backup's position on, in order, with their file names."""
    found = []
    for path in history.binlogs:
        if path.name < position.file:
            continue
        transactions, _, _ = binlog_truth(path)
        found += [(path.name, t) for t in transactions if path.name > position.file or t.start >= position.pos]
    return found


@pytest.fixture(scope="module")
def timeline(history):
    return build_timeline(open_binlog_sources([history.server.datadir]), read_backup_position(history.backup_dir))


def test_timeline_starts_at_the_backup_and_lists_what_follows(history, timeline):
    position = read_backup_position(history.backup_dir)
    truth = _truth_after(history, position)
    assert [(t.file, t.gtid, t.start, t.end) for t in timeline.transactions] == [
        (name, t.gtid, t.start, t.end) for name, t in truth
    ]
    assert timeline.gaps == [] and timeline.reachable == len(truth)
    assert [f.name for f in timeline.files] == [p.name for p in history.binlogs if p.name >= position.file]
    assert timeline.files[0].start == position.pos
    for span in timeline.files:
        in_file = [t.gtid for name, t in truth if name == span.name]
        assert (span.first_gtid, span.last_gtid) == ((in_file[0], in_file[-1]) if in_file else (None, None))
        assert span.transactions == len(in_file)
    assert timeline.start_state == position.gtids
    assert timeline.end_state == {
        **position.gtids,
        **{g.domain: g for g in (t.mariadb_gtid for t in timeline.transactions)},
    }


def test_notable_events_are_the_incident_and_the_drop(history, timeline):
    position = read_backup_position(history.backup_dir)
    truth = {t.gtid: t for _, t in _truth_after(history, position)}
    by_gtid = {e.gtid: e for e in timeline.notable}
    incident = by_gtid[history.incident_gtid]
    assert (incident.kind, incident.table, incident.rows) == (
        "delete",
        "shop.orders",
        truth[history.incident_gtid].rows,
    )
    drop = by_gtid[history.drop_gtid]
    assert (drop.kind, drop.table, drop.rows) == ("drop", "shop.audit", None)
    assert (drop.file, drop.pos, drop.time) == (drop.transaction.file, truth[drop.gtid].start, truth[drop.gtid].time)
    assert set(by_gtid) == {history.incident_gtid, history.drop_gtid}
    data = json.loads(json.dumps(timeline.to_json()))
    assert {e["gtid"] for e in data["events"]} == set(by_gtid)
    assert data["from"]["gtid"] == position.gtid and data["gaps"] == []
    assert data["to"]["file"] == history.binlogs[-1].name


def _replayed_by_mariadb_binlog(history, position, *args):
    files = [str(p) for p in history.binlogs if p.name >= position.file]
    return mariadb_binlog_gtids(f"--start-position={position.gtid}", *args, *files)


def test_stop_at_a_time_matches_mariadb_binlog_stop_datetime(history, timeline):
    position = read_backup_position(history.backup_dir)
    incident = next(t for t in timeline.transactions if t.gtid == history.incident_gtid)
    moment = datetime.fromtimestamp(incident.time, UTC)
    stop = resolve_stop_point(timeline, moment.strftime("%Y-%m-%d %H:%M:%SZ"))
    expected = _replayed_by_mariadb_binlog(history, position, f"--stop-datetime={moment:%Y-%m-%d %H:%M:%S}")
    assert [t.gtid for t in stop.transactions] == expected
    assert history.incident_gtid not in expected and expected
    assert stop.stop.file == stop.last.file and stop.stop.pos == stop.last.end
    shifted = moment.astimezone(timezone(timedelta(hours=2)))
    same = resolve_stop_point(timeline, shifted.strftime("%Y-%m-%d %H:%M:%S+02:00"))
    assert same.transactions == stop.transactions and "+02:00" in same.until.zone


def test_stop_before_and_at_a_gtid(history, timeline):
    position = read_backup_position(history.backup_dir)
    before = resolve_stop_point(timeline, f"before:{history.incident_gtid}")
    at = resolve_stop_point(timeline, f"gtid:{history.incident_gtid}")
    assert [t.gtid for t in at.transactions] == [t.gtid for t in before.transactions] + [history.incident_gtid]
    # mariadb-binlog's GTID stop filters per domain (it drops domains the stop position does not name);
    # ours is the binlog-order prefix a relay-log UNTIL replays. They agree on the incident's domain.
    domain = history.incident_gtid.split("-")[0] + "-"
    assert [t.gtid for t in at.transactions if t.gtid.startswith(domain)] == _replayed_by_mariadb_binlog(
        history, position, f"--stop-position={history.incident_gtid}"
    )
    assert at.transactions == tuple(timeline.transactions[: len(at.transactions)])
    incident = at.last
    assert (before.stop.file, before.stop.pos) == (incident.file, incident.start)
    assert history.incident_gtid in at.gtid_reached.split(",")
    by_position = resolve_stop_point(timeline, f"{incident.file}:{incident.start}")
    assert by_position.transactions == before.transactions


def test_skip_leaves_out_only_the_bad_transaction(history, timeline):
    stop = resolve_stop_point(timeline, "end", skip=[history.incident_gtid])
    assert [t.gtid for t in stop.skipped] == [history.incident_gtid]
    assert [t.gtid for t in stop.transactions] == [
        t.gtid for t in timeline.transactions if t.gtid != history.incident_gtid
    ]
    (first_from, first_to), (second_from, second_to) = stop.segments
    incident = stop.skipped[0]
    assert (first_to.file, first_to.pos) == (incident.file, incident.start)
    assert (second_from.file, second_from.pos) == (incident.file, incident.end)
    assert (second_to.file, second_to.pos) == (stop.last.file, stop.last.end)


@pytest.mark.parametrize(
    "until, says",
    [
        ("backup-gtid", "already in the backup"),
        ("gtid:0-11-999999", "not in the binlogs"),
        ("floor-time", "before the backup"),
        ("late-time", "past the end"),
        ("inside", "inside transaction"),
    ],
)
def test_stop_points_that_cannot_be_reached_are_refused(history, timeline, until, says):
    position = read_backup_position(history.backup_dir)
    incident = next(t for t in timeline.transactions if t.gtid == history.incident_gtid)
    text = {
        "backup-gtid": f"gtid:{next(iter(position.gtids.values()))}",
        "floor-time": f"{datetime.fromtimestamp(timeline.earliest_until - 1, UTC):%Y-%m-%d %H:%M:%S}Z",
        "late-time": f"{datetime.fromtimestamp(timeline.covered_until + 3600, UTC):%Y-%m-%d %H:%M:%S}Z",
        "inside": f"{incident.file}:{incident.start + 1}",
    }.get(until, until)
    with pytest.raises(StopPointError, match=says) as caught:
        resolve_stop_point(timeline, text)
    assert "\n" not in str(caught.value)


def test_skip_outside_the_range_is_refused(history, timeline):
    with pytest.raises(StopPointError, match="--skip"):
        resolve_stop_point(timeline, f"before:{history.incident_gtid}", skip=[history.drop_gtid])


def test_missing_middle_file_is_a_gap_and_bounds_stop_points(history, tmp_path):
    position = read_backup_position(history.backup_dir)
    later = [p for p in history.binlogs if p.name > position.file]
    missing = later[0]
    for path in history.binlogs:
        if path != missing:
            shutil.copy2(path, tmp_path / path.name)
    timeline = build_timeline(open_binlog_sources([tmp_path]), position)
    assert [g.code for g in timeline.gaps] == ["missing-file"]
    assert missing.name in timeline.gaps[0].message
    assert all(t.file < missing.name for t in timeline.reachable_transactions)
    assert timeline.reachable < len(timeline.transactions)
    with pytest.raises(StopPointError, match=missing.name):
        resolve_stop_point(timeline, f"gtid:{history.drop_gtid}")
    with pytest.raises(StopPointError, match="gap|stop short"):
        resolve_stop_point(timeline, "end")
    last = timeline.reachable_transactions[-1]
    assert resolve_stop_point(timeline, f"gtid:{last.gtid}").last == last


@pytest.mark.parametrize("content", [b"", b"\x00" * 4096], ids=["empty", "no magic"])
def test_a_file_named_like_a_binlog_that_is_not_one_is_named_not_skipped(history, tmp_path, content):
    """An empty (failed copy) or zeroed file in the sequence: one error naming it, not a quiet "missing" or a
    timeline that starts after it; a datadir's other numbered files are no binlogs and stay out."""
    position = read_backup_position(history.backup_dir)
    later = [p for p in history.binlogs if p.name > position.file]
    for path in history.binlogs:
        shutil.copy2(path, tmp_path / path.name)
    (tmp_path / later[0].name).write_bytes(content)
    (tmp_path / "aria_log.00000001").write_bytes(b"\xfe\xfe\x0c\x01" + bytes(100))
    binlogs = open_binlog_sources([tmp_path])
    assert "aria_log.00000001" not in binlogs.files
    with pytest.raises(BinlogCorruptError) as caught:
        build_timeline(binlogs, position)
    message = str(caught.value)
    assert str(tmp_path / later[0].name) in message and "\n" not in message
    assert ("empty" if not content else "binlog magic") in message
    (tmp_path / later[0].name).unlink()
    assert [g.code for g in build_timeline(open_binlog_sources([tmp_path]), position).gaps] == ["missing-file"]


def test_file_that_does_not_follow_on_is_a_gtid_gap(history, tmp_path):
    position = read_backup_position(history.backup_dir)
    later = [p for p in history.binlogs if p.name > position.file]
    dropped, moved = later[0], later[1]
    for path in history.binlogs:
        if path not in (dropped, moved):
            shutil.copy2(path, tmp_path / path.name)
    shutil.copy2(moved, tmp_path / dropped.name)  # renumbered: the sequence looks whole
    timeline = build_timeline(open_binlog_sources([tmp_path]), position)
    assert [g.code for g in timeline.gaps] == ["gtid-gap"]
    assert timeline.gaps[0].file == dropped.name


def test_binlogs_of_another_server_do_not_match_the_backup(history, make_binlog_server):
    other = make_binlog_server(server_id=12)
    other.execute("CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY)")
    for _ in range(4):
        other.execute(
            "INSERT INTO shop.orders SELECT seq FROM shop.seq_1_to_200 ON DUPLICATE KEY UPDATE id = id",
            "FLUSH BINARY LOGS",
        )
    position = read_backup_position(history.backup_dir)
    timeline = build_timeline(open_binlog_sources([other.datadir]), position)
    assert timeline.gaps and timeline.gaps[0].code in ("server-mismatch", "start-not-found")
    assert timeline.reachable == 0
    with pytest.raises(StopPointError):
        resolve_stop_point(timeline, "end")


def test_archive_from_the_server_fills_in_purged_files(make_binlog_server, tmp_path):
    server = make_binlog_server()
    server.execute("CREATE DATABASE a", "CREATE TABLE a.t (id INT PRIMARY KEY AUTO_INCREMENT, v INT)")
    for round_ in range(3):
        server.execute(f"INSERT INTO a.t (v) SELECT seq FROM a.seq_1_to_{100 * (round_ + 1)}", "FLUSH BINARY LOGS")
    archive = tmp_path / "archive"
    archive.mkdir()
    subprocess.run(
        [
            "mariadb-binlog",
            "--read-from-remote-server",
            f"--socket={server.socket}",
            "--user=root",
            "--raw",
            "--to-last-log",
            f"--result-file={archive}/",
            f"{BASENAME}.000001",
        ],
        check=True,
        capture_output=True,
    )
    server.execute(f"PURGE BINARY LOGS TO '{BASENAME}.000003'")
    assert not (server.datadir / f"{BASENAME}.000001").exists()
    live = open_binlog_sources([server.datadir, archive])

    timeline = build_timeline(live, BinlogPosition(f"{BASENAME}.000001", 4, ""))
    assert timeline.gaps == []
    truth = [t.gtid for name in sorted(live.files) for t in binlog_truth(live.files[name])[0]]
    assert [t.gtid for t in timeline.transactions] == truth
    assert timeline.files[-1].in_use
