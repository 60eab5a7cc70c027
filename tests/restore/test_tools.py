"""The backup tools' command lines: pinned prepare sequences, version parsing."""

from __future__ import annotations

from plan_support import FULL, INC1, INC2
from xtrarestore.core.restore.tools import MARIADB, PERCONA, parse_version, prepare_sequence


def test_mariadb_prepare_sequence_never_uses_apply_log_only():
    assert prepare_sequence(MARIADB, "mariabackup", FULL, [INC1, INC2]) == [
        ["mariabackup", "--prepare", "--target-dir=/w/full"],
        ["mariabackup", "--prepare", "--target-dir=/w/full", "--incremental-dir=/w/inc1"],
        ["mariabackup", "--prepare", "--target-dir=/w/full", "--incremental-dir=/w/inc2"],
    ]


def test_percona_prepare_sequence_applies_log_only_except_last():
    assert prepare_sequence(PERCONA, "xtrabackup", FULL, [INC1, INC2]) == [
        ["xtrabackup", "--prepare", "--apply-log-only", "--target-dir=/w/full"],
        ["xtrabackup", "--prepare", "--apply-log-only", "--target-dir=/w/full", "--incremental-dir=/w/inc1"],
        ["xtrabackup", "--prepare", "--target-dir=/w/full", "--incremental-dir=/w/inc2"],
    ]


def test_percona_full_alone_is_fully_prepared():
    assert prepare_sequence(PERCONA, "xtrabackup", FULL, []) == [["xtrabackup", "--prepare", "--target-dir=/w/full"]]


def test_version_parsing_tells_the_flavour():
    assert parse_version("mariabackup based on MariaDB server 10.11.19-MariaDB debian-linux-gnu (x86_64)") == (
        MARIADB, "10.11.19")
    assert parse_version("xtrabackup version 8.0.35-30 based on MySQL server 8.0.35 Linux (x86_64)") == (
        PERCONA, "8.0.35-30")
