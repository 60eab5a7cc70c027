"""The xbcrypt chunk format: decryption (versions 1-3) and encryption (version 3).

Each chunk is ``magic | reserved u64 | original_size u64 | encrypted_size u64 |
crc32 u32 | [iv_size u64 | iv] | data`` (little-endian; no IV fields in
version 1). The CRC covers the stored ciphertext. Version 3 encrypts
``plaintext | SHA-256(plaintext)`` with AES-CTR starting at the chunk's IV, so
a wrong key is told apart from corrupt data: the CRC passes, the hash does
not. Versions 1 and 2 used an all-zero initial counter and carry no hash.
See shared/FORMATS.md §2 and upstream xbcrypt_read.cc / xbcrypt_common.cc.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Callable
from typing import NamedTuple

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from zlib_ng import zlib_ng  # zlib's CRC-32 and Adler-32, with SIMD: ~4x faster than Debian's zlib

from ..errors import BackupFormatError, ChecksumError, KeyFileError, WrongKeyError
from .keys import check_key
from .records import Framed

MAGICS = {b"XBCRYP01": 1, b"XBCRYP02": 2, b"XBCRYP03": 3}
HASH_LEN = 32
IV_LEN = 16
DEFAULT_CHUNK = 1 << 16
MAX_CHUNK = 64 << 20  # far above any real chunk (default 64 KiB); bounds memory on corrupt input
ZERO_COUNTER = bytes(IV_LEN)

_HEAD = struct.Struct("<8sQQQI")  # magic, reserved, original size, encrypted size, crc32
_IV_SIZE = struct.Struct("<Q")


class SealedChunk(NamedTuple):
    """One chunk as stored: where it starts in the member, its version, IV, CRC and ciphertext."""

    offset: int
    version: int
    iv: bytes
    checksum: int
    data: memoryview | bytes


class XbcryptDecoder(Framed):
    """Incremental decryptor: feed() stored bytes, get plaintext pieces; finish() checks nothing is left over.

    feed() is split() then open(): split() only frames chunks (cheap, in
    order), open() checks and decrypts them and may run on another thread —
    cryptography and hashlib release the GIL. *label* names the member in
    error messages; offsets are within the member.
    """

    def __init__(self, key: bytes | None, label: str) -> None:
        if key is None:
            raise KeyFileError(f"{label} is encrypted: give the key file (--key-file)")
        super().__init__(label)
        self._aes = algorithms.AES(check_key(key))

    def feed(self, data) -> list:
        return self.open(self.split(data))

    def split(self, data) -> list[SealedChunk]:
        return list(self._records(data))

    def finish(self) -> list:
        if self.pending:
            raise BackupFormatError(f"{self._label}: truncated xbcrypt chunk at offset {self._offset:#x}")
        return []

    def _step(self, view: memoryview, start: int, out: list) -> int | None:
        if len(view) - start < _HEAD.size:
            return None
        where = self._offset + start
        magic, _reserved, original, encrypted, checksum = _HEAD.unpack_from(view, start)
        version = MAGICS.get(bytes(magic))
        if version is None:
            raise BackupFormatError(f"{self._label}: not an xbcrypt chunk at offset {where:#x}")
        if encrypted > MAX_CHUNK or original > MAX_CHUNK:
            raise BackupFormatError(f"{self._label}: absurd xbcrypt chunk length {encrypted} at offset {where:#x}")
        if version == 3 and encrypted < HASH_LEN:
            raise BackupFormatError(f"{self._label}: xbcrypt chunk too short for its hash at offset {where:#x}")
        cursor = start + _HEAD.size
        iv = ZERO_COUNTER
        if version > 1:
            if len(view) - cursor < _IV_SIZE.size:
                return None
            (iv_len,) = _IV_SIZE.unpack_from(view, cursor)
            cursor += _IV_SIZE.size
            if iv_len != IV_LEN and not (version == 2 and iv_len <= 64):
                raise BackupFormatError(f"{self._label}: bad xbcrypt IV length {iv_len} at offset {where:#x}")
            if len(view) - cursor < iv_len:
                return None
            if version == 3:
                iv = bytes(view[cursor : cursor + iv_len])
            cursor += iv_len
        if len(view) - cursor < encrypted:
            return None
        out.append(SealedChunk(where, version, iv, checksum, view[cursor : cursor + encrypted]))
        return cursor + encrypted

    def open(self, chunks: list[SealedChunk], into: bytearray | None = None) -> list:
        """Check and decrypt framed chunks into one contiguous plaintext (ChecksumError, WrongKeyError).

        Each chunk is decrypted after the previous one's plaintext, its
        trailing hash (version 3) overwritten by the next chunk once checked.
        The plaintext goes into *into* when it is large enough (a reused buffer).
        """
        if not chunks:
            return []
        total = sum(len(chunk.data) - (HASH_LEN if chunk.version == 3 else 0) for chunk in chunks)
        if into is None or len(into) < total + HASH_LEN + IV_LEN:
            into = bytearray(total + HASH_LEN + IV_LEN)
        view = memoryview(into)
        position = 0
        for offset, version, iv, checksum, data in chunks:
            if zlib_ng.crc32(data) != checksum:
                raise ChecksumError(f"{self._label}: xbcrypt chunk checksum mismatch at offset {offset:#x}")
            size = len(data)
            Cipher(self._aes, modes.CTR(iv)).decryptor().update_into(data, view[position:])
            if version == 3:
                size -= HASH_LEN
                stored_hash = bytes(view[position + size : position + size + HASH_LEN])
                if hashlib.sha256(view[position : position + size]).digest() != stored_hash:
                    raise WrongKeyError(
                        f"{self._label}: wrong key — the chunk at offset {offset:#x} decrypts "
                        "but fails its SHA-256 check"
                    )
            position += size
        return [view[:total]]


def encrypt_chunk(plain: bytes, key: bytes, iv: bytes) -> bytes:
    """One version-3 chunk of *plain* under *key*, with AES-CTR starting at *iv*."""
    digest = hashlib.sha256(plain).digest()
    data = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(plain + digest)
    header = _HEAD.pack(b"XBCRYP03", 0, len(data), len(data), zlib_ng.crc32(data))
    return header + _IV_SIZE.pack(len(iv)) + iv + data


class XbcryptEncoder:
    """Incremental version-3 encryptor, splitting input into chunks of *chunk_size* plaintext bytes."""

    def __init__(
        self, key: bytes, chunk_size: int = DEFAULT_CHUNK, new_iv: Callable[[int], bytes] = os.urandom
    ) -> None:
        self._key = check_key(key)
        self._chunk_size = chunk_size
        self._new_iv = new_iv
        self._pending = bytearray()

    def feed(self, data) -> list[bytes]:
        self._pending += data
        out = []
        while len(self._pending) >= self._chunk_size:
            out.append(encrypt_chunk(bytes(self._pending[: self._chunk_size]), self._key, self._new_iv(IV_LEN)))
            del self._pending[: self._chunk_size]
        return out

    def finish(self) -> list[bytes]:
        if not self._pending:
            return []
        out = [encrypt_chunk(bytes(self._pending), self._key, self._new_iv(IV_LEN))]
        self._pending.clear()
        return out


def encrypt(data: bytes, key: bytes, chunk_size: int = DEFAULT_CHUNK) -> bytes:
    """*data* as a whole xbcrypt (version 3) file."""
    encoder = XbcryptEncoder(key, chunk_size)
    return b"".join(encoder.feed(data) + encoder.finish())
