"""Incremental parsing of self-delimiting records (xbcrypt chunks, qpress blocks) without copying.

Input arrives in pieces of any size. Records that lie entirely inside a piece
are parsed in place; only a record cut by a piece boundary is assembled in a
small carry-over buffer. A buffer that records may still point into is never
modified afterwards, only replaced. Records are produced lazily, so a caller
writing them out as they come never holds more than one piece's worth
(highly compressible qpress data would otherwise expand a 2 MiB piece into
well over 100 MiB of output at once).
"""

from __future__ import annotations

from collections.abc import Iterator

CARRY_STEP = 1 << 17  # grow the carry-over by at least this much per round


class Framed:
    """Subclasses implement `_step(view, start, out) -> end | None` (None: the record at *start* is incomplete)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._carry = bytearray()
        self._offset = 0  # member offset of the first byte not yet parsed
        self._parsed = 0

    def _parse(self, data) -> Iterator:
        """Records of *data* from its start; afterwards `_parsed` is where the incomplete tail begins."""
        view = memoryview(data)
        position = 0
        out: list = []
        while (end := self._step(view, position, out)) is not None:
            position = end
            yield from out
            out.clear()
        self._parsed = position

    def _records(self, data) -> Iterator:
        """Every complete record of the carry-over plus *data*; the incomplete tail is kept for next time."""
        data = memoryview(data)
        start = 0
        while self._carry and start < len(data):
            old = len(self._carry)
            more = data[start : start + max(old, CARRY_STEP)]
            carry = self._carry + more
            start += len(more)
            yield from self._parse(carry)
            used = self._parsed
            self._offset += used
            if used >= old:  # the carried record is complete: go on parsing *data* in place
                start -= len(carry) - used
                self._carry = bytearray()
            else:
                self._carry = carry[used:]
        if not self._carry and start < len(data):
            yield from self._parse(data[start:])
            self._offset += self._parsed
            self._carry = bytearray(data[start + self._parsed :])

    @property
    def pending(self) -> int:
        """Bytes received but not yet parsed into a record."""
        return len(self._carry)
