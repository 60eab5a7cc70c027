"""Console benchmarks: first frame with 1,000 backups, and the log pane under 50,000 lines/s.

    .venv/bin/python bench/bench_tui.py [--days 200] [--rate 50000] [--seconds 5]

1. A backup root of 1,000 backups: five real mariabackup streams (a full and
   four incrementals from a sandbox server) hard-linked under 200 day
   directories with their own names, so the scan reads 1,000 real stream
   headers. Reported: the core scan alone, the console's first frame, and the
   time until the table holds every row (scan included).
2. A thread writes tool output at --rate lines per second into the run
   screen's LogBook/LogPane while the test presses keys; reported: lines
   shown vs written, the slowest key press (input must never freeze) and the
   UI thread's time per 50 ms drain.
Figures are printed, not asserted: the lead reruns this on a quiet machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

from textual import events
from textual.app import App, ComposeResult

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.inventory.scan import scan
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
from xtrarestore.tui.widgets.log_pane import LogBook, LogPane

PER_DAY = 5


def build_root(work: Path, days: int) -> Path:
    """*days* day directories each holding the same real 5-backup chain under new names."""
    source = work / "source"
    with SandboxServer.create(base=work / "server") as server:
        server.load_playground()
        for number in range(PER_DAY):
            server.add_equipment(f"bench-{number}", 1, "blue")
            server.take_backup(source, when=datetime(2026, 1, 1, 1 + number))
    streams = sorted(source.glob("*.xbstream"), key=lambda p: (not p.name.startswith("full"), p.name))
    root = work / "backups"
    start = datetime(2026, 1, 1)
    for day in range(days):
        when = start + timedelta(days=day)
        day_dir = root / f"{when:%Y-%m-%d}"
        day_dir.mkdir(parents=True)
        for number, stream in enumerate(streams):
            kind = "full" if number == 0 else "incremental"
            stamp = when + timedelta(hours=1 + number)
            os.link(stream, day_dir / f"{kind}-{stamp:%m-%d-%Y_%H-%M-%S}.xbstream")
        for extra in ("xtrabackup_checkpoints", "xtrabackup_info"):
            shutil.copy(source / extra, day_dir / extra)
    return root


async def first_frame(root: Path) -> tuple[float, float, int]:
    began = time.perf_counter()
    app = XtraRestoreApp(ConsoleSettings(root=root))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0)
        painted = time.perf_counter() - began
        while getattr(app.screen, "inventory", None) is None:
            await asyncio.sleep(0.005)
        await pilot.pause(0)
        filled = time.perf_counter() - began
        rows = app.screen.query_one("#backups").row_count
    return painted, filled, rows


class LogBench(App):
    def __init__(self) -> None:
        super().__init__()
        self.book = LogBook()
        self.drains: list[float] = []
        self.sent: list[float] = []
        self.latencies: list[float] = []

    def compose(self) -> ComposeResult:
        yield LogPane(id="log")

    def on_mount(self) -> None:
        pane = self.query_one(LogPane)
        pane.show(self.book.log("step"))
        pane.focus()
        self.set_interval(0.05, self.drain)

    def drain(self) -> None:
        began = time.perf_counter()
        if "step" in self.book.drain():
            self.query_one(LogPane).update()
        self.drains.append(time.perf_counter() - began)

    def on_key(self) -> None:
        """Time from posting a key to the app handling it: what the operator feels."""
        self.latencies.append(time.perf_counter() - self.sent[len(self.latencies)])


async def log_pane(rate: int, seconds: float) -> dict:
    app = LogBench()
    written = 0
    done = threading.Event()

    def writer() -> None:
        nonlocal written
        batch = rate // 100
        began = time.perf_counter()
        for tick in range(int(seconds * 100)):
            for _ in range(batch):
                app.book.post("step", f"[{written:08d}] mariabackup: copying ./db/table_{written % 977}.ibd to workspace")
                written += 1
            delay = began + (tick + 1) / 100 - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        done.set()

    async with app.run_test(size=(100, 30)) as pilot:
        thread = threading.Thread(target=writer)
        began = time.perf_counter()
        thread.start()
        while not done.is_set():
            key = "up" if len(app.sent) % 2 else "end"
            app.sent.append(time.perf_counter())
            app.post_message(events.Key(key, None))
            await asyncio.sleep(0.05)
        thread.join()
        elapsed = time.perf_counter() - began
        await pilot.pause(0.2)
        shown = app.query_one(LogPane).line_count
    latencies = app.latencies
    return {
        "written": written, "shown": shown, "rate": written / elapsed, "keys": len(latencies), "sent": len(app.sent),
        "key_max_ms": max(latencies) * 1000, "key_median_ms": statistics.median(latencies) * 1000,
        "drain_max_ms": max(app.drains) * 1000, "drain_median_ms": statistics.median(app.drains) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="console benchmarks")
    parser.add_argument("--days", type=int, default=200, help="day directories of 5 backups each")
    parser.add_argument("--rate", type=int, default=50_000, help="log lines per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="xtrarestore-bench-tui-", dir="/var/tmp"))
    os.chmod(work, 0o711)
    try:
        root = build_root(work, args.days)
        began = time.perf_counter()
        inventory = scan(root)
        scanned = time.perf_counter() - began
        count = len(inventory.backups)
        painted, filled, rows = asyncio.run(first_frame(root))
        print(f"inventory: {count} backups in {len(inventory.days)} days; core scan {scanned:.3f}s")
        print(f"console: first frame {painted:.3f}s, table filled ({rows} rows) {filled:.3f}s after start")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures = asyncio.run(log_pane(args.rate, args.seconds))
    print(
        f"log pane: wrote {figures['written']} lines at {figures['rate']:.0f} lines/s, shown {figures['shown']}; "
        f"{figures['keys']}/{figures['sent']} key presses handled, slowest {figures['key_max_ms']:.1f} ms (median "
        f"{figures['key_median_ms']:.1f} ms); drain per 50 ms tick: max {figures['drain_max_ms']:.1f} ms, "
        f"median {figures['drain_median_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
