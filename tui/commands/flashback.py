"""`xtrarestore flashback`: undo bad DML (a DELETE, an UPDATE) from the binlog, in one transaction.

Only when it can be exact: ROW events with full row images, nothing that
touched the same tables afterwards. Otherwise it says why and points to
`recover-table`. Nothing is applied without the typed word `flashback` (or
--yes); the reverse runs in one transaction in production.
"""

from __future__ import annotations

from pathlib import Path

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
    parser.add_argument("--dry-run", action="store_true", help="show what would be reversed; apply nothing")
    parser.add_argument("--yes", action="store_true", help="apply without the typed confirmation")
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.shown import shown
    from xtrarestore.core.tables import flashback
    from xtrarestore.core.tables.server import ServerAddress

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
    reason = flashback.rehearse_on_throwaway_copy(plan)
    if reason:
        print(f"Note: {reason}.")
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
    return 0
