"""Pilot tests of the console's shared parts: log pane, help, palette, filter, folding."""

from __future__ import annotations

import asyncio
import shutil
import threading

import pytest
from textual.app import App, ComposeResult

from tui_support import NOW, build_tree, new_server, screen_text, var_tmp_dir, wait_for
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
from xtrarestore.tui.screens.help import HelpScreen
from xtrarestore.tui.screens.inventory import InventoryScreen
from xtrarestore.tui.screens.restore_point import RestorePointScreen
from xtrarestore.tui.widgets.log_pane import LogBook, LogPane, clean_line


@pytest.fixture(scope="module")
def root():
    server = new_server()
    work = var_tmp_dir("xtrarestore-tui-console-")
    try:
        build_tree(server, work / "backups")
    finally:
        server.destroy()
    yield work / "backups"
    shutil.rmtree(work, ignore_errors=True)


def console(root) -> XtraRestoreApp:
    return XtraRestoreApp(ConsoleSettings(root=root, now=lambda: NOW, host="db1", reports_dir=root.parent / "r"))


async def scanned(pilot) -> InventoryScreen:
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "inventory", None) is not None, timeout=30)
    return pilot.app.screen


# -- log pane ------------------------------------------------------------------------


def test_clean_line_keeps_the_last_carriage_return_segment_without_escapes():
    assert clean_line("copying 10%\rcopying 55%\r") == "copying 55%"
    assert clean_line("\x1b[1;31merror\x1b[0m: disk\tfull\x07") == "error: disk full\\x07"  # colours go, BEL shows


def test_logbook_takes_lines_from_threads_in_order_and_tracks_width():
    book = LogBook()
    threads = [threading.Thread(target=lambda n=n: [book.post(f"s{n}", f"{n}:{i}") for i in range(5000)])
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert book.drain() == {"s0", "s1", "s2", "s3"}
    for n in range(4):
        assert book.log(f"s{n}").lines == [f"{n}:{i}" for i in range(5000)]
        assert book.log(f"s{n}").width == len(f"{n}:4999")


class PaneApp(App):
    def compose(self) -> ComposeResult:
        yield LogPane(id="log")


def test_log_pane_follows_the_end_until_scrolled_back_with_200k_lines():
    asyncio.run(_log_pane_follows())


async def _log_pane_follows():
    app = PaneApp()
    book = LogBook()
    async with app.run_test(size=(60, 10)) as pilot:
        pane = app.query_one(LogPane)
        pane.show(book.log("step"))
        pane.focus()
        for i in range(200_000):
            book.post("step", f"line {i}")
        book.drain()
        pane.update()
        await pilot.pause()
        assert pane.line_count == 200_000
        assert "line 199999" in screen_text(app)
        await pilot.press("home")
        await wait_for(pilot, lambda: "line 0" in screen_text(app), timeout=10)
        assert "line 199999" not in screen_text(app)
        book.post("step", "line 200000")
        book.drain()
        pane.update()
        await pilot.pause()
        assert "line 0" in screen_text(app), "reading back must not be yanked to the end"
        await pilot.press("end")
        await wait_for(pilot, lambda: "line 200000" in screen_text(app), timeout=10)


# -- help, palette, filter, folding ----------------------------------------------------


def test_help_lists_the_screens_keys_and_closes_without_side_effects(root):
    asyncio.run(_help(root))


async def _help(root):
    app = console(root)
    async with app.run_test(size=(100, 40)) as pilot:
        await scanned(pilot)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        assert "Help - Inventory" in text and "Drill - Rehearse" in text and "Refresh - Scan" in text
        await pilot.press("escape")
        assert isinstance(app.screen, InventoryScreen)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # closes help; must not quit the app
        assert isinstance(app.screen, InventoryScreen) and app.return_code is None


def test_palette_offers_the_current_screens_actions(root):
    asyncio.run(_palette(root))


async def _palette(root):
    from textual.command import CommandPalette
    from textual.widgets import OptionList

    def commands(app) -> str:
        options = app.screen.query_one(OptionList)
        return "\n".join(str(options.get_option_at_index(i).prompt) for i in range(options.option_count))

    app = console(root)
    async with app.run_test(size=(100, 40)) as pilot:
        await scanned(pilot)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette)
                       and app.screen.query_one(OptionList).option_count >= 8)
        listed = commands(app)
        assert "Refresh" in listed and "Drill" in listed and "Guided" in listed and "Plan…" not in listed
        await pilot.press(*"refresh", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, InventoryScreen))
        assert app.screen.scanning or "Scanning" in screen_text(app) or app.screen.inventory is not None
        await scanned(pilot)
        await pilot.press("down", "down", "down", "down", "down", "down", "down", "down", "down", "enter")
        assert isinstance(app.screen, RestorePointScreen)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette)
                       and app.screen.query_one(OptionList).option_count >= 3)
        listed = commands(app)
        assert "Plan…" in listed and "Refresh" not in listed


