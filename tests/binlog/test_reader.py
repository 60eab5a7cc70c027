"""The binlog reader against mariadb-binlog's own reading of real binlogs, and on damaged files."""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xtrarestore.core.binlog import read_binlog
from xtrarestore.core.errors import BinlogCorruptError, BinlogEncryptedError

from .conftest import BASENAME, binlog_truth

pytestmark = pytest.mark.mariadb


def _assert_matches_mariadb_binlog(path: Path) -> list:
    truth, _, gtid_list = binlog_truth(path)
    binlog = read_binlog(path)
    assert [t.gtid for t in binlog.transactions] == [t.gtid for t in truth]
    for mine, theirs in zip(binlog.transactions, truth, strict=True):
        assert (mine.start, mine.end, mine.time) == (theirs.start, theirs.end, theirs.time), mine.gtid
        assert mine.row_count == theirs.rows, mine.gtid
        assert {c.name for c in mine.changes} <= theirs.tables
        assert all(c.rows is not None for c in mine.changes)
    listed = ",".join(f"{d}-{s}-{n}" for (d, s), n in (binlog.gtid_list or {}).items())
    assert sorted(filter(None, listed.split(","))) == sorted(filter(None, (gtid_list or "").split(",")))
    return truth


def test_every_file_reads_as_mariadb_binlog_reads_it(history):
    seen = []
    for path in history.binlogs:
        seen += _assert_matches_mariadb_binlog(path)
        binlog = read_binlog(path)
        assert binlog.checksum and not binlog.in_use
        assert binlog.readable_end == path.stat().st_size
    gtids = [t.gtid for t in seen]
    assert history.incident_gtid in gtids and history.drop_gtid in gtids
    assert any(g.startswith("2-") for g in gtids)
    incident = next(t for t in seen if t.gtid == history.incident_gtid)
    assert incident.rows >= 1000


def test_ddl_and_row_kinds_are_reported(history):
    transactions = [t for path in history.binlogs for t in read_binlog(path).transactions]
    drop = next(t for t in transactions if t.gtid == history.drop_gtid)
    assert [s.verb for s in drop.statements] == ["DROP TABLE"]
    assert b"audit" in drop.statements[0].sql
    incident = next(t for t in transactions if t.gtid == history.incident_gtid)
    assert [(c.name, c.kind) for c in incident.changes] == [("shop.orders", "delete")]
    kinds = {c.kind for t in transactions for c in t.changes}
    assert kinds == {"insert", "update", "delete"}


def test_compressed_binlog_events_are_inflated(make_binlog_server):
    server = make_binlog_server("log-bin-compress=ON", "log-bin-compress-min-len=10")
    server.execute(
        "CREATE DATABASE c",
        "CREATE TABLE c.t (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(200), n DECIMAL(8,3))",
        "INSERT INTO c.t (note, n) SELECT REPEAT('compress me ', 10), seq / 7 FROM c.seq_1_to_1100",
        "UPDATE c.t SET n = n + 1 WHERE id <= 40",
        "DELETE FROM c.t WHERE id > 100",
        "ALTER TABLE c.t ADD COLUMN extra INT, COMMENT 'a statement long enough to be compressed'",
        "FLUSH BINARY LOGS",
    )
    path = server.datadir / f"{BASENAME}.000001"
    truth = _assert_matches_mariadb_binlog(path)
    assert sum(t.compressed_events for t in truth) >= 3
    statements = [s for t in read_binlog(path).transactions for s in t.statements]
    assert any(s.compressed and s.verb == "ALTER TABLE" for s in statements)


