"""`xtrarestore status`: where a restore stands, from its journal; `--resume` / `--rollback` act on it.

Plain `status` only reads: every step's outcome, where the old datadir is, and
what resume and rollback would do. `--resume` finishes the restore from what
the journal proves was done; `--rollback` puts the previous datadir back and
starts the server on it. Both ask for a typed confirmation unless `--yes`,
are refused while a step process of the restore still runs (named by pid and
command) and when the state on disk makes them unsafe (no resume once a
rollback started), and read the journal again when they act.
"""

from __future__ import annotations

import argparse
import sys

from xtrarestore.core.shown import shown

HELP = "show where the last (or --id) restore stands; --resume or --rollback finish or undo it"


def register(subparsers) -> None:
    parser = subparsers.add_parser("status", help=HELP, description=HELP)
    parser.add_argument("--id", help="restore id (default: the most recent restore)")
    parser.add_argument("--state-dir",
                        help="journal directory (default /var/lib/xtrarestore, or ~/.local/state/xtrarestore)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--resume", action="store_true",
                        help="finish the restore (an unfinished extract/prepare is redone from the sources)")
    action.add_argument("--rollback", action="store_true",
                        help="stop the server, keep the restored datadir aside, rename the old one back, start")
    parser.add_argument("--yes", action="store_true", help="act without the typed confirmation")
    override = parser.add_argument_group("service control for --resume/--rollback (default: the plan's)")
    override.add_argument("--service", metavar="UNIT", help="systemd unit (or sysv:NAME)")
    override.add_argument("--stop-cmd", help="shell command that stops the server")
    override.add_argument("--start-cmd", help="shell command that starts the server (e.g. a fixed one)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from xtrarestore.core.restore import recovery
    from xtrarestore.core.restore.journal import default_state_dir, find_journal, load_state
    from xtrarestore.core.restore.lock import datadir_holder

    from .restore import ask_password, confirm, execute

    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    state = load_state(find_journal(state_dir, args.id))
    holder = datadir_holder(state.plan.datadir)
    running = holder is not None and holder.get("restore") == state.plan.restore_id
    live = [] if running else state.live_processes()
    from xtrarestore.tui.display import print_wrapped

    print_wrapped(state.describe(running=running, live=live))
    if running and (args.resume or args.rollback):
        print("xtrarestore: a restore is running now; wait for it before --resume/--rollback", file=sys.stderr)
        return 2
    if not (args.resume or args.rollback):
        if live:
            return 2
        return 0 if state.outcome in ("completed", "rolled-back", None) else 1
    word = "resume" if args.resume else "rollback"
    why = state.refusal(word, live)
    if state.finished and not live:  # the console can roll a completed restore back; the command line asks for care
        why = f"restore {state.plan.restore_id} is already {state.outcome}; nothing to do"
    if why:
        print(f"xtrarestore: {shown(why)}", file=sys.stderr)
        return 2
    if not args.yes and not confirm(f"\nThis will {word} restore {state.plan.restore_id}.", word):
        print("xtrarestore: not confirmed; nothing was touched", file=sys.stderr)
        return 1
    if args.service or args.stop_cmd or args.start_cmd:
        from xtrarestore.core.restore.service import ServiceControl, resolve_service

        old = ServiceControl(**state.plan.service)
        if args.service:
            control = resolve_service(args.service, None, None)
        else:
            control = resolve_service(None, args.stop_cmd or old.stop_cmd, args.start_cmd or old.start_cmd)
        state.plan = state.plan.with_service(control)
    password = ask_password(state.plan)
    act = recovery.resume if args.resume else recovery.rollback
    return execute(state.plan, args.state_dir, lambda runner: act(state, runner), password)
