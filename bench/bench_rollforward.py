"""Roll-forward speed: our `roll-forward` step (the SQL thread over relay-log links) vs `mariadb-binlog | mariadb`.

A binlogging sandbox server takes a real mariabackup backup, then writes
`--transactions` small ROW transactions (autocommit inserts, every fourth an
update, a few deletes) across several binlog files. The backup is prepared
once; for each method a fresh throwaway server is started on a copy of it
(the same configuration both times) and rolled forward through the same files
to their end:

* step: `xtrarestore-step roll-forward … --until end` — exactly the plan's
  command, timeline reading included;
* pipe: `mariadb-binlog --start-position=<backup GTID> FILES… | mariadb
  --binary-mode`, the documented manual PITR, on the server as restored;
* pipe, relaxed: the same pipe after `SET GLOBAL innodb_flush_log_at_trx_commit=2`,
  which the step also does while it replays (shown so the gain of the applier
  itself is visible apart from the fsyncs saved).

Both must end with the same `CHECKSUM TABLE` as the source; the figures are
seconds, transactions/s and the ratio.

    .venv/bin/python bench/bench_rollforward.py [--workdir /var/tmp/xtrarestore-bench-rollforward]
        [--transactions 60000] [--runs 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from xtrarestore.core.binlog import build_timeline, open_binlog_sources, read_backup_position, resolve_stop_point
from xtrarestore.core.drills.sandbox import SandboxServer, _chown
from xtrarestore.core.restore.entry import step_program

SOURCE_OPTIONS = ("log-bin=mariadb-bin", "server-id=41", "binlog-format=ROW", "binlog-row-image=FULL",
                  "max-binlog-size=8M", "sync-binlog=0", "innodb-flush-log-at-trx-commit=0")
GENERATOR = """
CREATE PROCEDURE bench.churn(n INT)
BEGIN
  DECLARE i INT DEFAULT 0;
  WHILE i < n DO
    INSERT INTO bench.orders (customer, amount, note) VALUES (i % 977, i * 0.01, CONCAT('order ', i));
    IF i % 4 = 0 THEN
      UPDATE bench.orders SET amount = amount + 1 WHERE id = LAST_INSERT_ID();
    END IF;
    IF i % 1000 = 999 THEN
      DELETE FROM bench.orders WHERE id = LAST_INSERT_ID() - 500;
    END IF;
    SET i = i + 1;
  END WHILE;
