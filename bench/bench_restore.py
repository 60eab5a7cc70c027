"""Restore time through our plan and runner vs the same steps typed by hand.

Builds a real sandbox server, fills it, takes a full and two incrementals
(>= 500 MB of streams together), then restores the incremental chain in three
ways, --repeat rounds in rotating order (medians and bests are printed):

1. by hand: mbstream -x ×3, mariabackup --prepare ×3, stop, mv, mkdir,
   --copy-back, chown -R, start — the DigitalOcean tutorial's sequence;
2. through build_plan + Runner, as `xtrarestore restore` runs it: the native
   extractor (the chain's streams side by side), the same prepare and
   copy-back commands, our stop/start waits, LSN check, journal and logs;
3. the same with vendor extraction (mbstream, one stream after another).

Our verify step is reported apart: the by-hand sequence has nothing like it.

Usage: .venv/bin/python bench/bench_restore.py [--full-mb 300] [--inc-mb 120] [--repeat 5] [--dir /var/tmp]
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

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.inventory.chains import find_restore_point
from xtrarestore.core.inventory.scan import scan
from xtrarestore.core.restore import recovery
from xtrarestore.core.restore.journal import Journal
from xtrarestore.core.restore.plan import Target, build_plan
from xtrarestore.core.restore.runner import Runner
from xtrarestore.core.restore.service import ServiceControl
from xtrarestore.core.restore.tools import detect_tool

SYNC = "sync-after"  # not a step: the write-back left when the run ended


def settle(drop_caches: bool) -> None:
    """Before each run: write back what the previous run left, and optionally empty the page cache.

    Without --drop-caches a run may first have to reclaim the page cache the
    previous one filled; how long that takes varies a lot (an identical
    copy-back on tmpfs took 0.3 s or 1.3 s), which is noise, not our overhead.
    """
    os.sync()
    if drop_caches:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")


def sh(command: str) -> None:
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait(condition, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for the server")
        time.sleep(0.1)


def by_hand(server: SandboxServer, streams: list[Path], work: Path, drop_caches: bool) -> tuple[float, dict[str, float]]:
    """The tutorial's commands one after the other; returns the total and each command's time."""
    tool = detect_tool()
    dirs = [work / s.name.removesuffix(".xbstream") for s in streams]
    steps: dict[str, float] = {}

    def timed(name: str, action) -> None:
        began = time.monotonic()
        action()
        steps[name] = steps.get(name, 0.0) + time.monotonic() - began

    settle(drop_caches)
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
    elapsed = time.monotonic() - began
    return elapsed, {**steps, SYNC: _timed_sync()}


def _grouped(steps: dict[str, float]) -> dict[str, float]:
    """Per-step times added up by kind (extract ×3, prepare ×3, …) to compare with by_hand's."""
    kinds: dict[str, float] = {}
    for name, seconds in steps.items():
        if name == SYNC:
            continue
        kind = name.split(":")[0]
        kinds[kind] = kinds.get(kind, 0.0) + seconds
    return kinds


def through_plan(server: SandboxServer, root: Path, day: str, upto: str, work: Path,
                 native: bool, drop_caches: bool) -> tuple[float, dict[str, float]]:
    point = find_restore_point(scan(root), day, upto)
    target = Target(datadir=server.datadir, socket=server.socket, defaults_file=server.config,
                    service=ServiceControl("custom", stop_cmd=server.stop_cmd, start_cmd=server.start_cmd))
    plan = build_plan(point, target, tool=detect_tool(), workdir=work, native=native)
    settle(drop_caches)
    began = time.monotonic()
    journal = Journal.for_plan(plan, work / "state")
    recovery.start(plan, Runner(plan, journal))
    elapsed = time.monotonic() - began
    ends = [json.loads(line) for line in journal.paths[0].read_text().splitlines()]
    return elapsed, {**{r["step"]: r["seconds"] for r in ends if r.get("event") == "end"}, SYNC: _timed_sync()}


