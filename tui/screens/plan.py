"""Plan & confirm: the exact steps, the checks, and a typed confirmation.

The plan shown here is the plan that runs: the same `Plan` object goes to the
run screen. Building it (tool detection, free space, asking the server for its
datadir) happens in a worker; nothing here changes anything on disk.
"""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from xtrarestore.core.shown import shown

from ..messages import RunJob, StartDrill


def plan_text(plan, checks) -> Text:
    """Where, what is moved aside, checks, then each step with its command and undo."""
    text = Text()
    text.append("Target\n", style="bold underline")
    text.append(f"  datadir    {shown(plan.datadir)}\n")
    service = plan.service
    how = f"{service.get('kind')} {service.get('unit') or ''}".strip()
    text.append(f"  service    {shown(how)}\n")
    text.append(f"  move aside {shown(plan.datadir)} -> {shown(plan.aside)}\n")
    text.append(f"  workspace  {shown(plan.workdir)}\n")
    for line in plan.swap_lines():
        text.append(f"  {shown(line.strip())}\n")
    rf = getattr(plan, "roll_forward", None)
    if rf:
        text.append("Roll forward\n", style="bold underline")
        text.append(f"  stop point {shown(rf['stop_point'])}\n")
        if rf.get("skip"):
            text.append(f"  skipping   {shown(', '.join(rf['skip']))}\n")
        text.append(f"  reaches    GTID {shown(rf['gtid_target'] or 'none')} ({rf['time_target'] or 'no commit'}),"
                    f" {rf['transactions']} transactions\n")
        text.append(f"  binlogs    {shown(', '.join(rf['binlog_dirs']))}\n")
    text.append("Checks\n", style="bold underline")
    for check in checks:
        text.append(f"  {'[OK]  ' if check.ok else '[FAIL]'} {shown(check.name)}: ", style="" if check.ok else "bold")
        text.append(f"{shown(check.detail)}\n")
    text.append(f"Steps ({len(plan.steps)})\n", style="bold underline")
    for number, step in enumerate(plan.steps, 1):
        flags = [flag for flag, on in (("[DESTRUCTIVE]", step.destructive), ("[sudo]", step.privileged)) if on]
        text.append(f"{number:2d}. {shown(step.title)}", style="bold" if step.destructive else "")
        text.append(f" {' '.join(flags)}\n" if flags else "\n", style="bold")
        text.append(f"    $ {shown(step.command)}\n", style="dim")
        if step.undo:
            text.append(f"    undo: {shown(step.undo)}\n", style="italic")
    return text


