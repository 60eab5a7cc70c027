"""Benchmark: backups in a local S3 server (SeaweedFS) against the same backups on local disk.

    .venv/bin/python bench/bench_s3.py [--megabytes 600] [--repeat 3] [--backups 1000] [--only extract|inventory|read]

Starts a real SeaweedFS (`weed server -s3`, tests/storage/seaweed.py) on
loopback, with the counting proxy (tests/storage/proxy.py) in front of it so
the bytes the server sent are measured on its side, and runs:

* extract — the ≈600 MB plain stream of a real backup of a sandbox server
  grown with `fill()` (as bench/bench_extract.py builds it), extracted by
  `xtrarestore-step extract` from the local file and from
  ``s3://bench/Mon/…`` (ranged GETs into the extractor, no local copy),
  interleaved rounds, best and median; the goal is bucket ≤ 1.5× local. The
  local stream and the server's volume files are read into the page cache
  first (so both sides are served from memory: an upper bound for disk), and
  both runs end with the same syncfs of their output. Beside them: the bare
  transfer of the object (our reader drained, nothing extracted) and the CPU
  the S3 server spent on each run, which on a 2-core machine it shares with
  the extractor. SeaweedFS keeps compressible chunks gzipped, so the plain
  stream costs it a gunzip on every GET; the same data as the tutorial's
  scripts write it (`--compress` then `--encrypt`) is measured too.
* inventory — 1,000 backups over 30 day directories (streams shaped like
  mariabackup's, a 13 MB full and 1.2 MB incrementals, metadata members at
  the end) plus each day's checkpoints, info and progress log, uploaded under
  ``s3://bench/inventory/``; `scan_root` of the bucket timed (median of
  --repeat), with the bytes fetched as the client counted them and as the
  server sent them (HTTP headers included). Goals: ≤ 5 s, ≤ 1 % of the
  stored bytes.
* read — a large object drained through `RangedReader` against the local file (MB/s).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_extract import KEY, native, prime, warm
from bench_inventory import StreamWriter, write_metadata
from tests.storage.proxy import CountingProxy
from tests.storage.seaweed import SeaweedServer

from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.inventory.roots import scan_root
from xtrarestore.core.storage.roots import LocalFile, open_root, open_stream

READ = 1 << 20
DAYS = 30


def drain(reader) -> tuple[int, float]:
    began = time.monotonic()
    total = 0
    while data := reader.read(READ):
        total += len(data)
    return total, time.monotonic() - began


def upload(admin, path: Path, key: str) -> None:
    admin.upload_file(str(path), "bench", key)


# -- extraction --------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process *pid* (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def transfer_only(url: str) -> tuple[float, float, float]:
    """(wall s, CPU s, 0) of draining the object through our ranged reader, extracting nothing: the fastest
    any client on this machine gets the bytes from this server."""
    cpu = time.process_time()
    with open_stream(url) as reader:
        _total, seconds = drain(reader)
    return seconds, time.process_time() - cpu, 0.0


def bench_stream(label: str, stream: Path, key_file: Path | None, admin, work: Path, repeat: int, store: Path,
                 server_pid: int) -> float:
    """Local vs bucket extraction of *stream* (and the bare transfer); returns bucket / local (best runs)."""
    size = stream.stat().st_size
    began = time.monotonic()
    upload(admin, stream, f"Mon/{stream.name}")
    url = f"s3://bench/Mon/{stream.name}"
    print(f"\n{label}: {size / 1e6:.1f} MB, uploaded in {time.monotonic() - began:.1f} s")
    keys = [key_file] if key_file else []
    runs: dict[str, list] = {"local": [], "bucket": [], "transfer only": []}
    server_cpu: dict[str, list] = {name: [] for name in runs}
    for attempt in range(repeat):
        for name in runs:
            out = work / f"out-{attempt}"
            subprocess.run(["sync", "-f", str(work)], check=True)
            warm(stream)
            for volume in store.rglob("*.dat"):  # the server's copy is as warm as the local file
                warm(volume)
            prime(work, size + (512 << 20))
            before = cpu_seconds(server_pid)
            if name == "transfer only":
                runs[name].append(transfer_only(url))
            else:
                runs[name].append(native([stream if name == "local" else url], out, *keys))
            server_cpu[name].append(cpu_seconds(server_pid) - before)
            shutil.rmtree(out, ignore_errors=True)
    print(f"{'':<16}{'best s':>8}{'median s':>10}{'our CPU s':>11}{'S3 server CPU s':>17}{'peak MiB':>10}")
    best = {name: min(results) for name, results in runs.items()}
    median = {name: statistics.median(r[0] for r in results) for name, results in runs.items()}
    for name, (seconds, cpu, rss) in best.items():
        server = statistics.median(server_cpu[name])
        print(f"{name:<16}{seconds:8.2f}{median[name]:10.2f}{cpu:11.2f}{server:17.2f}"
              f"{rss if rss else float('nan'):10.1f}")
    cores = len(os.sched_getaffinity(0))
    floor = (statistics.median(server_cpu["bucket"]) + best["bucket"][1]) / cores
    ratio = best["bucket"][0] / best["local"][0]
    print(f"bucket / local: {ratio:.2f} (best), {median['bucket'] / median['local']:.2f} (median); goal <= 1.5")
    print(f"bucket / transfer only: {best['bucket'][0] / best['transfer only'][0]:.2f} (extracting while the bytes "
          f"arrive, against only receiving them)")
    print(f"the S3 server and the extractor share {cores} cores: their CPU sets a floor of {floor:.2f} s for the "
          f"bucket run ({floor / best['local'][0]:.2f} x local)")
    print("every run, wall s: " + "; ".join(f"{n} " + " ".join(f"{r[0]:.2f}" for r in rs) for n, rs in runs.items()))
    return ratio


def bench_extract(admin, work: Path, megabytes: int, repeat: int, store: Path, server_pid: int) -> bool:
    """The plain bench stream (the goal's), and the same data as the tutorial's scripts write it."""
    from xtrarestore.core.drills.sandbox import SandboxServer

    server = SandboxServer.create(work / "server")
    try:
        server.fill(megabytes)
        plain = server.take_backup(work / "plain")
        compressed = server.take_backup(work / "compressed", compress=True)
    finally:
        server.destroy()
    encrypted = encrypt_stream(compressed, work / "encrypted.xbstream", KEY)
    compressed.unlink()
    key_file = work / "key"
    key_file.write_bytes(KEY)
    ratio = bench_stream("plain stream (the goal's)", plain, None, admin, work, repeat, store, server_pid)
    bench_stream("--compress + --encrypt stream (the tutorial's scripts)", encrypted, key_file, admin, work, repeat,
                 store, server_pid)
    return ratio <= 1.5


# -- inventory ---------------------------------------------------------------------


def write_stream(path: Path, kind: str, from_lsn: int, to_lsn: int, when: datetime, index: int) -> int:
    """A mariabackup-shaped stream: data members first, then ib_logfile0, checkpoints, backup-my.cnf, info."""
    writer = StreamWriter(path)
    full = kind == "full"
    writer.member("ibdata1" if full else "ibdata1.delta", [10 << 20] if full else [256 << 10])
    for table in range(60):
        name = f"shop/t{table}"
        if full:
            writer.member(f"{name}.frm", [900 + table * 13])
            writer.member(f"{name}.ibd", [48 << 10])
        else:
            writer.member(f"{name}.ibd.delta", [16 << 10])
            writer.member(f"{name}.ibd.meta", [45])
    write_metadata(writer, full, from_lsn, to_lsn, when, index, info="compressed = N\n")
    return writer.close()


def build_days(root: Path, backups: int) -> None:
    lsn = 1_000_000
    first = datetime(2026, 10, 1, 1, 0, 0)
    for number in range(DAYS):
        day = first + timedelta(days=number)
        folder = root / f"{day:%Y-%m-%d}"
        folder.mkdir(parents=True)
        previous = 0
        count = backups // DAYS + (number < backups % DAYS)
        for index in range(count):
            when = day + timedelta(minutes=40 * index)
            kind = "full" if index == 0 else "incremental"
            to_lsn = lsn + 50_000 + index
            write_stream(folder / f"{kind}-{when:%m-%d-%Y_%H-%M-%S}.xbstream", kind, previous, to_lsn, when, index)
            previous = lsn = to_lsn
        (folder / "xtrabackup_checkpoints").write_text(f"backup_type = incremental\nfrom_lsn = 1\nto_lsn = {lsn}\n")
        (folder / "backup-progress.log").write_text("[00] copying ./shop/t1.ibd\n" * 600 + "completed OK!\n")


def proxy_env(proxy: CountingProxy, direct: bool) -> dict[str, str]:
    """The endpoint setting for reads straight to the server or through the counting proxy."""
    return {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{proxy.upstream_port}" if direct else proxy.endpoint}


def bench_inventory(admin, proxy: CountingProxy, work: Path, backups: int, repeat: int) -> bool:
    root = work / "inventory"
    build_days(root, backups)
    files = [path for path in sorted(root.rglob("*")) if path.is_file()]
    stored = sum(path.stat().st_size for path in files)
    began = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda p: upload(admin, p, f"inventory/{p.relative_to(root).as_posix()}"), files))
    print(f"uploaded {len(files)} objects, {stored / 1e9:.2f} GB, in {time.monotonic() - began:.1f} s")
    times, sent = [], []
    for _ in range(repeat):
        proxy.reset_counts()
        began = time.perf_counter()
        inventory = scan_root("s3://bench/inventory")
        times.append(time.perf_counter() - began)
        sent.append(proxy.sent)
    found = inventory.backups
    ok = sum(b.state == "ok" for b in found)
    print(f"backups:       {len(found)} ({ok} ok, {len(inventory.restore_points())} restore points) in "
          f"{len(inventory.days)} days")
    print(f"fetched:       {inventory.fetched / 1e6:.2f} MB in {inventory.requests} GETs (client); server sent "
          f"{statistics.median(sent) / 1e6:.2f} MB with headers and listings = "
          f"{100 * statistics.median(sent) / stored:.3f} % of {stored / 1e9:.2f} GB stored; goal <= 1 %")
    print(f"scan wall:     median {statistics.median(times):.2f} s, min {min(times):.2f} s over {repeat} runs; "
          f"goal <= 5 s ({os.cpu_count()} CPUs)")
    direct = []
    os.environ.update(proxy_env(proxy, direct=True))
    for _ in range(repeat):
        began = time.perf_counter()
        scan_root("s3://bench/inventory")
        direct.append(time.perf_counter() - began)
    os.environ.update(proxy_env(proxy, direct=False))
    print(f"scan wall without the counting proxy: median {statistics.median(direct):.2f} s, min {min(direct):.2f} s")
    local = []
    for _ in range(repeat):
        began = time.perf_counter()
        scan_root(root)
        local.append(time.perf_counter() - began)
    print(f"same tree from local disk: median {statistics.median(local):.2f} s")
    fast = min(statistics.median(times), statistics.median(direct)) <= 5
    return fast and statistics.median(sent) <= stored / 100 and ok == len(found)


# -- raw reads ---------------------------------------------------------------------


def bench_read(admin, work: Path, megabytes: int) -> None:
    blob = work / "blob.bin"
    with open(blob, "wb") as out:
        out.writelines(os.urandom(1 << 20) for _ in range(megabytes))
    upload(admin, blob, "read/blob.bin")
    with LocalFile(blob) as local:
        size, seconds = drain(local)
    print(f"local file      : {size / seconds / 1e6:8.0f} MB/s ({seconds:.2f}s)")
    root = open_root("s3://bench/read")
    (info,) = root.list().objects
    with root.open(info) as reader:
        size, seconds = drain(reader)
    print(f"s3 ranged reader: {size / seconds / 1e6:8.0f} MB/s ({seconds:.2f}s, {root.counter.requests} GETs)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=600)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backups", type=int, default=1000)
    parser.add_argument("--only", choices=("extract", "inventory", "read"))
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-s3-", dir=args.workdir))
    work.chmod(0o711)
    server = SeaweedServer.start(work / "weed", volumes=100)
    proxy = CountingProxy(urlsplit(server.endpoint).port)
    ok = True
    try:
        admin = server.admin_client()
        admin.create_bucket(Bucket="bench")
        if args.only in (None, "inventory"):
            os.environ.update(server.env(proxy.endpoint))  # counted on the server's side
            ok &= bench_inventory(admin, proxy, work, args.backups, args.repeat)
        os.environ.update(server.env())  # straight to the server; the extract child processes inherit it
        if args.only in (None, "extract"):
            ok &= bench_extract(admin, work, args.megabytes, args.repeat, work / "weed" / "data", server.process.pid)
        if args.only == "read":
            bench_read(admin, work, args.megabytes)
    finally:
        proxy.close()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)
    print("goals met" if ok else "goals NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
