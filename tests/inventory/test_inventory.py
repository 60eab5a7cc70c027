"""Inventory and LSN chains over real backup trees made by a real MariaDB server and mariabackup."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from inventory_tree import KEY, build, build_series, extract
from xtrarestore.core.archive.xbstream import chunk_bytes, eof_bytes, iter_headers, read_members
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.errors import BackupRootError, ChainError
from xtrarestore.core.inventory.chains import find_restore_point
from xtrarestore.core.inventory.scan import scan
from xtrarestore.core.inventory.stream_metadata import WANTED, read_stream_metadata
from xtrarestore.tui.cli import main


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    with SandboxServer.create() as server:
        server.load_playground()
        built = build(server, tmp_path_factory.mktemp("inventory") / "backups")
        series = build_series(server, tmp_path_factory.mktemp("series") / "backups")
    built.series = series
    return built


@pytest.fixture(scope="module")
def inventory(tree):
    return scan(tree.root)


@pytest.fixture(scope="module")
def keyed(tree):
    return scan(tree.root, key=KEY)


def day(inventory, name):
    return next(d for d in inventory.days if d.name == name)


def backup(inventory, path: Path):
    return next(b for b in inventory.backups if b.path == path)


def names(backups):
    return [b.name for b in backups]


def chain_names(day_):
    return [names(c.members) for c in day_.chains]


def codes(problems):
    return [p.code for p in problems]


def test_finds_every_day_layout(inventory):
    assert {d.name for d in inventory.days} == {
        "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "2026-11-21", "2026-11-22", "20261123", "11-24-2026", "quiet",
    }


def test_healthy_chain_reads_lsns_from_inside_each_stream(inventory, tree):
    mon = day(inventory, "Mon")
    full, inc1, inc2 = (backup(inventory, tree.names[k]) for k in ("mon-full", "mon-inc1", "mon-inc2"))
    assert chain_names(mon) == [[full.name, inc1.name, inc2.name]]
    assert [b.state for b in (full, inc1, inc2)] == ["ok", "ok", "ok"]
    assert (full.kind, inc1.kind, inc2.kind) == ("full", "incremental", "incremental")
    assert inc1.checkpoints.from_lsn == full.checkpoints.to_lsn
    assert inc2.checkpoints.from_lsn == inc1.checkpoints.to_lsn
    assert full.lsn_source == "stream" and inc1.lsn_source == "stream"
    # the day-level copy only knows the last backup: per-stream values differ from it
    assert full.checkpoints.to_lsn != inc2.checkpoints.to_lsn
    assert (full.compression, inc2.compression) == (None, "qpress")
    assert not full.encrypted
    assert inc2.info.tool_name == "mariabackup"  # read from the compressed xtrabackup_info.qp
    assert inc2.completed_ok is True
    assert full.size == tree.names["mon-full"].stat().st_size
    assert full.timestamp.strftime("%m-%d-%Y_%H-%M-%S") in full.name
    points = mon.chains[0].restore_points()
    assert [names(p.members) for p in points] == [[full.name], [full.name, inc1.name], names((full, inc1, inc2))]
    assert find_restore_point(inventory, "Mon", inc1.name).members == [full, inc1]


def test_extracted_copy_is_listed_but_not_chained(inventory, tree):
    copy = backup(inventory, tree.names["mon-copy"])
    assert copy.artifact == "directory" and copy.name == f"restore/{tree.names['mon-full'].stem}"
    assert copy.copy_of == tree.names["mon-full"].name and copy.state == "copy"
    assert copy.checkpoints == backup(inventory, tree.names["mon-full"]).checkpoints
    assert all(copy not in c.members for c in day(inventory, "Mon").chains)
    with pytest.raises(ChainError, match="extracted copy of"):
        find_restore_point(inventory, "Mon", copy.name)


def test_interrupted_backup_is_incomplete_and_leaves_the_chain_alone(inventory, tree):
    tue = day(inventory, "Tue")
    partial = backup(inventory, tree.names["tue-partial"])
    assert partial.artifact == "incomplete" and partial.state == "incomplete"
    assert codes(partial.problems) == ["incomplete"] and ".incomplete" in partial.problems[0].message
    inc1 = backup(inventory, tree.names["tue-inc1"])
    assert inc1.state == "ok"
    assert find_restore_point(inventory, "Tue", inc1.name).target is inc1
    with pytest.raises(ChainError, match="incomplete"):
        find_restore_point(inventory, "Tue", partial.name)
    assert [c.problems[0].code for c in tue.chains if c.problems] == ["incomplete"]


def test_gap_stops_the_chain_before_the_missing_backup(inventory, tree):
    wed = day(inventory, "Wed")
    labels = ("wed-full", "wed-inc1", "wed-inc3", "wed-inc4")
    full, inc1, inc3, inc4 = (backup(inventory, tree.names[k]) for k in labels)
    assert inc3.state == "gap" and codes(inc3.problems) == ["gap"]
    assert str(inc3.checkpoints.from_lsn) in inc3.problems[0].message
    assert inc1.name in inc3.problems[0].message
    assert chain_names(wed) == [[full.name, inc1.name], [inc3.name, inc4.name]]
    assert inc4.state == "blocked" and inc4.problems == []  # fine itself, but after the gap
    assert [p.target for c in wed.chains for p in c.restore_points()] == [full, inc1]
    with pytest.raises(ChainError, match="gap|missing"):
        find_restore_point(inventory, "Wed", inc3.name)


def test_orphan_without_a_full_and_orphan_based_in_another_day(inventory, tree):
    thu_inc = backup(inventory, tree.names["thu-inc1"])
    assert thu_inc.state == "orphan" and "no full backup" in thu_inc.problems[0].message
    fri_inc = backup(inventory, tree.names["fri-inc1"])
    assert fri_inc.state == "orphan"
    assert "day Thu" in fri_inc.problems[0].message and thu_inc.name in fri_inc.problems[0].message
    assert day(inventory, "Fri").chains[0].restore_points() == []


def test_fork_keeps_both_branches_and_flags_the_later_one(inventory, tree):
    sat = day(inventory, "Sat")
    full, inc1, inc2 = (backup(inventory, tree.names[k]) for k in ("sat-full", "sat-inc1", "sat-inc2"))
    assert inc1.checkpoints.from_lsn == inc2.checkpoints.from_lsn == full.checkpoints.to_lsn
    assert inc1.checkpoints.to_lsn != inc2.checkpoints.to_lsn
    assert chain_names(sat) == [[full.name, inc1.name], [full.name, inc2.name]]
    assert codes(sat.chains[1].problems) == ["fork"] and inc2.state == "fork"
    assert inc1.state == "ok"
    assert {p.target.name for c in sat.chains for p in c.restore_points()} == {full.name, inc1.name}


def test_failed_latest_backup(inventory, tree):
    failed = backup(inventory, tree.names["sun-failed"])
    assert failed.artifact == "stream" and failed.state == "failed"
    assert codes(failed.problems) == ["failed"]
    assert failed.problems[0].message.startswith(f"{failed.path}: ")
    assert "empty stream" in failed.problems[0].message or "no xtrabackup_checkpoints" in failed.problems[0].message
    assert backup(inventory, tree.names["sun-full"]).state == "ok"


def test_latest_stream_is_failed_when_its_log_lacks_completed_ok(tree, tmp_path):
    copy = tmp_path / "Mon"
    shutil.copytree(tree.root / "Mon", copy, ignore=shutil.ignore_patterns("restore"))
    log = copy / "backup-progress.log"
    log.write_text(log.read_text() + "[00] FATAL ERROR: 2026-11-16 03:20:01 failed to copy ib_logfile0\n")
    result = scan(copy)
    latest = next(b for b in result.backups if b.name == tree.names["mon-inc2"].name)
    assert latest.state == "failed" and latest.completed_ok is False
    assert latest.problems[0].message.startswith(f"{log}: ") and "FATAL ERROR" in latest.problems[0].message
    targets = [p.target.name for p in result.restore_points()]
    assert targets == [tree.names["mon-full"].name, tree.names["mon-inc1"].name]


def test_compressed_day(inventory, tree):
    full, inc1 = (backup(inventory, tree.names[k]) for k in ("c-full", "c-inc1"))
    assert (full.compression, inc1.compression) == ("qpress", "qpress")
    assert (full.state, inc1.state) == ("ok", "ok")
    assert inc1.checkpoints.from_lsn == full.checkpoints.to_lsn


def test_truncated_and_non_xbstream_files_are_unreadable_with_the_reason(inventory, tree):
    truncated, garbage = backup(inventory, tree.names["truncated"]), backup(inventory, tree.names["garbage"])
    assert truncated.state == "unreadable" and garbage.state == "unreadable"
    assert truncated.problems[0].message.startswith(f"{tree.names['truncated']}: truncated")
    assert "offset 0x" in truncated.problems[0].message
    assert garbage.problems[0].message == f"{tree.names['garbage']}: not an xbstream file at offset 0x0"
    assert "\n" not in truncated.problems[0].message


def test_damaged_checkpoints_name_the_file_and_the_problem(tree, tmp_path):
    day_dir = tmp_path / "Mon"
    day_dir.mkdir()
    corrupt = day_dir / tree.names["mon-full"].name
    shutil.copy(tree.names["mon-full"], corrupt)
    with open(corrupt, "r+b") as stream:
        headers = iter_headers(stream, "x", corrupt.stat().st_size)
        header = next(h for h in headers if h.path == "xtrabackup_checkpoints")
        stream.seek(header.data_offset)
        stream.write(b"X")
    garbage = day_dir / "incremental-11-16-2026_09-00-00.xbstream"
    member = "xtrabackup_checkpoints"
    garbage.write_bytes(chunk_bytes(member, b"\x00\x01garbage", 0) + eof_bytes(member))
    no_lsn = shutil.copytree(tree.names["mon-copy"], day_dir / "restore" / "full-11-16-2026_08-00-00")
    (no_lsn / "xtrabackup_checkpoints").write_text("backup_type = full-backuped\nfrom_lsn = 0\n")
    result = {b.path: b for b in scan(day_dir).backups}
    assert result[corrupt].state == "unreadable"
    assert result[corrupt].problems[0].message == (
        f"{corrupt}: checksum mismatch in xtrabackup_checkpoints at offset {header.position:#x}")
    assert result[garbage].problems[0].message == (
        f"{garbage}:xtrabackup_checkpoints: not a checkpoints file (binary data)")
    assert result[no_lsn].state == "unreadable"
    assert result[no_lsn].problems[0].message == f"{no_lsn}:xtrabackup_checkpoints: checkpoints file has no to_lsn"


def test_encrypted_day_without_key_is_key_required_except_what_lsndir_proves(inventory, tree):
    full, inc1 = backup(inventory, tree.names["enc-full"]), backup(inventory, tree.names["enc-inc1"])
    assert full.encrypted and inc1.encrypted
    assert full.state == "key-required" and full.checkpoints is None
    assert "--key-file" in full.problems[0].message
    # the day's extra-lsndir copy provably belongs to the latest stream: its LSNs are known
    assert inc1.lsn_source == str(tree.root / "20261123" / "xtrabackup_checkpoints")
    assert inc1.checkpoints.from_lsn > 0
    assert codes(inc1.problems) == ["key-required"] and full.name in inc1.problems[0].message
    assert day(inventory, "20261123").chains[0].restore_points() == []


def test_encrypted_day_with_the_key_chains(keyed, tree):
    full, inc1 = backup(keyed, tree.names["enc-full"]), backup(keyed, tree.names["enc-inc1"])
    assert (full.state, inc1.state) == ("ok", "ok") and full.lsn_source == "stream"
    assert inc1.checkpoints.from_lsn == full.checkpoints.to_lsn
    assert full.info.tool_name == "mariabackup"


def test_wrong_key_is_reported_not_raised(tree):
    result = scan(tree.root / "20261123", key=b"x" * 32)
    full = next(b for b in result.backups if b.path == tree.names["enc-full"])
    assert full.state == "key-required"


def test_two_fulls_in_one_day_make_two_chains(inventory, tree):
    two = day(inventory, "11-24-2026")
    full1, full2, inc = (backup(inventory, tree.names[k]) for k in ("two-full1", "two-full2", "two-inc1"))
    assert chain_names(two) == [[full1.name], [full2.name, inc.name]]
    assert codes(two.problems) == ["extra-full"] and full2.name in two.problems[0].message
    assert inc.state == "ok" and full1.state == "ok"


def test_quiet_server_orders_equal_to_lsn_by_time(inventory, tree):
    quiet = day(inventory, "quiet")
    full, inc1, inc2 = (backup(inventory, tree.names[k]) for k in ("quiet-full", "quiet-inc1", "quiet-inc2"))
    assert inc1.checkpoints.to_lsn == inc2.checkpoints.to_lsn == inc2.checkpoints.from_lsn
    assert chain_names(quiet) == [[full.name, inc1.name, inc2.name]]
    assert not quiet.chains[0].problems


def test_find_restore_point_explains_unknown_names(inventory, tree):
    with pytest.raises(ChainError, match="no day directory 'Someday'"):
        find_restore_point(inventory, "Someday", "x")
    with pytest.raises(ChainError, match="no backup 'nope.xbstream' in day Mon"):
        find_restore_point(inventory, "Mon", "nope.xbstream")
    with pytest.raises(ChainError, match="orphan") as caught:
        find_restore_point(inventory, "Fri", tree.names["fri-inc1"].name)
    assert str(caught.value).startswith(str(tree.names["fri-inc1"]))


def test_newest_restore_point(inventory, tree):
    newest = inventory.newest_restore_point()
    assert newest.day.name == "quiet" and newest.target.path == tree.names["quiet-inc2"]


def test_percona_series_layout_with_lsns_copies(tree):
    result = scan(tree.series.root)
    assert len(result.days) == 1 and result.days[0].name == "backups"
    series = result.days[0]
    full = next(b for b in series.backups if b.name.startswith("full/"))
    assert full.artifact == "directory" and full.encrypted
    assert full.lsn_source.endswith("lsns/2026-11-20_01-00-00/xtrabackup_checkpoints")
    assert len(series.chains) == 1 and len(series.chains[0].members) == 3
    assert [b.state for b in series.chains[0].members] == ["ok", "ok", "ok"]
    assert series.chains[0].members[0] is full


def test_day_directories_are_recognised_by_name_and_nesting(tree, tmp_path):
    for name in ("Monday", "tue", "20261121", "11-21-2026", "misc", "host1/2026-11-20", "host1/notes"):
        (tmp_path / name).mkdir(parents=True)
    shutil.copy(tree.names["mon-full"], tmp_path / "host1" / "notes" / tree.names["mon-full"].name)
    # extract-mysql.sh run from the root leaves restore/<backup>/ there: those directories form a day
    shutil.copytree(tree.names["mon-copy"], tmp_path / "restore" / tree.names["mon-copy"].name)
    result = scan(tmp_path)
    assert sorted(d.name for d in result.days) == sorted(
        ["Monday", "tue", "20261121", "11-21-2026", "host1/2026-11-20", "host1/notes", "restore"])
    assert [b.state for b in day(result, "host1/notes").backups] == ["ok"]
    assert [(b.artifact, b.state) for b in day(result, "restore").backups] == [("directory", "ok")]


def test_plain_target_dirs_chain_by_lsn_even_when_mtimes_mislead(tree, tmp_path):
    # The Percona manual's layout: /data/backups/base, inc1, inc2 (no time in the names).
    for label, name in (("mon-full", "base"), ("mon-inc1", "inc1"), ("mon-inc2", "inc2")):
        extract(tree.names[label], tmp_path / name)
    os.utime(tmp_path / "base", (0, 2_000_000_000))  # touched later, e.g. by --prepare
    result = scan(tmp_path)
    assert [d.name for d in result.days] == [tmp_path.name]
    assert chain_names(result.days[0]) == [["base", "inc1", "inc2"]]
    base = result.days[0].chains[0].members[0]
    assert base.timestamp == base.info.start_time and base.timestamp.year == datetime.now().year
    assert [b.state for b in result.backups] == ["ok", "ok", "ok"]
    assert [b.compression for b in result.days[0].chains[0].members] == [None, None, "qpress"]


def test_root_may_be_one_day_or_one_backup_directory(tree):
    one_day = scan(tree.root / "Mon")
    assert [d.name for d in one_day.days] == ["Mon"] and len(one_day.days[0].chains) == 1
    one_backup = scan(tree.names["mon-copy"])
    assert [b.kind for b in one_backup.backups] == ["full"]
    assert one_backup.newest_restore_point().target.path == tree.names["mon-copy"]


def test_bad_roots_fail_with_one_line_naming_them(tree, tmp_path):
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    for root, reason in ((tree.names["mon-full"], "not a directory"), (dangling, "No such file"),
                         (tmp_path / "missing", "No such file")):
        with pytest.raises(BackupRootError, match=reason) as caught:
            scan(root)
        assert str(caught.value).startswith(f"{root}: ")


def test_dangling_day_symlink_is_reported_and_the_rest_scanned(tree, tmp_path):
    shutil.copytree(tree.root / "Tue", tmp_path / "Tue")
    (tmp_path / "Wed").symlink_to(tmp_path / "gone")
    result = scan(tmp_path)
    wed = day(result, "Wed")
    assert wed.backups == [] and codes(wed.problems) == ["unreadable"]
    assert wed.problems[0].message == f"{tmp_path / 'Wed'}: cannot read directory: dangling symbolic link"
    assert len(day(result, "Tue").backups) == 3


# As root (the CI runs as root) permissions do not stop reading; the tests above use a dangling
# symlink and a file instead, which fail for everyone.
@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 directory anyway")
def test_unreadable_day_directory_is_reported(tmp_path):
    (tmp_path / "Mon").mkdir(mode=0)
    try:
        result = scan(tmp_path)
    finally:
        (tmp_path / "Mon").chmod(0o755)
    assert codes(result.days[0].problems) == ["unreadable"]


def test_c_walk_matches_the_python_walk(tree):
    for label in ("mon-full", "mon-inc2", "enc-inc1"):
        path = tree.names[label]
        members, _ = read_members(path, set(WANTED).__contains__)
        meta = read_stream_metadata(path)
        assert meta.members == members and meta.error is None
        assert meta.chunks > 300 and meta.bytes_read < path.stat().st_size


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path): (path.lstat().st_size, path.lstat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


def test_browsing_never_writes_into_the_root(tree, capsys):
    before = _snapshot(tree.root)
    scan(tree.root, key=KEY)
    assert main(["inventory", "--root", str(tree.root), "--json"]) == 0
    assert main(["inventory", "--root", str(tree.root)]) == 0
    capsys.readouterr()
    assert _snapshot(tree.root) == before


def test_cli_json_document(tree, capsys):
    assert main(["inventory", "--root", str(tree.root), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["root"] == str(tree.root)
    assert document["newest_restore_point"]["backup"] == tree.names["quiet-inc2"].name
    wed = next(d for d in document["days"] if d["name"] == "Wed")
    inc3 = next(b for b in wed["backups"] if b["name"] == tree.names["wed-inc3"].name)
    assert {"name", "path", "type", "from_lsn", "to_lsn", "last_lsn", "size", "compressed", "encrypted", "state",
            "problems"} <= inc3.keys()
    assert inc3["type"] == "incremental" and inc3["state"] == "gap"
    assert inc3["problems"][0]["code"] == "gap" and inc3["problems"][0]["backup"] == inc3["name"]
    assert wed["chains"][0]["members"] == [tree.names["wed-full"].name, tree.names["wed-inc1"].name]
    assert wed["chains"][0]["restore_points"][-1] == wed["chains"][0]["members"]
    assert wed["chains"][1]["problems"][0]["code"] == "gap" and wed["chains"][1]["restore_points"] == []


def test_cli_table(tree, capsys):
    assert main(["inventory", "--root", str(tree.root)]) == 0
    out = capsys.readouterr().out
    newest = out.split("Newest restore point", 1)[1].split("applies:")[0].split()
    assert "quiet/" + tree.names["quiet-inc2"].name.removesuffix(".xbstream") == newest[-1]
    for code in ("gap", "orphan", "fork", "failed", "unreadable", "key-required", "incomplete"):
        assert f"\n      {code}: " in out  # every problem is spelled out under the table, under its backup


def test_cli_with_key_file_and_bad_key_files(tree, tmp_path, capsys):
    good = tmp_path / "key"
    good.write_bytes(KEY)
    assert main(["inventory", "--root", str(tree.root / "20261123"), "--key-file", str(good), "--json"]) == 0
    states = [b["state"] for b in json.loads(capsys.readouterr().out)["days"][0]["backups"]]
    assert states == ["ok", "ok"]
    newline = tmp_path / "newline"
    newline.write_bytes(KEY + b"\n")
    short = tmp_path / "short"
    short.write_bytes(b"tooshort")
    for path, reason in ((newline, "newline"), (short, "8 bytes")):
        assert main(["inventory", "--root", str(tree.root), "--key-file", str(path)]) == 2
        err = capsys.readouterr().err
        assert str(path) in err and reason in err and len(err.strip().splitlines()) == 1
        assert KEY.decode() not in err


def test_cli_as_a_command(tree, tmp_path):
    ok = subprocess.run([sys.executable, "-m", "xtrarestore.tui.cli", "inventory", "--root", str(tree.root / "Mon"),
                         "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and json.loads(ok.stdout)["days"][0]["name"] == "Mon"
    bad = subprocess.run([sys.executable, "-m", "xtrarestore.tui.cli", "inventory", "--root",
                          str(tmp_path / "missing")], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr == f"xtrarestore: {tmp_path / 'missing'}: cannot read backup root: No such file or directory\n"
    assert bad.stdout == ""


def test_the_console_lists_a_forked_day_with_its_base_in_both_chains(tree, inventory):
    """The full a fork branches from belongs to two chains: the inventory screen shows it under each."""
    import asyncio

    from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp

    day = next(d for d in inventory.days if d.name == "Sat")
    base = next(b for b in day.backups if sum(b in c.members for c in day.chains) > 1)

    async def run() -> list[str]:
        app = XtraRestoreApp(ConsoleSettings(root=tree.root))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.screen.__class__.__name__ != "InventoryScreen" or app.screen.scanning:
                await pilot.pause(0.1)
            screen = app.screen
            screen.expanded = {d.name for d in inventory.days}
            screen.fill_table()
            await pilot.pause()
            return [key for key, row in screen.rows.items() if row.backup is not None and row.backup.name == base.name]

    assert len(asyncio.run(run())) == 2
