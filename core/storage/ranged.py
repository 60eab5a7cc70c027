"""Ranged reads of one object: single ranges with retries, and a seekable reader with read-ahead.

Each ranged GET is retried as a whole (request and body) with exponential
backoff when the failure is transient: 5xx, throttling, a connection reset
or a timeout, including one in the middle of the body, which botocore's own
retries do not cover. Anything else becomes one typed `StorageError` line
naming the object and offset.
"""

from __future__ import annotations

import bisect
import io
import itertools
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from .client import is_transient, storage_error
from .errors import StorageError, TruncatedObjectError

TRANSIENT = (ConnectionClosedError, ReadTimeoutError, ResponseStreamingError, IncompleteReadError)
PART_SIZE = 8 << 20


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    first_delay: float = 0.2
    max_delay: float = 5.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay, self.first_delay * 2**attempt)


class FetchCounter:
    """Bytes received and requests made, shared by the threads of one or more readers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.requests = 0
        self.retries = 0

    def add(self, received: int, *, retry: bool = False) -> None:
        with self._lock:
            self.requests += 1
            self.bytes += received
            self.retries += retry


def _total_size(content_range: str | None) -> int | None:
    """The object size from ``bytes a-b/total``."""
    if not content_range or "/" not in content_range:
        return None
    total = content_range.rsplit("/", 1)[1]
    return int(total) if total.isdigit() else None


def fetch_range(
    client,
    bucket: str,
    key: str,
    start: int,
    end: int,
    *,
    size: int | None = None,
    etag: str | None = None,
    retry: RetryPolicy = RetryPolicy(),
    counter: FetchCounter | None = None,
) -> bytes:
    """Bytes [start, end) of the object. *size* and *etag* are what the listing said.

    Raises TruncatedObjectError when the object is shorter than that, and
    ObjectChangedError when its ETag no longer matches.
    """
    where = f"s3://{bucket}/{key} at offset {start:#x}"
    params = {"Bucket": bucket, "Key": key, "Range": f"bytes={start}-{end - 1}"}
    if etag:
        params["IfMatch"] = etag
    attempt = 0
    while True:
        last = attempt + 1 >= retry.attempts
        try:
            response = client.get_object(**params)
            body = response["Body"]
            try:
                data = body.read()
            finally:
                body.close()
        except ClientError as exc:
            if error_is_range(exc):
                raise TruncatedObjectError(f"{where}: object is shorter than {size or end} bytes (truncated?)") from None
            if last or not is_transient(exc):
                raise _gave_up(storage_error(exc, where), attempt) from None
        except TRANSIENT as exc:
            if last:
                raise StorageError(f"{where}: {type(exc).__name__} after {retry.attempts} attempts") from None
        except BotoCoreError as exc:
            raise storage_error(exc, where) from None
        else:
            if counter is not None:
                counter.add(len(data), retry=attempt > 0)
            if len(data) != end - start:
                total = _total_size(response.get("ContentRange"))
                raise TruncatedObjectError(
                    f"{where}: object is {total if total is not None else 'now'} bytes, "
                    f"listed as {size if size is not None else end} (truncated?)"
                )
            return data
        time.sleep(retry.delay(attempt))
        attempt += 1


def error_is_range(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("InvalidRange", "416")


def _gave_up(error: StorageError, attempt: int) -> StorageError:
    if attempt:
        return type(error)(f"{error} after {attempt + 1} attempts")
    return error


class RangedReader(io.RawIOBase):
    """A read-only, seekable file over one object of known *size*.

    Sequential reads keep up to *depth* parts of *part_size* bytes in flight
    (parallel ranged GETs); a seek elsewhere drops them. Memory stays below
    (depth + 1) × part_size. `counter` says how many bytes were fetched.
    """

    def __init__(
        self,
        client,
        bucket: str,
        key: str,
        size: int,
        *,
        etag: str | None = None,
        part_size: int = PART_SIZE,
        depth: int = 4,
        retry: RetryPolicy = RetryPolicy(),
        counter: FetchCounter | None = None,
    ) -> None:
        super().__init__()
        self.client, self.bucket, self.key, self.size, self.etag = client, bucket, key, size, etag
        self.name = f"s3://{bucket}/{key}"
        self.part_size, self.depth, self.retry = part_size, max(1, depth), retry
        self.counter = counter or FetchCounter()
        self._position = 0
        self._parts: dict[int, Future[bytes]] = {}
        self._last_part = -1
        self._pool = ThreadPoolExecutor(max_workers=self.depth, thread_name_prefix="s3-read")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError(f"{self.name}: negative seek position {base + offset}")
        self._position = base + offset
        return self._position

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes [start, end) fetched directly, without touching the read-ahead."""
        end = min(end, self.size)
        if start >= end:
            return b""
        return self._fetch(start, end)

    def read(self, size: int = -1) -> bytes:
        """Up to *size* bytes (all the rest if negative): short only at the end of the object."""
        remaining = max(0, self.size - self._position)
        size = remaining if size is None or size < 0 else min(size, remaining)
        buffer = bytearray(size)
        view = memoryview(buffer)
        filled = 0
        while filled < size:
            filled += self.readinto(view[filled:])
        return bytes(buffer)

    def readall(self) -> bytes:
        return self.read()

    def readinto(self, buffer) -> int:
        if self.closed:
            raise ValueError(f"{self.name}: read from a closed reader")
        if self._position >= self.size or not len(buffer):
            return 0
        index, part_start = self._locate(self._position)
        part = self._part(index)
        skip = self._position - part_start
        count = min(len(buffer), len(part) - skip)
        memoryview(buffer)[:count] = memoryview(part)[skip : skip + count]
        self._position += count
        return count

    def close(self) -> None:
        if not self.closed:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._parts.clear()
        super().close()

    def _fetch(self, start: int, end: int) -> bytes:
        return fetch_range(
            self.client, self.bucket, self.key, start, end,
            size=self.size, etag=self.etag, retry=self.retry, counter=self.counter,
        )

    def _locate(self, position: int) -> tuple[int, int]:
        """The part holding *position*, and where that part starts."""
        index = position // self.part_size
        return index, index * self.part_size

    def _last_index(self) -> int:
        return (self.size - 1) // self.part_size

    def _fetch_part(self, index: int) -> bytes:
        start = index * self.part_size
        return self._fetch(start, min(start + self.part_size, self.size))

    def _part(self, index: int) -> bytes:
        """Part *index*, scheduling the next ones when reading sequentially."""
        sequential = index in (self._last_part, self._last_part + 1)
        self._last_part = index
        wanted = range(index, index + self.depth) if sequential else range(index, index + 1)
        for stale in [i for i in self._parts if i not in wanted]:
            self._parts.pop(stale).cancel()
        last = self._last_index()
        for i in wanted:
            if i <= last and i not in self._parts:
                self._parts[i] = self._pool.submit(self._fetch_part, i)
        return self._parts[index].result()


class ObjectsReader(RangedReader):
    """Several objects read as one stream (an xbcloud upload): each object is one part.

    *objects* carry `key`, `size` and `etag` (listing entries); *name* is what
    messages call the whole. Each object is fetched with one GET, *depth* at a
    time ahead of the reader.
    """

    def __init__(self, client, bucket: str, objects: list, name: str, **options) -> None:
        super().__init__(client, bucket, name, sum(info.size for info in objects), **options)
        self.name = name
        self.objects = [info for info in objects if info.size > 0]
        self.starts = list(itertools.accumulate((info.size for info in self.objects), initial=0))

    def read_range(self, start: int, end: int) -> bytes:
        self.seek(start)
        return self.read(max(0, end - start))

    def _locate(self, position: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, position) - 1
        return index, self.starts[index]

    def _last_index(self) -> int:
        return len(self.objects) - 1

    def _fetch_part(self, index: int) -> bytes:
        info = self.objects[index]
        return fetch_range(
            self.client, self.bucket, info.key, 0, info.size,
            size=info.size, etag=info.etag, retry=self.retry, counter=self.counter,
        )
