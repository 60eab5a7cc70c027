"""Incremental parsing of self-delimiting records (xbcrypt chunks, qpress blocks) without copying.

Input arrives in pieces of any size. Records that lie entirely inside a piece
are parsed in place; only a record cut by a piece boundary is assembled in a
small carry-over buffer. A buffer that records may still point into is never
modified afterwards, only replaced.
"""

from __future__ import annotations

CARRY_STEP = 1 << 17  # grow the carry-over by at least this much per round


class Framed:
    """Subclasses implement `_step(view, start, out) -> end | None` (None: the record at *start* is incomplete)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._carry = bytearray()
        self._offset = 0  # member offset of the first byte not yet parsed

    def _parse(self, data, out: list) -> int:
        view = memoryview(data)
        position = 0
        while (end := self._step(view, position, out)) is not None:
            position = end
        return position

    def _records(self, data) -> list:
        """Parse every complete record of the carry-over plus *data*; keep the incomplete tail."""
        out: list = []
        data = memoryview(data)
        start = 0
        while self._carry and start < len(data):
            old = len(self._carry)
            more = data[start : start + max(old, CARRY_STEP)]
            carry = self._carry + more
            start += len(more)
            used = self._parse(carry, out)
            self._offset += used
            if used >= old:  # the carried record is complete: go on parsing *data* in place
                start -= len(carry) - used
                self._carry = bytearray()
            else:
                self._carry = carry[used:]
        if not self._carry and start < len(data):
            used = self._parse(data[start:], out)
            self._offset += used
            self._carry = bytearray(data[start + used :])
        return out

    @property
    def pending(self) -> int:
        """Bytes received but not yet parsed into a record."""
        return len(self._carry)