END
"""
TABLES = "bench.orders, bench.customers"


def source(workdir: Path, transactions: int) -> tuple[SandboxServer, Path, str]:
    """The source server, its prepared backup and CHECKSUM TABLE at the end of its history."""
    server = SandboxServer.create(workdir / "source", options=SOURCE_OPTIONS)
    server.execute(
        "CREATE DATABASE bench",
        "CREATE TABLE bench.orders (id INT PRIMARY KEY AUTO_INCREMENT, customer INT, amount DECIMAL(12,2),"
        " note VARCHAR(60), KEY (customer)) ENGINE=InnoDB",
        "CREATE TABLE bench.customers (id INT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB",
        "INSERT INTO bench.customers SELECT seq, CONCAT('c', seq) FROM bench.seq_1_to_977",
        GENERATOR,
    )
    server.execute("CALL bench.churn(1000)")
    backup = workdir / "backup"
    subprocess.run(["mariabackup", "--backup", "--user=root", f"--socket={server.socket}", f"--target-dir={backup}"],
                   check=True, capture_output=True)
    subprocess.run(["mariabackup", "--prepare", f"--target-dir={backup}"], check=True, capture_output=True)
    began = time.monotonic()
    server.execute(f"CALL bench.churn({transactions})")
    print(f"source: {transactions} iterations written in {time.monotonic() - began:.1f}s", flush=True)
    checksum = server.execute(f"CHECKSUM TABLE {TABLES}")
    server.stop()
    return server, backup, repr(checksum)


def restored(workdir: Path, name: str, backup: Path) -> SandboxServer:
    """A throwaway server started on a copy of the prepared backup (no binary log, server_id 1)."""
    base = workdir / name
    shutil.rmtree(base, ignore_errors=True)
    server = SandboxServer.awaiting_restore(base)
    shutil.rmtree(server.datadir)
    shutil.copytree(backup, server.datadir)
    for path in [server.datadir, *server.datadir.rglob("*")]:
        _chown(path, server.user)
    server.start(timeout=300)
    return server


def run_step(server: SandboxServer, binlogs: Path, backup: Path) -> float:
    position = read_backup_position(backup)
    argv = [step_program(), "roll-forward", "--socket", str(server.socket), "--binlog-dir", str(binlogs),
            "--start", str(position), "--start-gtid", position.gtid, "--until", "end", "--method", "relay"]
    began = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - began
    if result.returncode != 0:
        sys.exit(f"step failed: {result.stdout[-2000:]}")
    return seconds


def run_pipe(server: SandboxServer, binlogs: Path, backup: Path) -> float:
    position = read_backup_position(backup)
    files = sorted(str(p) for p in binlogs.glob("mariadb-bin.[0-9]*") if p.name >= position.file)
    began = time.monotonic()
    reader = subprocess.Popen(["mariadb-binlog", f"--start-position={position.gtid}", *files],
                              stdout=subprocess.PIPE)
    client = subprocess.run(["mariadb", f"--socket={server.socket}", "--user=root", "--binary-mode"],
                            stdin=reader.stdout, capture_output=True, text=True, check=False)
    reader.stdout.close()
    if reader.wait() != 0 or client.returncode != 0:
        sys.exit(f"pipe failed: {client.stderr[-2000:]}")
    return time.monotonic() - began


def run_pipe_relaxed(server: SandboxServer, binlogs: Path, backup: Path) -> float:
    server.execute("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
    return run_pipe(server, binlogs, backup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, default=Path("/var/tmp/xtrarestore-bench-rollforward"))
    parser.add_argument("--transactions", type=int, default=60000, help="insert iterations (plus updates, deletes)")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    os.chmod(args.workdir, 0o755)
    src, backup, expected = source(args.workdir, args.transactions)
    try:
        binlogs = src.datadir
        began = time.monotonic()
        timeline = build_timeline(open_binlog_sources([binlogs]), read_backup_position(backup))
        stop = resolve_stop_point(timeline, "end")
        size = sum(f.size for f in timeline.files)
        print(f"binlogs: {len(timeline.files)} files, {size / 2**20:.1f} MiB, {len(stop.transactions)} transactions"
              f" after the backup; timeline {time.monotonic() - began:.2f}s", flush=True)
        results: dict[str, list[float]] = {"step": [], "pipe": [], "pipe, relaxed": []}
        for run in range(args.runs):
            for method, replay in (("pipe", run_pipe), ("pipe, relaxed", run_pipe_relaxed), ("step", run_step)):
                server = restored(args.workdir, f"{method.replace(', ', '-')}-{run}", backup)
                try:
                    seconds = replay(server, binlogs, backup)
                    got = repr(server.execute(f"CHECKSUM TABLE {TABLES}"))
                finally:
                    server.stop()
                    shutil.rmtree(server.base, ignore_errors=True)
                same = "identical" if got == expected else f"DIFFERENT ({got} vs {expected})"
                print(f"{method}: {seconds:.2f}s, {len(stop.transactions) / seconds:,.0f} transactions/s,"
                      f" CHECKSUM TABLE {same}", flush=True)
                if got != expected:
                    sys.exit(1)
                results[method].append(seconds)
        step, pipe, relaxed = (min(results[k]) for k in ("step", "pipe", "pipe, relaxed"))
        print(f"\nroll-forward of {len(stop.transactions)} transactions: step {step:.2f}s, pipe {pipe:.2f}s"
              f" ({pipe / step:.1f}x faster), pipe with relaxed flushing {relaxed:.2f}s ({relaxed / step:.1f}x)")
    finally:
        src.destroy()


if __name__ == "__main__":
    main()
