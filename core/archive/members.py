"""Decoding one archive member by its name: `.xbcrypt` then `.qp` / `.lz4` / `.zst`.

The suffixes say how a member was written (compression first, then
encryption, hence `name.qp.xbcrypt`); decoding peels them off in reverse.
`member_decoder` gives an incremental decoder for the one-pass extractor;
`decode_member` is the whole-member convenience for small files.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from itertools import chain

from ..errors import BackupFormatError

ENCRYPTED = ".xbcrypt"
# suffix -> (module, decoder class); imported on first use, so plain extraction starts fast
COMPRESSORS = {".qp": ("qpress", "QpressDecoder"), ".lz4": ("lz4_zstd", "Lz4Decoder"), ".zst": ("lz4_zstd", "ZstdDecoder")}


def _decoder_class(module: str, name: str):
    return getattr(importlib.import_module(f"{__package__}.{module}"), name)


class Pipeline:
    """Decoders applied in order, lazily: consume what feed() returns before feeding more."""

    def __init__(self, stages: list) -> None:
        self.stages = stages

    def feed(self, data) -> Iterator:
        pieces: Iterator = iter((data,))
        for stage in self.stages:
            pieces = _through(stage, pieces)
        return pieces

    def finish(self) -> Iterator:
        pieces: Iterator = iter(())
        for stage in self.stages:
            pieces = _through(stage, pieces, finish=True)
        return pieces


def _through(stage, pieces: Iterator, finish: bool = False) -> Iterator:
    for piece in pieces:
        yield from stage.feed(piece)
    if finish:
        yield from stage.finish()


def final_name(name: str) -> str:
    """The plain file name *name* decodes to (unchanged for a plain member)."""
    if name.endswith(ENCRYPTED):
        name = name[: -len(ENCRYPTED)]
    for suffix in COMPRESSORS:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def member_decoder(name: str, key: bytes | None, label: str | None = None) -> tuple[str, Pipeline | None]:
    """(plain name, incremental decoder or None for a plain member); KeyFileError if a key is needed but None."""
    label = label or name
    stages: list = []
    stem = name
    if stem.endswith(ENCRYPTED):
        stem = stem[: -len(ENCRYPTED)]
        stages.append(_decoder_class("xbcrypt", "XbcryptDecoder")(key, label))
    for suffix, where in COMPRESSORS.items():
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            stages.append(_decoder_class(*where)(label))
            break
    if not stem or stem.endswith("/"):
        raise BackupFormatError(f"{label}: member name has nothing left after its suffixes")
    return stem, (Pipeline(stages) if stages else None)


def decode_member(name: str, data: bytes, key: bytes | None) -> tuple[str, bytes]:
    """Decode a whole member held in memory: (plain name, plain bytes).

    Raises KeyFileError (encrypted but no usable key), WrongKeyError, or
    BackupFormatError / ChecksumError naming the member and offset.
    """
    plain, pipeline = member_decoder(name, key)
    if pipeline is None:
        return plain, bytes(data)
    return plain, b"".join(chain(pipeline.feed(data), pipeline.finish()))
