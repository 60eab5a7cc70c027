"""Undo this: one notable binlog event, and the two ways to take it back, each with its estimate.

Flashback is offered only where `core.tables.flashback` proves it exact (DML
in ROW format with full images, committed, nothing later touching the same
tables); it runs in production in one transaction after the typed word
`flashback`. `t` rehearses it first on a throwaway copy of the restore point
rolled forward to just after the event (on the run screen); production is
then checked against the rehearsal's rows and checksums. Otherwise — and
always as the alternative — the table is recovered as it was just before the
event, under a new name (the Tables screen with the stop point
`before:<gtid>`). Estimates are rough and shown
as such.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from xtrarestore.core.shown import shown

from ..messages import RecoverTables, RunJob, StopChoice
from ..modals.confirm import ConfirmModal


class UndoScreen(Screen):
    """Weigh flashback against table recovery for one event; f flashes back (when safe), r recovers the table."""

    TITLE_TEXT = "Undo this"
    AUTO_FOCUS = "#undo-body"
    HELP = (
        "f: flashback — the reverse of the event applied in production in one transaction, offered only when "
        "it is exact (row data, full images, nothing changed those tables since). t: rehearse the flashback on a "
        "throwaway copy first; production is untouched. r: recover the table as it "
        "was just before the event, under a new name, from a throwaway restore rolled forward through the "
        "binlogs. Times are rough estimates."
    )

    BINDINGS = [
        Binding("f", "flashback", "Flashback", tooltip="Reverse the event in production (typed confirmation)"),
        Binding("t", "rehearse", "Rehearse", tooltip="Try the flashback on a throwaway copy first"),
        Binding("r", "recover", "Recover table…", tooltip="Recover the table as of just before the event"),
        Binding("escape", "back", "Back", tooltip="Back to the event list"),
    ]

    class Weighed(Message):
        def __init__(self, choice, error: str | None = None) -> None:
            super().__init__()
            self.choice, self.error = choice, error

    class Done(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, settings, point, event, timeline, binlog_dirs: list[Path], choice=None) -> None:
        """*choice* is an already weighed `UndoChoice` (tests); otherwise the screen weighs it."""
        super().__init__()
        self.settings = settings
        self.point = point
        self.event = event
        self.timeline = timeline
        self.binlog_dirs = list(binlog_dirs)
        self.choice = choice
        self.problem: str | None = None
        self.outcome: str | None = None
        self.applying = False
        self.rehearsing = None  # the RehearsalJob this screen started; its result shows here when it ends
        self.rehearsal = None
        self.rehearsal_error: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="undo-body"):
            yield Static(self.heading(), id="undo-title")
            yield Static("Weighing flashback and table recovery…", id="undo-detail")
        yield Footer(compact=True, show_command_palette=False)

    def heading(self) -> Text:
        event = self.event
        when = datetime.fromtimestamp(event.time, UTC).strftime("%Y-%m-%d %H:%M:%S")
        rows = "" if event.rows is None else f", {event.rows} rows"
        return Text(
            f"Undo {event.kind.upper()} on {shown(event.table or '?')}{rows}\nGTID {shown(event.gtid or '-')}"
            f" at {when} UTC",
            style="bold",
        )

    def on_mount(self) -> None:
        if self.choice is not None:
            self.post_message(self.Weighed(self.choice))
        else:
            self.weigh()

    @work(thread=True, exclusive=True, exit_on_error=False, group="undo")
    def weigh(self) -> None:
        from xtrarestore.core.errors import XtraRestoreError
        from xtrarestore.core.tables.undo import production_table_size, weigh_undo

        size = None
        socket = (self.settings.target_options or {}).get("socket")
        try:
            if socket and self.event.table:
                from ..jobs.tables import target_address

                with target_address(self.settings).connect() as conn:
                    size = production_table_size(conn, self.event.table)
            choice = weigh_undo(self.timeline, self.event, self.binlog_dirs, self.point, table_size=size)
        except (XtraRestoreError, OSError) as error:
            self.post_message(self.Weighed(None, str(error)))
            return
        self.post_message(self.Weighed(choice))

    @on(Weighed)
    def weighed(self, message: Weighed) -> None:
        self.choice, self.problem = message.choice, message.error
        self.show()
        self.refresh_bindings()

    def show(self) -> None:
        detail = self.query_one("#undo-detail", Static)
        if self.choice is None:
            detail.update(Text(f"[CANNOT WEIGH] {shown(self.problem or '')}", style="bold"))
            return
        choice = self.choice
        text = Text()
        if choice.flashback is not None:
            text.append("f  Flashback (safe here)\n", style="bold")
            text.append(f"   {choice.flashback.line()} (its binlog events), reversed in one transaction\n")
            text.append("   nothing restarted\n")
            self.show_rehearsal(text)
        else:
            text.append("   Flashback: not offered\n", style="bold")
            text.append(f"   {shown(choice.refused or '')}\n")
        text.append("\nr  Recover the table as of just before the event\n", style="bold")
        text.append(f"   {choice.recovery.line()} ({choice.recovery_parts})\n")
        text.append(f"   under a new name, stop point {shown(choice.until)}; production is never stopped\n")
        if self.outcome:
            text.append(f"\n{self.outcome}\n", style="bold")
        detail.update(text)

    def show_rehearsal(self, text: Text) -> None:
        if self.rehearsal is not None:
            rehearsal = self.rehearsal
            text.append(f"   [REHEARSED] on a throwaway copy at {shown(rehearsal.until)} (restore and roll-forward"
                        f" {rehearsal.restore_seconds:.1f}s, reverse {rehearsal.seconds:.1f}s):\n", style="bold")
            for line in rehearsal.lines():
                text.append(f"     {shown(line)}\n")
        elif self.rehearsal_error is not None:
            text.append(f"   [REHEARSAL FAILED] {shown(self.rehearsal_error)}\n", style="bold")
            text.append("   production was not touched; t tries again\n")
        else:
            text.append("   not rehearsed yet: t tries it on a throwaway copy first\n")

    def on_screen_resume(self) -> None:
        """Back from the run screen: show what the rehearsal this screen started found."""
        job = self.rehearsing
        if job is not None and not job.running and job.has_result():
            self.rehearsal, self.rehearsal_error = job.rehearsal, job.error
            self.rehearsing = None
            self.show()
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("flashback", "rehearse"):
            safe = self.choice is not None and self.choice.flashback is not None
            idle = not self.applying and self.outcome is None and not self.app.job_running
            return True if safe and idle else None
        if action == "recover":
            return True if self.choice is not None else None
        return True

    def action_recover(self) -> None:
        if self.choice is not None:
            stop = StopChoice(until=self.choice.until, label=f"just before {self.choice.gtid}")
            self.post_message(RecoverTables(self.point, stop=stop))

    def action_rehearse(self) -> None:
        from ..jobs.flashback import RehearsalJob

        if self.choice is None or self.choice.flashback is None or self.app.job_running:
            return
        self.rehearsing = RehearsalJob(self.settings, self.point, self.choice.plan, self.binlog_dirs)
        self.post_message(RunJob(self.rehearsing))

    def action_flashback(self) -> None:
        choice = self.choice
        if choice is None or choice.flashback is None:
            return
        what = ", ".join(
            f"{shown(table)}: {', '.join(f'{n} {label}' for label, n in effect.items())}"
            for table, effect in sorted(choice.plan.effect.items())
        )
        message = (
            f"Reverse {shown(choice.gtid)} in the running server, in one transaction: {what}. Nothing else changes;"
            " if the server refuses any of it, none of it stays."
        )
        if self.rehearsal is not None:
            message += f" Rehearsed on a throwaway copy: {shown('; '.join(self.rehearsal.lines()))}."
        else:
            message += " Not rehearsed (t tries it on a throwaway copy first)."

        def answer(confirmed: bool | None) -> None:
            if confirmed:
                self.applying = True
                self.refresh_bindings()
                self.apply_flashback()

        self.app.push_screen(ConfirmModal("Flashback", message, confirm_label="Flashback", words=("flashback",)), answer)

    @work(thread=True, exclusive=True, exit_on_error=False, group="undo")
    def apply_flashback(self) -> None:
        from xtrarestore.core.errors import XtraRestoreError
        from xtrarestore.core.tables import flashback

        from ..jobs.tables import target_address

        plan = self.choice.plan
        try:
            address = target_address(self.settings)
            flashback.require_transactional(plan, address)
            before = flashback.count_rows(address, plan.tables)
            flashback.apply(plan, address)
            after = flashback.count_rows(address, plan.tables)
        except XtraRestoreError as error:
            self.post_message(self.Done(f"[NOT APPLIED] {error}"))
            return
        moved = ", ".join(f"{t}: {before.get(t)} -> {after[t]} rows" for t in sorted(after))
        self.post_message(self.Done(f"[FLASHBACK APPLIED] one transaction; {moved}{self.against_rehearsal(address)}"))

    def against_rehearsal(self, address) -> str:
        """Production's tables after the flashback compared with the rehearsal's (rows and CHECKSUM TABLE)."""
        from xtrarestore.core.errors import XtraRestoreError

        if self.rehearsal is None:
            return ""
        try:
            differ = self.rehearsal.unlike(address, self.choice.plan.tables)
        except XtraRestoreError as error:
            return f"; not compared with the rehearsal: {error}"
        if differ:
            return f"; WARNING: {', '.join(differ)} differ from the rehearsal (rows or checksum): compare them"
        return "; production's tables match the rehearsal (rows and CHECKSUM TABLE)"

    @on(Done)
    def done(self, message: Done) -> None:
        self.applying = False
        self.outcome = shown(message.text)
        self.show()
        self.refresh_bindings()

    def action_back(self) -> None:
        self.app.pop_screen()
