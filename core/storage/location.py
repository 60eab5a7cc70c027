"""``s3://BUCKET/PREFIX`` backup roots."""

from __future__ import annotations

from dataclasses import dataclass

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
