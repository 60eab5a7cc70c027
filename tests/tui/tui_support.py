"""Shared helpers for the console tests: real backup trees, a pinned clock, screen text.

Backups are real (a sandbox MariaDB server and mariabackup) and named with
fixed times. For SVG snapshots, the values a real server makes differently on
every run (LSNs, stream sizes) are renumbered in scan order by `stable_scan`,
keeping every equality and ordering the chain logic relies on.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.inventory.scan import scan

NOW = datetime(2026, 11, 17, 12, 0, 0)
MON = [datetime(2026, 11, 16, 1, 0), datetime(2026, 11, 16, 6, 0), datetime(2026, 11, 16, 11, 0)]
TUE = [datetime(2026, 11, 17, 1, 0), datetime(2026, 11, 17, 4, 0), datetime(2026, 11, 17, 7, 0),
       datetime(2026, 11, 17, 9, 0)]
TUE_INCOMPLETE = datetime(2026, 11, 17, 11, 30)
SNAPSHOT_ROOT = Path("/var/tmp/xtrarestore-tui-snapshots")


def var_tmp_dir(prefix: str) -> Path:
    """A directory the `mysql` user can reach and that preflight does not call temporary."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/var/tmp"))
    path.chmod(0o711)
    return path


def new_server() -> SandboxServer:
    server = SandboxServer.create(base=var_tmp_dir("xtrarestore-tui-server-"))
    server.load_playground()
    server.execute("SET GLOBAL innodb_max_dirty_pages_pct_lwm = 0", "SET GLOBAL innodb_max_dirty_pages_pct = 0")
    return server


def checkpoint(server: SandboxServer) -> int:
    return int(server.execute("SHOW GLOBAL STATUS LIKE 'Innodb_lsn_last_checkpoint'")[0][1])


def grow(server: SandboxServer, what: str) -> None:
    """Add a row and wait until InnoDB checkpoints it, so the next backup's LSNs move."""
    before = checkpoint(server)
    server.add_equipment(what, 1, "blue")
    deadline = time.monotonic() + 10
    while checkpoint(server) <= before and time.monotonic() < deadline:
        time.sleep(0.05)


def equipment_count(server: SandboxServer) -> int:
    return server.execute("SELECT COUNT(*) FROM playground.equipment")[0][0]


def build_tree(server: SandboxServer, root: Path) -> dict[str, int]:
    """Mon: a plain full + 2 incrementals. Tue: a compressed full + incremental, a deleted
    incremental (so the next one has a [GAP]) and an interrupted backup ([INCOMPLETE]).
    Returns the equipment rows each backup holds, by name."""
    rows: dict[str, int] = {}
    for day, times, compress in (("Mon", MON, False), ("Tue", TUE, True)):
        for when in times:
            grow(server, f"{day}-{when:%H}")
            path = server.take_backup(root / day, when=when, compress=compress)
            rows[path.name] = equipment_count(server)
    gap = sorted((root / "Tue").glob("incremental-*.xbstream"))[1]
    gap.unlink()
    rows.pop(gap.name)
    grow(server, "Tue-late")
    server.take_backup(root / "Tue", when=TUE_INCOMPLETE, interrupt_after=1 << 20)
    return rows


def stable_scan(root: Path, key: bytes | None = None):
    """`scan`, with LSNs renumbered by rank and sizes by scan order (for stable snapshots)."""
    inventory = scan(root, key)
    backups = inventory.backups
    lsns = sorted({v for b in backups if b.checkpoints for v in (b.checkpoints.from_lsn, b.checkpoints.to_lsn)})
    rank = {value: (index * 10_000 if value else 0) for index, value in enumerate(lsns)}
    for number, backup in enumerate(sorted(backups, key=lambda b: b.name)):
        backup.size = 1_000_000 * (number + 1) + 234_567
        cp = backup.checkpoints
        if cp is not None:
            backup.checkpoints = dataclasses.replace(
                cp, from_lsn=rank[cp.from_lsn], to_lsn=rank[cp.to_lsn], last_lsn=rank[cp.to_lsn] + 5_000)
        if backup.info is not None:
            backup.info = dataclasses.replace(backup.info, tool_version="10.11")

    def renumber(problem):
        message = re.sub(r"\d{4,}", lambda m: str(rank.get(int(m.group()), m.group())), problem.message)
        return dataclasses.replace(problem, message=message)

    for day in inventory.days:
        day.problems[:] = [renumber(p) for p in day.problems]
        for backup in day.backups:
            backup.problems[:] = [renumber(p) for p in backup.problems]
        for chain in day.chains:
            chain.problems[:] = [renumber(p) for p in chain.problems]
    return inventory


def snapshot_tree() -> Path:
    """The snapshot backup root, at a fixed path so the header renders the same every run."""
    shutil.rmtree(SNAPSHOT_ROOT, ignore_errors=True)
    SNAPSHOT_ROOT.mkdir(parents=True)
    root = SNAPSHOT_ROOT / "backups"
    server = new_server()
    try:
        build_tree(server, root)
    finally:
        server.destroy()
    return root


