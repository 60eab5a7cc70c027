"""Pilot tests of the console's sudo password: typed once, masked, checked before anything runs.

Not being root and sudo's answer are faked here (this test process is root); the
real sudo path is exercised end to end by test_restore_sudo.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from textual.screen import Screen

from tui_support import screen_text, wait_for
from xtrarestore.core.errors import PrivilegeError
from xtrarestore.core.restore import privileges
from xtrarestore.core.restore.privileges import Password
from xtrarestore.tui.app import ConsoleSettings, XtraRestoreApp
from xtrarestore.tui.jobs import restore as restore_job
from xtrarestore.tui.modals.password import PasswordModal
from xtrarestore.tui.screens import run as run_screen
from xtrarestore.tui.screens.plan import PlanScreen

SECRET = "hunter2-Zq9"


def app(tmp_path: Path) -> XtraRestoreApp:
    (tmp_path / "backups").mkdir(exist_ok=True)
    return XtraRestoreApp(ConsoleSettings(root=tmp_path / "backups", host="db1", reports_dir=tmp_path / "r"))


def stand_ins():
    """A point and a plan with one privileged step: all the plan screen reads, nothing that runs."""
    step = SimpleNamespace(name="stop", title="Stop the server", command="systemctl stop mariadb",
                           undo="systemctl start mariadb", destructive=True, privileged=True)
    plan = SimpleNamespace(datadir=Path("/var/lib/mysql"), aside=Path("/var/lib/mysql.before"),
                           workdir=Path("/var/tmp/xr"), service={"kind": "systemd", "unit": "mariadb"},
                           steps=[step], day="Mon", upto="inc1", restore_id="demo",
                           swap_lines=lambda: ["  production down (stop → answering): steps 1-1: stop"])
    point = SimpleNamespace(day=SimpleNamespace(name="Mon"), target=SimpleNamespace(name="inc1"),
                            members=[object(), object()])
    checks = [SimpleNamespace(ok=True, name="datadir", detail="ok")]
    return point, plan, checks


def test_needs_password_only_when_not_root_and_a_step_is_privileged(monkeypatch):
    _, plan, _ = stand_ins()
    monkeypatch.setattr(privileges, "is_root", lambda: True)
    assert not privileges.needs_password(plan)
    monkeypatch.setattr(privileges, "is_root", lambda: False)
    assert privileges.needs_password(plan)
    plan.steps[0].privileged = False
    assert not privileges.needs_password(plan)


def test_modal_returns_the_typed_password_on_enter_none_on_escape_and_never_shows_it(tmp_path):
    asyncio.run(_modal(tmp_path))


async def _modal(tmp_path):
    answers = []
    console = app(tmp_path)
    async with console.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        console.push_screen(PasswordModal(), answers.append)
        await pilot.pause()
        await pilot.press(*SECRET)
        await pilot.pause()
        assert console.screen.query_one("#dialog-password").value == SECRET
        assert SECRET not in screen_text(console)
        assert SECRET not in console.export_screenshot()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(answers) == 1, timeout=10)
        assert isinstance(answers[0], Password) and answers[0].reveal() == SECRET
        assert SECRET not in repr(answers[0])

        console.push_screen(PasswordModal(), answers.append)
        await pilot.pause()
        await pilot.press(*"abc", "escape")
        await wait_for(pilot, lambda: len(answers) == 2, timeout=10)
        assert answers[1] is None
        assert not isinstance(console.screen, PasswordModal)


class FakeRunScreen(Screen):
    """Stands in for the run screen so nothing is run; keeps the job it was given."""

    def __init__(self, job) -> None:
        super().__init__()
        self.job = job


def restore_with(tmp_path, monkeypatch, check):
    monkeypatch.setattr(privileges, "is_root", lambda: False)
    monkeypatch.setattr(privileges, "check_sudo", check)
    monkeypatch.setattr(run_screen, "RunScreen", FakeRunScreen)
    return _restore(tmp_path)


async def _restore(tmp_path):
    point, plan, checks = stand_ins()
    console = app(tmp_path)
    async with console.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = PlanScreen(point, built=(plan, checks, tmp_path / "state"))
        await console.push_screen(screen)
        await wait_for(pilot, lambda: screen.plan is not None, timeout=10)
        await pilot.press("x", *"db1", "enter")
        await wait_for(pilot, lambda: isinstance(console.screen, PasswordModal), timeout=10)
        await pilot.press(*SECRET, "enter")
        await wait_for(pilot, lambda: not isinstance(console.screen, PasswordModal), timeout=10)
        await console.workers.wait_for_complete()
        await wait_for(pilot, lambda: not screen.checking, timeout=10)
        await pilot.pause(0.2)
        return console.screen, screen, screen_text(console)


def test_a_wrong_password_is_reported_on_the_plan_and_nothing_starts(tmp_path, monkeypatch):
    seen = []

    def refuse(password):
        seen.append(password)
        raise PrivilegeError("wrong sudo password; nothing was touched")

    shown, plan_screen, text = asyncio.run(restore_with(tmp_path, monkeypatch, refuse))
    assert [p.reveal() for p in seen] == [SECRET]
    assert shown is plan_screen
    assert "[SUDO] wrong sudo password — nothing was touched" in text
    assert SECRET not in text


def test_a_checked_password_goes_to_the_restore_job(tmp_path, monkeypatch):
    shown, _, text = asyncio.run(restore_with(tmp_path, monkeypatch, lambda password: None))
    assert isinstance(shown, FakeRunScreen)
    assert isinstance(shown.job, restore_job.RestoreJob)
    assert isinstance(shown.job.password, Password) and shown.job.password.reveal() == SECRET
    assert SECRET not in text