def test_filter_shows_only_matching_backups_and_escape_clears_it(root):
    asyncio.run(_filter(root))


async def _filter(root):
    app = console(root)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await scanned(pilot)
        everything = sum(1 for key in screen.rows if key.startswith("backup:"))
        await pilot.press("slash", *"[gap]")
        shown = [row.backup.name for key, row in screen.rows.items() if key.startswith("backup:")]
        assert len(shown) == 1 and "[GAP]" in screen_text(app)
        assert "from_lsn" in screen_text(app), "the reason of the highlighted problem is shown"
        await pilot.press("escape")
        assert sum(1 for key in screen.rows if key.startswith("backup:")) == everything


def test_filter_takes_names_as_shown_times_and_latest(root):
    asyncio.run(_filter_names(root))


async def _filter_names(root):
    from tui_support import MON, TUE

    app = console(root)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await scanned(pilot)

        async def shown(text: str) -> list[str]:
            await pilot.press("escape", "slash", *text)
            await pilot.pause()
            return [row.backup.name for key, row in screen.rows.items() if key.startswith("backup:")]

        name = f"incremental-{MON[1]:%m-%d-%Y_%H-%M-%S}"
        assert await shown(name) == [name + ".xbstream"]
        assert await shown(f"{MON[1]:%Y-%m-%d %H:%M}") == [name + ".xbstream"]
        assert await shown("latest") == [f"incremental-{TUE[1]:%m-%d-%Y_%H-%M-%S}.xbstream"]


def test_home_and_end_reach_the_first_and_last_rows_not_sideways(root):
    asyncio.run(_home_end(root))


async def _home_end(root):
    from textual.widgets import DataTable

    app = console(root)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await scanned(pilot)
        table = screen.query_one("#backups", DataTable)
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1 and table.scroll_x == 0
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0


def test_details_say_backup_types_in_plain_words(root):
    asyncio.run(_plain_types(root))


async def _plain_types(root):
    app = console(root)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await scanned(pilot)
        await pilot.press("slash", *"full-11-16", "enter")
        await pilot.pause()
        text = screen_text(app)
        assert screen.highlighted().backup.name.startswith("full-11-16")
        assert "full, LSN" in text and "full-backuped" not in text


def test_enter_on_a_day_folds_and_unfolds_it(root):
    asyncio.run(_fold(root))


async def _fold(root):
    app = console(root)
    async with app.run_test(size=(100, 40)) as pilot:
        screen = await scanned(pilot)
        before = len(screen.rows)
        await pilot.press("up", "up")  # from the first backup to its day row
        assert screen.highlighted().backup is None and screen.highlighted().chain is None
        await pilot.press("enter")
        assert len(screen.rows) < before and "+ Tue" in screen_text(app)
        await pilot.press("space")
        assert len(screen.rows) == before and "- Tue" in screen_text(app)


def test_copy_back_progress_reads_source_and_datadir_from_the_plans_own_step(root, tmp_path):
    from tui_support import fixed_plan
    from xtrarestore.core.inventory.chains import find_restore_point
    from xtrarestore.core.inventory.scan import scan
    from xtrarestore.tui.screens.run import copy_paths, tree_size

    point = find_restore_point(scan(root), "Mon", "incremental-11-16-2026_06-00-00.xbstream")
    assert copy_paths(fixed_plan(point).step("swap-in")) is None  # a rename has nothing to follow
    plan = fixed_plan(point, copy_back=True)
    source, datadir = copy_paths(plan.step("copy-back"))
    assert datadir == plan.datadir and source.parent == plan.extracted
    assert copy_paths(plan.step("chown")) is None
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "ibdata1").write_bytes(b"x" * 5000)
    (tmp_path / "b.ibd").write_bytes(b"y" * 700)
    assert tree_size(tmp_path) == 5700
