"""Benchmark: the RTO of a drill of a >= 500 MB chain (full + 2 incrementals), and each step's share.

    .venv/bin/python bench/bench_drill.py [--megabytes 550] [--compress] [--keep-tree DIR]

Builds the chain from a real sandbox server (`fill`), runs `core.drill` on it
and prints the report's steps with durations and shares of the RTO. Not a test:
it prints figures; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from xtrarestore.core.drills.drill import drill
from xtrarestore.core.drills.report import render_markdown
from xtrarestore.core.drills.sandbox import SandboxServer


def build_chain(root: Path, megabytes: int, compress: bool) -> list[Path]:
    day = root / "Sat"
    with SandboxServer.create(base=Path(tempfile.mkdtemp(prefix="bench-drill-server-", dir="/var/tmp"))) as server:
        server.load_playground()
        began = time.monotonic()
        server.fill(megabytes)
        print(f"filled {megabytes} MB in {time.monotonic() - began:.1f}s")
        backups = []
        for number in range(3):
            if number:
                server.add_equipment("swing", number, "yellow")
                server.fill(max(megabytes // 25, 5))
            began = time.monotonic()
            backups.append(server.take_backup(day, compress=compress))
            size = backups[-1].stat().st_size
            print(f"{backups[-1].name}: {size / 1e6:.0f} MB in {time.monotonic() - began:.1f}s")
    return backups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=550)
    parser.add_argument("--compress", action="store_true")
    parser.add_argument("--keep-tree", type=Path, help="keep the backup tree here (reused if present)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-drill-", dir="/var/tmp"))
    os.chmod(scratch, 0o711)
    root = args.keep_tree or scratch / "backups"
    try:
        if not (root / "Sat").is_dir():
            build_chain(root, args.megabytes, args.compress)
        backups = sorted((root / "Sat").glob("*.xbstream"), key=lambda p: (not p.name.startswith("full"), p.name))
        total = sum(p.stat().st_size for p in backups)
        print(f"chain: {len(backups)} backups, {total / 1e6:.0f} MB; drilling up to {backups[-1].name}")
        workroot = scratch / "drills"
        workroot.mkdir(mode=0o711)
        report = drill(root, "Sat", backups[-1].name, workroot=workroot)
        print()
        print(render_markdown(report))
        print(f"RTO {report.rto_seconds:.1f}s for {total / 1e6:.0f} MB of backups; status {report.status}")
        for step in sorted(report.steps, key=lambda s: s.seconds, reverse=True)[:6]:
            print(f"  {step.seconds:6.1f}s  {report.share(step):5.1%}  {step.title[:70]}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
