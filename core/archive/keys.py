"""Encryption key files, read byte for byte as XtraBackup reads `--encrypt-key-file`.

XtraBackup uses the whole file as the AES key, so its length picks AES-128,
-192 or -256. A key written with plain `echo` has a trailing newline and is
one byte too long: that gets its own message, because it is the usual mistake.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import KeyFileError
from ..files import open_regular

AES_KEY_LENGTHS = (16, 24, 32)


def check_key(key: bytes, source: str = "the key") -> bytes:
    """Return *key* if it is a valid AES key, else raise KeyFileError naming *source* (never the key)."""
    if len(key) in AES_KEY_LENGTHS:
        return key
    if len(key) - 1 in AES_KEY_LENGTHS and key.endswith(b"\n"):
        bits = (len(key) - 1) * 8
        raise KeyFileError(
            f"{source} is {len(key)} bytes and ends with a newline; a {len(key) - 1}-byte AES-{bits} key "
            "was expected — write it with printf '%s' or echo -n"
        )
    raise KeyFileError(f"{source} is {len(key)} bytes; an AES key must be 16, 24 or 32 bytes")


def load_key(path: Path | str) -> bytes:
    """Read the key file at *path*; KeyFileError if it is unreadable or not a valid AES key length."""
    path = Path(path)
    try:
        with open(open_regular(path), "rb") as handle:  # a FIFO named like the key cannot hang us
            if os.fstat(handle.fileno()).st_size > 1024:
                raise KeyFileError(f"key file {path} is larger than any AES key")
            key = handle.read(1025)
    except OSError as error:
        raise KeyFileError(f"key file {path}: {error.strerror or error}") from None
    return check_key(key, f"key file {path}")
