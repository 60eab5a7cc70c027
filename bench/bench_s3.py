"""Benchmark: reading a large object sequentially through `RangedReader` vs the local file.

    .venv/bin/python bench/bench_s3.py [--megabytes 512] [--part-mib 8] [--depth 4] [--through-proxy]

Starts a real SeaweedFS (`weed server -s3`, tests/storage/seaweed.py) on
loopback, uploads a file of random bytes and reads it back in 1 MiB reads:
once from local disk (page cache warm: an upper bound), then from the bucket.
With --through-proxy the bucket read goes through the counting proxy, which
measures the bytes the server sent (and costs throughput). Prints MB/s.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.storage.proxy import CountingProxy  # noqa: E402
from tests.storage.seaweed import SeaweedServer  # noqa: E402

from xtrarestore.core.storage.roots import LocalFile, open_root  # noqa: E402

READ = 1 << 20


def drain(reader) -> tuple[int, float]:
    began = time.monotonic()
    total = 0
    while data := reader.read(READ):
        total += len(data)
    return total, time.monotonic() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=512)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--through-proxy", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-s3-", dir="/var/tmp") as work:
        work = Path(work)
        blob = work / "blob.bin"
        with open(blob, "wb") as out:
            for _ in range(args.megabytes):
                out.write(os.urandom(1 << 20))
        server = SeaweedServer.start(work / "weed")
        proxy = CountingProxy(urlsplit(server.endpoint).port) if args.through_proxy else None
        try:
            admin = server.admin_client()
            admin.create_bucket(Bucket="bench")
            began = time.monotonic()
            admin.upload_file(str(blob), "bench", "Mon/full.xbstream")
            print(f"uploaded {args.megabytes} MiB in {time.monotonic() - began:.1f}s")
            os.environ.update(server.env(proxy.endpoint if proxy else None))
            with LocalFile(blob) as local:
                size, seconds = drain(local)
            print(f"local file      : {size / seconds / 1e6:8.0f} MB/s ({seconds:.2f}s)")
            root = open_root("s3://bench/Mon")
            (info,) = root.list().objects
            with root.open(info, part_size=args.part_mib << 20, depth=args.depth) as reader:
                size, seconds = drain(reader)
            print(
                f"s3 ranged reader: {size / seconds / 1e6:8.0f} MB/s ({seconds:.2f}s,"
                f" {args.part_mib} MiB parts, {args.depth} in flight, {root.counter.requests} GETs,"
                f" {root.counter.bytes} bytes fetched)"
            )
            if proxy:
                print(f"server sent     : {proxy.sent} bytes (through the counting proxy)")
        finally:
            if proxy:
                proxy.close()
            server.stop()


if __name__ == "__main__":
    main()
