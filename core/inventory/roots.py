"""The inventory of any backup root: a local directory (`scan.scan`) or ``s3://bucket/prefix`` (`bucket`).

Everything that takes `--root` calls `scan_root`, so a bucket works wherever a directory does.
"""

from __future__ import annotations

from pathlib import PurePath

from ..storage.location import is_s3
from .bucket import scan_bucket
from .model import Inventory
from .scan import scan


def scan_root(root: str | PurePath, key: bytes | None = None) -> Inventory:
    """Inventory *root*; see `scan.scan` (a directory) and `bucket.scan_bucket` (a bucket prefix)."""
    if is_s3(root):
        return scan_bucket(root, key)
    return scan(root, key=key)
