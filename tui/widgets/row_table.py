"""A row-cursor table for lists of things: Home/End reach the first/last row, and operator moves are told apart.

Textual's `DataTable` binds Home/End to sideways scrolling, which in a list of
backups or steps surprises everyone. And its `RowHighlighted` is posted for
every cursor change, including the screen's own `move_cursor` calls, and it
arrives later (it bubbles up through the table's queue): a screen that reads
it as "the operator chose this row" acts on stale moves. `OperatorMoved` is
posted only when a key press or a click moved the cursor.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable


class RowTable(DataTable):
    """A `DataTable` with row cursor, Home/End by rows, and an `OperatorMoved` message."""

    BINDINGS = [
        Binding("home", "scroll_top", "First row", show=False),
        Binding("end", "scroll_bottom", "Last row", show=False),
    ]

    class OperatorMoved(Message):
        """The operator moved the cursor to the row *key* (a key press or a click, never the program)."""

        def __init__(self, table: RowTable, key: str | None) -> None:
            super().__init__()
            self.table = table
            self.key = key

        @property
        def control(self) -> RowTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("cursor_type", "row")
        super().__init__(**kwargs)

    def _told(self) -> None:
        key = None
        if self.row_count:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        self.post_message(self.OperatorMoved(self, key))

    def action_cursor_up(self) -> None:
        super().action_cursor_up()
        self._told()

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self._told()

    def action_page_up(self) -> None:
        super().action_page_up()
        self._told()

    def action_page_down(self) -> None:
        super().action_page_down()
        self._told()

    def action_scroll_top(self) -> None:
        super().action_scroll_top()
        self._told()

    def action_scroll_bottom(self) -> None:
        super().action_scroll_bottom()
        self._told()

    async def _on_click(self, event: events.Click) -> None:
        await super()._on_click(event)
        self._told()
