"""A log viewer that stays fluid with hundreds of thousands of lines.

Tool output arrives from worker threads far faster than a screen can redraw.
Threads only append to a `LogBook` (a lock-free deque hand-off); the UI
thread drains it in batches on a short timer. Each step's lines live in a
plain list and `LogPane` renders only the rows that are visible, so switching
to another step's log or appending 50,000 lines costs no more than a redraw.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from rich.segment import Segment
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from xtrarestore.core.shown import shown

# Tools colour their output and draw progress bars with \r: those CSI sequences
# are dropped; any other control character is shown escaped (`core.shown`).
_COLOURS = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


def clean_line(text: str) -> str:
    """One printable line: the last carriage-return segment, colours dropped, other controls visible."""
    if "\r" in text:
        text = text.rstrip("\r").rsplit("\r", 1)[-1]
    return shown(_COLOURS.sub("", text).expandtabs(4))


@dataclass
class StepLog:
    """The lines of one step and the widest of them (the pane's virtual width)."""

    lines: list[str] = field(default_factory=list)
    width: int = 0

    def extend(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        widest = max(map(len, lines), default=0)
        self.width = max(self.width, widest)


class LogBook:
    """Per-step logs fed from any thread, applied on the UI thread by `drain()`."""

    def __init__(self) -> None:
        self._pending: deque[tuple[str, str]] = deque()
        self.logs: dict[str, StepLog] = {}

    def post(self, step: str, text: str) -> None:
        """Queue a line (thread-safe: deque.append is atomic)."""
        self._pending.append((step, text))

    def drain(self, limit: int = 200_000) -> set[str]:
        """Move queued lines into their step logs; return the steps that grew."""
        grown: dict[str, list[str]] = {}
        pending = self._pending
        for _ in range(min(limit, len(pending))):
            step, text = pending.popleft()
            grown.setdefault(step, []).append(clean_line(text))
        for step, lines in grown.items():
            self.log(step).extend(lines)
        return set(grown)

    def log(self, step: str) -> StepLog:
        return self.logs.setdefault(step, StepLog())


class LogPane(ScrollView, can_focus=True):
    """Shows one `StepLog`, following its end while the view is at the bottom."""

    DEFAULT_CSS = """
    LogPane {
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
    }
    """

    BINDINGS = [
        Binding("end", "follow", "Follow", show=False, tooltip="Jump to the newest line and keep following"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.source = StepLog()
        self.following = True

    def show(self, source: StepLog) -> None:
        """Display another step's log (no copy: the pane reads the same list)."""
        self.source = source
        self.following = True
        self.update()

    def update(self) -> None:
        """Re-measure after the source grew; keep following if the view was at the end."""
        at_end = self.following or self.scroll_y >= self.max_scroll_y
        self.virtual_size = Size(self.source.width, len(self.source.lines))
        if at_end:
            # After the next layout: the new virtual size must be known before scrolling to its end.
            self.scroll_end(animate=False, x_axis=False)
        self.following = at_end
        self.refresh()

    def action_follow(self) -> None:
        self.following = True
        self.update()

    def action_scroll_up(self) -> None:
        self.following = False
        super().action_scroll_up()

    def action_page_up(self) -> None:
        self.following = False
        super().action_page_up()

    def action_scroll_home(self) -> None:
        self.following = False
        super().action_scroll_home()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        index = scroll_y + y
        style = self.rich_style
        lines = self.source.lines
        if index >= len(lines):
            return Strip.blank(width, style)
        strip = Strip([Segment(lines[index], style)])
        return strip.crop_extend(scroll_x, scroll_x + width, style).apply_offsets(scroll_x, index)

    @property
    def line_count(self) -> int:
        return len(self.source.lines)
