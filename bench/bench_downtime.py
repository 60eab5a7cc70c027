"""Production downtime of a restore: a small chain and a big one, swapped by rename.

Builds a real sandbox "production" server and two incremental chains of it: a
small one (the nearly empty server: a full and one incremental) and a big one
(--full-mb of rows, then --incrementals × --inc-mb more, each backup taken
while a writer updates rows at about 2 MB/s, so every backup carries redo to apply). Each chain is
restored over the running server the way `xtrarestore restore` does it
(`plan_restore` with the workspace beside the datadir, the runner, the
journal), --repeat times, alternating small and big. From each journal:

- swap window: the end of `stop` to the beginning of `start` (what the swap
  itself costs; with renames it should not grow with the data);
- downtime: from the beginning of `stop` until the restored server answers;
- before the stop: extract, prepare, LSN check, keep-record, chown + sync.

Then the big chain's prepare is timed with the memory `plan_restore` sizes
from MemAvailable and with the tool's default (`--use-memory` left out).

Usage: .venv/bin/python bench/bench_downtime.py [--full-mb 300] [--inc-mb 50] [--incrementals 5]
       [--repeat 3] [--dir /var/tmp]
Prints the figures; it asserts nothing (timings depend on the machine).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.restore import recovery
from xtrarestore.core.restore.journal import Journal, journal_path, load_state
from xtrarestore.core.restore.plan import Target
from xtrarestore.core.restore.preflight import require
from xtrarestore.core.restore.request import RestoreRequest, plan_restore
from xtrarestore.core.restore.runner import Runner
from xtrarestore.core.restore.service import ServiceControl


def _seconds(a: str, b: str) -> float:
    return (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()


@contextmanager
def writing(server: SandboxServer, on: bool):
    """Keep rewriting rows of the filler table while the block runs (a busy production server)."""
    done = threading.Event()

    def writer() -> None:
        with server.connect(database="bulk") as conn, conn.cursor() as cur:
            cur.execute("SELECT MAX(id) FROM filler")
            top = cur.fetchone()[0]
            start = 1
            while not done.wait(0.05):  # about 2 MB/s: the backup's redo copy keeps up
                cur.execute("UPDATE filler SET payload = RANDOM_BYTES(1024) WHERE id BETWEEN %s AND %s",
                            (start, start + 99))
                conn.commit()
                start = start + 100 if start + 100 < top else 1

    thread = threading.Thread(target=writer, daemon=True) if on else None
    if thread:
        thread.start()
    try:
        yield
    finally:
        done.set()
        if thread:
            thread.join()


def chain(server: SandboxServer, day: Path, *, full_mb: int, inc_mb: int, incrementals: int) -> list[Path]:
    """A full and *incrementals* incrementals, each after more rows (and a checkpoint, so LSNs move)."""
    if full_mb:
        server.fill(full_mb)
    server.checkpoint(timeout=300)
    with writing(server, bool(full_mb)):
        streams = [server.take_backup(day)]
    for number in range(incrementals):
        server.add_equipment(f"{day.name}-{number}", number, "grey")
        if inc_mb:
            server.fill(inc_mb)
        server.checkpoint(timeout=300)
        with writing(server, bool(inc_mb)):
            streams.append(server.take_backup(day))
    return streams


def restore(server: SandboxServer, root: Path, upto: Path, base: Path, *, memory: int | None) -> dict:
    """One restore of *upto* over the running server; the figures from its journal."""
    target = Target(datadir=server.datadir, socket=server.socket, stop_timeout=300, start_timeout=300,
                    service=ServiceControl("custom", stop_cmd=server.stop_cmd, start_cmd=server.start_cmd))
    state_dir = base / "state"
    request = RestoreRequest(root=root, day=upto.parent.name, upto=upto.name, target=target, state_dir=state_dir,
                             prepare_memory=memory)
    planned = plan_restore(request)
    require(planned.checks)
    plan = planned.plan
    plan.workdir.mkdir(mode=0o700)
    recovery.start(plan, Runner(plan, Journal.for_plan(plan, state_dir)))
    state = load_state(journal_path(state_dir, plan.restore_id))
    steps = {s.name: s for s in state.steps}
    prepare = sum(_seconds(s.started, s.ended) for n, s in steps.items() if n.startswith("prepare:"))
    first = next(s for s in state.steps)
    figures = {
        "swap": plan.swap,
        "window": _seconds(steps["stop"].ended, steps["start"].started),
        "downtime": state.downtime.seconds,
        "before": _seconds(first.started, steps["stop"].started),
        "prepare": prepare,
        "memory": next((a for a in plan.steps[1].argv if a.startswith("--use-memory=")), "tool default"),
        "rows": len(server.execute("SELECT id FROM playground.equipment")),
    }
    shutil.rmtree(plan.aside)  # keep the disk from filling up between runs
    shutil.rmtree(plan.workdir)
    return figures


def median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full-mb", type=int, default=300)
    parser.add_argument("--inc-mb", type=int, default=50)
    parser.add_argument("--incrementals", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path("/var/tmp"))
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="xtrarestore-bench-downtime-", dir=args.dir))
    os.chmod(base, 0o755)
    server = None
    try:
        began = time.monotonic()
        server = SandboxServer.create(base / "prod")
        server.load_playground()
        root = base / "backups"
        small = chain(server, root / "Small", full_mb=0, inc_mb=0, incrementals=1)
        small_rows = len(server.execute("SELECT id FROM playground.equipment"))
        big = chain(server, root / "Big", full_mb=args.full_mb, inc_mb=args.inc_mb, incrementals=args.incrementals)
        big_rows = len(server.execute("SELECT id FROM playground.equipment"))
        os.chmod(root, 0o755)
        size = {name: sum(p.stat().st_size for p in streams) / 2**20 for name, streams in
                (("small", small), ("big", big))}
        print(f"chains built in {time.monotonic() - began:.0f}s: small {size['small']:.1f} MiB "
              f"({len(small)} backups), big {size['big']:.1f} MiB ({len(big)} backups)")

        runs: dict[str, list[dict]] = {"small": [], "big": [], "big, tool default memory": []}
        for _ in range(args.repeat):
            runs["small"].append(restore(server, root, small[-1], base, memory=None))
            assert runs["small"][-1]["rows"] == small_rows, "the small restore did not give the rows written"
            runs["big"].append(restore(server, root, big[-1], base, memory=None))
            assert runs["big"][-1]["rows"] == big_rows, "the big restore did not give the rows written"
            runs["big, tool default memory"].append(restore(server, root, big[-1], base, memory=0))

        print(f"\n{'chain':<26} {'swap':>9} {'window s':>9} {'downtime s':>11} {'before stop s':>14} "
              f"{'prepare s':>10}  memory")
        for name, done in runs.items():
            print(f"{name:<26} {done[0]['swap']:>9} {median(done, 'window'):>9.3f} {median(done, 'downtime'):>11.2f} "
                  f"{median(done, 'before'):>14.2f} {median(done, 'prepare'):>10.2f}  {done[0]['memory']}")
        ratio = median(runs["big"], "window") / median(runs["small"], "window")
        print(f"\nswap window big/small (medians of {args.repeat}): {ratio:.2f}x (target <= 1.3x)")
        print("windows, each run: " + "; ".join(
            f"{name} " + ", ".join(f"{r['window']:.3f}" for r in done) for name, done in runs.items()))
        print("prepare of the big chain, each run: with memory " +
              ", ".join(f"{r['prepare']:.2f}" for r in runs["big"]) + "; tool default " +
              ", ".join(f"{r['prepare']:.2f}" for r in runs["big, tool default memory"]))
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
