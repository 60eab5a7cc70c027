"""Extract a chain's streams side by side, with one progress figure for all of them.

A restore extracts a full and its incrementals; done one after another, each
waits for the previous one's writes to reach the disk. Run together, the
reads, the CPU work and the write-back overlap. Each stream still goes through `extract_stream`, so
each keeps its `.partial` directory until it is complete; the first failure
cancels the others, whose partial trees are removed, and is the error raised.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..errors import CancelledError
from .extract import ExtractProgress, ExtractResult, extract_stream, target_for

DEFAULT_JOBS = 4  # a chain rarely has more members worth overlapping; each holds ~48 MiB of buffers


class _Totals:
    """The latest snapshot of every stream, summed into one progress record."""

    def __init__(self, streams: list[Path], interval: float) -> None:
        self.sizes = {stream: os.stat(stream).st_size for stream in streams}
        self.latest: dict[Path, ExtractProgress] = {}
        self.finished = 0
        self.began = time.monotonic()
        self.interval = interval
        self.shown = 0.0
        self.lock = threading.Lock()

    def update(self, snapshot: ExtractProgress) -> dict | None:
        """Record *snapshot*; return the summed record when it is time to show one."""
        with self.lock:
            self.latest[snapshot.stream] = snapshot
            now = time.monotonic()
            if now - self.shown < self.interval:
                return None
            self.shown = now
            return self._summed(now)

    def done(self, result: ExtractResult) -> None:
        with self.lock:
            self.finished += 1
            self.latest[result.stream] = ExtractProgress(result.stream, result.bytes_read, result.bytes_read,
                                                         result.bytes_written, result.files, result.seconds)

    def final(self) -> dict:
        with self.lock:
            return self._summed(time.monotonic())

    def _summed(self, now: float) -> dict:
        read = sum(s.bytes_read for s in self.latest.values())
        total = sum(self.sizes.values())
        elapsed = now - self.began
        rate = read / elapsed if elapsed > 0 else 0.0
        return {
            "streams": len(self.sizes),
            "streams_done": self.finished,
            "bytes_read": read,
            "total_bytes": total,
            "bytes_written": sum(s.bytes_written for s in self.latest.values()),
            "files": sum(s.files for s in self.latest.values()),
            "elapsed": round(elapsed, 3),
            "throughput": round(rate),
            "eta": round((total - read) / rate, 1) if rate > 0 else None,
        }


def extract_all(
    streams: list[Path],
    into: Path,
    *,
    key: bytes | None = None,
    jobs: int = DEFAULT_JOBS,
    progress: Callable[[dict], None] | None = None,
    done: Callable[[ExtractResult], None] | None = None,
    cancel: threading.Event | None = None,
    method: str = "auto",
    sync: bool = True,
    interval: float = 0.25,
) -> list[ExtractResult]:
    """Extract every stream into `target_for(stream, into)`, up to *jobs* at a time.

    *progress* gets the summed record (see `_Totals`) at most every *interval*
    seconds and once at the end, *done* each stream's result as it completes;
    both may be called from worker threads, never two at once. Results come
    back in *streams* order.
    """
    streams = [Path(s) for s in streams]
    totals = _Totals(streams, interval)
    stop = cancel or threading.Event()
    say = threading.Lock()

    def report(snapshot: ExtractProgress) -> None:
        record = totals.update(snapshot)
        if record is not None and progress is not None:
            with say:
                progress(record)

    def one(stream: Path) -> ExtractResult:
        try:
            result = extract_stream(stream, target_for(stream, into), key=key, progress=report, cancel=stop,
                                    method=method, sync=sync)
        except BaseException:
            stop.set()  # the siblings stop at their next chunk and remove their partial trees
            raise
        totals.done(result)
        if done is not None:
            with say:
                done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(streams))), thread_name_prefix="extract") as pool:
        futures = [pool.submit(one, stream) for stream in streams]
        try:
            outcomes = [(future, future.exception()) for future in futures]
        except KeyboardInterrupt:
            stop.set()
            raise
    errors = [error for _future, error in outcomes if error is not None]
    if errors:
        # The stream that failed first is the news; the others were only cancelled because of it.
        raise next((e for e in errors if not isinstance(e, CancelledError)), errors[0])
    if progress is not None:
        progress(totals.final())
    return [future.result() for future, _error in outcomes]

