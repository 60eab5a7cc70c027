"""Benchmark: inventory 1,000 backups over 30 day directories, LSNs read from inside every stream.

    .venv/bin/python bench/bench_inventory.py [--dir DIR] [--keep] [--real N] [--repeat 3] [--cold]

Builds a backup root of 29 synthetic day directories (1 full + 33 or 34
incrementals each, streams shaped like mariabackup's: ~400 chunks, most
of them small members, plus 10 MiB ibdata1 chunks) and, with --real N > 0,
one day of N real mariabackup streams from a sandbox server; 1,000 backups
in all. Large payloads are left as holes (sparse files) but every chunk
carries its real CRC, so the streams are valid for mbstream too. Then times
`scan()` (page cache warm, as right after the files were written; with
--cold, each run first asks the kernel to drop the streams' cached pages) and prints
backups, chunks walked, bytes read against the bytes in the streams, and
wall time. The goal is < 1 s on this 2-core machine, reading O(chunk headers).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import struct
import sys
import tempfile
import time
import zlib
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from xtrarestore.core.inventory.scan import scan

DAYS = 30
BACKUPS = 1000
HOLE = 4096  # payloads at least this big are written as holes
_PREFIX = struct.Struct("<8sBBI")
_PAYLOAD = struct.Struct("<QQI")


@cache
def _zero_crc(length: int) -> int:
    return zlib.crc32(bytes(length))


class StreamWriter:
    """Write an xbstream with sparse payloads: headers and small payloads are real bytes, big ones holes."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.pending = bytearray()
        self.start = 0  # stream position of pending[0]
        self.chunks = 0

    @property
    def position(self) -> int:
        return self.start + len(self.pending)

    def member(self, name: str, sizes: list[int] | bytes) -> None:
        """One member: payload chunks of the given sizes (zeros), or exactly *sizes* if bytes; then EOF."""
        raw = name.encode()
        offset = 0
        for payload in [sizes] if isinstance(sizes, bytes) else sizes:
            length = len(payload) if isinstance(payload, bytes) else payload
            crc = zlib.crc32(payload) if isinstance(payload, bytes) else _zero_crc(length)
            self.pending += _PREFIX.pack(b"XBSTCK01", 0, ord("P"), len(raw)) + raw + _PAYLOAD.pack(length, offset, crc)
            if isinstance(payload, bytes):
                self.pending += payload
            elif length < HOLE:
                self.pending += bytes(length)
            else:
                self._flush()
                self.start += length
            offset += length
            self.chunks += 1
        self.pending += _PREFIX.pack(b"XBSTCK01", 0, ord("E"), len(raw)) + raw
        self.chunks += 1

    def _flush(self) -> None:
        os.pwrite(self.fd, self.pending, self.start)
        self.start += len(self.pending)
        self.pending.clear()

    def close(self) -> int:
        self._flush()
        os.ftruncate(self.fd, self.start)
        os.close(self.fd)
        return self.start


def write_backup(path: Path, kind: str, from_lsn: int, to_lsn: int, when: datetime, index: int) -> int:
    """A mariabackup-shaped stream: ~200 members, ~400 chunks; returns its size."""
    writer = StreamWriter(path)
    full = kind == "full"
    writer.member("ibdata1" if full else "ibdata1.delta", [10 << 20] * (8 if full else 1) + [2 << 20])
    if not full:
        writer.member("ibdata1.meta", [45])
    for schema in ("mysql", "sys", "performance_schema", "playground", "shop"):
        for table in range(20):
            name = f"{schema}/t{table}"
            if full:
                writer.member(f"{name}.frm", [900 + table * 13])
                writer.member(f"{name}.ibd", [(64 << 10) if table % 4 else (1 << 20)])
            else:
                writer.member(f"{name}.ibd.delta", [16 << 10 if table % 6 == 0 else 1200 + table])
                writer.member(f"{name}.ibd.meta", [45])
    writer.member("aria_log.00000001", [417792])
    write_metadata(writer, full, from_lsn, to_lsn, when, index)
    return writer.close()


