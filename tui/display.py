"""Text forms of core values for the console: sizes, ages, LSNs and badges.

Everything important is spelled out in text (`[GAP]`, `[OK]`) so it reads the
same in 16 colours, in monochrome and in a screenshot.
"""

from __future__ import annotations

from datetime import datetime, timedelta

BADGES = {
    "gap": "[GAP]",
    "orphan": "[ORPHAN]",
    "incomplete": "[INCOMPLETE]",
    "fork": "[FORK]",
    "failed": "[FAILED]",
    "key-required": "[KEY]",
    "wrong-key": "[KEY]",
}


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


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0))}


def printable(text: object) -> str:
    """Text from disk, binlogs or servers made safe to show: control characters (escape sequences included)
    become `\\xNN`. Rich markup is escaped by the caller where Rich renders it (`rich.markup.escape`)."""
    return str(text).translate(_CONTROL)
