"""Shared helpers for the console tests: real backup trees, a pinned clock, screen text.

Backups are real (a sandbox MariaDB server and mariabackup) and named with
fixed times. For SVG snapshots, the values a real server makes differently on
every run (LSNs, stream sizes) are renumbered in scan order by `stable_scan`,
keeping every equality and ordering the chain logic relies on.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

from xtrarestore.core.inventory import scan
from xtrarestore.core.sandbox import SandboxServer

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
    lsns = sorted({v for b in backups if b.checkpoints for v in
                   (b.checkpoints.from_lsn, b.checkpoints.to_lsn, b.checkpoints.last_lsn)})
    rank = {value: (index * 10_000 if value else 0) for index, value in enumerate(lsns)}
    for number, backup in enumerate(sorted(backups, key=lambda b: b.name)):
        backup.size = 1_000_000 * (number + 1) + 234_567
        cp = backup.checkpoints
        if cp is not None:
            backup.checkpoints = dataclasses.replace(
                cp, from_lsn=rank[cp.from_lsn], to_lsn=rank[cp.to_lsn], last_lsn=rank[cp.last_lsn])
        if backup.info is not None:
            backup.info = dataclasses.replace(backup.info, tool_version="10.11")
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
