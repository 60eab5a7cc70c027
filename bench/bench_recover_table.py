"""Benchmark: recover-table time per step (target: throwaway restore + import <= 60 s).

    .venv/bin/python bench/bench_recover_table.py [--rows 1000000] [--other-megabytes 300]

A real production sandbox holds a --rows table (shop.orders) beside
--other-megabytes of other data; one full backup is taken, the table is
dropped, and `recover-table` (the CLI) brings it back while production keeps
running. Prints the report's steps (throwaway restore and its own steps,
reading the table, bringing it over) and checks rows and checksum. Not a
test: figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.tui.cli import main as cli


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--other-megabytes", type=int, default=300)
    parser.add_argument("--logical", action="store_true", help="copy rows instead of the tablespace")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-recover-table-", dir="/var/tmp"))
    os.chmod(scratch, 0o711)
    try:
        with SandboxServer.create(base=scratch / "production") as production:
            began = time.monotonic()
            production.fill(args.other_megabytes)
            production.execute(
                "CREATE DATABASE shop",
                "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2),"
                " placed DATETIME, KEY (customer))",
                f"INSERT INTO shop.orders SELECT seq, CONCAT('customer ', seq % 5000), seq / 7,"
                f" '2026-01-01' + INTERVAL seq SECOND FROM shop.seq_1_to_{args.rows}",
            )
            expected = production.execute("CHECKSUM TABLE shop.orders")[0][1]
            print(
                f"production: {args.rows} rows in shop.orders + {args.other_megabytes} MB other data,"
                f" loaded in {time.monotonic() - began:.1f}s"
            )
            began = time.monotonic()
            backup = production.take_backup(scratch / "backups" / "Mon")
            print(f"backup {backup.name}: {backup.stat().st_size / 1e6:.0f} MB in {time.monotonic() - began:.1f}s")
            production.execute("DROP TABLE shop.orders")
            workroot = scratch / "work"
            workroot.mkdir(mode=0o711)
            began = time.monotonic()
            status = cli(
                [
                    "recover-table",
                    "--root",
                    str(scratch / "backups"),
                    "--day",
                    "Mon",
                    "--upto",
                    backup.name,
                    "--table",
                    "shop.orders",
                    "--as",
                    "shop.orders",
                    "--socket",
                    str(production.socket),
                    "--workdir",
                    str(workroot),
                    "--state-dir",
                    str(scratch / "state"),
                    "--reports-dir",
                    str(scratch / "reports"),
                    *(["--logical"] if args.logical else []),
                ]
            )
            total = time.monotonic() - began
            report = json.loads(next((scratch / "reports").glob("*.json")).read_text())
            print(f"\nrecover-table exit status {status}, {total:.1f}s in all; steps:")
            for step in report["steps"]:
                print(f"  {step['seconds']:7.1f}s  {step['step']}")
            restore = next(s["seconds"] for s in report["steps"] if s["step"].startswith("throwaway restore"))
            move = sum(s["seconds"] for s in report["steps"] if s["step"].startswith(("bring ", "read the tables")))
            checksum = production.execute("CHECKSUM TABLE shop.orders")[0][1]
            rows = production.execute("SELECT COUNT(*) FROM shop.orders")[0][0]
            print(
                f"throwaway restore {restore:.1f}s + read and import {move:.1f}s = {restore + move:.1f}s"
                f" (target <= 60 s); rows {rows}, checksum {'OK' if checksum == expected else 'MISMATCH'}"
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
