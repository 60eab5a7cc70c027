"""Inventory straight from a bucket: the real inventory tree (real mariabackup streams) uploaded to SeaweedFS
gives the same JSON as the directory; several hosts; xbcloud uploads; bad input; the bucket is never written."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.errors import XtraRestoreError
from xtrarestore.core.inventory.bucket import scan_bucket
from xtrarestore.core.inventory.roots import scan_root
from xtrarestore.core.inventory.scan import scan
from xtrarestore.tui.cli import main
from xtrarestore.tui.commands.inventory import to_json

from .bucket_support import bucket_state, normalised, upload_tree, upload_xbcloud
from .conftest import BUCKET

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inventory"))
from inventory_tree import KEY, build, build_series

pytestmark = pytest.mark.s3
NOW = datetime(2026, 12, 1, 12, 0, 0)
DAMAGED = "2026-11-22"  # truncated and non-xbstream files: the reasons are worded per source (walk vs tail)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, seaweed, uploaded):
    """The inventory tests' tree, uploaded as host db1 (and Mon again as host db2), plus an xbcloud upload."""
    with SandboxServer.create() as server:
        server.load_playground()
        built = build(server, tmp_path_factory.mktemp("inventory") / "backups")
        built.series = build_series(server, tmp_path_factory.mktemp("series") / "backups")
    admin = seaweed.admin_client()
    built.stored = upload_tree(admin, BUCKET, built.root, "site/db1")
    upload_tree(admin, BUCKET, built.root / "Mon", "site/db2/Mon")
    upload_tree(admin, BUCKET, built.series.root, "series/backups")  # the series is named after its folder
    mon = sorted((built.root / "Mon").glob("*.xbstream"))
    upload_xbcloud(admin, BUCKET, mon[0], "cloud/Mon/" + mon[0].name.removesuffix(".xbstream"))
    upload_xbcloud(admin, BUCKET, mon[1], "cloud/Mon/" + mon[1].name.removesuffix(".xbstream"))
    return built


def documents(local, bucket) -> tuple[str, str]:
    return normalised(to_json(local, NOW), str(local.root)), normalised(to_json(bucket, NOW), str(bucket.root))


def without_damaged_messages(text: str) -> str:
    document = json.loads(text)
    for day in document["days"]:
        if day["name"] == DAMAGED:
            for item in (*day["backups"], *day["chains"]):
                item["problems"] = [p["code"] for p in item["problems"]]
    return json.dumps(document, indent=1, sort_keys=True)


def test_the_same_json_from_the_bucket_as_from_the_directory(tree, s3_env):
    local, bucket = documents(scan(tree.root), scan_root(f"s3://{BUCKET}/site/db1"))
    assert without_damaged_messages(bucket) == without_damaged_messages(local)
    damaged = [d for d in json.loads(bucket)["days"] if d["name"] == DAMAGED][0]
    assert {b["state"] for b in damaged["backups"]} == {"unreadable"}


def test_the_same_json_with_the_key_and_for_the_series_layout(tree, s3_env):
    local, bucket = documents(scan(tree.root, key=KEY), scan_root(f"s3://{BUCKET}/site/db1", KEY))
    assert without_damaged_messages(bucket) == without_damaged_messages(local)
    encrypted = [d for d in json.loads(bucket)["days"] if d["name"] == "20261123"][0]
    assert [b["state"] for b in encrypted["backups"]] == ["ok", "ok"]
    local, bucket = documents(scan(tree.series.root), scan_root(f"s3://{BUCKET}/series/backups"))
    assert bucket == local


def test_the_extra_lsndir_is_proven_by_the_uploaders_mtime_else_by_last_modified(tree, seaweed, s3_env):
    """The stream's last write is the mtime its uploader kept (rclone's x-amz-meta-mtime); without one,
    LastModified (a streaming upload's last write). A kept mtime outside the backup's times proves nothing."""
    admin = seaweed.admin_client()
    day = tree.root / "20261123"
    latest = sorted(day.glob("*.xbstream"))[-1]
    for path in day.iterdir():
        admin.upload_file(str(path), BUCKET, f"plain-cp/20261123/{path.name}")  # just after the backup ended
        extra = {"Metadata": {"mtime": "1000000000"}} if path == latest else None  # kept mtime: 2001
        admin.upload_file(str(path), BUCKET, f"old-mtime/20261123/{path.name}", ExtraArgs=extra)
    on_disk = scan(day).days[0].backups[-1]
    assert on_disk.lsn_source == str(day / "xtrabackup_checkpoints")  # the file's mtime proves it
    uploaded = scan_root(f"s3://{BUCKET}/plain-cp").days[0].backups[-1]
    assert uploaded.lsn_source == f"s3://{BUCKET}/plain-cp/20261123/xtrabackup_checkpoints"
    assert uploaded.checkpoints == on_disk.checkpoints
    refused = scan_root(f"s3://{BUCKET}/old-mtime").days[0].backups[-1]
    assert refused.checkpoints is None and refused.lsn_source is None


