"""Listing "directories" and objects under a key prefix."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError

from .client import storage_error
from .location import S3Location


@dataclass(frozen=True, slots=True)
class ObjectInfo:
    """One stored object: *name* is relative to the listed prefix."""

    name: str
    key: str
    size: int
    etag: str | None
    modified: datetime | None


@dataclass(slots=True)
class Listing:
    """What lies directly under a prefix (or everything below it, when listed recursively)."""

    dirs: list[str] = field(default_factory=list)
    objects: list[ObjectInfo] = field(default_factory=list)


def list_prefix(client, location: S3Location, *, recursive: bool = False) -> Listing:
    """List *location*: child prefixes as directory names, and objects, through every page."""
    listing = Listing()
    params = {"Bucket": location.bucket, "Prefix": location.prefix}
    if not recursive:
        params["Delimiter"] = "/"
    try:
        for page in client.get_paginator("list_objects_v2").paginate(**params):
            for common in page.get("CommonPrefixes", ()):
                listing.dirs.append(common["Prefix"][len(location.prefix):].rstrip("/"))
            for item in page.get("Contents", ()):
                key = item["Key"]
                if key == location.prefix:
                    continue
                etag = item.get("ETag")
                listing.objects.append(
                    ObjectInfo(key[len(location.prefix):], key, item["Size"], etag, item.get("LastModified"))
                )
    except (ClientError, BotoCoreError) as exc:
        raise storage_error(exc, location.url()) from None
    return listing
