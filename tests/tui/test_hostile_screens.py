"""Names from a backup's stream, a server or a report reach the table, drill, plan and result views escaped.

The tables a backup holds come from its stream's member names, table names
and notes from the server, binlog file names from the backup's own record:
each can carry a newline that forges a line, an escape sequence or Rich
markup. The views are rendered as the terminal would show them and checked
for raw control characters and forged lines.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console
from textual.app import App

from tui_support import fixed_report, screen_text, wait_for
from xtrarestore.core.inventory.checkpoints import BinlogPosition
from xtrarestore.core.tables.report import RecoveryReport
from xtrarestore.tui import display
from xtrarestore.tui.screens.drill import report_body
from xtrarestore.tui.screens.plan import plan_text
from xtrarestore.tui.screens.result import binlog_text
from xtrarestore.tui.screens.tables import TableRecoveryScreen, TablesScreen, recovery_body

FORGED = "\nrestore complete, all good"
ESCAPES = "\x1b[2J\x1b]52;c;eA==\x07\u202e"
RAW = ("\x1b", "\x07", "\u202e", "\r")


def assert_clean(text: str) -> None:
    for raw in RAW:
        assert raw not in text, repr(raw)
    for line in text.splitlines():
        assert not line.strip().startswith("restore complete"), line


def rendered(renderable, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def hostile_recovery() -> RecoveryReport:
    return RecoveryReport(
        id="20261117T100000Z", status="failed", started="2026-11-17T10:00:00+00:00", day=f"Mon{FORGED}",
        upto=f"full-{ESCAPES}.xbstream", target=f"socket /run/{ESCAPES}",
        roll_forward={"stop_point": f"before 0-1-7{FORGED}", "gtid_reached": "0-1-6"},
        tables=[{"source": f"shop.t{ESCAPES}", "target": f"shop.t{FORGED}", "method": f"logical{ESCAPES}",
                 "rows": 3, "verified": False}],
        foreign_keys=[f"shop.child{FORGED} -> shop.t [fk{ESCAPES}]: 0 orphan rows"],
        notes=[f"created without `CONSTRAINT {ESCAPES}`{FORGED}"],
        error=f"the server said: [/]{ESCAPES}{FORGED}",
    )


def test_table_recovery_report_escapes_what_the_server_and_the_backup_named():
    text = rendered(recovery_body(hostile_recovery(), Path(f"/var/reports/r{FORGED}.json")))
    assert_clean(text)
    assert "the server said: [/]\\x1b[2J" in text and "shop.t\\nrestore complete" in text


def test_drill_report_escapes_the_binlog_record_and_problems():
    report = fixed_report()
    report.binlog = {"file": f"mysql-bin{FORGED}", "position": 4, "gtid": f"0-1-{ESCAPES}"}
    report.problems = [{"code": f"gap{ESCAPES}", "message": f"Mon/incremental-{ESCAPES}{FORGED}"}]
    report.roll_forward = {"stop_point": f"until {ESCAPES}", "skip": [f"0-1-9{FORGED}"], "gtid_reached": ESCAPES}
    text = rendered(report_body(report, None))
    assert_clean(text)
    assert "mysql-bin\\nrestore complete" in text and "incremental-\\x1b[2J" in text


def test_result_shows_the_backups_binlog_record_escaped():
    shown = binlog_text(BinlogPosition(file=f"mysql-bin{FORGED}{ESCAPES}", position=4, gtid=f"0-1-5{FORGED}"))
    assert_clean(shown)
    assert shown.startswith("mysql-bin\\nrestore complete")


def test_an_unknown_checkpoints_word_is_shown_escaped():
    assert display.backup_type("full-backuped") == "full"
    shown = display.backup_type(f"odd{ESCAPES}{FORGED}")
    assert_clean(shown)
    assert shown.startswith("odd\\x1b[2J")


def test_plan_text_escapes_paths_and_undo_lines():
    where = Path(f"/srv/db{FORGED}{ESCAPES}")
    step = SimpleNamespace(title="Stop", destructive=True, privileged=False, command=f"stop {where}",
                           undo=f"mv {where}.aside {where}")
    plan = SimpleNamespace(datadir=where, aside=Path(f"{where}.aside"), workdir=Path(f"{where}.restore"),
                           service={"kind": "systemd", "unit": f"mariadb{ESCAPES}"}, roll_forward=None,
                           steps=[step], swap_lines=lambda: [f"  swap by copy-back (fallback: {where})"])
    text = rendered(plan_text(plan, []))
    assert_clean(text)
    assert "/srv/db\\nrestore complete" in text


class Host(App):
    """The bare app a screen needs: its settings."""

    def __init__(self, settings) -> None:
        super().__init__()
        self.settings = settings


def test_tables_picker_shows_the_backups_table_names_escaped(monkeypatch):
    hostile = [("shop", f"orders{FORGED}"), (f"[bold]x[/]{ESCAPES}", "t")]
    monkeypatch.setattr("xtrarestore.core.tables.catalog.backup_tables", lambda target: hostile)
    settings = SimpleNamespace(target_options={"socket": f"/run/{ESCAPES}.sock"})
    point = SimpleNamespace(day=SimpleNamespace(name=f"Mon{FORGED}"),
                            target=SimpleNamespace(name=f"full-{ESCAPES}.xbstream"))
    asyncio.run(_tables(settings, point))


async def _tables(settings, point) -> None:
    app = Host(settings)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = TablesScreen(settings, point)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.tables is not None, timeout=30)
        await pilot.pause()
        picker = screen_text(app)
        await app.push_screen(TableRecoveryScreen(hostile_recovery()))
        await pilot.pause()
        report = screen_text(app)
    for text in (picker, report):
        assert_clean(text)
    assert "shop.orders\\nrestore complete" in picker and "[bold]x[/]\\x1b[2J" in picker
    assert "Mon\\nrestore complete" in picker
    assert "the server said: [/]\\x1b[2J" in report
