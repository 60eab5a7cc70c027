"""Listing and ranged reads against a real SeaweedFS, byte-compared with the local copy."""

from __future__ import annotations

import random

import pytest

from xtrarestore.core.storage.client import make_client
from xtrarestore.core.storage.listing import list_prefix
from xtrarestore.core.storage.location import parse_s3_url
from xtrarestore.core.storage.ranged import FetchCounter, RangedReader, RetryPolicy, fetch_range
from xtrarestore.core.storage.roots import LocalRoot, open_root

from .conftest import BUCKET

pytestmark = pytest.mark.s3
FAST_RETRY = RetryPolicy(attempts=4, first_delay=0.01)


def blob_reader(uploaded, **options) -> RangedReader:
    root = open_root(f"s3://{BUCKET}/data")
    info = next(item for item in root.list().objects if item.name == "blob.bin")
    return root.open(info, **options)


def test_listing_shows_day_directories_and_objects(uploaded, s3_env):
    root = open_root(f"s3://{BUCKET}/hosts/db1")
    top = root.list()
    assert top.dirs == sorted(uploaded.days)
    assert [item.name for item in top.objects] == ["encryption_key"]
    assert top.objects[0].size == 32 and top.objects[0].etag and top.objects[0].modified
    for day, names in uploaded.days.items():
        listing = root.list(day)
        assert listing.dirs == []
        assert [item.name for item in listing.objects] == sorted(names)
        assert [item.key for item in listing.objects] == [f"{day}/{name}" for name in sorted(names)]
        assert [item.size for item in listing.objects] == [len(f"{day}/{name}") for name in sorted(names)]


def test_listing_follows_every_page(uploaded, s3_env):
    listing = list_prefix(make_client(), parse_s3_url(f"s3://{BUCKET}/many"))
    assert len(listing.objects) == uploaded.many
    assert [item.size for item in listing.objects[:8]] == [i % 7 for i in range(8)]


def test_recursive_listing_reaches_every_level(uploaded, s3_env):
    listing = list_prefix(make_client(), parse_s3_url(f"s3://{BUCKET}/hosts"), recursive=True)
    expected = {f"db1/{day}/{name}" for day, names in uploaded.days.items() for name in names} | {"db1/encryption_key"}
    assert {item.name for item in listing.objects} == expected


def test_local_and_bucket_roots_list_alike(uploaded, s3_env, tmp_path):
    for day, names in uploaded.days.items():
        (tmp_path / day).mkdir()
        for name in names:
            (tmp_path / day / name).write_text(f"{day}/{name}")
    local, bucket = LocalRoot(tmp_path), open_root(f"s3://{BUCKET}/hosts/db1/")
    assert local.list().dirs == bucket.list().dirs
    for day in uploaded.days:
        assert [(o.key, o.size) for o in local.list(day).objects] == [(o.key, o.size) for o in bucket.list(day).objects]
        for info in bucket.list(day).objects:
            with bucket.open(info) as remote, local.open(info) as here:
                assert remote.read() == here.read()


def test_fetch_range_is_byte_identical(uploaded, s3_env):
    data = uploaded.blob.read_bytes()
    counter = FetchCounter()
    client = make_client()
    rng = random.Random(7)
    for _ in range(20):
        start = rng.randrange(len(data))
        end = min(len(data), start + rng.randrange(1, 3 << 20))
        assert fetch_range(client, BUCKET, "data/blob.bin", start, end, counter=counter) == data[start:end]
    assert counter.requests == 20 and counter.retries == 0


def test_sequential_read_ahead_is_byte_identical_and_counted(uploaded, s3_env):
    data = uploaded.blob.read_bytes()
    with blob_reader(uploaded, part_size=1 << 20, depth=3) as reader:
        pieces = []
        while piece := reader.read(300_001):
            pieces.append(piece)
    assert b"".join(pieces) == data
    assert reader.counter.bytes == len(data)
    assert s3_env.sent >= len(data)


def test_random_seeks_are_byte_identical(uploaded, s3_env):
    data = uploaded.blob.read_bytes()
    rng = random.Random(11)
    with blob_reader(uploaded, part_size=1 << 20, depth=2) as reader:
        for _ in range(60):
            start = rng.randrange(len(data) + 10)
            length = rng.choice([1, 17, 4096, 1 << 20, 3 << 20])
            assert reader.seek(start) == start
            assert reader.read(length) == data[start : start + length]
            assert reader.tell() == min(start + length, max(start, len(data)))
        reader.seek(-100, 2)
        assert reader.read() == data[-100:]


def test_read_ahead_memory_is_bounded(uploaded, s3_env):
    with blob_reader(uploaded, part_size=1 << 20, depth=3) as reader:
        while reader.read(1 << 16):
            assert len(reader._parts) <= 3


def test_tail_ranges_fetch_only_the_tail(uploaded, s3_env):
    data = uploaded.blob.read_bytes()
    with blob_reader(uploaded) as reader:
        assert reader.read_range(len(data) - 1000, len(data) + 50) == data[-1000:]
    assert reader.counter.bytes == 1000
    assert 1000 <= s3_env.sent < 10_000


def test_503_responses_are_retried_with_backoff(uploaded, s3_env, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    data = uploaded.blob.read_bytes()
    s3_env.fail_next(3)
    counter = FetchCounter()
    got = fetch_range(make_client(), BUCKET, "data/blob.bin", 5, 70_000, retry=FAST_RETRY, counter=counter)
    assert got == data[5:70_000]
    assert s3_env.faults == 3 and counter.retries == 1


def test_connections_reset_mid_body_are_retried(uploaded, s3_env):
    data = uploaded.blob.read_bytes()
    s3_env.cut_next(2, after=64 << 10)
    with blob_reader(uploaded, part_size=2 << 20, depth=2, retry=FAST_RETRY) as reader:
        assert reader.read(3 << 20) == data[: 3 << 20]
    assert s3_env.faults == 2
    assert reader.counter.retries >= 1
