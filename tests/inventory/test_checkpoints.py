"""Metadata parsers: every key set XtraBackup 2.4 / 8.x and mariabackup write, and bad files."""

from __future__ import annotations

from datetime import datetime

import pytest

from xtrarestore.core.errors import BackupFormatError
from xtrarestore.core.inventory.checkpoints import parse_binlog_info, parse_checkpoints, parse_info

XTRABACKUP_24 = """backup_type = incremental
from_lsn = 1626007
to_lsn = 1626017
last_lsn = 1626026
compact = 0
recover_binlog_info = 0
flushed_lsn = 1626017
"""
XTRABACKUP_80 = """backup_type = full-backuped
from_lsn = 0
to_lsn = 18153480
last_lsn = 18153489
flushed_lsn = 0
redo_memory = 0
redo_frames = 0
"""
MARIABACKUP = "backup_type = log-applied\nfrom_lsn = 0\nto_lsn = 44388\nlast_lsn = 46987\nrecover_binlog_info = 0\n"


def test_every_tool_version_parses_by_key_name():
    old = parse_checkpoints(XTRABACKUP_24, "a")
    assert (old.kind, old.from_lsn, old.to_lsn, old.last_lsn, old.flushed_lsn) == (
        "incremental", 1626007, 1626017, 1626026, 1626017)
    assert old.extra == {"compact": "0", "recover_binlog_info": "0"}
    new = parse_checkpoints(XTRABACKUP_80, "b")
    assert (new.kind, new.to_lsn, new.prepared) == ("full", 18153480, False)
    assert new.extra["redo_frames"] == "0"
    prepared = parse_checkpoints(MARIABACKUP, "c")
    assert prepared.kind == "full" and prepared.prepared


def test_order_spacing_and_old_high_low_lsns():
    parsed = parse_checkpoints("to_lsn=1:5\n\nfrom_lsn =  0\r\nbackup_type= full-backuped\n", "x")
    assert parsed.to_lsn == (1 << 32) + 5 and parsed.from_lsn == 0 and parsed.last_lsn == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("backup_type = full-backuped\nfrom_lsn = 0\n", "/b/xtrabackup_checkpoints: checkpoints file has no to_lsn"),
        ("from_lsn = 0\nto_lsn = 5\n", "/b/xtrabackup_checkpoints: checkpoints file has no backup_type"),
        ("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 12x\n", "to_lsn is not a number: '12x'"),
        ("backup_type = full-backuped\ngarbage here\n", "line 2 is not 'key = value'"),
        ("backup_type = snapshot\nfrom_lsn = 0\nto_lsn = 5\n", "unknown backup_type 'snapshot'"),
        ("\0\0\x89PNG", "not a checkpoints file"),
    ],
)
def test_bad_checkpoints_name_the_file_and_the_key(text, message):
    with pytest.raises(BackupFormatError) as caught:
        parse_checkpoints(text, "/b/xtrabackup_checkpoints")
    assert str(caught.value).startswith("/b/xtrabackup_checkpoints: ")
    assert message in str(caught.value)


def test_info_fields_and_password_redaction():
    info = parse_info(
        "uuid = 1e0077c1\nname = \ntool_name = xtrabackup\n"
        "tool_command = --backup --user=bk --password=s3cret -pother --parallel=4 --target-dir=/x\n"
        "tool_version = 8.0.35-30\nserver_version = 8.0.35\nstart_time = 2026-11-21 14:37:44\n"
        "end_time = 2026-11-21 14:37:46\ninnodb_from_lsn = 0\ninnodb_to_lsn = 44388\n"
        "incremental = N\ncompressed = compressed\nencrypted = Y\n"
    )
    assert (info.tool_name, info.tool_version) == ("xtrabackup", "8.0.35-30")
    assert (info.to_lsn, info.incremental) == (44388, False)
    assert info.start_time == datetime(2026, 11, 21, 14, 37, 44) and info.compressed and info.encrypted
    command = info.fields["tool_command"]
    assert "s3cret" not in command and "other" not in command
    assert "--password=***" in command and "--parallel=4" in command


def test_binlog_info_variants():
    assert parse_binlog_info("") is None
    plain = parse_binlog_info("mysql-bin.000003\t1234\n")
    assert (plain.file, plain.position, plain.gtid) == ("mysql-bin.000003", 1234, None)
    gtid = parse_binlog_info("binlog.000002\t157\t3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5\n")
    assert gtid.gtid == "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"
    multi = parse_binlog_info("mariadb-bin.000001\t330\t[]\nmariadb-bin.000002\t642\t0-1-7\n")
    assert (multi.file, multi.position, multi.gtid) == ("mariadb-bin.000002", 642, "0-1-7")
    with pytest.raises(BackupFormatError, match="not 'file<TAB>position'"):
        parse_binlog_info("garbage\n")
