"""Upload local backup trees to the test bucket and compare inventories (helpers for the s3 tests)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from boto3.s3.transfer import TransferConfig

from xtrarestore.core.archive.xbstream import iter_headers


def upload_tree(client, bucket: str, root: Path, prefix: str) -> int:
    """Upload every file under *root* to ``prefix/…``, keeping each file's mtime as rclone does
    (``x-amz-meta-mtime``); returns the bytes uploaded."""
    files = [path for path in sorted(root.rglob("*")) if path.is_file()]
    config = TransferConfig(multipart_threshold=64 << 20)

    def put(path: Path) -> int:
        key = f"{prefix}/{path.relative_to(root).as_posix()}"
        extra = {"Metadata": {"mtime": f"{path.stat().st_mtime:.9f}"}}
        client.upload_file(str(path), bucket, key, ExtraArgs=extra, Config=config)
        return path.stat().st_size

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(put, files))


def upload_xbcloud(client, bucket: str, stream: Path, prefix: str) -> None:
    """Upload *stream* as `xbcloud put` does: one object per chunk, ``prefix/<member>.<index, 20 digits>``."""
    counts: dict[str, int] = {}
    with open(stream, "rb") as source:
        size = source.seek(0, 2)
        source.seek(0)
        headers = list(iter_headers(source, str(stream), size))
        for header in headers:
            index = counts.get(header.path, 0)
            counts[header.path] = index + 1
            source.seek(header.position)
            body = source.read(header.end - header.position)
            client.put_object(Bucket=bucket, Key=f"{prefix}/{header.path}.{index:020d}", Body=body)


def bucket_state(client, bucket: str) -> dict[str, tuple[str, int]]:
    """Every object's key -> (ETag, size): to show that reading changed nothing."""
    state = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", ()):
            state[item["Key"]] = (item["ETag"], item["Size"])
    return state


def normalised(document: dict, root: str) -> str:
    """The inventory JSON with the root replaced by ROOT and the bucket-only counters dropped."""
    document = {k: v for k, v in document.items() if k not in ("bytes_fetched", "requests")}
    return json.dumps(document, indent=1, sort_keys=True).replace(root.rstrip("/"), "ROOT")
