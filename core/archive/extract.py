"""One-pass extraction of an xbstream into plain files ready for `--prepare`.

The stream is read once; `.xbcrypt`, `.qp`, `.lz4` and `.zst` members are
decoded on the fly and only final plaintext files are written. The work is
pipelined over threads: the caller's thread reads chunks and checks their
CRC32, order and paths; two decrypting threads check and decrypt xbcrypt
chunks; a writer thread decompresses in stream order and an output thread
writes. Payloads
travel in a small pool of reusable buffers and decoded data is written as it
is produced, so memory stays bounded whatever the stream size. Files are
synced with one syncfs() at the end rather than an fsync each.

Output goes to `<target>.partial` (holding an `.xtrarestore-incomplete`
marker) and is renamed to `<target>` only after everything was written and
synced; on any error the partial tree is removed and one line naming the
stream and offset is raised. The restore runner's command is
`xtrarestore-step extract` (`parallel.run`: a chain's streams side by side).

A stream may be ``s3://bucket/key`` (or an `xbcloud put` prefix): it is then
read through `storage.ranged` — parallel ranged GETs a few parts ahead, each
retried with backoff on transient errors — straight into the same pipeline,
never copied to local disk; memory grows by the read-ahead (4 × 8 MiB).
"""

from __future__ import annotations

import functools
import io
import os
import queue
import shutil
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zlib_ng import zlib_ng  # zlib's CRC-32 and Adler-32, with SIMD: ~4x faster than Debian's zlib

from ..durable import sync_tree
from ..errors import (
    BackupFormatError,
    ChecksumError,
    OperationCancelled,
    OutputError,
    UnsupportedFormatError,
    XtraRestoreError,
)
from ..files import open_regular
from ..storage.location import is_s3, root_path
from ..storage.roots import open_stream
from .members import ENCRYPTED, member_decoder
from .safepath import TargetTree, safe_parts
from .xbstream import MAGIC, TYPE_PAYLOAD, TYPE_SPARSE, ChunkHeader, read_header

MARKER = ".xtrarestore-incomplete"
PIECE = 2 << 20  # payloads move in pieces of at most this size
PLAIN_SLACK = 1 << 17  # a decrypted piece may also hold a chunk carried over from the previous one
BUFFERS = 8  # buffers in flight (a payload piece, or its plaintext): memory stays near PIECE * BUFFERS
MAX_SPARSE_PAYLOAD = 64 << 20
DECRYPT_THREADS = 2  # AES-CTR and SHA-256 release the GIL: decrypt on both cores
IOV_BATCH = 512
PROGRESS_INTERVAL = 0.25
WRITEBACK_STEP = 32 << 20  # with sync: start the disk write-back of every this many bytes written to a file
SYNC_FILE_RANGE_WRITE = 2
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8  # glibc mallopt() parameters


