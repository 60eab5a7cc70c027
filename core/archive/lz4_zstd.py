"""XtraBackup 8's `.lz4` and `.zst` members: concatenations of standard frames.

Every `compress_write` call upstream emits one complete frame, so a member
holds many frames back to back; each decoder starts a new frame where the
previous one ended. See shared/FORMATS.md §3.
"""

from __future__ import annotations

import lz4.frame
import zstandard

from ..errors import BackupFormatError


class _FramesDecoder:
    """Shared loop: decode a frame, carry its unused tail into the next one."""

    kind = ""

    def __init__(self, label: str) -> None:
        self._label = label
        self._frame = None
        self._consumed = 0  # member bytes fed into finished frames and the current one

    def _new_frame(self):
        raise NotImplementedError

    def feed(self, data) -> list[bytes]:
        data = bytes(data)
        out: list[bytes] = []
        while data:
            if self._frame is None:
                self._frame = self._new_frame()
            start = self._consumed
            try:
                piece = self._frame.decompress(data)
            except (RuntimeError, zstandard.ZstdError) as error:
                raise BackupFormatError(
                    f"{self._label}: corrupt {self.kind} frame near offset {start:#x} ({error})"
                ) from None
            if piece:
                out.append(piece)
            if self._frame.eof:
                rest = self._frame.unused_data or b""
                self._consumed += len(data) - len(rest)
                self._frame = None
                data = rest
            else:
                self._consumed += len(data)
                data = b""
        return out

    def finish(self) -> list[bytes]:
        if self._frame is not None:
            raise BackupFormatError(f"{self._label}: truncated {self.kind} frame at offset {self._consumed:#x}")
        return []


class Lz4Decoder(_FramesDecoder):
    kind = "lz4"

    def _new_frame(self):
        return lz4.frame.LZ4FrameDecompressor()


class ZstdDecoder(_FramesDecoder):
    kind = "zstd"

    def _new_frame(self):
        return zstandard.ZstdDecompressor().decompressobj()
