"""Rewrite an xbstream into XtraBackup's `--encrypt` layout.

mariabackup cannot encrypt, yet operators restore Percona backups taken with
`--encrypt`; tests and the demo need such streams. Every member `name` becomes
`name.xbcrypt` (`x.qp` becomes `x.qp.xbcrypt`, as compression runs before
encryption upstream) holding version-3 xbcrypt chunks.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

from ..errors import BackupFormatError
from .xbcrypt import DEFAULT_CHUNK, XbcryptEncoder
from .xbstream import TYPE_PAYLOAD, TYPE_SPARSE, chunk_bytes, eof_bytes, read_header


def encrypt_stream(src: Path, dst: Path, key: bytes, chunk_size: int = DEFAULT_CHUNK) -> Path:
    """Write *src* (plain or compressed xbstream) to *dst* with every member encrypted under *key*.

    The output appears under its final name only when complete.
    """
    src, dst = Path(src), Path(dst)
    partial = dst.with_name(dst.name + ".partial")
    members: dict[str, tuple[XbcryptEncoder, list[int]]] = {}
    try:
        with open(src, "rb") as stream, open(partial, "wb") as out:
            size = os.fstat(stream.fileno()).st_size
            position = 0
            while (header := read_header(stream, str(src), position)) is not None:
                if header.end > size:
                    raise BackupFormatError(f"{src}: truncated payload in chunk at offset {header.position:#x}")
                name = header.path + ".xbcrypt"
                encoder, written = members.setdefault(header.path, (XbcryptEncoder(key, chunk_size), [0]))
                if header.is_eof:
                    _emit(out, name, encoder.finish(), written)
                    out.write(eof_bytes(name))
                    del members[header.path]
                elif header.type in (TYPE_PAYLOAD, TYPE_SPARSE):
                    _emit(out, name, encoder.feed(_dense_payload(stream, header, str(src))), written)
                position = header.end
                stream.seek(position)
            if members:
                raise BackupFormatError(f"{src}: stream ends inside member {next(iter(members))}")
            out.flush()
            os.fsync(out.fileno())
        partial.rename(dst)
    finally:
        partial.unlink(missing_ok=True)
    return dst


def _emit(out, name: str, chunks: list[bytes], written: list[int]) -> None:
    if not chunks:
        return
    payload = b"".join(chunks)
    out.write(chunk_bytes(name, payload, written[0]))
    written[0] += len(payload)


def _dense_payload(stream, header, name: str) -> bytes:
    """The chunk's bytes with a sparse chunk's holes filled in, CRC-checked."""
    stream.seek(header.data_offset)
    raw = stream.read(header.end - header.data_offset)
    if zlib.crc32(raw) != header.checksum:
        raise BackupFormatError(f"{name}: checksum mismatch in chunk at offset {header.position:#x}")
    if header.type != TYPE_SPARSE:
        return raw
    map_len = 8 * header.sparse_count
    payload = memoryview(raw)[map_len:]
    dense = bytearray()
    for entry in range(header.sparse_count):
        skip = int.from_bytes(raw[8 * entry : 8 * entry + 4], "little")
        length = int.from_bytes(raw[8 * entry + 4 : 8 * entry + 8], "little")
        dense += bytes(skip)
        dense += payload[:length]
        payload = payload[length:]
    return bytes(dense)
