"""`xtrarestore restore`: run the plan — extract, prepare, stop, move aside, copy back, chown, start, verify.

Without `--yes` the plan is printed and the operator must type `restore` to go
on. When not root, privileged steps go through sudo with a password asked once
at a no-echo prompt (and checked before anything is touched).
"""

from __future__ import annotations

import sys

from xtrarestore.core.shown import shown
from xtrarestore.tui.display import print_wrapped

from .plan import add_target_arguments, prepare, print_checks

HELP = "restore a backup (full + incrementals up to --upto) into the server's datadir"
CONFIRM_WORD = "restore"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "restore", help=HELP, description=HELP,
        epilog="If it stops half-way, `xtrarestore status` says where it stands; "
               "`xtrarestore status --resume` or `--rollback` finishes or undoes it.",
    )
    add_target_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="run without the typed confirmation")
    parser.set_defaults(run=run)


def confirm(question: str, word: str = CONFIRM_WORD) -> bool:
    """Ask for a typed word; anything else, or no terminal to ask on, means no."""
    try:
        answer = input(f"{question} Type '{word}' to go on: ")
    except EOFError:
        return False
    return answer.strip() == word


def ask_password(plan):
    """The sudo password, typed once without echo, when privileged steps need it."""
    from getpass import getpass

    from xtrarestore.core.restore.privileges import Password, check_sudo, needs_password

    if not needs_password(plan):
        return None
    password = Password(getpass("sudo password (for the privileged steps): "))
    check_sudo(password)
    return password


class Printer:
    """Show runner events on the terminal: step headers, output lines, a progress line every few seconds."""

    def __init__(self, every: float = 3.0):
        self.every = every
        self.last = 0.0

    def __call__(self, event) -> None:
        if event.kind == "progress":
            self.progress(event.progress)
        elif event.kind == "started":
            print_wrapped(["", f"[{event.index}] {event.step.title}", f"    $ {event.step.command}"])
        elif event.kind == "output":
            print(f"    {shown(event.line)}", flush=True)
        elif event.kind == "finished":
            print(f"    done in {event.seconds:.1f}s", flush=True)
        elif event.kind == "failed":
            print(f"    FAILED: {shown(event.error)}", flush=True)
        elif event.kind == "note":
            print(f"note: {shown(event.line)}", flush=True)

    def progress(self, text: str) -> None:
        import json
        import time

        now = time.monotonic()
        if now - self.last < self.every:
            return
        try:
            data = json.loads(text)
            done = 100 * data["bytes_read"] / max(data["total_bytes"], 1)
        except (ValueError, KeyError, TypeError):
            return
        self.last = now
        print(f"    {done:5.1f}%  {data['bytes_read'] / 2**20:,.0f} of {data['total_bytes'] / 2**20:,.0f} MiB read",
              flush=True)


def execute(plan, state_dir, action, password) -> int:
    """Take the host's and the datadir's locks, then run *action(runner)*; report the outcome as `status` would."""
    from pathlib import Path

    from xtrarestore.core.errors import StepFailedError
    from xtrarestore.core.restore.journal import Journal, default_state_dir, journal_path, load_state
    from xtrarestore.core.restore.lock import RestoreLock
    from xtrarestore.core.restore.runner import Runner

    state_dir = Path(state_dir) if state_dir else default_state_dir()
    with RestoreLock(plan.datadir, plan.restore_id, journal_path(state_dir, plan.restore_id)) as lock:
        plan.workdir.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        plan.workdir.mkdir(exist_ok=True, mode=0o700)
        plan.workdir.chmod(0o700)
        runner = Runner(plan, Journal.for_plan(plan, state_dir), on_event=Printer(), password=password,
                        keep_fds=lock.fds)
        try:
            action(runner)
        except StepFailedError as error:
            print(f"\nxtrarestore: {shown(error)}", file=sys.stderr)
            print_wrapped(load_state(journal_path(state_dir, plan.restore_id)).describe())
            print(f"see `xtrarestore status --id {plan.restore_id}`; then `--resume` or `--rollback`")
            return 1
    print_wrapped(load_state(journal_path(state_dir, plan.restore_id)).describe())
    return 0


def run(args) -> int:
    from xtrarestore.core.restore import preflight, recovery

    planned = prepare(args)
    plan = planned.plan
    print_checks(planned.checks)
    print_wrapped(plan.lines())
    preflight.require(planned.checks)
    question = "\nThis stops the server and replaces its datadir (the old one is kept)."
    if plan.roll_forward:
        question += f"\nThen it rolls forward through the binlogs: {plan.roll_forward['stop_point']}."
    if not args.yes and not confirm(question):
        print("xtrarestore: not confirmed; nothing was touched", file=sys.stderr)
        return 1
    password = ask_password(plan)
    return execute(plan, args.state_dir, lambda runner: recovery.start(plan, runner), password)