def write_metadata(writer: StreamWriter, full: bool, from_lsn: int, to_lsn: int, when: datetime, index: int,
                   info: str = "") -> None:
    """The members mariabackup writes last: ib_logfile0, checkpoints, backup-my.cnf, xtrabackup_info (+ *info*)."""
    writer.member("ib_logfile0", [14887 + index])
    writer.member(
        "xtrabackup_checkpoints",
        f"backup_type = {'full-backuped' if full else 'incremental'}\nfrom_lsn = {from_lsn}\n"
        f"to_lsn = {to_lsn}\nlast_lsn = {to_lsn + 97}\nrecover_binlog_info = 0\n".encode(),
    )
    writer.member("backup-my.cnf", [284])
    writer.member(
        "xtrabackup_info",
        f"uuid = {index}\ntool_name = mariabackup\ntool_version = 10.11.19-MariaDB\n"
        f"start_time = {when:%Y-%m-%d %H:%M:%S}\nend_time = {when:%Y-%m-%d %H:%M:%S}\n"
        f"innodb_from_lsn = {from_lsn}\ninnodb_to_lsn = {to_lsn}\nformat = mbstream\n{info}".encode(),
    )


def build_synthetic(root: Path, days: int, backups: int) -> None:
    """*backups* streams over *days* dated day directories, each day a full and its incrementals."""
    lsn = 1_000_000
    first = datetime(2026, 10, 1, 1, 0, 0)
    for number in range(days):
        day = first + timedelta(days=number)
        folder = root / f"{day:%Y-%m-%d}"
        folder.mkdir(parents=True)
        count = backups // days + (number < backups % days)
        previous = 0
        for index in range(count):
            when = day + timedelta(minutes=40 * index)
            kind = "full" if index == 0 else "incremental"
            to_lsn = lsn + 50_000 + index
            path = folder / f"{kind}-{when:%m-%d-%Y_%H-%M-%S}.xbstream"
            write_backup(path, kind, previous, to_lsn, when, number * 100 + index)
            previous = lsn = to_lsn


def build_real(root: Path, count: int) -> None:
    from xtrarestore.core.drills.sandbox import SandboxServer

    with SandboxServer.create() as server:
        server.load_playground()
        when = datetime(2026, 10, 31, 1, 0, 0)
        for index in range(count):
            server.add_equipment("slide", index, "blue")
            server.take_backup(root / "real", when=when + timedelta(hours=index), compress=index % 2 == 1)


def drop_cache(root: Path) -> None:
    """Ask the kernel to forget the streams' cached pages (POSIX_FADV_DONTNEED), for a cold-cache figure."""
    for path in root.rglob("*.xbstream"):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, help="where to build the root (default: a temp dir, removed after)")
    parser.add_argument("--keep", action="store_true", help="keep the built root")
    parser.add_argument("--real", type=int, default=4, help="real mariabackup streams in a 30th day (0: none)")
    parser.add_argument("--repeat", type=int, default=3, help="timed scans (the median is reported)")
    parser.add_argument("--cold", action="store_true", help="drop the streams from the page cache before each scan")
    args = parser.parse_args()
    base = args.dir or Path(tempfile.mkdtemp(prefix="bench-inventory-"))
    root = base / "backups"
    try:
        started = time.perf_counter()
        synthetic_days = DAYS - (1 if args.real else 0)
        build_synthetic(root, synthetic_days, BACKUPS - args.real)
        if args.real:
            build_real(root, args.real)
        print(f"built {root} in {time.perf_counter() - started:.1f} s")
        times = []
        for _ in range(args.repeat):
            if args.cold:
                drop_cache(root)
            started = time.perf_counter()
            inventory = scan(root)
            times.append(time.perf_counter() - started)
        backups = inventory.backups
        streams = [b for b in backups if b.artifact == "stream"]
        chunks = sum(b.chunks for b in streams)
        read = sum(b.bytes_read for b in streams)
        total = sum(b.size for b in streams)
        ok = sum(b.state == "ok" for b in backups)
        print(f"days:          {len(inventory.days)}")
        print(f"backups:       {len(backups)} ({ok} ok, {len(inventory.restore_points())} restore points)")
        print(f"chunks walked: {chunks} ({chunks / max(len(streams), 1):.0f} per stream)")
        print(f"bytes read:    {read / 2**20:.1f} MiB of {total / 2**30:.2f} GiB in the streams "
              f"({100 * read / max(total, 1):.3f} %)")
        print(f"scan() wall:   median {statistics.median(times):.3f} s, min {min(times):.3f} s "
              f"over {len(times)} runs (page cache {'dropped' if args.cold else 'warm'}; {os.cpu_count()} CPUs)")
    finally:
        if not args.keep:
            shutil.rmtree(base if args.dir is None else root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
