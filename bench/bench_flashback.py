"""Benchmark: "undo a bad DELETE of 1M rows" by flashback (target: <= 60 s on this machine).

    .venv/bin/python bench/bench_flashback.py [--rows 1000000]

A real binlogging sandbox server gets a table of --rows rows; one DELETE
removes them all; then `flashback` finds the transaction in the binlog,
checks nothing touched the table since, builds the reverse with
`mariadb-binlog --flashback` and applies it in one transaction. Prints each
phase and checks the rows and CHECKSUM TABLE came back. Not a test: figures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.tables import flashback
from xtrarestore.core.tables.server import ServerAddress


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-flashback-", dir="/var/tmp"))
    options = (
        "log-bin=mariadb-bin",
        "server-id=41",
        "binlog-format=ROW",
        "binlog-row-image=FULL",
        "max-binlog-size=1G",
    )
    with SandboxServer.create(base=base, options=options) as server:
        server.buffer_pool = "256M"
        began = time.monotonic()
        server.execute(
            "CREATE DATABASE shop",
            "CREATE TABLE shop.orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2), placed DATETIME)",
            f"INSERT INTO shop.orders SELECT seq, CONCAT('customer ', seq % 5000), seq / 7,"
            f" '2026-01-01' + INTERVAL seq SECOND FROM shop.seq_1_to_{args.rows}",
        )
        expected = server.execute("SELECT COUNT(*) FROM shop.orders", "CHECKSUM TABLE shop.orders")[0][1]
        print(f"loaded {args.rows} rows in {time.monotonic() - began:.1f}s")
        began = time.monotonic()
        gtid = server.execute("DELETE FROM shop.orders", "SELECT @@last_gtid")[0][0]
        print(f"bad DELETE of {args.rows} rows ({gtid}) in {time.monotonic() - began:.1f}s")
        binlog_mb = sum(p.stat().st_size for p in server.datadir.glob("mariadb-bin.0*")) / 1e6
        address = ServerAddress(socket=str(server.socket))

        total = time.monotonic()
        began = time.monotonic()
        plan = flashback.plan_flashback([server.datadir], [gtid])
        find = time.monotonic() - began
        print(
            f"find + check + build the reverse ({binlog_mb:.0f} MB of binlog, reverse script"
            f" {len(plan.script) / 1e6:.0f} MB): {find:.1f}s"
        )
        began = time.monotonic()
        flashback.apply(plan, address)
        apply_seconds = time.monotonic() - began
        print(f"apply in one transaction: {apply_seconds:.1f}s")
        elapsed = time.monotonic() - total
        rows = server.execute("SELECT COUNT(*) FROM shop.orders")[0][0]
        checksum = server.execute("CHECKSUM TABLE shop.orders")[0][1]
        verdict = "OK" if (rows, checksum) == (args.rows, expected) else "MISMATCH"
        print(
            f"undo a bad DELETE of {args.rows} rows: {elapsed:.1f}s total (target <= 60 s);"
            f" rows {rows}, checksum {verdict}"
        )


if __name__ == "__main__":
    main()
