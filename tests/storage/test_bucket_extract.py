"""Extraction straight from the bucket: real mariabackup streams in SeaweedFS, read with ranged GETs into the
one-pass extractor; faults (network cuts, deletions, truncation) end in one line and leave no partial output."""

from __future__ import annotations

import filecmp
import traceback
from datetime import datetime
from pathlib import Path

import pytest

from xtrarestore.core.archive.extract import extract_stream
from xtrarestore.core.archive.parallel import extract_all
from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.errors import BackupFormatError, XtraRestoreError
from xtrarestore.core.inventory.roots import scan_root
from xtrarestore.core.storage.errors import ObjectNotFoundError, StorageError
from xtrarestore.tui.cli import main

from .bucket_support import bucket_state, upload_tree, upload_xbcloud
from .conftest import BUCKET

pytestmark = pytest.mark.s3


@pytest.fixture(scope="module")
def backups(server, seaweed, uploaded, tmp_path_factory) -> Path:
    """A full and a compressed incremental from the session's real server, uploaded under extract/Mon/."""
    day = tmp_path_factory.mktemp("extract") / "Mon"
    server.take_backup(day, when=datetime(2026, 11, 30, 1, 0, 0))
    server.add_equipment("extract", 1, "blue")
    server.take_backup(day, when=datetime(2026, 11, 30, 2, 0, 0), compress=True)
    admin = seaweed.admin_client()
    upload_tree(admin, BUCKET, day, "extract/Mon")
    for stream in sorted(day.glob("*.xbstream")):
        upload_xbcloud(admin, BUCKET, stream, "xbcloud/Mon/" + stream.name.removesuffix(".xbstream"))
    return day


def streams(day: Path) -> list[Path]:
    return sorted(day.glob("*.xbstream"))


def same_tree(left: Path, right: Path) -> bool:
    compared = filecmp.dircmp(left, right)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _match, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(left / d, right / d) for d in compared.common_dirs)


def no_output(into: Path) -> bool:
    return not into.exists() or not any(into.iterdir())


def one_line(error: BaseException, seaweed, *names: str) -> None:
    text = str(error)
    assert "\n" not in text
    for name in names:
        assert name in text, text
    shown = "".join(traceback.format_exception(error))
    for secret in (*seaweed.admin, *seaweed.reader, seaweed.endpoint):
        assert secret not in shown


def test_extracted_from_the_bucket_as_from_disk(backups, seaweed, s3_env, tmp_path):
    local = extract_all(streams(backups), tmp_path / "local")
    s3_env.reset_counts()
    remote = extract_all([f"s3://{BUCKET}/extract/Mon/{s.name}" for s in streams(backups)], tmp_path / "bucket")
    for mine, theirs in zip(remote, local, strict=True):
        assert same_tree(mine.target, theirs.target)
        assert mine.files == theirs.files and mine.bytes_read == theirs.bytes_read
    stored = sum(s.stat().st_size for s in streams(backups))
    assert stored <= s3_env.sent < stored * 1.05  # each byte fetched once (plus HTTP headers)


def test_xbcloud_uploads_extract_like_the_stream(backups, seaweed, s3_env, tmp_path):
    for stream in streams(backups):
        name = stream.name.removesuffix(".xbstream")
        local = extract_stream(stream, tmp_path / "local" / name)
        remote = extract_stream(f"s3://{BUCKET}/xbcloud/Mon/{name}", tmp_path / "bucket" / name)
        assert same_tree(remote.target, local.target) and remote.files == local.files


def test_an_encrypted_xbcloud_upload_extracts_like_the_encrypted_stream(backups, seaweed, s3_env, tmp_path):
    """XtraBackup's --encrypt stream (xbcrypt members, compressed inside) put as xbcloud chunks: decrypted and
    decompressed from the bucket exactly as from the file, and a wrong key is one line naming the object."""
    key = bytes(range(32))
    compressed = streams(backups)[1]
    encrypted = encrypt_stream(compressed, tmp_path / compressed.name, key)
    upload_xbcloud(seaweed.admin_client(), BUCKET, encrypted, "xbcloud-enc/Mon/incr")
    local = extract_stream(encrypted, tmp_path / "local", key=key)
    remote = extract_stream(f"s3://{BUCKET}/xbcloud-enc/Mon/incr", tmp_path / "bucket", key=key)
    assert same_tree(remote.target, local.target) and remote.files == local.files
    assert any(p.suffix == ".delta" for p in remote.target.rglob("*"))  # decrypted and decompressed
    with pytest.raises(XtraRestoreError) as caught:
        extract_stream(f"s3://{BUCKET}/xbcloud-enc/Mon/incr", tmp_path / "wrong" / "incr", key=bytes(32))
    one_line(caught.value, seaweed, f"s3://{BUCKET}/xbcloud-enc/Mon/incr")
    assert no_output(tmp_path / "wrong")


