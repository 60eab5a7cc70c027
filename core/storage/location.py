"""``s3://BUCKET/PREFIX`` backup roots."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import BackupRootError

SCHEME = "s3://"


@dataclass(frozen=True, slots=True)
class S3Location:
    """A bucket and a key prefix; the prefix is empty or ends with ``/``."""

    bucket: str
    prefix: str = ""

    def key(self, relative: str) -> str:
        """The full key of *relative* (a ``/``-separated path under the prefix)."""
        return self.prefix + relative.lstrip("/")

    def url(self, key: str | None = None) -> str:
        """``s3://bucket/key`` for messages; the root itself without *key*."""
        return f"{SCHEME}{self.bucket}/{self.prefix if key is None else key}"


def is_s3_url(spec: str) -> bool:
    return spec.startswith(SCHEME)


def parse_s3_url(spec: str) -> S3Location:
    """Split ``s3://bucket/some/prefix`` into bucket and ``some/prefix/``; ValueError if malformed."""
    if not is_s3_url(spec):
        raise ValueError(f"{spec}: not an s3:// URL")
    bucket, _, prefix = spec[len(SCHEME):].partition("/")
    if not bucket or any(c in bucket for c in "?#@:"):
        raise ValueError(f"{spec}: expected s3://BUCKET/PREFIX")
    prefix = "/".join(part for part in prefix.split("/") if part)
    if any(part in (".", "..") for part in prefix.split("/")):
        raise ValueError(f"{spec}: '.' and '..' are not allowed in the prefix")
    return S3Location(bucket, prefix + "/" if prefix else "")


class S3Path(PurePosixPath):
    """An object or prefix as a path (``S3Path("s3:", bucket, key)``), printed as ``s3://bucket/key``.

    Backups found in a bucket carry one as their `path`, so names, parents and
    the plan's command lines (``str(path)``) work as for local files, while
    local file operations on it fail instead of touching a look-alike path.
    """

    def __str__(self) -> str:
        return SCHEME + "/".join(self.parts[1:])

    def __repr__(self) -> str:
        return f"S3Path({str(self)!r})"

    @property
    def bucket(self) -> str:
        return self.parts[1]

    @property
    def key(self) -> str:
        return "/".join(self.parts[2:])


def s3_path(location: S3Location, relative: str = "") -> S3Path:
    """The path of *relative* under *location*."""
    return S3Path("s3:", location.bucket, *filter(None, location.key(relative).split("/")))


def root_path(spec: str | PurePosixPath) -> PurePosixPath:
    """A backup root or stream from the command line or settings: an `S3Path` for ``s3://…``, else a
    local `Path`. BackupRootError (one line) for a malformed ``s3://`` URL.
    """
    if isinstance(spec, S3Path):
        return spec
    text = str(spec)
    if is_s3_url(text):
        try:
            return s3_path(parse_s3_url(text))
        except ValueError as exc:
            raise BackupRootError(str(exc)) from None
    return Path(text)


def is_s3(path) -> bool:
    return isinstance(path, S3Path) or (isinstance(path, str) and is_s3_url(path))