@dataclass(frozen=True)
class ExtractProgress:
    """A snapshot of one stream's extraction, for progress bars and the runner."""

    stream: Path
    bytes_read: int
    total_bytes: int
    bytes_written: int
    files: int
    elapsed: float

    @property
    def throughput(self) -> float:
        """Stream bytes read per second so far."""
        return self.bytes_read / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, or None before there is a rate."""
        rate = self.throughput
        return (self.total_bytes - self.bytes_read) / rate if rate > 0 else None


@dataclass(frozen=True)
class ExtractResult:
    stream: Path
    target: Path
    files: int
    bytes_read: int
    bytes_written: int
    seconds: float
    method: str = "native"


@dataclass(eq=False)
class _Member:
    """One member being extracted: `crypt` and `expected` belong to the reader, the rest to the writer."""

    parts: tuple[str, ...]
    crypt: object | None  # the member's XbcryptDecoder
    decoder: object | None  # the decompressing stages, if any
    expected: int = 0  # next file offset the stream must supply
    fd: int = -1
    size: int = 0  # bytes of plaintext written so far (or the end of the last write)
    unflushed: int = 0  # the output thread's start of the range not yet handed to write-back


def target_for(stream: Path, into: Path) -> Path:
    """The directory a stream extracts into: *into*/<stream name without `.xbstream`>."""
    name = Path(stream).name
    return Path(into) / (name[: -len(".xbstream")] if name.endswith(".xbstream") else name + ".d")


def extract_stream(
    stream: Path,
    into: Path,
    *,
    key: bytes | None = None,
    progress: Callable[[ExtractProgress], None] | None = None,
    cancel: threading.Event | None = None,
    method: str = "auto",
    sync: bool = True,
    buffers: int = BUFFERS,
) -> ExtractResult:
    """Extract *stream* into the directory *into* (created; must not exist or be empty).

    *method* is "native", "vendor" (mbstream + xtrabackup) or "auto": native,
    falling back to the vendor tools only for a member variant the native
    reader does not support. *sync* False leaves write-back to the kernel: for
    a caller that itself notices a reboot (the restore journal re-extracts).
    *buffers* caps the payload pieces in flight (memory ≈ PIECE × buffers).
    """
    stream, target = root_path(stream), Path(into)
    if method not in ("auto", "native", "vendor"):
        raise ValueError(f"unknown extraction method {method!r}")
    local = not is_s3(stream)
    if method != "vendor":
        fd = _open_local(stream) if local else None
        try:
            return _extract_native(stream, fd, target, key, progress, cancel, sync, max(2, buffers))
        except UnsupportedFormatError:
            if method == "native":
                raise
        finally:
            if fd is not None:
                os.close(fd)
    if local:
        os.close(_open_local(stream))
    return _extract_vendor(stream, target, key, sync)


def _open_local(stream: Path) -> int:
    """A descriptor of *stream*, checked before any output exists: a regular file starting with an xbstream chunk.

    A FIFO or device cannot hang us (see `sources.open_regular`); an empty or
    header-less file is refused here, instead of extracting to an empty,
    complete-looking directory.
    """
    try:
        fd = open_regular(stream)
    except OSError as error:
        raise BackupFormatError(f"{stream}: cannot read: {error.strerror or error}") from None
    try:
        head = os.pread(fd, len(MAGIC), 0)
    except OSError as error:
        os.close(fd)
        raise BackupFormatError(f"{stream}: cannot read: {error.strerror or error}") from None
    if head != MAGIC:
        os.close(fd)
        what = "empty (0 bytes)" if not head else f"too short ({len(head)} bytes)" if len(head) < len(MAGIC) else (
            "no xbstream header (XBSTCK01) at offset 0")
        raise BackupFormatError(f"{stream}: not an xbstream: {what}")
    return fd


def _extract_native(stream: Path, fd: int | None, target: Path, key, progress, cancel, sync: bool,
                    buffers: int) -> ExtractResult:
    partial = _prepare_partial(target)
    try:
        files, read, written, seconds = _Extraction(stream, fd, partial, key, progress, cancel, buffers, sync).run()
        _publish(partial, target, sync)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return ExtractResult(stream, target, files, read, written, seconds)


def _extract_vendor(stream: Path, target: Path, key, sync: bool) -> ExtractResult:
    from .vendor import vendor_extract

    if is_s3(stream):
        raise UnsupportedFormatError(f"{stream}: the vendor tools read local files; the native extractor reads "
                                     "streams from a bucket")
    partial = _prepare_partial(target)
    started = time.monotonic()
    try:
        files = vendor_extract(stream, partial, key) - 1  # the marker is not a member
        _publish(partial, target, sync)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    size = stream.stat().st_size
    written = sum(entry.stat().st_size for entry in target.rglob("*") if entry.is_file())
    return ExtractResult(stream, target, files, size, written, time.monotonic() - started, "vendor")


def _prepare_partial(target: Path) -> Path:
    """Create `<target>.partial` with its marker; clear one left by an earlier failed run."""
    if target.is_symlink() or (target.exists() and (not target.is_dir() or any(target.iterdir()))):
        raise OutputError(f"{target}: target exists and is not an empty directory")
    partial = target.with_name(target.name + ".partial")
    if partial.is_symlink() or (partial.exists() and not (partial / MARKER).is_file()):
        raise OutputError(f"{partial}: exists and was not left by xtrarestore; remove it first")
    if partial.exists():
        shutil.rmtree(partial)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.mkdir(partial, 0o700)
        (partial / MARKER).write_bytes(b"")
    except OSError as error:
        raise OutputError(f"{error.filename or partial}: cannot create: {error.strerror}") from None
    return partial


def _publish(partial: Path, target: Path, sync: bool) -> None:
    """Make the finished tree durable (unless not *sync*), then give it its final name."""
    if sync:
        sync_tree(partial)
    (partial / MARKER).unlink()
    os.rename(partial, target)
    if not sync:
        return
    parent = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(parent)
    finally:
        os.close(parent)


@functools.cache
def _reuse_freed_memory() -> None:
    """Ask glibc to keep freed memory for reuse instead of returning it to the kernel at once.

    Decoded pieces are allocated and freed by the hundred per stream; with
    glibc's defaults each one comes back from the kernel as fresh pages, and
    faulting them in (~100,000 faults a stream) cost 0.3 s of system time.
    Two arenas for all threads: freed memory kept in one thread's arena would
    otherwise be of no use to the next stream's threads (four encrypted
    streams in a row peaked at 113 MiB instead of 74).
    """
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(M_ARENA_MAX, 2)
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


class _Writer(threading.Thread):
    """Decodes, in stream order, and hands the plaintext to the output thread; the first error stops all work."""

    def __init__(self, tree: TargetTree, label: str, free: queue.Queue, buffers: int, writeback: bool) -> None:
        super().__init__(name="xtrarestore-writer", daemon=True)
        self.jobs: queue.Queue = queue.Queue(maxsize=2 * buffers)
        self.output = _Output(tree, label, free, buffers, _WriteBack.create() if writeback else None)
        self.error: BaseException | None = None
        self.abandoned = False  # after the reader's error or our own: skip the remaining jobs
        self._position = 0

    @property
    def failure(self) -> BaseException | None:
        """The first error of either thread (decoding comes first: it precedes the writes it would feed)."""
        return self.error or self.output.error

    def run(self) -> None:
        self.output.start()
        try:
            while (job := self.jobs.get()) is not None:
                op, member, self._position, data, buffers = job
                if self.failure is None and not self.abandoned:
                    try:
                        getattr(self, op)(member, data)
                    except BaseException as error:  # noqa: BLE001 - handed to the reader thread
                        self.error = _located(error, self._position)
                        self.abandon()
                if buffers:
                    self._request("release", None, buffers)
        finally:
            self.output.requests.put(None)
            self.output.join()
            if self.output.writeback is not None:
                self.output.writeback.stop()

    def abandon(self) -> None:
        """Decode and write nothing more; files are still closed and buffers returned."""
        self.abandoned = self.output.abandoned = True

    @property
    def files(self) -> int:
        return self.output.files

    @property
    def written(self) -> int:
        return self.output.written

    def open(self, member: _Member, _data) -> None:
        self._request("open", member, None)

    def write(self, member: _Member, data) -> None:
        offset, payload = data
        if member.decoder is not None:
            self._append(member, member.decoder.feed(payload))
        else:
            self._request("write", member, ([payload], offset))
            member.size = max(member.size, offset + len(payload))

    def decrypted(self, member: _Member, future) -> None:
        """Plaintext pieces, in order, from the decrypting threads."""
        for piece in future.result():
            self._append(member, member.decoder.feed(piece) if member.decoder is not None else [piece])

    def close(self, member: _Member, size) -> None:
        if member.decoder is not None:
            self._append(member, member.decoder.finish())
        elif member.crypt is None and size > member.size:
            self._request("extend", member, size)  # a sparse file's trailing hole
        self._request("close", member, None)

    def _append(self, member: _Member, pieces) -> None:
        """Queue *pieces* (any iterable, consumed lazily) for writing at the end of the member's file."""
        batch: list = []
        batched = 0
        for piece in pieces:
            batch.append(piece)
            batched += len(piece)
            if batched >= PIECE or len(batch) >= IOV_BATCH:
                self._request("write", member, (batch, member.size))
                member.size += batched
                batch, batched = [], 0
        if batch:
            self._request("write", member, (batch, member.size))
            member.size += batched

    def _request(self, op: str, member: _Member | None, data) -> None:
        self.output.requests.put((op, member, self._position, data))