def test_a_network_cut_in_the_middle_is_retried(backups, seaweed, s3_env, tmp_path):
    full = streams(backups)[0]
    local = extract_stream(full, tmp_path / "local")
    s3_env.cut_next(1, 3 << 20)
    remote = extract_stream(f"s3://{BUCKET}/extract/Mon/{full.name}", tmp_path / "bucket")
    assert s3_env.faults == 1
    assert same_tree(remote.target, local.target)


def test_a_network_that_keeps_failing_ends_in_one_line_and_no_output(backups, seaweed, s3_env, tmp_path):
    full = streams(backups)[0]
    s3_env.cut_next(1000, 2 << 20)
    into = tmp_path / "out"
    with pytest.raises(StorageError) as caught:
        extract_stream(f"s3://{BUCKET}/extract/Mon/{full.name}", into / "full")
    one_line(caught.value, seaweed, f"s3://{BUCKET}/extract/Mon/{full.name} at offset 0x", "attempts")
    assert no_output(into)


def test_deleted_between_inventory_and_extraction(backups, seaweed, s3_env, tmp_path, capsys):
    admin = seaweed.admin_client()
    upload_tree(admin, BUCKET, backups, "deleted/Mon")
    point = scan_root(f"s3://{BUCKET}/deleted").newest_restore_point()
    assert [m.state for m in point.members] == ["ok", "ok"]
    admin.delete_object(Bucket=BUCKET, Key=f"deleted/Mon/{point.members[0].name}")
    into = tmp_path / "out"
    with pytest.raises(ObjectNotFoundError) as caught:
        extract_all([str(m.path) for m in point.members], into)
    one_line(caught.value, seaweed, f"s3://{BUCKET}/deleted/Mon/{point.members[0].name}", "not found")
    assert no_output(into)
    assert main(["extract", "--into", str(tmp_path / "cli"), str(point.members[0].path)]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("xtrarestore:")]
    assert len(errors) == 1 and "not found" in errors[0]  # under the progress bar's last state


def test_a_truncated_object_is_named_with_its_offset(backups, seaweed, s3_env, tmp_path):
    full = streams(backups)[0]
    data = full.read_bytes()
    seaweed.admin_client().put_object(Bucket=BUCKET, Key="truncated/Mon/full.xbstream", Body=data[: len(data) // 2])
    into = tmp_path / "out"
    with pytest.raises(BackupFormatError) as caught:
        extract_stream(f"s3://{BUCKET}/truncated/Mon/full.xbstream", into / "full")
    one_line(caught.value, seaweed, f"s3://{BUCKET}/truncated/Mon/full.xbstream", "offset 0x", "truncated")
    assert no_output(into)


def test_a_missing_xbcloud_chunk_is_named(backups, seaweed, s3_env, tmp_path):
    admin = seaweed.admin_client()
    full = streams(backups)[0]
    upload_xbcloud(admin, BUCKET, full, "holed/full")
    admin.delete_object(Bucket=BUCKET, Key="holed/full/ibdata1.00000000000000000000")
    with pytest.raises(ObjectNotFoundError) as caught:
        extract_stream(f"s3://{BUCKET}/holed/full", tmp_path / "out")
    one_line(caught.value, seaweed, f"s3://{BUCKET}/holed/full/ibdata1.00000000000000000000")
    assert no_output(tmp_path / "out")


def test_extraction_never_writes_to_the_bucket(backups, seaweed, s3_env, tmp_path):
    admin = seaweed.admin_client()
    before = bucket_state(admin, BUCKET)
    extract_all([f"s3://{BUCKET}/extract/Mon/{s.name}" for s in streams(backups)], tmp_path / "out")
    assert bucket_state(admin, BUCKET) == before


def test_bad_stream_urls_are_one_line(s3_env, uploaded, tmp_path):
    for url, expected in ((f"s3://{BUCKET}/no/such.xbstream", "not found"), ("s3://", "expected s3://BUCKET")):
        with pytest.raises(XtraRestoreError, match=expected):
            extract_stream(url, tmp_path / "out")
        assert no_output(tmp_path / "out")
