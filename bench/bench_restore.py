"""Restore time through our plan and runner vs the same steps typed by hand.

Builds a real sandbox server, fills it, takes a full and two incrementals
(>= 500 MB of streams together), then restores the incremental chain in three
ways, --repeat times each in turn (medians are printed):

1. by hand: mbstream -x ×3, mariabackup --prepare ×3, stop, mv, mkdir,
   --copy-back, chown -R, start — the DigitalOcean tutorial's sequence;
2. through build_plan + Runner with vendor extraction (mbstream): the same
   tools, so the difference is our orchestration (pexpect, journal, logs,
   LSN check, waiting, chown in Python) plus the verify step;
3. the same with the native extractor, for information.

Usage: .venv/bin/python bench/bench_restore.py [--full-mb 300] [--inc-mb 120] [--repeat 3] [--dir /var/tmp]
Prints the figures; it asserts nothing (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from xtrarestore.core import recovery
from xtrarestore.core.chain import find_restore_point
from xtrarestore.core.inventory import scan
from xtrarestore.core.journal import Journal
from xtrarestore.core.plan import Target, build_plan
from xtrarestore.core.runner import Runner
from xtrarestore.core.sandbox import SandboxServer
from xtrarestore.core.service import ServiceControl
from xtrarestore.core.tools import detect_tool


def sh(command: str) -> None:
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the server")
        time.sleep(0.1)


def by_hand(server: SandboxServer, streams: list[Path], work: Path) -> tuple[float, dict[str, float]]:
    """The tutorial's commands one after the other; returns the total and each command's time."""
    tool = detect_tool()
    dirs = [work / s.name.removesuffix(".xbstream") for s in streams]
    steps: dict[str, float] = {}

    def timed(name: str, action) -> None:
        began = time.monotonic()
        action()
        steps[name] = steps.get(name, 0.0) + time.monotonic() - began

    os.sync()  # nobody pays for the previous run's write-back
    began = time.monotonic()
    for stream, target in zip(streams, dirs, strict=True):
        target.mkdir(parents=True)
        timed("extract", lambda: sh(f"{tool.stream_tool} -x -C {target} < {stream}"))
    timed("prepare", lambda: sh(f"{tool.path} --prepare --target-dir={dirs[0]}"))
    for inc in dirs[1:]:
        timed("prepare", lambda: sh(f"{tool.path} --prepare --target-dir={dirs[0]} --incremental-dir={inc}"))
    timed("stop", lambda: (sh(server.stop_cmd), wait(lambda: not server.is_running())))
    timed("move-aside", lambda: sh(f"mv {server.datadir} {server.datadir}.by-hand-{time.time_ns()}"))
    timed("create-datadir", lambda: sh(f"mkdir {server.datadir}"))
    timed("copy-back", lambda: sh(f"{tool.path} --copy-back --target-dir={dirs[0]} --datadir={server.datadir}"))
    timed("chown", lambda: sh(f"chown -R {server.user or 'root'}: {server.datadir}"))
    timed("start", lambda: (sh(server.start_cmd), wait(server.ping)))
    return time.monotonic() - began, steps


def _grouped(steps: dict[str, float]) -> dict[str, float]:
    """Per-step times added up by kind (extract ×3, prepare ×3, …) to compare with by_hand's."""
    kinds: dict[str, float] = {}
    for name, seconds in steps.items():
        kind = name.split(":")[0]
        kinds[kind] = kinds.get(kind, 0.0) + seconds
    return kinds


def through_plan(server: SandboxServer, root: Path, day: str, upto: str, work: Path,
                 native: bool) -> tuple[float, dict[str, float]]:
    point = find_restore_point(scan(root), day, upto)
    target = Target(datadir=server.datadir, socket=server.socket, defaults_file=server.config,
                    service=ServiceControl("custom", stop_cmd=server.stop_cmd, start_cmd=server.start_cmd))
    plan = build_plan(point, target, tool=detect_tool(), workdir=work, native=native)
    os.sync()  # nobody pays for the previous run's write-back
    began = time.monotonic()
    journal = Journal.for_plan(plan, work / "state")
    recovery.start(plan, Runner(plan, journal))
    elapsed = time.monotonic() - began
    ends = [json.loads(line) for line in journal.paths[0].read_text().splitlines()]
    return elapsed, {r["step"]: r["seconds"] for r in ends if r.get("event") == "end"}


def _tidy(server: SandboxServer, work: Path) -> None:
    """Remove a run's workspace and the datadir it moved aside, so runs do not fill the disk."""
    shutil.rmtree(work, ignore_errors=True)
    for aside in server.datadir.parent.glob(server.datadir.name + ".*"):
        shutil.rmtree(aside, ignore_errors=True)


def _median_run(runs: list[tuple[float, dict[str, float]]]) -> tuple[float, dict[str, float]]:
    """The run with the median total time (its own per-step figures)."""
    return sorted(runs, key=lambda run: run[0])[len(runs) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-mb", type=int, default=300)
    parser.add_argument("--inc-mb", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", default="/var/tmp",
                        help="where everything lives; /dev/shm takes the disk's write-back noise out")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-restore-", dir=args.dir))
    os.chmod(base, 0o755)
    try:
        with SandboxServer.create(base / "prod") as server:
            day = base / "backups" / "Mon"
            server.fill(args.full_mb)
            streams = [server.take_backup(day)]
            for _ in range(2):
                server.fill(args.inc_mb)
                streams.append(server.take_backup(day))
            total = sum(s.stat().st_size for s in streams)
            print(f"chain: {len(streams)} streams, {total / 2**20:.0f} MiB "
                  f"({', '.join(f'{s.stat().st_size / 2**20:.0f}' for s in streams)} MiB)")
            manuals, ours_runs, native_runs = [], [], []
            for round_ in range(args.repeat):
                manuals.append(by_hand(server, streams, base / f"hand-{round_}"))
                _tidy(server, base / f"hand-{round_}")
                ours_runs.append(through_plan(server, day.parent, "Mon", streams[-1].name,
                                              base / f"plan-vendor-{round_}", False))
                _tidy(server, base / f"plan-vendor-{round_}")
                native_runs.append(through_plan(server, day.parent, "Mon", streams[-1].name,
                                                base / f"plan-native-{round_}", True))
                _tidy(server, base / f"plan-native-{round_}")
            manual, manual_steps = _median_run(manuals)
            ours, steps = _median_run(ours_runs)
            native, native_steps = _median_run(native_runs)
            extra = steps["verify"] + steps["check-lsn"]
            print(f"runs: {args.repeat} of each, in turn; medians")
            print(f"by hand (mbstream, prepare x3, stop, mv, copy-back, chown, start): {manual:7.2f} s"
                  f"  (runs: {', '.join(f'{m:.2f}' for m, _ in manuals)})")
            ours_by_kind = _grouped(steps)
            print("  by kind, by hand vs ours: " + ", ".join(
                f"{kind} {seconds:.2f}/{ours_by_kind.get(kind, 0.0):.2f}" for kind, seconds in manual_steps.items()))
            print(f"xtrarestore, vendor extraction, all steps:          {ours:7.2f} s")
            print(f"  same steps as by hand (without LSN check, verify): {ours - extra:7.2f} s"
                  f"  overhead {100 * (ours - extra - manual) / manual:+.1f}%")
            print("  per step: " + ", ".join(f"{name.split(':')[0]} {sec:.2f}" for name, sec in steps.items()))
            print(f"xtrarestore, native extraction, all steps:          {native:7.2f} s")
            print("  per step: " + ", ".join(f"{n.split(':')[0]} {sec:.2f}" for n, sec in native_steps.items()))
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
