"""A progress bar that says what it measures: bytes, throughput and time left."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, ProgressBar

from .. import display


class TransferProgress(Vertical):
    """`Extract full-…: 120 MB / 480 MB  40 MB/s  ETA 0:00:09` over a bar."""

    DEFAULT_CSS = """
    TransferProgress {
        height: 2;
    }
    TransferProgress ProgressBar Bar {
        width: 1fr;
    }
    TransferProgress ProgressBar {
        width: 100%;
    }
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock = clock
        self.began: float | None = None
        self.what = ""

    def compose(self) -> ComposeResult:
        yield Label("", id="transfer-label")
        yield ProgressBar(show_eta=False, show_percentage=True, id="transfer-bar")

    def start(self, what: str, total: int | None) -> None:
        self.what = what
        self.began = self.clock()
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=0)
        self.query_one(Label).update(display.text(f"{what}: starting"))

    def advance(self, done: int, total: int | None, elapsed: float | None = None) -> None:
        """*elapsed* is the tool's own measure when it reports one (else our clock since start)."""
        if self.began is None:
            self.start(self.what or "Transfer", total)
        seconds = elapsed if elapsed is not None else self.clock() - (self.began or 0.0)
        bar = self.query_one(ProgressBar)
        bar.update(total=total, progress=done)
        parts = [f"{self.what}: {display.size(done)}"]
        if total:
            parts[0] += f" / {display.size(total)}"
        parts.append(display.throughput(done, seconds))
        parts.append(f"ETA {display.eta(done, total, seconds)}")
        self.query_one(Label).update(display.text("  ".join(parts)))

    def finish(self, text: str) -> None:
        bar = self.query_one(ProgressBar)
        if bar.total is not None:
            bar.update(progress=bar.total)
        self.query_one(Label).update(display.text(text))
