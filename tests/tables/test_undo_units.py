"""Undo this, without a server: which events flashback may take, what each way is estimated to cost."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from xtrarestore.core.tables.flashback import _word
from xtrarestore.core.tables.undo import weigh_undo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tui"))  # the console tests' helpers
from tui_support import fixed_timeline


def test_a_table_name_counts_as_a_word_not_as_part_of_a_longer_name():
    pattern = _word(b"items")
    assert pattern.search(b"drop table `shop`.`items`")
    assert pattern.search(b"update items set a=1")
    assert not pattern.search(b"create table `shop`.`items__restored_20261201_1` like `items_x`")
    assert not pattern.search(b"insert into old_items values (1)")
    assert not pattern.search(b"create table `shop`.`items as-of prod's` (id int)")
    assert pattern.search(b"rename table `items` to `x`")


def test_ddl_is_never_offered_flashback_and_recovery_is_estimated_from_what_it_reads():
    timeline = fixed_timeline()
    drop = timeline.notable[2]
    point = SimpleNamespace(members=[SimpleNamespace(size=400 << 20, compression=None)])
    choice = weigh_undo(timeline, drop, [], point, table_size=(64 << 20, 5000))
    assert choice.flashback is None and "DROP" in choice.refused
    assert choice.until == f"before:{drop.gtid}"
    replayed = sum(t.end - t.start for t in timeline.transactions if t.seq < drop.transaction.seq)
    assert choice.recovery.bytes == (400 << 20) + replayed + (64 << 20)
    assert choice.recovery.rows == 5000
    smaller = weigh_undo(timeline, drop, [], SimpleNamespace(members=[SimpleNamespace(size=1, compression=None)]))
    assert smaller.recovery.seconds < choice.recovery.seconds