class _Output(threading.Thread):
    """Owns the output files: creates, writes, extends and closes them in order, and returns payload buffers.

    Decoding and writing overlap: a write is a system call that releases the
    GIL while the writer decodes the next piece. The queue is short, so decoded
    data waiting here stays within a few pieces.
    """

    def __init__(self, tree: TargetTree, label: str, free: queue.Queue, buffers: int, writeback) -> None:
        super().__init__(name="xtrarestore-output", daemon=True)
        self.requests: queue.Queue = queue.Queue(maxsize=max(2, buffers))
        self.writeback: _WriteBack | None = writeback
        self.error: BaseException | None = None
        self.abandoned = False  # after any error: still close files and return buffers, write nothing more
        self.files = 0
        self.written = 0
        self._tree = tree
        self._label = label
        self._free = free
        self._open: set[int] = set()

    def run(self) -> None:
        if self.writeback is not None:
            self.writeback.start()
        while (request := self.requests.get()) is not None:
            op, member, position, data = request
            if op == "release":
                for buffer in data:
                    self._free.put(buffer)
            elif op == "close" and member.fd >= 0:
                self._close(member)
            elif self.error is None and not self.abandoned:
                try:
                    getattr(self, op)(member, data)
                except BaseException as error:  # noqa: BLE001 - handed to the reader thread
                    self.error = _located(error, position)
        for fd in self._open:  # members left open by an error
            os.close(fd)
        self._open.clear()

    def open(self, member: _Member, _data) -> None:
        member.fd = self._tree.create(member.parts, self._label)
        self._open.add(member.fd)

    def write(self, member: _Member, data) -> None:
        pieces, offset = data
        batch = [memoryview(piece) for piece in pieces]
        try:
            while batch:
                done = os.pwritev(member.fd, batch, offset)
                offset += done
                self.written += done
                while batch and done >= len(batch[0]):
                    done -= len(batch.pop(0))
                if batch and done:
                    batch[0] = batch[0][done:]
        except OSError as error:
            raise self._cannot_write(member, error) from None
        if self.writeback is not None and offset - member.unflushed >= WRITEBACK_STEP:
            self.writeback.add(member.fd, member.unflushed, offset - member.unflushed)
            member.unflushed = offset

    def extend(self, member: _Member, size: int) -> None:
        try:
            os.ftruncate(member.fd, size)
        except OSError as error:
            raise self._cannot_write(member, error) from None

    def _cannot_write(self, member: _Member, error: OSError) -> OutputError:
        return OutputError(f"{self._label}: cannot write {'/'.join(member.parts)}: {error.strerror}")

    def _close(self, member: _Member) -> None:
        if self.writeback is not None and self.error is None and not self.abandoned:
            self.writeback.add(member.fd, member.unflushed, 0)  # 0: up to the end of the file
        self._open.discard(member.fd)
        os.close(member.fd)
        member.fd = -1
        if self.error is None and not self.abandoned:
            self.files += 1


