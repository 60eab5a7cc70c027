"""The downtime window, measured from the journal: from the stop until the server answers again.

An operator's real recovery time is how long production did not answer, not
how long the whole restore ran: extract and prepare happen while the old
server still serves. The window opens when a stop that succeeded began and
closes when a start (of the restore, a resume or a rollback) succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Downtime:
    """*seconds* down, or since *began* when the server has not answered yet (*ongoing*)."""

    began: str
    seconds: float | None
    ongoing: bool

    def line(self) -> str:
        if self.ongoing:
            return f"production down since {self.began} (stop → answering): not answering yet"
        return f"production down (stop → answering): {self.seconds:.1f}s"


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def measure(records: list[dict]) -> Downtime | None:
    """The downtime in *records* (a journal), or None if the server was never stopped."""
    began = None
    opened: dict[str, str] = {}
    for record in records:
        event, step = record.get("event"), record.get("step")
        if event == "start" and step in ("stop", "start"):
            opened[step] = record["time"]
        elif event == "end" and record.get("status") == "ok" and step in opened:
            if step == "stop" and began is None:
                began = opened[step]
            elif step == "start" and began is not None:
                return Downtime(began, (_at(record["time"]) - _at(began)).total_seconds(), False)
    return None if began is None else Downtime(began, None, True)


def downtime_record(records: list[dict]) -> dict | None:
    """The record `{"event": "downtime", ...}` to journal once a restore or rollback ends, or None."""
    found = measure(records)
    if found is None or found.ongoing:
        return None
    return {"event": "downtime", "began": found.began, "seconds": round(found.seconds, 3)}
