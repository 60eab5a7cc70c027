"""Stream tail metadata: synthetic streams with traps, and real mariabackup streams (local and in S3)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from xtrarestore.core.archive.xbstream import chunk_bytes, eof_bytes, read_members
from xtrarestore.core.inventory.stream_metadata import read_stream_metadata
from xtrarestore.core.inventory.stream_tail import read_stream_tail
from xtrarestore.core.storage.roots import LocalFile, open_root

CHECKPOINTS = b"backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 123\nlast_lsn = 130\n"


class Bytes:
    """A stream held in memory, with the `RangeSource` interface."""

    def __init__(self, data: bytes, name: str = "mem.xbstream") -> None:
        self.data, self.name, self.size = data, name, len(data)

    def read_range(self, start: int, end: int) -> bytes:
        return self.data[start:end]


def member(path: str, payload: bytes, chunk: int = 1 << 20) -> bytes:
    parts = [chunk_bytes(path, payload[i : i + chunk], i) for i in range(0, len(payload), chunk)]
    return b"".join(parts) + eof_bytes(path)


def stream(data_payload: bytes, info: bytes = b"tool_name = mariabackup\n") -> bytes:
    return (
        member("ibdata1", data_payload)
        + member("xtrabackup_checkpoints", CHECKPOINTS)
        + member("backup-my.cnf", b"[mysqld]\n")
        + member("xtrabackup_info", info)
    )


def test_magic_inside_data_is_not_taken_for_a_chunk():
    rng = random.Random(3)
    fake_good_crc = member("xtrabackup_checkpoints", b"backup_type = fake\n")
    fake_bad_crc = bytearray(fake_good_crc)
    fake_bad_crc[-30] ^= 1
    payload = rng.randbytes(40_000) + fake_good_crc + rng.randbytes(500) + bytes(fake_bad_crc) + rng.randbytes(700)
    tail = read_stream_tail(Bytes(stream(payload)), first_window=len(payload) // 2)
    assert tail.error is None
    assert tail.members["xtrabackup_checkpoints"] == CHECKPOINTS
    assert tail.names == ["ibdata1", "xtrabackup_checkpoints", "backup-my.cnf", "xtrabackup_info"]


def test_a_fake_chunk_ending_with_the_payload_is_skipped_when_the_real_header_is_read():
    payload = random.Random(4).randbytes(30_000) + member("xtrabackup_checkpoints", b"backup_type = fake\n")
    tail = read_stream_tail(Bytes(stream(payload)), first_window=64 << 10)
    assert tail.members["xtrabackup_checkpoints"] == CHECKPOINTS
    assert tail.start == 0


def test_window_grows_until_the_members_are_whole():
    info = b"".join(b"key%05d = value\n" % i for i in range(3000))
    data = stream(random.Random(5).randbytes(200_000), info=info)
    tail = read_stream_tail(Bytes(data), first_window=4096)
    assert tail.error is None
    assert tail.members["xtrabackup_info"] == info
    assert len(info) < tail.bytes_fetched < len(data)


def test_truncated_stream_is_reported_without_reading_it_all():
    data = stream(random.Random(6).randbytes(3 << 20))[:-10]
    tail = read_stream_tail(Bytes(data, "cut.xbstream"), first_window=4096, max_window=1 << 20)
    assert tail.error is not None and "cut.xbstream" in tail.error and "truncated" in tail.error
    assert "\n" not in tail.error
    assert tail.bytes_fetched == 4096


def test_not_a_stream():
    tail = read_stream_tail(Bytes(random.Random(8).randbytes(100_000), "junk"), first_window=4096)
    assert tail.error is not None and tail.error.startswith("junk: no chunk ends at the end of the stream")
    assert tail.members == {}


@pytest.fixture(scope="module")
def real_streams(tmp_path_factory) -> list[Path]:
    """Real mariabackup streams: full and incremental, plain and --compress'ed."""
    from xtrarestore.core.drills.sandbox import SandboxServer

    base = tmp_path_factory.mktemp("streams")
    with SandboxServer.create() as server:
        server.load_playground()
        server.fill(8)
        streams = [server.take_backup(base / "plain")]
        server.add_equipment("slide", 3, "blue")
        streams.append(server.take_backup(base / "plain"))
        streams.append(server.take_backup(base / "compressed", compress=True))
        server.add_equipment("swing", 2, "red")
        streams.append(server.take_backup(base / "compressed", compress=True))
    return streams


def assert_same_metadata(tail, path: Path) -> None:
    walked = read_stream_metadata(path)
    assert walked.error is None and tail.error is None
    assert {name: tail.members[name] for name in walked.members if "binlog" not in name} == {
        name: data for name, data in walked.members.items() if "binlog" not in name
    }
    config = next(name for name in tail.members if name.startswith("backup-my.cnf"))
    members, _ = read_members(path, lambda name: name == config)
    assert tail.members[config] == members[config]


@pytest.mark.mariadb
def test_real_streams_tail_matches_a_full_walk(real_streams):
    for path in real_streams:
        with LocalFile(path) as source:
            tail = read_stream_tail(source)
        assert_same_metadata(tail, path)
        assert any(name.endswith(".qp") for name in tail.members) == ("compressed" in str(path))


@pytest.mark.mariadb
@pytest.mark.s3
def test_real_streams_tail_from_a_bucket(real_streams, seaweed, s3_env):
    client = seaweed.admin_client()
    client.create_bucket(Bucket="streams")
    for path in real_streams:
        client.upload_file(str(path), "streams", f"db1/{path.parent.name}/{path.name}")
    s3_env.reset_counts()
    stored = 0
    for path in real_streams:
        root = open_root(f"s3://streams/db1/{path.parent.name}")
        (info,) = [item for item in root.list().objects if item.name == path.name]
        stored += info.size
        with root.open(info) as reader:
            tail = read_stream_tail(reader)
        assert_same_metadata(tail, path)
        assert tail.bytes_fetched == root.counter.bytes
    assert s3_env.sent < stored // 20
