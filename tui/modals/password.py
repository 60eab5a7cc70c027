"""The sudo password, typed once in the console when the plan has privileged steps.

The characters are masked on screen. The value goes back to the caller wrapped
in a `Password` (which never prints itself); it is never stored, logged or put
in argv. Escape or Cancel means no password: nothing runs.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class PasswordModal(ModalScreen["Password | None"]):
    """Ask for the sudo password; Enter submits it, Escape cancels (None)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close without running anything")]

    def __init__(self, title: str = "sudo password",
                 message: str = "Some steps run through sudo. Type your sudo password once; "
                                "it is checked before anything is touched and kept in memory only.") -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(self.message, id="dialog-message")
            yield Input(password=True, placeholder="sudo password", id="dialog-password")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button("Check & restore", id="submit", variant="error")

    def on_mount(self) -> None:
        self.query_one("#dialog-password", Input).focus()

    def submit(self) -> None:
        from xtrarestore.core.restore.privileges import Password

        box = self.query_one("#dialog-password", Input)
        value = box.value
        box.value = ""
        self.dismiss(Password(value))

    @on(Input.Submitted, "#dialog-password")
    def password_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed, "#submit")
    def submit_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.submit()

    @on(Button.Pressed, "#cancel")
    def cancelled(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        self.query_one("#dialog-password", Input).value = ""
        self.dismiss(None)