def test_truncated_file_names_file_and_offset(history, tmp_path):
    source = history.binlogs[0]
    _, starts, _ = binlog_truth(source)
    cut_event = starts[len(starts) // 2]
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    with open(copy, "r+b") as handle:
        handle.truncate(cut_event + 10)
    with pytest.raises(BinlogCorruptError) as caught:
        read_binlog(copy)
    message = str(caught.value)
    assert str(copy) in message and f"offset {cut_event}" in message and "\n" not in message


def test_flipped_byte_is_a_checksum_error_at_its_event(history, tmp_path):
    source = history.binlogs[0]
    _, starts, _ = binlog_truth(source)
    damaged_event = starts[len(starts) // 2]
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    with open(copy, "r+b") as handle:
        handle.seek(damaged_event + 20)
        byte = handle.read(1)
        handle.seek(damaged_event + 20)
        handle.write(bytes([byte[0] ^ 0x40]))
    with pytest.raises(BinlogCorruptError, match="checksum") as caught:
        read_binlog(copy)
    assert f"{copy}: offset {damaged_event}:" in str(caught.value)
    kept = read_binlog(copy, keep_damaged=True)
    assert kept.readable_end == damaged_event and kept.damage == str(caught.value)
    assert all(t.end <= damaged_event for t in kept.transactions)


def test_file_in_use_reads_up_to_its_last_whole_event(make_binlog_server, tmp_path):
    server = make_binlog_server()
    server.execute(
        "CREATE DATABASE live",
        "CREATE TABLE live.t (id INT PRIMARY KEY)",
        "INSERT INTO live.t SELECT seq FROM live.seq_1_to_50",
    )
    current = server.datadir / f"{BASENAME}.000001"
    whole = read_binlog(current)
    assert whole.in_use
    _, starts, _ = binlog_truth(current)
    last_event = starts[-1]
    copy = tmp_path / current.name
    shutil.copyfile(current, copy)
    with open(copy, "r+b") as handle:
        handle.truncate(last_event + 7)
    partial = read_binlog(copy)
    assert partial.in_use and partial.damage is None
    assert partial.readable_end == last_event
    assert [t.gtid for t in partial.transactions] == [t.gtid for t in whole.transactions if t.end <= last_event]


@pytest.fixture
def key_dir() -> Iterator[Path]:
    """A directory the server's own user can read (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="xtrarestore-keys-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_encrypted_binlog_is_refused_with_a_way_out(make_binlog_server, key_dir):
    keys = key_dir / "keys.txt"
    keys.write_text("1;" + secrets.token_hex(32) + "\n")
    keys.chmod(0o644)
    server = make_binlog_server(
        "plugin-load-add=file_key_management",
        f"file-key-management-filename={keys}",
        "encrypt-binlog=ON",
    )
    server.execute("CREATE DATABASE secret", "CREATE TABLE secret.t (id INT PRIMARY KEY)", "FLUSH BINARY LOGS")
    path = server.datadir / f"{BASENAME}.000001"
    with pytest.raises(BinlogEncryptedError) as caught:
        read_binlog(path)
    message = str(caught.value)
    assert str(path) in message and "mariadb-binlog -R --raw" in message and "\n" not in message


def test_a_special_file_named_like_a_binlog_is_refused_at_once(tmp_path):
    """A FIFO (or a directory) in a binlog's place: one error naming it, never a read that waits forever."""
    import os

    from xtrarestore.core.binlog.sources import open_binlog_sources
    from xtrarestore.core.errors import BinlogError

    os.mkfifo(tmp_path / "mysql-bin.000002")
    (tmp_path / "mysql-bin.000001").write_bytes(b"\xfebin" + bytes(100))
    with pytest.raises(BinlogError, match=r"mysql-bin\.000002: not a regular file \(a FIFO\), where a binlog"):
        open_binlog_sources([tmp_path])
    with pytest.raises(BinlogError, match=r"mysql-bin\.000002: cannot open: not a regular file \(a FIFO\)"):
        read_binlog(tmp_path / "mysql-bin.000002")
    os.unlink(tmp_path / "mysql-bin.000002")
    (tmp_path / "mysql-bin.000002").mkdir()
    with pytest.raises(BinlogError, match=r"mysql-bin\.000002: not a regular file \(a directory\)"):
        open_binlog_sources([tmp_path])
