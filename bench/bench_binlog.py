"""Time the binlog timeline over ≥ 200 MB of real MariaDB binlogs.

The binlogs are written once by a sandbox server (ROW format: many small
autocommit inserts, updates, a few bulk DELETEs, DDL, two GTID domains,
several files) and kept under the work directory, so later runs only time
the reading. The timeline starts at the first file's first transaction, as
a backup taken just before the history began would.

    .venv/bin/python bench/bench_binlog.py [--workdir bench/results/binlog] [--megabytes 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from xtrarestore.core.binlog import BinlogPosition, build_timeline, open_binlog_sources
from xtrarestore.core.drills.sandbox import SandboxServer

OPTIONS = (
    "log-bin=mariadb-bin",
    "server-id=7",
    "binlog-format=ROW",
    "binlog-row-image=FULL",
    "max-binlog-size=64M",
    "sync-binlog=0",
    "innodb-flush-log-at-trx-commit=0",
)

GENERATOR = """
CREATE PROCEDURE bench.churn(n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < n DO
    INSERT INTO bench.orders (customer, amount, note) VALUES (i % 977, i * 0.01, RANDOM_BYTES(150));
    IF i % 4 = 0 THEN
      UPDATE bench.orders SET amount = amount + 1 WHERE id = LAST_INSERT_ID();
    END IF;
    SET i = i + 1;
  END WHILE;
END
"""


def generate(binlogs: Path, megabytes: int) -> None:
    """Write the binlogs with a throwaway server and copy them (and their index) to *binlogs*."""
    with SandboxServer.create(options=OPTIONS) as server:
        server.execute(
            "CREATE DATABASE bench",
            "CREATE TABLE bench.orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT,"
            " amount DECIMAL(12,2), note VARBINARY(200), created DATETIME(6) DEFAULT NOW(6))",
            GENERATOR,
        )
        round_ = 0
        while _binlog_bytes(server) < megabytes * 1024 * 1024:
            round_ += 1
            server.execute(f"SET SESSION gtid_domain_id = {round_ % 2}", "CALL bench.churn(50000)")
            server.execute("DELETE FROM bench.orders WHERE customer = %s", params=(round_ % 977,))
            server.execute(f"CREATE TABLE bench.t{round_} (id INT PRIMARY KEY)", f"DROP TABLE bench.t{round_}")
            print(f"  generated {_binlog_bytes(server) / 1e6:.0f} MB", flush=True)
        server.execute("FLUSH BINARY LOGS")
        server.stop()
        binlogs.mkdir(parents=True, exist_ok=True)
        for path in sorted(server.datadir.glob("mariadb-bin.*")):
            shutil.copy2(path, binlogs / path.name)


def _binlog_bytes(server: SandboxServer) -> int:
    return sum(p.stat().st_size for p in server.datadir.glob("mariadb-bin.[0-9]*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path(__file__).parent / "results" / "binlog")
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    binlogs = args.workdir / "binlogs"
    if not list(binlogs.glob("mariadb-bin.[0-9]*")):
        print(f"writing ≥ {args.megabytes} MB of binlogs into {binlogs} …", flush=True)
        started = time.perf_counter()
        generate(binlogs, args.megabytes)
        print(f"  done in {time.perf_counter() - started:.0f} s")
    first = sorted(binlogs.glob("mariadb-bin.[0-9]*"))[0].name
    start = BinlogPosition(first, 4, "")
    size = sum(p.stat().st_size for p in binlogs.glob("mariadb-bin.[0-9]*"))
    for run in range(1, args.runs + 1):
        began = time.perf_counter()
        timeline = build_timeline(open_binlog_sources([binlogs]), start)
        seconds = time.perf_counter() - began
        rows = sum(t.row_count for t in timeline.transactions)
        print(
            f"run {run}: {size / 1e6:.0f} MB in {len(timeline.files)} files, {len(timeline.transactions):,}"
            f" transactions, {rows:,} rows, {len(timeline.notable)} notable, {len(timeline.gaps)} gaps:"
            f" {seconds:.2f} s ({size / 1e6 / seconds:.0f} MB/s)"
        )


if __name__ == "__main__":
    main()
