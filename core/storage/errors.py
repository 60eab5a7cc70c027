"""Typed errors for reading backups from object storage.

Messages name the object (``s3://bucket/key``) and, for reads, the offset.
They are built from error codes only: never from the server's or botocore's
text, which may carry the endpoint or a key id.
"""

from __future__ import annotations

from ..errors import XtraRestoreError


class StorageError(XtraRestoreError):
    """An object store could not serve what was asked."""


class ObjectNotFoundError(StorageError):
    """The object does not exist (deleted since it was listed?)."""


class BucketNotFoundError(StorageError):
    """The bucket does not exist."""


class AccessDeniedError(StorageError):
    """The credentials were refused or lack permission."""


class EndpointError(StorageError):
    """The S3 endpoint cannot be reached."""


class TruncatedObjectError(StorageError):
    """The object is shorter than when it was listed."""


class ObjectChangedError(StorageError):
    """The object was replaced since it was listed (its ETag changed)."""
