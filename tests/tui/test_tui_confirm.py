"""The confirmation dialogs: a typed word focuses its input; yes/no dialogs keep Cancel first and focused."""

from __future__ import annotations

import asyncio

import pytest
from textual.app import App
from textual.widgets import Button, Input

from xtrarestore.tui.modals.confirm import ConfirmModal


class Host(App):
    def __init__(self, modal: ConfirmModal) -> None:
        super().__init__()
        self.modal = modal
        self.answers: list[bool | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.modal, self.answers.append)


async def _drive(words: tuple[str, ...], keys: list[str]) -> tuple:
    app = Host(ConfirmModal("Restore", "Replaces the datadir.", confirm_label="Restore", words=words))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        focused = app.focused
        buttons = [b.id for b in app.screen.query(Button)]
        confirm_disabled = app.screen.query_one("#confirm", Button).disabled
        await pilot.press(*keys)
        await pilot.pause()
    return focused, buttons, confirm_disabled, app.answers


@pytest.mark.parametrize(
    ("keys", "answer"),
    [
        ([*"restore", "enter"], True),
        ([*"  restore ", "enter"], True),
        ([*"restor", "enter"], False),
        (["enter"], False),
        ([*"restore", "escape"], False),
        (["escape"], False),
    ],
)
def test_typed_word_has_the_focus_and_only_the_right_word_confirms(keys, answer):
    focused, buttons, disabled, answers = asyncio.run(_drive(("restore",), keys))
    assert isinstance(focused, Input) and focused.id == "dialog-word"
    assert buttons == ["cancel", "confirm"] and disabled, "the destructive button is last and locked"
    assert answers == [answer]


@pytest.mark.parametrize(("keys", "answer"), [(["enter"], False), (["escape"], False), (["tab", "enter"], True)])
def test_yes_no_dialog_keeps_cancel_first_and_focused(keys, answer):
    focused, buttons, disabled, answers = asyncio.run(_drive((), keys))
    assert isinstance(focused, Button) and focused.id == "cancel"
    assert buttons == ["cancel", "confirm"] and not disabled
    assert answers == [answer]
