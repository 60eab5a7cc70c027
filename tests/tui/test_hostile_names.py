"""Hostile names through every output path: shown escaped, never interpreted, never a forged line.

Day directories and backup streams are named with a newline and a forged
"restore complete, all good", a screen-clearing CSI and an OSC 52 clipboard
write, Rich markup (`[bold]`, a lone `[/]` that crashed the extract
progress), a right-to-left override and a 200-character name; every stream is
a real mariabackup backup. The CLI (inventory, --json, plan, extract,
status, drill) and the console (inventory table and details, restore point,
plan, drill report, run log, transfer label) must show them with their control
characters escaped by `core.shown.shown`, and never as markup.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from tui_support import NOW, screen_text, wait_for
from xtrarestore.core.drills.report import DrillReport, StepResult, TableResult, write_json
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.shown import shown
from xtrarestore.tui import display
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
from xtrarestore.tui.widgets.log_pane import clean_line

pytestmark = pytest.mark.mariadb

XTRARESTORE = str(Path(sys.executable).with_name("xtrarestore"))
FORGED = "\nrestore complete, all good"
NAMES = {  # day directory -> stream name
    f"Mon{FORGED}": f"full-{FORGED}.xbstream",
    "\x1b[2J\x1b]52;c;cm0gLXJmIH4K\x07Tue": "full-\x1b[2J\x1b]52;c;cm0gLXJmIH4K\x07.xbstream",
    "[bold]Wed[/] [/]": "full-[bold]x[red] y.xbstream",  # the day is three directories: [/] in its path
    "\u202eThu": "full-\u202etxt.exe.xbstream",
    "D" * 200: "full-" + "L" * 200 + ".xbstream",
    "Fri\ttab\rcr\x9bC1": "full-\x08\x7f\x9b.xbstream",
}
RAW = ("\x1b", "\x07", "\x08", "\x7f", "\x9b", "\u202e", "\r", "\t")


def assert_clean(text: str) -> None:
    """No raw control character and no forged line: the newline of a name is shown as `\\n`."""
    for raw in RAW:
        assert raw not in text, repr(raw)
    for line in text.splitlines():
        assert not line.startswith("restore complete"), line


@pytest.fixture(scope="module")
def named():
    """A backup root whose day directories and streams carry hostile names; each a real backup."""
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-names-", dir="/var/tmp"))
    base.chmod(0o711)
    try:
        with SandboxServer.create(base / "server") as server:
            server.load_playground()
            server.add_equipment("slide", 2, "blue")
            real = server.take_backup(base / "source")
        root = base / "backups"
        for day, stream in NAMES.items():
            (root / day).mkdir(parents=True)
            shutil.copy(real, root / day / stream)
        yield SimpleNamespace(base=base, root=root)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.run([XTRARESTORE, *args], capture_output=True, text=True, errors="surrogateescape",
                          timeout=timeout, stdin=subprocess.DEVNULL, env=env, check=False)


def test_shown_makes_every_control_visible_and_keeps_the_rest():
    assert shown(f"a{FORGED}") == "a\\nrestore complete, all good"
    assert shown("\x1b[2J\x1b]52;c;eA==\x07") == "\\x1b[2J\\x1b]52;c;eA==\\x07"
    assert shown("\t\r\x00\x7f\x9b\u202e\u2066\u200b\ufeff") == "\\t\\r\\x00\\x7f\\x9b\\u202e\\u2066\\u200b\\ufeff"
    assert shown("naïve 表 [bold]x[/]") == "naïve 表 [bold]x[/]"
    assert shown(os.fsdecode(b"bad\xff\xfe")) == "bad\\xff\\xfe"  # bytes that are not UTF-8
    assert shown(Path("/x\ny")) == "/x\\ny"
    rendered = Console(file=None, width=80, record=True, color_system=None)
    rendered.print(display.text("[bold]x[/] [/]\x1b[2J"))
    assert rendered.export_text().strip() == "[bold]x[/] [/]\\x1b[2J"


def test_inventory_table_and_json(named):
    table = run_cli("inventory", "--root", str(named.root))
    assert table.returncode == 0, table.stderr
    assert_clean(table.stdout + table.stderr)
    assert "Mon\\nrestore complete, all good" in table.stdout
    assert "[bold]Wed[/] [/]" in table.stdout  # markup shown literally
    assert "\\x1b[2J" in table.stdout and "\\u202eThu" in table.stdout
    document = run_cli("inventory", "--root", str(named.root), "--json")
    assert document.returncode == 0
    assert_clean(document.stdout)
    days = {day["name"]: [b["name"] for b in day["backups"]] for day in json.loads(document.stdout)["days"]}
    assert days == {day: [stream] for day, stream in NAMES.items()}  # JSON escapes, names round-trip exactly


@pytest.mark.parametrize("day", list(NAMES), ids=range(len(NAMES)))
def test_plan_shows_the_names_escaped(named, day, tmp_path):
    result = run_cli("plan", "--root", str(named.root), "--day", day, "--upto", NAMES[day],
                     "--datadir", str(tmp_path / "datadir"), "--stop-cmd", "true", "--start-cmd", "true",
                     "--socket", str(tmp_path / "none.sock"), "--workdir", str(tmp_path / "work"))
    assert "Traceback" not in result.stderr
    assert_clean(result.stdout + result.stderr)
    assert shown(NAMES[day]) in result.stdout
    assert len(result.stderr.splitlines()) <= 1


def test_errors_naming_hostile_names_are_one_line(named, tmp_path):
    day = f"Mon{FORGED}"
    result = run_cli("plan", "--root", str(named.root), "--day", day, "--upto", f"nothing{FORGED}\x1b[2J",
                     "--datadir", str(tmp_path / "d"), "--stop-cmd", "true", "--start-cmd", "true",
                     "--socket", str(tmp_path / "s"))
    assert result.returncode != 0 and len(result.stderr.splitlines()) == 1
    assert_clean(result.stderr)
    assert "nothing\\nrestore complete, all good\\x1b[2J" in result.stderr


def test_extract_done_lines_and_progress(named, tmp_path):
    streams = [str(named.root / day / stream) for day, stream in NAMES.items()]
    result = run_cli("extract", "--into", str(tmp_path / "out"), *streams, timeout=120)
    assert result.returncode == 0, result.stderr
    assert_clean(result.stdout + result.stderr)
    assert len(result.stdout.splitlines()) == len(NAMES)
    assert "full-[bold]x[red] y" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(s[: -len(".xbstream")]
                                                                            for s in NAMES.values())


def test_extract_progress_on_a_terminal_takes_markup_literally(named, tmp_path):
    """On a terminal the bar runs beside the done lines; a `[/]` in a path crashed them with MarkupError."""
    import pty

    stream = named.root / "[bold]Wed[/] [/]" / NAMES["[bold]Wed[/] [/]"]
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(XTRARESTORE, [XTRARESTORE, "extract", "--into", str(tmp_path / "a[/]b"), str(stream)])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "MarkupError" not in text and "Traceback" not in text
    assert "a[/]b/full-[bold]x[red] y: " in text


def test_status_of_a_restore_of_hostile_names(named, tmp_path):
    from xtrarestore.core.restore.journal import Journal
    from xtrarestore.core.restore.plan import Target
    from xtrarestore.core.restore.request import RestoreRequest, plan_restore
    from xtrarestore.core.restore.service import CUSTOM, ServiceControl

    day = f"Mon{FORGED}"
    target = Target(datadir=tmp_path / "datadir", service=ServiceControl(CUSTOM, stop_cmd="true", start_cmd="true"))
    plan = plan_restore(RestoreRequest(named.root, day, NAMES[day], target, workdir=tmp_path / "work"),
                        production=False).plan
    journal = Journal.for_plan(plan, tmp_path / "state")
    journal.append({"event": "plan", "plan": plan.to_dict()})
    step = plan.steps[0]
    journal.append({"event": "start", "step": step.name, "title": step.title, "phase": step.phase})
    journal.append({"event": "end", "step": step.name, "status": "failed",
                    "error": f"cannot read {NAMES[day]}: \x1b]52;c;eA==\x07"})
    result = run_cli("status", "--state-dir", str(tmp_path / "state"))
    assert "Traceback" not in result.stderr and result.stderr == "", result.stderr
    assert_clean(result.stdout + result.stderr)
    assert "full-\\nrestore complete, all good" in result.stdout and "\\x1b]52;c;eA==\\x07" in result.stdout


def test_drill_of_a_hostile_name(named, tmp_path):
    work = Path(tempfile.mkdtemp(prefix="xtrarestore-names-drill-", dir="/var/tmp"))
    work.chmod(0o711)
    try:
        day = f"Mon{FORGED}"
        result = run_cli("drill", "--root", str(named.root), "--day", day, "--upto", NAMES[day],
                         "--workdir", str(work), "--reports-dir", str(tmp_path / "reports"),
                         "--report-json", str(tmp_path / "report.json"), timeout=300)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert_clean(result.stdout + result.stderr)
    assert "Drill PASSED" in result.stdout and "full-\\nrestore complete" in result.stdout
    assert json.loads((tmp_path / "report.json").read_text())["upto"] == NAMES[day]


# -- the console -------------------------------------------------------------------------


def hostile_report(reports: Path) -> Path:
    reports.mkdir(parents=True, exist_ok=True)
    report = DrillReport(
        id="20261117T100000Z-names", status="failed", started="2026-11-17T10:00:00+00:00",
        finished="2026-11-17T10:01:00+00:00", day=f"Mon{FORGED}", upto=f"full-{FORGED}\x1b[2J",
        steps=[StepResult("extract", f"Extract full-{FORGED}[/]", "failed", 1.5,
                          detail="\x1b]52;c;eA==\x07[bold]boom")],
        tables=[TableResult("play\x1b[31mground", "t[/]", 3, "InnoDB", "OK\nforged")],
        error=f"the server said: [/]\x1b[2J{FORGED}",
    )
    return write_json(report, reports / f"drill-{report.id}.json")


def test_console_shows_hostile_names_escaped_everywhere(named, tmp_path):
    asyncio.run(_console(named, tmp_path))


async def _console(named, tmp_path):
    reports = tmp_path / "reports"
    hostile_report(reports)
    options = {"datadir": str(tmp_path / "datadir"), "stop_cmd": "true", "start_cmd": "true",
               "socket": str(tmp_path / "none.sock")}
    app = XtraRestoreApp(ConsoleSettings(root=named.root, now=lambda: NOW, host="db1", reports_dir=reports,
                                         target_options=options))
    seen = []
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: getattr(app.screen, "inventory", None) is not None, timeout=60)
        screen = app.screen
        for _ in range(len(screen.rows) + 2):  # every row, with its detail pane
            seen.append(screen_text(app))
            await pilot.press("down")
            await pilot.pause()
        inventory_text = "\n".join(seen)
        assert "Mon\\nrestore complete, all good" in inventory_text
        assert "[bold]Wed[/] [/]" in inventory_text
        # The restore point and the plan of the forged name.
        key = next(k for k, row in screen.rows.items() if row.backup is not None and row.day.name == f"Mon{FORGED}")
        table = screen.query_one("#backups")
        table.move_cursor(row=table.get_row_index(key))
        await pilot.pause()
        seen.append(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        seen.append(screen_text(app))
        assert "full-\\nrestore complete, all good" in seen[-1]
        await pilot.press("enter")
        await wait_for(pilot, lambda: getattr(app.screen, "plan", None) is not None or "CANNOT PLAN" in
                       screen_text(app), timeout=60)
        seen.append(screen_text(app))
        assert "full-\\nrestore complete, all good" in seen[-1]
        await pilot.press("escape", "escape")
        await pilot.pause()
        # Past drills and a report full of hostile text.
        await pilot.press("p")
        await wait_for(pilot, lambda: "Past drills" in screen_text(app), timeout=30)
        seen.append(screen_text(app))
        await pilot.press("enter")
        await pilot.pause()
        seen.append(screen_text(app))
        assert "the server said: [/]\\x1b[2J\\nrestore complete" in seen[-1].replace("\n", "")
    for text in seen:
        assert_clean(text)


def test_run_log_and_transfer_label_escape_what_tools_print():
    assert clean_line("\x1b[32mgreen\x1b[0m done") == "green done"  # colours dropped, as before
    assert clean_line("copy \x1b]52;c;eA==\x07 \u202eevil\x9b") == "copy \\x1b]52;c;eA==\\x07 \\u202eevil\\x9b"
    assert clean_line("a\tb") == "a   b"
    asyncio.run(_transfer())


async def _transfer():
    from textual.app import App, ComposeResult

    from xtrarestore.tui.widgets.transfer import TransferProgress

    class Host(App):
        def compose(self) -> ComposeResult:
            yield TransferProgress(id="transfer")

    app = Host()
    async with app.run_test(size=(100, 10)) as pilot:
        widget = app.query_one(TransferProgress)
        widget.start("Extract full-[/] [bold]x\x1b[2J", 1000)
        widget.advance(500, 1000, 1.0)
        await pilot.pause()
        text = screen_text(app)
        assert "Extract full-[/] [bold]x\\x1b[2J" in text
        assert_clean(text)
