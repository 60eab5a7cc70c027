"""Text forms of core values for the console: sizes, ages, LSNs and badges.

Everything important is spelled out in text (`[GAP]`, `[OK]`) so it reads the
same in 16 colours, in monochrome and in a screenshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rich.text import Text

from xtrarestore.core.shown import shown

BADGES = {
    "gap": "[GAP]",
    "orphan": "[ORPHAN]",
    "incomplete": "[INCOMPLETE]",
    "fork": "[FORK]",
    "failed": "[FAILED]",
    "key-required": "[KEY]",
    "wrong-key": "[KEY]",
}


# The checkpoints file's words, as an operator says them.
BACKUP_TYPES = {
    "full-backuped": "full",
    "incremental": "incremental",
    "log-applied": "prepared (more incrementals can apply)",
    "full-prepared": "prepared",
}


def backup_type(word: str | None) -> str:
    """`full-backuped` → `full`, `log-applied` → `prepared…`: the checkpoints word in plain words."""
    if word is None:
        return "-"
    return BACKUP_TYPES.get(word) or shown(word)  # an unknown word comes from a file: escaped
def text(value: object, style: str = "") -> Text:
    """Text from outside (a name, a message, a log line) for a Rich or Textual widget.

    Control characters are made visible by `core.shown.shown` and, being a
    `Text`, `[bold]` or `[/]` in it stays literal instead of being read as markup.
    """
    return Text(shown(value), style=style)


def badge(code: str) -> str:
    return BADGES.get(code, f"[{code.upper()}]")


def size(value: int | None) -> str:
    """Bytes in a fixed, short form: `812 B`, `14.2 MB`, `3.10 GB`."""
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            break
        amount /= 1000
    if unit == "B":
        return f"{int(amount)} B"
    return f"{amount:.1f} {unit}" if amount < 100 else f"{amount:.0f} {unit}"


def age(when: datetime | None, now: datetime) -> str:
    """How long ago, in the two largest units: `45s`, `3m`, `2h 13m`, `4d 2h`."""
    if when is None:
        return "-"
    if when.tzinfo is not None and now.tzinfo is None:
        when = when.replace(tzinfo=None)
    seconds = int((now - when).total_seconds())
    if seconds < 0:
        return "future"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds}s"
    if minutes < 60:
        return f"{minutes}m"
    if hours < 24:
        return f"{hours}h {minutes % 60}m" if minutes % 60 else f"{hours}h"
    return f"{days}d {hours % 24}h" if hours % 24 else f"{days}d"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    return str(timedelta(seconds=int(seconds)))


def clock(when: datetime | None) -> str:
    return "-" if when is None else when.strftime("%Y-%m-%d %H:%M:%S")


def lsn(value: int | None) -> str:
    return "-" if value is None else str(value)


def lsn_range(checkpoints) -> str:
    """`from..to` of a backup's checkpoints, `-` when they could not be read."""
    if checkpoints is None:
        return "-"
    return f"{checkpoints.from_lsn}..{checkpoints.to_lsn}"


def encoding(backup) -> str:
    """Encryption and compression as short text: `enc+qp`, `qp`, `plain`."""
    parts = []
    if getattr(backup, "encrypted", False):
        parts.append("enc")
    if getattr(backup, "compression", None):
        parts.append(backup.compression)
    return "+".join(parts) or "plain"


def throughput(done: int, seconds: float) -> str:
    if seconds <= 0:
        return "-"
    return f"{size(int(done / seconds))}/s"


def eta(done: int, total: int | None, seconds: float) -> str:
    if not total or done <= 0 or seconds <= 0 or done >= total:
        return "-"
    return duration((total - done) * seconds / done)


def terminal_width(wide: bool = False) -> int:
    """Columns to fit printed output into: the terminal's (or $COLUMNS), 80 when piped; no limit with *wide*."""
    if wide:
        return 1 << 16
    from rich.console import Console

    return Console().width


def wrap(line: str, width: int, indent: str = "    ") -> list[str]:
    """*line* broken at spaces to fit *width*, later pieces indented under its own indentation plus *indent*.

    Words are never cut, hyphens are no break points: a backup name, a path or
    a command option stays whole on one line, even where it overflows.
    """
    import textwrap

    if len(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip(" "))]
    return textwrap.wrap(line, width, initial_indent="", subsequent_indent=lead + indent, break_long_words=False,
                         break_on_hyphens=False, drop_whitespace=True) or [line]


def wrap_lines(lines, width: int, indent: str = "    ") -> list[str]:
    """Every line of *lines* wrapped (`wrap`)."""
    return [piece for line in lines for piece in wrap(line, width, indent)]


def print_wrapped(lines, *, width: int | None = None, file=None) -> None:
    """Print *lines* (a line or a list of lines) escaped (`shown`) and wrapped at words for the terminal.

    Output that goes to a pipe keeps one line per item, for grep and scripts
    (the inventory table alone always fits, 80 columns when piped). $COLUMNS
    alone does not decide: readline exports it to every child process.
    """
    import sys

    out = file or sys.stdout
    lines = [shown(line) for line in ([lines] if isinstance(lines, str) else lines)]
    if width is None and out.isatty():
        width = terminal_width()
    for line in wrap_lines(lines, width) if width else lines:
        print(line, file=out, flush=True)