def screen_text(app) -> str:
    """What the terminal shows now, as plain text (no colour), for assertions."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, color_system=None,
                      legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def wait_for(pilot, condition, timeout: float = 120.0, step: float = 0.1) -> None:
    """Let the app run until *condition()* holds (workers run real restores)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; screen was:\n{screen_text(pilot.app)}")
        await pilot.pause(step)
    await pilot.pause()  # let the handlers that changed the state repaint


# -- display-only stand-ins for snapshots -------------------------------------------
# Screens that show a live restore get a fixed plan and a replayed event sequence
# with fixed durations: the real runner is exercised by test_tui_flows.py.

SNAPSHOT_WORKDIR = Path("/var/lib/mysql.restore-20261117T120000Z-demo")  # beside the datadir: swap by rename


def fixed_plan(point, socket: Path | None = None, *, copy_back: bool = False):
    """A real `build_plan` of *point* with fixed paths, tool and ids (nothing is run);
    swapped by rename, or by copy-back (*copy_back*: the workspace on another file system)."""
    from xtrarestore.core.restore.placement import COPY_BACK, RENAME, Placement
    from xtrarestore.core.restore.plan import Target, build_plan
    from xtrarestore.core.restore.service import ServiceControl
    from xtrarestore.core.restore.tools import MARIADB, Tool

    target = Target(
        datadir=Path("/var/lib/mysql"),
        service=ServiceControl("systemd", unit="mariadb"),
        socket=socket or Path("/run/mysqld/mysqld.sock"),
        error_log=Path("/var/log/mysql/error.log"),
    )
    tool = Tool(MARIADB, Path("/usr/bin/mariabackup"), "10.11", Path("/usr/bin/mbstream"))
    placement = (Placement(Path("/var/tmp/xtrarestore/20261117T120000Z-demo"), COPY_BACK, "--workdir elsewhere")
                 if copy_back else Placement(SNAPSHOT_WORKDIR, RENAME))
    return build_plan(point, target, tool=tool, placement=placement,
                      restore_id="20261117T120000Z-demo", now=NOW, stepper="xtrarestore-step", native=True,
                      prepare_memory=2 << 30)


def fixed_checks():
    from xtrarestore.core.restore.preflight import Check

    return [
        Check("server datadir", True, "the server says datadir=/var/lib/mysql/"),
        Check("backup tool", True, "mariabackup 10.11 at /usr/bin/mariabackup"),
        Check("datadir", True, "/var/lib/mysql: owner mysql:mysql, mode 750"),
        Check("space for extraction + swap by rename", True, "/var/lib: needs about 24.0 MiB, 40.00 GiB free"),
    ]


class ReplayJob:
    """Plays a fixed sequence of runner events: steps succeed until *fail_at*, which fails."""

    kind = "restore"

    def __init__(self, plan, point, *, fail_at: str | None = "start", lines: int = 40):
        self.plan = plan
        self.point = point
        self.steps = list(plan.steps)
        self.title = f"Restore {plan.day} up to {plan.upto} into {plan.datadir}"
        self.clock = lambda: 0.0
        self.running = False
        self.current_title = None
        self.fail_at = fail_at
        self.lines = lines

    def run(self, emit) -> None:
        from xtrarestore.core.errors import StepFailedError
        from xtrarestore.core.restore.runner import Event

        for index, step in enumerate(self.steps, 1):
            emit(Event("started", step, index))
            emit(Event("output", step, index, line=f"$ {step.command}"))
            for number in range(self.lines):
                emit(Event("output", step, index, line=f"[{number:02d}] {step.name}: working"))
            if step.name.startswith("extract:"):
                emit(Event("progress", step, index, progress='{"bytes_read": 12000000, "total_bytes": '
                           '16000000, "elapsed": 2.0}'))
            if step.name == self.fail_at:
                emit(Event("output", step, index, line="server did not answer within 300s"))
                emit(Event("failed", step, index, error="exit status 1: the server did not answer", seconds=300.0))
                raise StepFailedError(f"{SNAPSHOT_WORKDIR}/logs/{index:02d}-{step.name}.log: step "
                                      f"'{step.title}' failed: exit status 1")
            emit(Event("finished", step, index, seconds=1.5 * index))

    def stop_after_step(self) -> None:
        pass

    def can_retry(self) -> bool:
        return True

    def can_rollback(self) -> bool:
        return True  # both replays reach the live datadir (a failed start, or a completed restore)

    def has_result(self) -> bool:
        return self.fail_at is None

    def retry_resets(self, failed):
        return []

    def rollback_summary(self) -> str:
        return "Rollback will:\n  - rename /var/lib/mysql.before-restore-20261117T120000Z back\n"

    def failure_advice(self) -> str:
        return f"The previous datadir is kept at {self.plan.aside}."

    def log_path(self, step):
        return None

    def journal_path(self) -> Path:
        return Path("/var/lib/xtrarestore/journal/20261117T120000Z-demo.jsonl")

    def state(self):
        from types import SimpleNamespace

        from xtrarestore.core.restore.downtime import Downtime

        downtime = Downtime("2026-11-17T12:03:00+00:00", 4.2, False) if self.fail_at is None else None
        return SimpleNamespace(outcome="completed" if self.fail_at is None else "failed", downtime=downtime)

    def result_screen(self):
        from xtrarestore.tui.screens.result import ResultScreen

        return ResultScreen(self)


