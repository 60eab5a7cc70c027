"""A backup root: a local directory or ``s3://BUCKET/PREFIX``, listed and opened alike.

Both kinds list a relative directory (child directories and files with their
sizes) and open a file as a read-only, seekable binary file that also serves
`read_range` (what `stream_tail.read_stream_tail` needs). Nothing here writes.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import BackupRootError
from .client import make_client, storage_error
from .errors import ObjectNotFoundError
from .listing import Listing, ObjectInfo, list_prefix
from .location import S3Location, S3Path, is_s3_url, parse_s3_url
from .ranged import FetchCounter, ObjectsReader, RangedReader
from .xbcloud import chunk_objects, missing_chunks, stream_order


class LocalFile(io.FileIO):
    """A local file opened read-only, with `size` and `read_range` like a `RangedReader`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "rb")
        self.size = os.fstat(self.fileno()).st_size

    def read_range(self, start: int, end: int) -> bytes:
        end = min(end, self.size)
        chunks = []
        while start < end:
            data = os.pread(self.fileno(), end - start, start)
            if not data:
                break
            chunks.append(data)
            start += len(data)
        return b"".join(chunks)


class LocalRoot:
    """A backup root on a local file system."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.url = str(path)

    def list(self, relative: str = "") -> Listing:
        """Child directories and files of *relative*; BackupRootError if it cannot be read."""
        listing = Listing()
        directory = self.path / relative
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
            for entry in entries:
                if entry.is_dir():
                    listing.dirs.append(entry.name)
                elif entry.is_file():
                    stat = entry.stat()
                    modified = datetime.fromtimestamp(stat.st_mtime, timezone.utc)
                    name = f"{relative.strip('/')}/{entry.name}".lstrip("/")
                    listing.objects.append(ObjectInfo(entry.name, name, stat.st_size, None, modified))
        except OSError as exc:
            raise BackupRootError(f"{directory}: {exc.strerror or exc}") from None
        return listing

    def open(self, info: ObjectInfo) -> LocalFile:
        return LocalFile(self.path / info.key)


class BucketRoot:
    """A backup root under a prefix of an S3 bucket; `counter` totals the bytes fetched."""

    def __init__(self, location: S3Location, client=None, max_connections: int = 16) -> None:
        self.location = location
        self.url = location.url()
        self.client = client or make_client(max_connections)
        self.counter = FetchCounter()

    def list_all(self) -> Listing:
        """Every object under the prefix (names relative to it), through every page."""
        return list_prefix(self.client, self.location, recursive=True)

    def read(self, info: ObjectInfo) -> bytes:
        """The whole (small) object *info*; it must not have changed since it was listed."""
        with self.open(info, depth=1) as reader:
            return reader.read_range(0, info.size)

    def list(self, relative: str = "") -> Listing:
        """Child "directories" and objects under *relative* (StorageError if the bucket cannot be listed)."""
        inner = relative.strip("/")
        below = S3Location(self.location.bucket, self.location.key(inner + "/") if inner else self.location.prefix)
        listing = list_prefix(self.client, below)
        base = below.prefix[len(self.location.prefix):]
        listing.objects = [
            ObjectInfo(item.name, base + item.name, item.size, item.etag, item.modified) for item in listing.objects
        ]
        return listing

    def stat(self, relative: str) -> ObjectInfo:
        """The object at *relative*, as a listing would describe it."""
        key = self.location.key(relative)
        try:
            head = self.client.head_object(Bucket=self.location.bucket, Key=key)
        except (ClientError, BotoCoreError) as exc:
            raise storage_error(exc, self.location.url(key)) from None
        return ObjectInfo(relative.rsplit("/", 1)[-1], relative, head["ContentLength"], head.get("ETag"), head.get("LastModified"))

    def open(self, info: ObjectInfo, **options) -> RangedReader:
        """A seekable reader of *info* that fails if the object changed since it was listed."""
        key = self.location.key(info.key)
        return RangedReader(
            self.client, self.location.bucket, key, info.size, etag=info.etag, counter=self.counter, **options
        )


def open_root(spec: str | Path) -> LocalRoot | BucketRoot:
    """The backup root named by *spec*: ``s3://bucket/prefix`` or a local path."""
    if isinstance(spec, str) and is_s3_url(spec):
        try:
            return BucketRoot(parse_s3_url(spec))
        except ValueError as exc:
            raise BackupRootError(str(exc)) from None
    return LocalRoot(Path(spec))


def open_stream(spec: str | Path, *, client=None, counter: FetchCounter | None = None, **options):
    """A read-only, seekable source of the xbstream *spec* names, with `name`, `size` and `read_range`.

    A local path opens the file; ``s3://bucket/key`` opens the object with
    ranged reads; ``s3://bucket/NAME`` where no such object exists but
    ``NAME/`` holds `xbcloud put` chunk objects opens them as one stream.
    OSError for a local file that cannot be opened; StorageError for a bucket.
    """
    if not (isinstance(spec, S3Path) or is_s3_url(str(spec))):
        return LocalFile(Path(spec))
    try:
        location = parse_s3_url(str(spec).rstrip("/"))
    except ValueError as exc:
        raise BackupRootError(str(exc)) from None
    key = location.prefix.rstrip("/")
    client = client or make_client()
    counter = counter or FetchCounter()
    if not str(spec).endswith("/"):
        try:
            head = client.head_object(Bucket=location.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise storage_error(exc, location.url(key)) from None
        except BotoCoreError as exc:
            raise storage_error(exc, location.url(key)) from None
        else:
            return RangedReader(client, location.bucket, key, head["ContentLength"], etag=head.get("ETag"),
                                counter=counter, **options)
    members = chunk_objects(list_prefix(client, S3Location(location.bucket, key + "/"), recursive=True).objects)
    if not members:
        raise ObjectNotFoundError(f"{location.url(key)}: object not found (deleted since it was listed?)")
    hole = missing_chunks(members)
    if hole is not None:
        raise ObjectNotFoundError(f"{location.url(key)}/{hole}: xbcloud chunk object missing")
    options.setdefault("depth", 8)
    return ObjectsReader(client, location.bucket, stream_order(members), location.url(key), counter=counter,
                         **options)
