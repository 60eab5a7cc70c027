"""Benchmark: recover-table time per step (target: throwaway restore + roll-forward + import <= 60 s).

    .venv/bin/python bench/bench_recover_table.py [--rows 1000000] [--other-megabytes 300]
        [--transactions 50000] [--logical]

A real binlogging production sandbox holds a --rows table (shop.orders)
beside --other-megabytes of other data; one full backup is taken. Then two
cases, each with `recover-table` (the CLI) while production keeps running:

* dropped: the table is dropped; it comes back from the backup as it was.
* as of the incident: production writes --transactions small autocommit ROW
  transactions to shop.orders after the backup, then `DELETE FROM
  shop.orders` empties it; the table comes back under a new name as it was
  just before the DELETE (`--until before:<its GTID>`): the throwaway copy
  is rolled forward through production's own binlogs.

Prints each report's steps (throwaway restore, roll-forward, reading the
table, bringing it over) and checks rows and CHECKSUM TABLE against what
production held. Not a test: figures.
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

BINLOG = ("log-bin=mariadb-bin", "server-id=51", "binlog-format=ROW", "binlog-row-image=FULL")


def recover(production: SandboxServer, scratch: Path, case: str, backup: Path, args, *extra: str) -> None:
    """Run recover-table for *case* and print its report's steps and totals."""
    reports = scratch / f"reports-{case}"
    workroot = scratch / f"w{len(list(scratch.glob('w?')))}"  # short: the throwaway's socket path is under it
    workroot.mkdir(mode=0o711)
    began = time.monotonic()
    status = cli([
        "recover-table", "--root", str(scratch / "backups"), "--day", "Mon", "--upto", backup.name,
        "--table", "shop.orders", "--socket", str(production.socket), "--workdir", str(workroot),
        "--state-dir", str(scratch / "state"), "--reports-dir", str(reports), "--yes",
        *(["--logical"] if args.logical else []), *extra,
    ])
    total = time.monotonic() - began
    report = json.loads(next(reports.glob("*.json")).read_text())
    print(f"\n{case}: recover-table exit status {status}, {total:.1f}s in all; steps:")
    for step in report["steps"]:
        print(f"  {step['seconds']:7.1f}s  {step['step']}")

    def seconds(*prefixes: str) -> float:
        return sum(s["seconds"] for s in report["steps"] if s["step"].strip().startswith(prefixes))

    restore, forward = seconds("throwaway restore"), seconds("Roll forward")
    move = seconds("bring ", "read the tables")
    print(f"throwaway restore {restore - forward:.1f}s + roll-forward {forward:.1f}s + read and import {move:.1f}s"
          f" = {restore + move:.1f}s (target: the import part <= 60 s)")


def state(production: SandboxServer, table: str) -> tuple[int, int]:
    """(rows, CHECKSUM TABLE) of *table*."""
    return (production.execute(f"SELECT COUNT(*) FROM {table}")[0][0],
            production.execute(f"CHECKSUM TABLE {table}")[0][1])


def check(production: SandboxServer, table: str, expected: tuple[int, int]) -> None:
    rows, checksum = state(production, table)
    print(f"{table}: rows {rows} (expected {expected[0]}), checksum {'OK' if checksum == expected[1] else 'MISMATCH'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--other-megabytes", type=int, default=300)
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--logical", action="store_true", help="copy rows instead of the tablespace")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-recover-table-", dir="/var/tmp"))
    os.chmod(scratch, 0o711)
    try:
        with SandboxServer.create(base=scratch / "production", options=BINLOG) as production:
            began = time.monotonic()
            production.fill(args.other_megabytes)
            production.execute(
                "CREATE DATABASE shop",
                "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2),"
                " placed DATETIME, KEY (customer))",
                f"INSERT INTO shop.orders SELECT seq, CONCAT('customer ', seq % 5000), seq / 7,"
                f" '2026-01-01' + INTERVAL seq SECOND FROM shop.seq_1_to_{args.rows}",
            )
            at_backup = state(production, "shop.orders")
            print(f"production: {args.rows} rows in shop.orders + {args.other_megabytes} MB other data,"
                  f" loaded in {time.monotonic() - began:.1f}s")
            began = time.monotonic()
            backup = production.take_backup(scratch / "backups" / "Mon")
            print(f"backup {backup.name}: {backup.stat().st_size / 1e6:.0f} MB in {time.monotonic() - began:.1f}s")

            production.execute("RENAME TABLE shop.orders TO shop.orders_live")  # "dropped", kept for the next case
            recover(production, scratch, "dropped", backup, args, "--as", "shop.orders")
            check(production, "shop.orders", at_backup)
            production.execute("DROP TABLE shop.orders", "RENAME TABLE shop.orders_live TO shop.orders")

            began = time.monotonic()
            production.execute(  # one autocommit ROW transaction per statement
                "CREATE PROCEDURE shop.churn(n INT) BEGIN DECLARE i INT DEFAULT 0; WHILE i < n DO"
                f" UPDATE shop.orders SET total = total + 1 WHERE id = 1 + (i * 7919) % {args.rows};"
                " SET i = i + 1; END WHILE; END",
                f"CALL shop.churn({args.transactions})",
            )
            before = state(production, "shop.orders")
            incident = production.execute("DELETE FROM shop.orders", "SELECT @@last_gtid")[0][0]
            print(f"\n{args.transactions} transactions after the backup, then DELETE FROM shop.orders"
                  f" (GTID {incident}), in {time.monotonic() - began:.1f}s")
            recover(production, scratch, "as of the incident", backup, args,
                    "--as", "shop.orders_before", "--until", f"before:{incident}")
            check(production, "shop.orders_before", before)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
