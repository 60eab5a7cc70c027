"""Permanent failures end in one typed line naming the object; credentials never show."""

from __future__ import annotations

import logging
import traceback

import pytest

from xtrarestore.core.storage.client import make_client
from xtrarestore.core.storage.errors import (
    AccessDeniedError,
    BucketNotFoundError,
    EndpointError,
    ObjectChangedError,
    ObjectNotFoundError,
    StorageError,
    TruncatedObjectError,
)
from xtrarestore.core.storage.ranged import RetryPolicy, fetch_range
from xtrarestore.core.storage.roots import open_root

from .conftest import BUCKET
from .seaweed import free_ports

pytestmark = pytest.mark.s3
FAST_RETRY = RetryPolicy(attempts=3, first_delay=0.01)


def check_line(error: BaseException, seaweed, *names: str) -> None:
    """One line naming *names*; no key id, secret or endpoint anywhere in its traceback."""
    text = str(error)
    assert "\n" not in text and text
    for name in names:
        assert name in text
    shown = "".join(traceback.format_exception(error))
    for secret in (*seaweed.admin, *seaweed.reader, seaweed.endpoint):
        assert secret not in shown


def put(seaweed, key: str, body: bytes) -> None:
    seaweed.admin_client().put_object(Bucket=BUCKET, Key=key, Body=body)


def test_object_deleted_after_listing(seaweed, uploaded, s3_env):
    put(seaweed, "gone/full.xbstream", b"x" * 5000)
    root = open_root(f"s3://{BUCKET}/gone")
    (info,) = root.list().objects
    seaweed.admin_client().delete_object(Bucket=BUCKET, Key="gone/full.xbstream")
    with root.open(info) as reader, pytest.raises(ObjectNotFoundError) as caught:
        reader.seek(100)
        reader.read(10)
    check_line(caught.value, seaweed, "s3://backups/gone/full.xbstream", "offset 0x0")


def test_object_shorter_than_listed(seaweed, uploaded, s3_env):
    put(seaweed, "short/a.xbstream", b"y" * 100_000)
    root = open_root(f"s3://{BUCKET}/short")
    (info,) = root.list().objects
    put(seaweed, "short/a.xbstream", b"y" * 60_000)
    client = make_client()
    with pytest.raises(TruncatedObjectError) as within:
        fetch_range(client, BUCKET, "short/a.xbstream", 50_000, 70_000, size=info.size)
    check_line(within.value, seaweed, "s3://backups/short/a.xbstream", "offset 0xc350", "60000", "100000")
    with pytest.raises(TruncatedObjectError) as beyond:
        fetch_range(client, BUCKET, "short/a.xbstream", 80_000, 90_000, size=info.size)
    check_line(beyond.value, seaweed, "s3://backups/short/a.xbstream", "offset 0x13880")


def test_object_replaced_after_listing(seaweed, uploaded, s3_env):
    put(seaweed, "replaced/a.xbstream", b"1" * 10_000)
    root = open_root(f"s3://{BUCKET}/replaced")
    (info,) = root.list().objects
    put(seaweed, "replaced/a.xbstream", b"2" * 10_000)
    with root.open(info) as reader, pytest.raises(ObjectChangedError) as caught:
        reader.read(10)
    check_line(caught.value, seaweed, "s3://backups/replaced/a.xbstream")


def test_missing_bucket(seaweed, s3_env):
    with pytest.raises(BucketNotFoundError) as listing:
        open_root("s3://no-such-bucket/mysql").list()
    check_line(listing.value, seaweed, "s3://no-such-bucket/mysql/")
    with pytest.raises(BucketNotFoundError) as reading:
        fetch_range(make_client(), "no-such-bucket", "a", 0, 10)
    check_line(reading.value, seaweed, "s3://no-such-bucket/a")


@pytest.mark.parametrize("which", ["secret", "key id"])
def test_wrong_credentials(seaweed, uploaded, s3_env, monkeypatch, which):
    name, right = ("AWS_SECRET_ACCESS_KEY", seaweed.reader[1]) if which == "secret" else ("AWS_ACCESS_KEY_ID", seaweed.reader[0])
    monkeypatch.setenv(name, "WRONG" + right[5:])
    with pytest.raises(AccessDeniedError) as listing:
        open_root(f"s3://{BUCKET}/hosts").list()
    check_line(listing.value, seaweed, "s3://backups/hosts/", "access denied")
    with pytest.raises(AccessDeniedError) as reading:
        fetch_range(make_client(), BUCKET, "data/blob.bin", 0, 10)
    check_line(reading.value, seaweed, "s3://backups/data/blob.bin")


def test_reader_identity_cannot_write(seaweed, uploaded, s3_env):
    """The library is tested with a read-only identity: a write from it would fail."""
    with pytest.raises(Exception):
        make_client().put_object(Bucket=BUCKET, Key="data/written", Body=b"x")


def test_connection_refused(seaweed, s3_env, monkeypatch):
    (port,) = free_ports(1)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(EndpointError) as listing:
        open_root(f"s3://{BUCKET}/hosts").list()
    check_line(listing.value, seaweed, "s3://backups/hosts/", "cannot connect")
    assert str(port) not in str(listing.value)


def test_persistent_503_gives_up_with_one_line(seaweed, uploaded, s3_env, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3_env.fail_next(100)
    with pytest.raises(StorageError) as caught:
        fetch_range(make_client(), BUCKET, "data/blob.bin", 4096, 8192, retry=FAST_RETRY)
    check_line(caught.value, seaweed, "s3://backups/data/blob.bin", "offset 0x1000", "SlowDown", "3 attempts")
    assert s3_env.faults == 3


def test_debug_logging_never_shows_credentials(seaweed, uploaded, s3_env, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    root = open_root(f"s3://{BUCKET}/data")
    (info,) = [item for item in root.list().objects if item.name == "blob.bin"]
    with root.open(info) as reader:
        reader.read(1000)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "WRONG")
    with pytest.raises(AccessDeniedError):
        open_root(f"s3://{BUCKET}/data").list()
    for secret in (*seaweed.reader, "WRONG"):
        assert secret not in caplog.text