def test_hosts_are_a_level_above_days_and_bytes_fetched_are_reported(tree, s3_env, capsys):
    s3_env.reset_counts()
    assert main(["inventory", "--root", f"s3://{BUCKET}/site", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["hosts"] == ["db1", "db2"]
    assert {d["host"] for d in document["days"]} == {"db1", "db2"}
    assert "db2/Mon" in {d["name"] for d in document["days"]}
    assert document["newest_restore_point"]["day"] == "db1/quiet"
    assert 0 < document["bytes_fetched"] <= s3_env.sent  # the proxy counts headers too
    assert document["bytes_fetched"] < tree.stored / 50  # tails and sidecars, not the streams
    assert main(["inventory", "--root", f"s3://{BUCKET}/site"]) == 0
    assert "db2/Mon" in capsys.readouterr().out


def test_the_console_opens_on_a_bucket_with_a_heading_per_host(tree, seaweed, s3_env):
    admin = seaweed.admin_client()
    upload_tree(admin, BUCKET, tree.root / "Mon", "console/db1/Mon")
    upload_tree(admin, BUCKET, tree.root / "Tue", "console/db2/Tue")
    asyncio.run(_console_on_bucket())


async def _console_on_bucket():
    from xtrarestore.core.storage.location import root_path
    from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp

    app = XtraRestoreApp(ConsoleSettings(root=root_path(f"s3://{BUCKET}/console"), now=lambda: NOW))
    async with app.run_test(size=(100, 40)) as pilot:
        for _ in range(600):
            await pilot.pause(0.1)
            if getattr(app.screen, "inventory", None) is not None:
                break
        table = app.screen.query_one("#backups")
        labels = [str(table.get_row_at(row)[0]) for row in range(table.row_count)]
        assert "host db1" in labels and "host db2" in labels
        assert any(label.endswith("db1/Mon") for label in labels) and any(label.endswith("db2/Tue") for label in labels)
        assert app.sub_title == f"s3://{BUCKET}/console"


def test_xbcloud_uploads_are_backups_that_chain(tree, s3_env):
    inventory = scan_root(f"s3://{BUCKET}/cloud")
    local = scan(tree.root / "Mon")
    day = inventory.days[0]
    assert [b.artifact for b in day.backups] == ["xbcloud", "xbcloud"]
    assert [b.state for b in day.backups] == ["ok", "ok"]
    assert [b.checkpoints for b in day.backups] == [b.checkpoints for b in local.days[0].backups[:2]]
    assert [[m.name for m in c.members] for c in day.chains] == [[b.name for b in day.backups]]


def test_an_unfinished_xbcloud_upload_is_incomplete(tree, seaweed, s3_env):
    """xbcloud put counts an upload as complete once xtrabackup_info.00000000000000000000 exists."""
    admin = seaweed.admin_client()
    full = sorted((tree.root / "Mon").glob("*.xbstream"))[0]
    upload_xbcloud(admin, BUCKET, full, "cloud-partial/Mon/full")
    for item in admin.list_objects_v2(Bucket=BUCKET, Prefix="cloud-partial/Mon/full/xtrabackup_info.")["Contents"]:
        admin.delete_object(Bucket=BUCKET, Key=item["Key"])
    (backup,) = scan_root(f"s3://{BUCKET}/cloud-partial").days[0].backups
    assert backup.state == "incomplete" and "did not finish" in backup.problems[0].message


def test_browsing_never_writes_to_the_bucket(tree, seaweed, s3_env, capsys):
    admin = seaweed.admin_client()
    before = bucket_state(admin, BUCKET)
    scan_root(f"s3://{BUCKET}/site", KEY)
    assert main(["inventory", "--root", f"s3://{BUCKET}/site"]) == 0
    capsys.readouterr()
    assert bucket_state(admin, BUCKET) == before


@pytest.mark.parametrize("root, expected", [
    ("s3://no-such-bucket-here/x", "s3://no-such-bucket-here/x/: no such bucket"),
    (f"s3://{BUCKET}/nothing/under/here", "no objects under this prefix"),
    ("s3://", "expected s3://BUCKET/PREFIX"),
])
def test_bad_roots_are_one_line(root, expected, s3_env, uploaded, capsys):
    assert main(["inventory", "--root", root]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_wrong_credentials_and_endpoint_are_one_line_without_secrets(s3_env, uploaded, monkeypatch, capsys):
    secret = "x" * 40
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    assert main(["inventory", "--root", f"s3://{BUCKET}/site"]) == 2
    err = capsys.readouterr().err
    assert "access denied" in err and secret not in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert main(["inventory", "--root", f"s3://{BUCKET}/site"]) == 2
    err = capsys.readouterr().err
    assert "cannot connect to the S3 endpoint" in err and "127.0.0.1" not in err


def test_a_stream_deleted_or_cut_after_the_listing_is_reported_on_that_backup(tree, seaweed, s3_env, monkeypatch):
    """Between the listing and the tail read: the backup is unreadable, naming the object; the rest is scanned."""
    from xtrarestore.core.inventory import bucket

    admin = seaweed.admin_client()
    mon = sorted((tree.root / "Mon").glob("*.xbstream"))
    upload_tree(admin, BUCKET, tree.root / "Mon", "racy/Mon")
    listed = bucket._tree

    def list_then_change(root):
        found = listed(root)
        admin.delete_object(Bucket=BUCKET, Key=f"racy/Mon/{mon[1].name}")
        admin.put_object(Bucket=BUCKET, Key=f"racy/Mon/{mon[2].name}", Body=mon[2].read_bytes()[:1000])
        return found

    monkeypatch.setattr(bucket, "_tree", list_then_change)
    day = scan_bucket(f"s3://{BUCKET}/racy").days[0]
    states = {b.name: (b.state, [p.message for p in b.problems]) for b in day.backups}
    assert states[mon[0].name][0] == "ok"
    state, messages = states[mon[1].name]
    assert state == "unreadable" and f"s3://{BUCKET}/racy/Mon/{mon[1].name}" in messages[0]
    assert "not found" in messages[0]
    state, messages = states[mon[2].name]
    assert state == "unreadable" and ("changed" in messages[0] or "truncated" in messages[0])


def test_scan_errors_are_typed(s3_env, uploaded):
    with pytest.raises(XtraRestoreError, match="no such bucket"):
        scan_root("s3://no-such-bucket-here")
