"""Extract a chain's streams side by side, with one progress figure for all of them.

Run as `xtrarestore-step extract` for the restore runner: it prints
`progress <json>` lines summing all streams, then `completed OK!`.

A restore extracts a full and its incrementals. Done one after another, the
disk and one core idle while the other works; run together, the reads, the
CPU work and the write-back overlap. Each stream still goes through
`extract_stream`, so each keeps its `.partial` directory until it is
complete; the first failure cancels the others, whose partial trees are
removed, and is the error raised.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..errors import BackupFormatError, OperationCancelled, OutputError, XtraRestoreError
from ..storage.location import is_s3, root_path
from ..storage.roots import open_stream
from . import DEFAULT_JOBS
from .extract import BUFFERS, ExtractProgress, ExtractResult, extract_stream, target_for

ENCRYPTED_STREAM_CORES = 2  # reading, two decrypting threads and writing keep about two cores busy


class _Totals:
    """The latest snapshot of every stream, summed into one progress record."""

    def __init__(self, streams: list[Path], interval: float) -> None:
        self.sizes = {stream: _size(stream) for stream in streams}
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


def _size(stream: Path) -> int:
    if is_s3(stream):
        with open_stream(stream) as source:
            return source.size
    try:
        return os.stat(stream).st_size
    except OSError as error:
        raise BackupFormatError(f"{stream}: cannot read: {error.strerror}") from None


def _side_by_side(jobs: int, streams: int, encrypted: bool) -> int:
    """How many streams run at once: up to *jobs*, and for encrypted ones no more than the cores allow.

    Decrypting keeps about ENCRYPTED_STREAM_CORES cores busy per stream, so
    more encrypted streams side by side only contend (on 2 cores, four
    encrypted streams took 3.6 s together against 3.0 s one at a time).
    """
    running = max(1, min(jobs, streams))
    if encrypted:
        running = min(running, max(1, len(os.sched_getaffinity(0)) // ENCRYPTED_STREAM_CORES))
    return running


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
    """Extract every stream into `target_for(stream, into)`, up to *jobs* at a time (see `_side_by_side`).

    *progress* gets the summed record (see `_Totals`) at most every *interval*
    seconds and once at the end, *done* each stream's result as it completes;
    both may be called from worker threads, never two at once. Results come
    back in *streams* order.
    """
    streams = [root_path(s) for s in streams]
    targets: dict[Path, Path] = {}
    for stream in streams:  # two streams into one directory: refused before anything is written
        target = target_for(stream, into)
        if target in targets:
            raise OutputError(f"{stream} and {targets[target]} would both extract into {target}")
        targets[target] = stream
    totals = _Totals(streams, interval)
    stop = cancel or threading.Event()
    say = threading.Lock()

    def report(snapshot: ExtractProgress) -> None:
        record = totals.update(snapshot)
        if record is not None and progress is not None:
            with say:
                progress(record)

    running = _side_by_side(jobs, len(streams), key is not None)
    buffers = BUFFERS // running  # one stream's buffer budget shared: memory does not grow with the chain
    results: list[ExtractResult | None] = [None] * len(streams)
    errors: list[BaseException] = []
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for index, stream in enumerate(streams):
        todo.put((index, stream))

    def worker() -> None:
        while not stop.is_set():
            try:
                index, stream = todo.get_nowait()
            except queue.Empty:
                return
            try:
                result = extract_stream(stream, target_for(stream, into), key=key, progress=report, cancel=stop,
                                        method=method, sync=sync, buffers=buffers)
            except BaseException as error:  # noqa: BLE001 - handed to the caller's thread below
                errors.append(error)
                stop.set()  # the siblings stop at their next chunk and remove their partial trees
                return
            totals.done(result)
            results[index] = result
            if done is not None:
                with say:
                    done(result)

    threads = [threading.Thread(target=worker, name=f"extract-{n}", daemon=True) for n in range(running)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except KeyboardInterrupt:
        stop.set()
        for thread in threads:
            thread.join()
        raise
    if not errors and None in results:  # the caller's cancel stopped the workers between streams
        errors.append(OperationCancelled(f"{into}: extraction cancelled"))
    if errors:
        # The stream that failed first is the news; the others were only cancelled because of it.
        raise next((e for e in errors if not isinstance(e, OperationCancelled)), errors[0])
    if progress is not None:
        progress(totals.final())
    return results  # type: ignore[return-value] - every slot is filled when nothing failed


def run(argv: list[str]) -> int:
    """`xtrarestore-step extract`: machine-readable extraction for the restore runner.

    Several streams (a chain) are extracted side by side, `--jobs` at a time;
    the `progress` lines sum them all.
    """
    import argparse
    import json
    import sys

    from .keys import load_key

    parser = argparse.ArgumentParser(prog="xtrarestore-step extract")
    parser.add_argument("--key-file", help="encryption key file (the key is never taken from the command line)")
    parser.add_argument("--vendor", action="store_true", help="use mbstream/xbstream and xtrabackup instead")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="streams extracted at the same time")
    parser.add_argument("--no-sync", action="store_true",
                        help="leave write-back to the kernel (the restore journal re-extracts after a reboot)")
    parser.add_argument("--into", required=True, help="directory receiving one sub-directory per stream")
    parser.add_argument("streams", nargs="+", metavar="STREAM")
    args = parser.parse_args(argv)

    def report(record: dict) -> None:
        print("progress " + json.dumps(record), flush=True)

    def done(result: ExtractResult) -> None:
        print(f"extracted {result.stream} into {result.target}: {result.files} files "
              f"in {result.seconds:.1f}s", flush=True)

    try:
        key = load_key(args.key_file) if args.key_file else None
        extract_all([root_path(s) for s in args.streams], Path(args.into), key=key, jobs=args.jobs, progress=report,
                    done=done, method="vendor" if args.vendor else "auto", sync=not args.no_sync)
    except XtraRestoreError as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr, flush=True)
        return 130
    return 0