class _WriteBack(threading.Thread):
    """Starts the disk write-back of written ranges while extraction goes on, so the final syncfs has little left.

    sync_file_range(SYNC_FILE_RANGE_WRITE) keeps the pages cached (prepare
    reads them next). It can block until the range is under way, hence a
    thread of its own; it works on duplicates of the files' descriptors.
    Errors are left to the final syncfs, which is what makes the tree durable.
    """

    def __init__(self, start) -> None:
        super().__init__(name="xtrarestore-writeback", daemon=True)
        self.ranges: queue.Queue = queue.Queue(maxsize=64)
        self._start = start

    @classmethod
    def create(cls) -> _WriteBack | None:
        """A write-back thread, or None where libc has no sync_file_range (the final syncfs does it all)."""
        import ctypes

        try:
            start = ctypes.CDLL(None, use_errno=True).sync_file_range
        except (OSError, AttributeError):
            return None
        start.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        return cls(start)

    def add(self, fd: int, offset: int, length: int) -> None:
        self.ranges.put((os.dup(fd), offset, length))

    def run(self) -> None:
        while (item := self.ranges.get()) is not None:
            fd, offset, length = item
            try:
                self._start(fd, offset, length, SYNC_FILE_RANGE_WRITE)
            finally:
                os.close(fd)

    def stop(self) -> None:
        """Wait until every range was handed to the kernel (the output thread started us first thing)."""
        self.ranges.put(None)
        self.join()


def _located(error: BaseException, position: int) -> BaseException:
    """Add the stream offset of the chunk being handled to a decoder's message (same type)."""
    text = str(error)
    if isinstance(error, XtraRestoreError) and f"offset {position:#x}" not in text and "stream offset" not in text:
        return type(error)(f"{error} (in the chunk at stream offset {position:#x})")
    return error


