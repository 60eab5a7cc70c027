"""Confirmation dialogs: Cancel first, Escape means no.

A yes/no dialog focuses Cancel. For irreversible work the operator must type
a word (the host name or `restore`): the input has the focus, since the word
itself is the safeguard; Enter with the word confirms, Enter with anything
else (or Escape) cancels. No single keypress can confirm it, and the
destructive button is never the default.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ConfirmModal(ModalScreen[bool]):
    """Ask yes/no; with *words*, the confirm button unlocks only once one is typed."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", tooltip="Close without doing anything")]

    def __init__(
        self,
        title: str,
        message: str,
        *,
        confirm_label: str = "Confirm",
        words: tuple[str, ...] = (),
    ) -> None:
        super().__init__()
        self.title_text = title
        self.message = message
        self.confirm_label = confirm_label
        self.words = words

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="dialog-title")
            yield Static(Text(self.message), id="dialog-message")  # names in it are never markup
            if self.words:
                quoted = " or ".join(f"'{word}'" for word in self.words)
                yield Label(f"Type {quoted} to confirm:", id="dialog-prompt")
                yield Input(placeholder=self.words[-1], id="dialog-word")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel", variant="primary")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=bool(self.words))

    def on_mount(self) -> None:
        if self.words:
            self.query_one("#dialog-word", Input).focus()
        else:
            self.query_one("#cancel", Button).focus()

    @on(Input.Changed, "#dialog-word")
    def word_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value.strip() not in self.words

    @on(Input.Submitted, "#dialog-word")
    def word_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() in self.words)

    @on(Button.Pressed, "#confirm")
    def confirmed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def cancelled(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(False)

    def action_cancel(self) -> None:
        self.dismiss(False)