def fixed_report(status: str = "success", started: str = "2026-11-17T10:00:00+00:00"):
    from xtrarestore.core.drills.report import DrillReport, StepResult, TableResult

    return DrillReport(
        id="20261117T100000Z-demo", status=status, started=started, finished=started, host="db1",
        root=str(SNAPSHOT_ROOT / "backups"), day="Mon", upto="incremental-11-16-2026_06-00-00.xbstream",
        restore_point={"time": "2026-11-16T06:00:00", "from_lsn": 0, "to_lsn": 40000, "members": [{}, {}]},
        tool="mariabackup 10.11",
        steps=[
            StepResult("drill:sandbox", "Set up the throwaway server's directory", "done", 0.2,
                       in_rto=False),
            StepResult("extract:full", "Extract full-11-16-2026_01-00-00.xbstream", "done", 1.4),
            StepResult("prepare:full", "Prepare the full backup", "done", 3.1),
            StepResult("chown", "Give the prepared copy data's owner and mode; sync it to disk", "done", 0.3),
            StepResult("stop", "Stop the server and wait until it is down", "done", 0.5),
            StepResult("move-aside", "Move the live datadir aside", "done", 0.1),
            StepResult("swap-in", "Rename the prepared copy into place", "done", 0.1),
            StepResult("start", "Start the server and wait until it answers", "done", 2.6),
            StepResult("verify", "Verify the restored server", "done" if status == "success" else "failed", 0.4),
        ],
        tables=[TableResult("playground", "equipment", 2, "InnoDB", "OK")],
        schemas=["mysql", "playground"],
        error=None if status == "success" else "CHECK TABLE reported problems",
    )


def fixed_timeline():
    """A binlog timeline with fixed times and GTIDs (display only): 120 transactions after the backup, a mass
    DELETE, a DROP TABLE, a table name carrying an escape sequence and Rich markup, then a gap."""
    from datetime import UTC

    from xtrarestore.core.binlog import (
        BinlogPosition,
        FileSpan,
        Gap,
        Gtid,
        NotableEvent,
        Statement,
        TableChange,
        Timeline,
        Transaction,
    )

    base = int(datetime(2026, 11, 17, 1, 0, 5, tzinfo=UTC).timestamp())
    start = BinlogPosition("mariadb-bin.000012", 5900, "0-11-3")
    transactions = []
    for seq in range(4, 124):
        file = "mariadb-bin.000012" if seq < 80 else "mariadb-bin.000013"
        offset = 5900 + (seq - 4) * 300 if seq < 80 else 400 + (seq - 80) * 300
        transactions.append(Transaction(f"0-11-{seq}", 0, 11, seq, file, offset, offset + 300, base + seq * 60,
                                        "xid", (), ()))

    def event(seq, kind, table, rows, sql=None):
        txn = transactions[seq - 4]
        statement = Statement(txn.start, 0, b"shop", sql, False) if sql else None
        if rows:
            txn.changes = (TableChange(b"shop", table.split(".")[1].encode(), kind, rows),)
        return NotableEvent(kind, txn, table, rows, statement, True)

    notable = [
        event(41, "delete", "shop.orders", 1250),
        event(66, "update", "shop.\x1b[31mevil[/]", 1800),
        event(97, "drop", "shop.audit", None, b"DROP TABLE `audit`"),
    ]
    spans = [
        FileSpan("mariadb-bin.000012", "/binlogs/mariadb-bin.000012", 1_073_000, 11, "10.11.6", False, 5900, 30000,
                 base, base + 79 * 60, "0-11-3", "0-11-4", "0-11-79", 76),
        FileSpan("mariadb-bin.000013", "/binlogs/mariadb-bin.000013", 12_000, 11, "10.11.6", False, 4, 13600,
                 base + 80 * 60, base + 123 * 60, "0-11-79", "0-11-80", "0-11-123", 44),
    ]
    gap = Gap("missing-file", "mariadb-bin.000014", None,
              "mariadb-bin.000014 missing between mariadb-bin.000013 and mariadb-bin.000015")
    return Timeline(start=start, files=spans, gaps=[gap], transactions=transactions, reachable=len(transactions),
                    notable=notable, start_state={0: Gtid(0, 11, 3)}, earliest_until=base + 1,
                    covered_until=base + 123 * 60, end_state={0: Gtid(0, 11, 123)})