def _timed_sync() -> float:
    """How long the write-back a run left behind takes: who leaves more dirty pages pays it here."""
    began = time.monotonic()
    os.sync()
    return time.monotonic() - began


def _tidy(server: SandboxServer, work: Path) -> None:
    """Remove a run's workspace and the datadir it moved aside, so runs do not fill the disk."""
    shutil.rmtree(work, ignore_errors=True)
    for aside in server.datadir.parent.glob(server.datadir.name + ".*"):
        shutil.rmtree(aside, ignore_errors=True)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _same_steps(run: tuple[float, dict[str, float]]) -> float:
    """Our total without the verify step, which the by-hand sequence does not have (the LSN check stays in)."""
    total, steps = run
    return total - steps.get("verify", 0.0)


def _by_kind(runs: list[tuple[float, dict[str, float]]]) -> dict[str, float]:
    """The median over runs of each kind's time (extract, prepare, …)."""
    kinds = [_grouped(steps) for _total, steps in runs]
    return {kind: _median([k.get(kind, 0.0) for k in kinds]) for kind in kinds[0]}


def _report(label: str, runs: list[tuple[float, dict[str, float]]],
            manual: tuple[list[float], list[float]] | None = None) -> None:
    """Median and best of the runs' times, and with the write-back they left (+sync); vs *manual*."""
    same = [_same_steps(run) for run in runs]
    durable = [t + steps[SYNC] for t, (_total, steps) in zip(same, runs, strict=True)]

    def versus(ours: float, theirs: float) -> str:
        return f" ({100 * (ours / theirs - 1):+5.1f}%)" if manual else ""

    hand, hand_durable = manual or ([], [])
    print(f"{label:<44} median {_median(same):6.2f} s{versus(_median(same), _median(hand or same))}"
          f"  best {min(same):6.2f} s{versus(min(same), min(hand or same))}"
          f"  +sync median {_median(durable):6.2f} s{versus(_median(durable), _median(hand_durable or durable))}")
    print(f"    runs: {', '.join(f'{t:.2f}' for t in same)}")
    print("    by kind: " + ", ".join(f"{kind} {sec:.2f}" for kind, sec in _by_kind(runs).items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-mb", type=int, default=300)
    parser.add_argument("--inc-mb", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", default="/var/tmp",
                        help="where everything lives; /dev/shm takes the disk's write-back noise out")
    parser.add_argument("--drop-caches", action="store_true",
                        help="empty the page cache before each run (root): steadier, and the backups are read cold")
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
                  f"({', '.join(f'{s.stat().st_size / 2**20:.0f}' for s in streams)} MiB) in {args.dir}")
            ways = {
                "by hand": lambda work: by_hand(server, streams, work, args.drop_caches),
                "native": lambda work: through_plan(server, day.parent, "Mon", streams[-1].name, work, True,
                                                    args.drop_caches),
                "vendor": lambda work: through_plan(server, day.parent, "Mon", streams[-1].name, work, False,
                                                    args.drop_caches),
            }
            runs: dict[str, list[tuple[float, dict[str, float]]]] = {name: [] for name in ways}
            order = list(ways)
            for round_ in range(args.repeat):
                for name in order[round_ % 3:] + order[: round_ % 3]:  # nobody always goes first
                    work = base / f"{name.replace(' ', '-')}-{round_}"
                    runs[name].append(ways[name](work))
                    _tidy(server, work)
            print(f"{args.repeat} runs of each, in rotating order; times exclude our verify step; "
                  "+sync adds the write-back each run left behind")
            hand = runs["by hand"]
            manual = ([t for t, _ in hand], [t + steps[SYNC] for t, steps in hand])
            _report("by hand (the tutorial's commands)", hand)
            _report("xtrarestore, native extraction (default)", runs["native"], manual)
            _report("xtrarestore, vendor extraction (mbstream)", runs["vendor"], manual)
            verify = _median([steps["verify"] for _total, steps in runs["native"]])
            print(f"our verify step (not counted above): {verify:.2f} s median")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
