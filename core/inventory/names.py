"""Find a backup by any name the tool shows for it.

The CLI table shows `full-11-19-2026_03-00-00` (no `.xbstream`), the console
shows `2026-11-19 03:00:00`, a report shows `Thu/incremental-….xbstream`. An
operator types back whichever they saw, so every place that takes a backup
(`--upto`, `--day`, drills, the console's filter) resolves names here: the file
name, the name without `.xbstream`, `DAY/NAME`, the timestamp as shown (or in
ISO form), `latest`, or an unambiguous prefix of any of those. A name that
matches nothing or several backups is refused in one line naming the closest
candidates, so the next try is a copy and paste.
"""

from __future__ import annotations

import difflib
from datetime import datetime

from ..errors import ChainError
from ..shown import shown
from .model import Backup, Day, Inventory, RestorePoint

LATEST = "latest"
STREAM = ".xbstream"
SHOWN_TIME = "%Y-%m-%d %H:%M:%S"
MAX_CANDIDATES = 4


def shown_name(backup: Backup) -> str:
    """The name tables show: the file name without `.xbstream` (`full-….incomplete` for an interrupted one),
    control characters made visible (`core.shown`), so what is shown can be typed back."""
    return shown(backup.name.replace(STREAM + ".", ".").removesuffix(STREAM))


def name_forms(backup: Backup) -> list[str]:
    """Every string the tool displays for *backup*; each one (or a prefix of it) finds it again."""
    forms = [backup.name, shown_name(backup)]
    if backup.timestamp is not None:
        forms += [backup.timestamp.strftime(SHOWN_TIME), backup.timestamp.isoformat()]
    return list(dict.fromkeys(forms))


def matches(backup: Backup, text: str) -> bool:
    """Whether *text* names *backup* exactly or as a prefix of one of its forms (the console's filter)."""
    text = text.strip()
    return bool(text) and any(form.startswith(text) for form in name_forms(backup))


def find_day(inventory: Inventory, text: str) -> Day:
    """The day directory named *text* (exactly, ignoring case, or by a unique prefix)."""
    text = text.strip().strip("/")
    for rule in (
        lambda d: d.name == text,
        lambda d: d.name.lower() == text.lower(),
        lambda d: d.name.lower().startswith(text.lower()),
    ):
        found = [day for day in inventory.days if rule(day)]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise ChainError(f"{inventory.root}: day {text!r} is ambiguous: {_listing(d.name for d in found)}")
    names = [day.name for day in inventory.days]
    close = difflib.get_close_matches(text, names, n=MAX_CANDIDATES, cutoff=0.3) or names[-MAX_CANDIDATES:]
    hint = f"; closest: {_listing(close)}" if close else "; it holds no day directories"
    raise ChainError(f"{inventory.root}: no day directory {text!r}{hint}")


def find_backup(inventory: Inventory, day: str | None, text: str) -> tuple[Day, Backup | None]:
    """The day and backup *text* names, within *day* if given; the backup is None for `latest`.

    Raises ChainError (one line, with the closest candidates) when *text*
    names nothing or more than one backup.
    """
    text = text.strip()
    if day is None and "/" in text and not text.startswith("/"):
        head, tail = text.split("/", 1)
        if any(d.name.lower().startswith(head.lower()) for d in inventory.days):
            day, text = head, tail
    days = [find_day(inventory, day)] if day is not None else list(inventory.days)
    where, within = (str(days[0].path), f" in day {days[0].name}") if day is not None else (str(inventory.root), "")
    if text.lower() == LATEST:
        point = newest_point(days)
        if point is None:
            raise ChainError(f"{where}: no restorable backup{within}, so nothing is 'latest'")
        return point.day, None
    candidates = [(d, b) for d in days for b in d.backups]
    exact = [(d, b) for d, b in candidates if text in name_forms(b)]
    found = exact or [(d, b) for d, b in candidates if matches(b, text)]
    if len(found) > 1:
        streams = [(d, b) for d, b in found if not b.copy_of]  # an extracted copy defers to its stream
        found = streams or found
    if len(found) == 1:
        return found[0]
    label = (lambda d, b: shown_name(b)) if day is not None else (lambda d, b: f"{d.name}/{shown_name(b)}")
    if found:
        raise ChainError(
            f"{where}: {text!r} names {len(found)} backups{within}: "
            f"{_listing(label(d, b) for d, b in found)}; give more of the name"
        )
    labels = {label(d, b): b for d, b in candidates if not b.copy_of}
    close = _closest(text, labels)
    hint = f"; closest: {_listing(close)}" if close else "; it holds no backups"
    raise ChainError(f"{where}: no backup {text!r}{within}{hint}")


def _closest(text: str, labels: dict[str, Backup]) -> list[str]:
    """Labels most like *text*, comparing against every form of each backup."""
    scored = []
    for label, backup in labels.items():
        forms = [label, *name_forms(backup)]
        score = max(difflib.SequenceMatcher(None, text.lower(), form.lower()).ratio() for form in forms)
        scored.append((score, backup.timestamp or datetime.min, label))
    scored.sort(key=lambda item: (item[0], item[1]), reverse=True)
    return [label for _score, _when, label in scored[:MAX_CANDIDATES]]


def newest_point(days: list[Day]) -> RestorePoint | None:
    """The newest restorable point of *days* (the inventory's own rule)."""
    return Inventory(days[0].path.parent if days else None, days).newest_restore_point()


def _listing(names) -> str:
    names = list(names)
    shown = ", ".join(names[:MAX_CANDIDATES])
    return shown + (f" (and {len(names) - MAX_CANDIDATES} more)" if len(names) > MAX_CANDIDATES else "")
