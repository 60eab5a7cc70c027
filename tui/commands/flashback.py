"""`xtrarestore flashback`: undo bad DML (a DELETE, an UPDATE) from the binlog, in one transaction.

Only when it can be exact: ROW events with full row images, nothing that
touched the same tables afterwards. Otherwise it says why and points to
`recover-table`. With a restore point (--root/--upto) the reverse is first
rehearsed on a throwaway copy rolled forward to just after the last target
transaction, and the rows before and after are shown. Nothing is applied
without the typed word `flashback` (or --yes); the reverse runs in one
transaction in production, whose tables are then checked against the
rehearsal's checksums.
"""

from __future__ import annotations

from pathlib import Path

from . import interrupt_on_kill
from .plan import UPTO_HELP

HELP = "reverse bad DML transactions (by GTID) from the binlog in the running server, in one transaction"
CONFIRM_WORD = "flashback"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "flashback",
        help=HELP,
        description=HELP,
        epilog="Exit status 0 when applied (or --dry-run), 1 when not confirmed, 2 when flashback cannot be"
        " exact (use recover-table) or the server refused the reverse (rolled back whole).",
    )
    parser.add_argument(
        "--binlog-dir",
        action="append",
        required=True,
        type=Path,
        help="directory holding the binlogs (repeat; the live server's binlog directory)",
    )
    parser.add_argument("--gtid", action="append", required=True, metavar="D-S-N", help="transaction to undo (repeat)")
    reach = parser.add_argument_group("production server")
    reach.add_argument("--socket", help="its socket")
    reach.add_argument("--host", help="its host, with --port")
    reach.add_argument("--port", type=int)
    reach.add_argument("--defaults-file", help="option file whose [client] section has user and password")
    rehearse = parser.add_argument_group("rehearsal on a throwaway copy (recommended)")
    rehearse.add_argument("--root", type=Path, help="backup root: rehearse the reverse on a restore of it first")
    rehearse.add_argument("--day", help="day directory of the restore point (default: the one holding --upto)")
    rehearse.add_argument("--upto", help=UPTO_HELP)
    rehearse.add_argument("--key-file", type=Path, help="encryption key file for encrypted backups")
    rehearse.add_argument("--workdir", type=Path, help="where the throwaway server lives (default: /var/tmp)")
    parser.add_argument("--dry-run", action="store_true", help="show what would be reversed; apply nothing")
    parser.add_argument("--yes", action="store_true", help="apply without the typed confirmation")
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.shown import shown
    from xtrarestore.core.tables import flashback
    from xtrarestore.core.tables.server import ServerAddress

    interrupt_on_kill()  # a kill or a hang-up during the rehearsal still removes the throwaway copy
    address = ServerAddress(args.socket, args.host, args.port, args.defaults_file)
    plan = flashback.plan_flashback(args.binlog_dir, args.gtid)
    flashback.require_transactional(plan, address)
    before = flashback.count_rows(address, plan.tables)
    print(
        f"Flashback of {len(plan.targets)} transaction(s); binlogs checked up to {shown(plan.scanned_to)}"
        f" ({plan.later_transactions} later transactions, none touching these tables):"
    )
    for item in plan.targets:
        trx = item.transaction
        print(f"  {trx.gtid} at {trx.when:%Y-%m-%d %H:%M:%S} UTC in {shown(item.path.name)}:{trx.start}")
    for table, effect in sorted(plan.effect.items()):
        what = ", ".join(f"{n} {label}" for label, n in effect.items())
        print(f"  {shown(table)}: {what} (now {before.get(table, '?')} rows)")
    rehearsal = _rehearse(args, plan, address)
    if args.dry_run:
        return 0
    if not args.yes:
        try:
            answer = input(f"Apply the reverse in {shown(address.label)} in one transaction? Type '{CONFIRM_WORD}': ")
        except EOFError:
            answer = ""
        if answer.strip() != CONFIRM_WORD:
            print("Not applied.")
            return 1
    flashback.apply(plan, address)
    after = flashback.count_rows(address, plan.tables)
    for table in sorted(after):
        print(f"  {shown(table)}: {before.get(table)} -> {after[table]} rows")
    print("Flashback applied (one transaction).")
    if rehearsal is not None:
        differ = rehearsal.unlike(address, plan.tables)
        if differ:
            print(f"Warning: {shown(', '.join(differ))} differ from the rehearsal (rows or checksum); compare them.")
        else:
            print("Production's tables match the rehearsal (rows and CHECKSUM TABLE).")
    return 0


def _rehearse(args, plan, address):
    """The rehearsal on a throwaway copy when a restore point is given; else say plainly that none happened."""
    from xtrarestore.core.errors import PreconditionError
    from xtrarestore.core.shown import shown
    from xtrarestore.core.tables import flashback

    if not args.root:
        print(
            "Note: NOT rehearsed on a throwaway copy (no --root/--upto given): the reverse goes to production untried."
        )
        return None
    if not args.upto:
        raise PreconditionError("--root needs --upto (the restore point to rehearse on)")
    last = plan.targets[-1].transaction.gtid
    print(f"Rehearsing on a throwaway copy: {shown(args.upto)} rolled forward to gtid:{shown(last)}", flush=True)
    drill = flashback.plan_rehearsal(plan, args.root, args.day, args.upto, binlog_dirs=list(args.binlog_dir),
                                     key_file=args.key_file, workroot=args.workdir)
    rehearsal = flashback.run_rehearsal(plan, drill, on_event=_progress)
    with address.connect() as conn:
        live = flashback.table_states(conn, plan.tables)
    print(
        f"Rehearsal done (restore and roll-forward {rehearsal.restore_seconds:.1f}s, reverse {rehearsal.seconds:.1f}s):"
    )
    for line in rehearsal.lines():
        print(f"  {shown(line)}")
    same = [t for t in sorted(live) if live[t] == rehearsal.before.get(t)]
    if len(same) != len(live):
        print(
            "  note: production's tables now differ from the copy at the event (rows changed since by"
            " transactions not in these binlogs?); the rehearsal shows the reverse, not production's result"
        )
    return rehearsal


def _progress(event) -> None:
    from xtrarestore.core.shown import shown

    if event.kind == "finished":
        print(f"  {shown(event.step.title)}: done in {event.seconds:.1f}s", flush=True)
    elif event.kind == "failed":
        print(f"  {shown(event.step.title)}: FAILED: {shown(event.error)}", flush=True)