class PlanScreen(Screen):
    """Review the plan; `x` asks for the typed confirmation and starts the restore."""

    TITLE_TEXT = "Plan & confirm"
    AUTO_FOCUS = "#plan-body"
    HELP = (
        "The exact commands the restore will run, in order, with what each one undoes. "
        "The checks must all pass. Starting asks you to type the host name or 'restore': "
        "the live datadir will be moved aside (kept, never deleted) and replaced."
    )

    BINDINGS = [
        Binding("x", "restore", "Restore…", tooltip="Type the confirmation word and run this plan"),
        Binding("d", "drill", "Drill", tooltip="Rehearse this point on a throwaway server instead"),
        Binding("escape", "back", "Back", tooltip="Back to the restore points"),
    ]

    class Built(Message):
        def __init__(self, plan, checks, state_dir) -> None:
            super().__init__()
            self.plan = plan
            self.checks = checks
            self.state_dir = state_dir

    class Failed(Message):
        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    class SudoChecked(Message):
        """The sudo check's outcome: the checked password, or why it was refused."""

        def __init__(self, password, error: str | None) -> None:
            super().__init__()
            self.password = password
            self.error = error

    def __init__(self, point, built: tuple | None = None, stop=None) -> None:
        """*built* is an already made (plan, checks, state_dir); otherwise the screen builds it.
        *stop* (a `messages.StopChoice`) rolls the restore forward through the binlogs."""
        super().__init__()
        self.point = point
        self.stop = stop
        self.built_plan = built
        self.plan = None
        self.checks: list = []
        self.state_dir = None
        self.building = True
        self.checking = False

    def compose(self) -> ComposeResult:
        yield Header()
        target = self.point.target
        extra = len(self.point.members) - 1
        title = Text(f"Restore {shown(self.point.day.name)} up to {shown(target.name)}", style="bold")
        title.append(f"\nfull + {extra} incremental(s); nothing runs until you confirm" if extra
                     else "\nfull backup only; nothing runs until you confirm")
        if self.stop is not None:
            title.append(f"\nthen roll forward: {shown(self.stop.label or self.stop.until)}")
        yield Static(title, id="plan-title")
        with VerticalScroll(id="plan-body"):
            yield Static("Building the plan…", id="plan-text")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        if self.built_plan is not None:
            self.post_message(self.Built(*self.built_plan))
        else:
            self.build()

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def build(self) -> None:
        from xtrarestore.core.errors import XtraRestoreError

        from ..jobs.restore import build

        try:
            planned, state_dir = build(self.app.settings, self.point, self.stop)
        except (XtraRestoreError, OSError) as error:
            self.post_message(self.Failed(str(error)))
            return
        self.post_message(self.Built(planned.plan, planned.checks, state_dir))

    @on(Built)
    def built(self, message: Built) -> None:
        self.building = False
        self.plan, self.checks, self.state_dir = message.plan, message.checks, message.state_dir
        self.query_one("#plan-text", Static).update(plan_text(self.plan, self.checks))
        self.refresh_bindings()

    @on(Failed)
    def failed(self, message: Failed) -> None:
        self.building = False
        self.query_one("#plan-text", Static).update(
            Text(f"[CANNOT PLAN] {shown(message.error)}\nNothing was touched.", style="bold"))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "restore":
            ready = self.plan is not None and all(c.ok for c in self.checks) and not self.app.job_running
            ready = ready and not self.checking
            return True if ready else None
        return True

    def action_restore(self) -> None:
        from ..modals.confirm import ConfirmModal

        plan = self.plan
        destructive = [s.title for s in plan.steps if s.destructive]
        message = (
            f"This stops the server and replaces {shown(plan.datadir)}.\n"
            f"The current datadir is kept as {shown(plan.aside)}.\n"
            + "".join(f"  - {shown(title)}\n" for title in destructive)
        )
        rf = getattr(plan, "roll_forward", None)
        if rf:
            skip = f", skipping {', '.join(rf['skip'])}" if rf.get("skip") else ""
            message += shown(f"Then it rolls forward: {rf['stop_point']}{skip}, to GTID {rf['gtid_target'] or 'none'}"
                             f" ({rf['time_target'] or 'no commit'}).") + "\n"

        def answer(yes: bool | None) -> None:
            if yes:
                self.after_confirm()

        self.app.push_screen(
            ConfirmModal("Replace the live datadir?", message, confirm_label="Restore",
                         words=(self.app.settings.host, "restore")),
            answer,
        )

    def after_confirm(self) -> None:
        """Not root and privileged steps: ask the sudo password once and check it before starting."""
        from xtrarestore.core.restore import privileges

        from ..modals.password import PasswordModal

        if not privileges.needs_password(self.plan):
            self.start_restore()
            return

        def typed(password) -> None:
            if password is not None:
                self.checking = True
                self.refresh_bindings()
                self.notify("Checking the sudo password…", timeout=3)
                self.check_password(password)

        self.app.push_screen(PasswordModal(), typed)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sudo")
    def check_password(self, password) -> None:
        """`sudo -k; sudo -v` with the typed password; the result comes back as a message."""
        from xtrarestore.core.errors import PrivilegeError
        from xtrarestore.core.restore import privileges

        try:
            privileges.check_sudo(password)
        except PrivilegeError as error:
            self.post_message(self.SudoChecked(None, str(error)))
        except Exception as error:  # noqa: BLE001 - sudo missing, pty trouble: never show its text
            self.post_message(self.SudoChecked(None, f"could not run sudo ({type(error).__name__})"))
        else:
            self.post_message(self.SudoChecked(password, None))

    @on(SudoChecked)
    def sudo_checked(self, message: SudoChecked) -> None:
        self.checking = False
        self.refresh_bindings()
        if message.error is not None:
            error = message.error.removesuffix("; nothing was touched")
            text = Text()
            text.append(f"[SUDO] {shown(error)} — nothing was touched\n\n", style="bold")
            text.append_text(plan_text(self.plan, self.checks))
            self.query_one("#plan-text", Static).update(text)
            return
        self.start_restore(message.password)

    def start_restore(self, password=None) -> None:
        from ..jobs.restore import RestoreJob

        job = RestoreJob(self.app.settings, self.plan, self.point, self.state_dir, password=password)
        self.post_message(RunJob(job))

    def action_drill(self) -> None:
        self.post_message(StartDrill(self.point, stop=self.stop))

    def action_back(self) -> None:
        self.app.pop_screen()
