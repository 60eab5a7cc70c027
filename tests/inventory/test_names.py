"""Backups found by every name the tool shows: file name, shown name, DAY/NAME, time, prefix, `latest`.

The matching is pure logic over the inventory's values, so these build the
values directly (the chain rules that fill them are tested on real backups in
test_inventory.py); the CLI tests run the same names against real backups.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from xtrarestore.core.errors import ChainError
from xtrarestore.core.inventory.chains import find_restore_point, link_day
from xtrarestore.core.inventory.checkpoints import Checkpoints
from xtrarestore.core.inventory.model import Backup, Day, Inventory
from xtrarestore.core.inventory.names import find_backup, matches

ROOT = Path("/backups/mysql")


def _backup(day: str, kind: str, when: datetime, lsns: tuple[int, int], *, state: str = "ok") -> Backup:
    name = f"{kind}-{when:%m-%d-%Y_%H-%M-%S}.xbstream"
    backup = Backup(
        name,
        ROOT / day / name,
        kind,
        "stream",
        when,
        1000,
        checkpoints=Checkpoints("full-backuped" if kind == "full" else "incremental", lsns[0], lsns[1], lsns[1]),
    )
    if state != "ok":
        backup.fail(state, f"{backup.path}: {state}")
    return backup


def _inventory() -> Inventory:
    days = []
    for name, date, base in (("Wed", 18, 0), ("Thu", 19, 1000)):
        day = Day(name, ROOT / name)
        day.backups = [
            _backup(name, "full", datetime(2026, 11, date, 1), (0, base + 100)),
            _backup(name, "incremental", datetime(2026, 11, date, 3), (base + 100, base + 200)),
            _backup(name, "incremental", datetime(2026, 11, date, 5), (base + 200, base + 300)),
        ]
        days.append(day)
    days[1].backups.append(_backup("Thu", "incremental", datetime(2026, 11, 19, 7), (0, 0), state="incomplete"))
    days[1].backups[-1].checkpoints = None
    for day in days:
        link_day(day)
    return Inventory(ROOT, days)


@pytest.mark.parametrize(
    "text",
    [
        "incremental-11-19-2026_03-00-00.xbstream",
        "incremental-11-19-2026_03-00-00",
        "2026-11-19 03:00:00",
        "2026-11-19T03:00:00",
        "incremental-11-19-2026_03",
        "2026-11-19 03",
        "  incremental-11-19-2026_03-00-00  ",
    ],
)
def test_every_shown_form_finds_the_backup_with_or_without_the_day(text):
    inventory = _inventory()
    for day in ("Thu", "thu", None):
        point = find_restore_point(inventory, day, text)
        assert point.day.name == "Thu"
        assert point.target.name == "incremental-11-19-2026_03-00-00.xbstream"
        assert len(point.members) == 2


def test_day_slash_name_as_the_cli_prints_it():
    point = find_restore_point(_inventory(), None, "Wed/incremental-11-18-2026_05-00-00")
    assert (point.day.name, len(point.members)) == ("Wed", 3)


def test_latest_is_the_newest_restorable_point_of_the_day_or_the_root():
    inventory = _inventory()
    newest = find_restore_point(inventory, None, "latest")
    assert (newest.day.name, newest.target.name) == ("Thu", "incremental-11-19-2026_05-00-00.xbstream")
    assert newest is not None and newest.target.state == "ok"  # the incomplete 07:00 one is skipped
    wed = find_restore_point(inventory, "Wed", "LATEST")
    assert (wed.day.name, wed.target.name) == ("Wed", "incremental-11-18-2026_05-00-00.xbstream")


def test_ambiguous_prefix_lists_the_candidates_in_one_line():
    with pytest.raises(ChainError) as caught:
        find_restore_point(_inventory(), None, "incremental-11-1")
    message = str(caught.value)
    assert "\n" not in message and "names 5 backups" in message
    assert "Wed/incremental-11-18-2026_03-00-00" in message and "give more of the name" in message


def test_a_name_in_two_days_needs_the_day(tmp_path):
    inventory = _inventory()
    twin = _backup("Wed", "incremental", datetime(2026, 11, 19, 3), (300, 400))
    inventory.days[0].backups.append(twin)
    with pytest.raises(ChainError, match="names 2 backups: Wed/incremental-11-19-2026_03-00-00, Thu/incr"):
        find_restore_point(inventory, None, "incremental-11-19-2026_03-00-00")
    assert find_restore_point(inventory, "Thu", "incremental-11-19-2026_03-00-00").day.name == "Thu"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(ChainError) as caught:
        find_restore_point(_inventory(), "Thu", "incremental-11-19-2026_04-00-00")
    message = str(caught.value)
    assert message.startswith("/backups/mysql/Thu: no backup 'incremental-11-19-2026_04-00-00' in day Thu; closest: ")
    assert "incremental-11-19-2026_03-00-00" in message and "\n" not in message
    assert "Wed/" not in message  # only the named day's backups are offered


def test_unknown_day_suggests_the_closest():
    with pytest.raises(ChainError, match=r"no day directory 'Thur'; closest: Thu"):
        find_restore_point(_inventory(), "Thur", "latest")


def test_an_unrestorable_backup_still_says_why():
    with pytest.raises(ChainError, match=r"not restorable \(incomplete\)"):
        find_restore_point(_inventory(), None, "incremental-11-19-2026_07")


def test_latest_with_nothing_restorable_says_so():
    inventory = _inventory()
    for backup in inventory.days[0].backups:
        backup.fail("failed", "broken")
    link_day(inventory.days[0])
    with pytest.raises(ChainError, match="Wed: no restorable backup in day Wed, so nothing is 'latest'"):
        find_restore_point(inventory, "Wed", "latest")


def test_console_filter_matches_shown_forms():
    backup = _inventory().days[1].backups[1]
    assert matches(backup, "2026-11-19 03:00") and matches(backup, "incremental-11-19-2026_03-00-00")
    assert not matches(backup, "2026-11-19 05") and not matches(backup, "")
    assert find_backup(_inventory(), "Thu", "full")[1].kind == "full"
