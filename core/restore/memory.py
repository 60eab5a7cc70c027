"""Memory for `--prepare`: a share of what the host has free, so applying redo is not starved.

mariabackup and xtrabackup prepare with a 100 MiB buffer pool unless told
otherwise (`--use-memory`); a long incremental chain's redo then applies in
many small batches. Production still runs while we prepare, so we take only a
fraction of MemAvailable (the kernel's estimate of what can be used without
swapping), capped, and nothing when the host is short. Nor more than the data:
a buffer pool larger than the backup only costs its set-up time (measured by
bench/bench_downtime.py: 5.4 GiB for a 700 MB chain prepared slower than 100 MiB).
"""

from __future__ import annotations

from pathlib import Path

SHARE = 4             # use a quarter of MemAvailable
CAP = 16 << 30        # never more than this
FLOOR = 256 << 20     # below this, the tool's own default is as good


def available_memory(meminfo: str | None = None) -> int | None:
    """MemAvailable in bytes (from /proc/meminfo), or None where the kernel does not say."""
    try:
        text = meminfo if meminfo is not None else Path("/proc/meminfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit():
                return int(parts[1]) * 1024
    return None


def prepare_memory(available: int | None, data: int | None = None) -> int | None:
    """Bytes to give `--prepare` for *data* bytes of backups, in whole MiB; None to leave the tool's default."""
    if available is None:
        return None
    share = min(available // SHARE, CAP, data if data else CAP) >> 20 << 20
    return share if share >= FLOOR else None


def parse_size(text: str) -> int:
    """`2G`, `512M`, `0` (the tool's default) as bytes; ValueError on anything else."""
    text = text.strip().upper()
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text and text[-1] in units and text[:-1].isdigit():
        return int(text[:-1]) * units[text[-1]]
    if text.isdigit():
        return int(text)
    raise ValueError(f"{text!r}: give a size like 2G or 512M (0 for the tool's default)")


def memory_option(size: int) -> str:
    """`--use-memory=` in the largest whole unit."""
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if size and size % (1 << shift) == 0:
            return f"--use-memory={size >> shift}{unit}"
    return f"--use-memory={size}"