class _Extraction:
    """The reader side: parse chunks, check them, hand payload pieces to the writer."""

    def __init__(self, stream: Path, fd: int | None, root: Path, key, progress, cancel, buffers: int, sync: bool) -> None:
        self.stream = stream
        self.fd = fd
        self.label = str(stream)
        self.root = root
        self.key = key
        self.progress = progress
        self.cancel = cancel
        self.members: dict[str, _Member] = {}
        self.free: queue.Queue = queue.Queue()
        self.buffers = 0
        self.max_buffers = buffers
        self.sync = sync
        self.pool = None  # a ThreadPoolExecutor, once an encrypted member appears
        self.position = 0
        self.total = 0
        self.started = time.monotonic()
        self.reported = 0.0

    def run(self) -> tuple[int, int, int, float]:
        _reuse_freed_memory()
        tree = TargetTree(str(self.root))
        writer = _Writer(tree, self.label, self.free, self.max_buffers, self.sync)
        writer.start()
        self.writer = writer
        try:
            try:
                self._read_all()
            except BaseException:
                writer.abandon()
                raise
            finally:
                writer.jobs.put(None)
                writer.join()
                if self.pool is not None:
                    self.pool.shutdown(cancel_futures=True)
            if writer.failure is not None:
                raise writer.failure
        finally:
            tree.close()
        elapsed = time.monotonic() - self.started
        self._report(force=True)
        return writer.files, self.total, writer.written, elapsed

    def _read_all(self) -> None:
        if self.fd is None:  # an object in a bucket: ranged reads
            raw = open_stream(self.stream)
            self.total = raw.size
        else:
            os.lseek(self.fd, 0, os.SEEK_SET)
            raw = open(os.dup(self.fd), "rb", buffering=0)  # the caller closes its descriptor
            self.total = os.fstat(raw.fileno()).st_size
        with raw, io.BufferedReader(raw, 1 << 20) as source:
            while (header := read_header(source, self.label, self.position)) is not None:
                self._check_running()
                if header.end > self.total:
                    raise BackupFormatError(f"{self.label}: truncated chunk at offset {header.position:#x}")
                try:
                    self._chunk(source, header)
                except XtraRestoreError as error:
                    raise _located(error, header.position) from None
                self.position = header.end
                self._report()
            if self.members:
                name = next(iter(self.members))
                raise BackupFormatError(
                    f"{self.label}: stream ends at offset {self.position:#x} inside member {name} (truncated stream)"
                )

    def _check_running(self) -> None:
        if self.writer.failure is not None:
            raise self.writer.failure
        if self.cancel is not None and self.cancel.is_set():
            raise OperationCancelled(f"{self.label}: extraction cancelled at offset {self.position:#x}")

    def _member(self, header: ChunkHeader) -> _Member:
        member = self.members.get(header.path)
        if member is not None:
            return member
        where = f"{self.label}: chunk at offset {header.position:#x}"
        safe_parts(header.path, where)
        plain, pipeline = member_decoder(header.path, self.key, f"{self.label}: {header.path}")
        crypt = None
        if header.path.endswith(ENCRYPTED):
            crypt = pipeline.stages.pop(0)
        decoder = pipeline if pipeline is not None and pipeline.stages else None
        member = _Member(safe_parts(plain, where), crypt, decoder)
        self.members[header.path] = member
        self._send("open", member, None)
        return member

    def _send(self, op: str, member: _Member, data, *buffers: bytearray) -> None:
        """Queue a job for the writer, which returns *buffers* to the pool once the job is done."""
        self.writer.jobs.put((op, member, self.position, data, buffers))

    def _chunk(self, source: io.BufferedReader, header: ChunkHeader) -> None:
        if header.type not in (TYPE_PAYLOAD, TYPE_SPARSE) and not header.is_eof:
            _skip(source, header.end - header.data_offset)  # an ignorable chunk type we do not know
            return
        member = self._member(header)
        if header.is_eof:
            if member.crypt is not None:
                member.crypt.finish()
            self._send("close", member, member.expected)
            del self.members[header.path]
            return
        if header.offset != member.expected:
            raise BackupFormatError(
                f"{self.label}: out-of-order chunk for {header.path} at offset {header.position:#x}: "
                f"file offset {header.offset}, expected {member.expected}"
            )
        if header.type == TYPE_SPARSE:
            self._sparse(source, header, member)
        else:
            self._payload(source, header, member)

    def _payload(self, source: io.BufferedReader, header: ChunkHeader, member: _Member) -> None:
        remaining = header.payload_len
        offset = header.offset
        crc = 0
        while remaining:
            self._check_running()
            buffer = self._buffer()
            count = min(remaining, PIECE)
            view = memoryview(buffer)[:count]
            _read_exact(source, view, self.label, header)
            crc = zlib_ng.crc32(view, crc)
            if member.crypt is not None:
                sealed = member.crypt.split(view)
                plain = self._buffer()
                future = self._decryptors().submit(self._decrypt, member.crypt, sealed, buffer, plain)
                self._send("decrypted", member, future, plain)
            else:
                self._send("write", member, (offset, view), buffer)
            offset += count
            remaining -= count
        self._check_crc(crc, header)
        member.expected += header.payload_len

    def _buffer(self) -> bytearray:
        """A free payload buffer; at most max_buffers are ever allocated, then the reader waits for the writer."""
        try:
            return self.free.get_nowait()
        except queue.Empty:
            if self.buffers < self.max_buffers:
                self.buffers += 1
                return bytearray(PIECE + PLAIN_SLACK)
        return self.free.get()

    def _decrypt(self, crypt, sealed: list, sealed_buffer: bytearray, plain: bytearray) -> list:
        """Runs on a decrypting thread; the ciphertext's buffer is free again as soon as it is decrypted."""
        try:
            return crypt.open(sealed, plain)
        finally:
            self.free.put(sealed_buffer)

    def _decryptors(self):
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(DECRYPT_THREADS, thread_name_prefix="xtrarestore-decrypt")
        return self.pool

    def _sparse(self, source: io.BufferedReader, header: ChunkHeader, member: _Member) -> None:
        if member.crypt is not None or member.decoder is not None:
            raise UnsupportedFormatError(
                f"{self.label}: sparse chunk in encoded member {header.path} at offset {header.position:#x}"
            )
        if header.payload_len + 8 * header.sparse_count > MAX_SPARSE_PAYLOAD:
            raise BackupFormatError(
                f"{self.label}: absurd sparse chunk length {header.payload_len} "
                f"({header.sparse_count} map entries) at offset {header.position:#x}"
            )
        raw = bytearray(header.end - header.data_offset)
        _read_exact(source, memoryview(raw), self.label, header)
        map_len = 8 * header.sparse_count
        self._check_crc(zlib_ng.crc32(raw), header)
        payload = memoryview(raw)[map_len:]
        offset = header.offset
        used = 0
        for skip, length in struct.iter_unpack("<II", raw[:map_len]):
            if used + length > len(payload):
                raise BackupFormatError(f"{self.label}: sparse map overruns its payload at offset {header.position:#x}")
            offset += skip
            if length:
                self._send("write", member, (offset, payload[used : used + length]))
            offset += length
            used += length
        if used != len(payload):
            raise BackupFormatError(
                f"{self.label}: sparse map does not cover its payload at offset {header.position:#x}"
            )
        member.expected = offset

    def _check_crc(self, crc: int, header: ChunkHeader) -> None:
        if crc != header.checksum:
            raise ChecksumError(
                f"{self.label}: checksum mismatch in chunk for {header.path} at offset {header.position:#x}: "
                f"stored {header.checksum:#010x}, computed {crc:#010x}"
            )

    def _report(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not force and now - self.reported < PROGRESS_INTERVAL):
            return
        self.reported = now
        self.progress(
            ExtractProgress(
                self.stream, self.position, self.total, self.writer.written, self.writer.files, now - self.started
            )
        )


def _read_exact(source: io.BufferedReader, view: memoryview, label: str, header: ChunkHeader) -> None:
    done = 0
    while done < len(view):
        count = source.readinto(view[done:])
        if not count:
            raise BackupFormatError(f"{label}: truncated chunk at offset {header.position:#x}")
        done += count


def _skip(source: io.BufferedReader, count: int) -> None:
    source.seek(count, os.SEEK_CUR)
