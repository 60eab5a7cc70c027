"""Help: what the screen beneath is for and every key it answers to."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

GLOBAL_KEYS = (
    ("F1 / ?", "this help"),
    ("Ctrl+P", "command palette: the actions of the current screen"),
    ("Tab / Shift+Tab", "move between panes and buttons"),
    ("Escape", "back / cancel"),
)


def key_table(screen: Screen) -> Table:
    """The screen's own bindings with their descriptions and tooltips."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    seen: set[str] = set()
    own = {b.action for b in type(screen).__dict__.get("BINDINGS", []) if isinstance(b, Binding)}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if binding.action not in own or not binding.description or binding.action in seen:
            continue
        seen.add(binding.action)
        keys = binding.key_display or screen.app.get_key_display(binding)
        text = Text(binding.description)
        if binding.tooltip:
            text.append(f" - {binding.tooltip}", style="dim")
        if not active.enabled:
            text.append(" (not available now)", style="italic")
        table.add_row(keys, text)
    for keys, what in GLOBAL_KEYS:
        table.add_row(keys, what)
    return table


class HelpScreen(ModalScreen[None]):
    """Opened over any screen by F1 or `?`; any of Escape, q, F1, ? closes it."""

    BINDINGS = [
        Binding("escape,q,f1,question_mark", "close", "Close", tooltip="Back to the screen you were on"),
    ]

    def __init__(self, beneath: Screen) -> None:
        super().__init__()
        self.beneath = beneath

    def compose(self) -> ComposeResult:
        name = getattr(self.beneath, "TITLE_TEXT", type(self.beneath).__name__)
        with VerticalScroll(id="help"):
            yield Label(f"Help - {name}", id="help-title")
            yield Static(getattr(self.beneath, "HELP", "") or "", id="help-text")
            yield Static(key_table(self.beneath), id="help-keys")

    def action_close(self) -> None:
        self.dismiss(None)
