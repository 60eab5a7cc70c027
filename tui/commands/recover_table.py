"""`xtrarestore recover-table`: bring tables back from a backup into the running server, nothing restarted.

The restore point goes into a throwaway server (the drill machinery, kept
running), each table travels into production under a new name (or replaces
the live one after a typed confirmation, the old one kept aside), is verified
by rows and CHECKSUM TABLE, and the throwaway server is removed whatever
happens. `--cleanup` takes back what a killed session left (see the journal).
"""

from __future__ import annotations

from pathlib import Path

from xtrarestore.core.shown import shown

from . import interrupt_on_kill
from .drill import step_printer
from .plan import UPTO_HELP, add_stop_point_arguments

HELP = "recover tables from a backup into the running server under a new name (or --replace), no restart"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "recover-table",
        help=HELP,
        description=HELP,
        epilog="Exit status 0 when every table arrived and verified, 1 when the recovery failed, 2 when refused."
        " A killed session: `xtrarestore recover-table --cleanup` removes its throwaway server and copied"
        " files.",
    )
    point = parser.add_argument_group("restore point")
    point.add_argument("--root", type=Path, help="backup root (day directories)")
    point.add_argument("--day", help="day directory of the restore point, e.g. Sat (needed only when --upto "
                                      "names backups of several days)")
    point.add_argument("--upto", help=UPTO_HELP)
    point.add_argument("--key-file", type=Path, help="encryption key file for encrypted backups")
    what = parser.add_argument_group("tables")
    what.add_argument("--table", action="append", default=[], metavar="DB.TABLE", help="a table to recover (repeat)")
    how = what.add_mutually_exclusive_group()
    how.add_argument("--as", dest="rename_to", metavar="DB.NEW", help="its name in production (one --table)")
    how.add_argument(
        "--replace",
        action="store_true",
        help="swap it in place of the live table (typed confirmation; the live one is kept aside)",
    )
    what.add_argument("--logical", action="store_true", help="copy rows (mariadb-dump) instead of tablespace files")
    reach = parser.add_argument_group("production server (never stopped)")
    reach.add_argument("--socket", help="its socket")
    reach.add_argument("--host", help="its host, with --port")
    reach.add_argument("--port", type=int)
    reach.add_argument("--defaults-file", help="option file whose [client] section has user and password")
    add_stop_point_arguments(parser, drill=True)
    parser.add_argument("--workdir", type=Path, help="where the throwaway server lives (default: /var/tmp)")
    parser.add_argument("--state-dir", type=Path, help="journal directory (default /var/lib/xtrarestore)")
    parser.add_argument(
        "--reports-dir", type=Path, help="where reports are kept (default ~/.local/share/xtrarestore/tables)"
    )
    parser.add_argument("--yes", action="store_true", help="no typed confirmation (also for --replace)")
    parser.add_argument(
        "--cleanup",
        action="store_true",
        help="remove what interrupted recover-table sessions left (throwaway server, copied files)",
    )
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.errors import PreconditionError
    from xtrarestore.core.tables import recover
    from xtrarestore.core.tables.report import save
    from xtrarestore.core.tables.server import ServerAddress

    if args.cleanup:
        return _cleanup(args)
    missing = [
        flag
        for flag, value in (("--root", args.root), ("--upto", args.upto), ("--table", args.table))
        if not value
    ]
    if missing:
        raise PreconditionError(f"recover-table needs {', '.join(missing)}")
    interrupt_on_kill()  # a kill or a hang-up still removes the throwaway server
    address = ServerAddress(args.socket, args.host, args.port, args.defaults_file)
    session = recover.prepare(
        address,
        args.table,
        rename_to=args.rename_to,
        replace=args.replace,
        force_logical=args.logical,
        state_dir=args.state_dir,
    )
    drill = recover.plan_throwaway(
        args.root,
        args.day,
        args.upto,
        until=args.until,
        skip=tuple(args.skip),
        binlog_dirs=tuple(Path(d) for d in args.binlog_dir),
        from_server=_binlog_server(args),
        replay=args.replay,
        key_file=args.key_file,
        workroot=args.workdir,
    )
    recover.require_in_backup(session, drill.point)
    for item in session.tables:
        action = "replaces" if item.replace else "as"
        print(f"{shown('.'.join(item.source))} {action} {shown('.'.join(item.target))} in {shown(address.label)}")
    report = recover.run(
        session,
        drill,
        confirm_replace=lambda item: _confirm_replace(item, args.yes),
        on_progress=lambda text: print(shown(text), flush=True),
        on_drill_event=step_printer(len(drill.steps), "  "),
    )
    saved_json, saved_md = save(report, args.reports_dir)
    _summary(report)
    print(f"Report: {shown(saved_json)}\n        {shown(saved_md)}")
    return 0 if report.ok else 1


def _binlog_server(args) -> Path | None:
    """Whose live binlogs roll the throwaway copy forward: --from-server, else production's own socket.

    Table recovery is done while production runs, so with a stop point and no
    --binlog-dir its binlogs are the ones to read (found through the socket).
    """
    if args.from_server:
        return Path(args.from_server)
    if (args.until or args.skip) and not args.binlog_dir and args.socket:
        print(f"Rolling forward through the binlogs of {shown(args.socket)} (production's own)")
        return Path(args.socket)
    return None


def _confirm_replace(item, yes: bool) -> bool:
    name = ".".join(item.source)
    aside = ".".join(item.aside)
    print(
        f"{shown(name)} has {item.live_rows} rows now. Replacing it moves them aside to {shown(aside)}"
        f" (kept, not dropped) and puts the recovered rows in its place."
    )
    if yes:
        return True
    try:
        answer = input(f"Type the table name '{shown(name)}' to replace it: ")
    except EOFError:
        return False
    return answer.strip() == name


def _summary(report) -> None:
    print()
    for table in report.tables:
        print(
            f"{shown(table['source'])} -> {shown(table['target'])}: {table['rows']} rows, checksum"
            f" {table['checksum']} ({table['method']}), {'verified' if table['verified'] else 'NOT VERIFIED'}"
        )
    for line in report.foreign_keys:
        print(f"foreign key: {shown(line)}")
    for note in report.notes:
        print(f"note: {shown(note)}")
    if report.roll_forward:
        rf = report.roll_forward
        reached = rf.get("gtid_reached") or rf.get("gtid_target") or "-"
        print(f"Throwaway copy rolled forward to {shown(str(rf.get('stop_point')))}: reached GTID {shown(reached)}")
    before, after = report.production.get("before", {}), report.production.get("after", {})
    if after:
        pid = f"pid {after.get('pid')}, " if after.get("pid") else ""
        print(f"Production kept running ({pid}uptime {before.get('uptime')}s -> {after.get('uptime')}s).")
    print("Recovery DONE" if report.ok else f"Recovery FAILED: {shown(report.error)}")


def _cleanup(args) -> int:
    from xtrarestore.core.tables import recover

    journals = recover.unfinished_sessions(args.state_dir)
    if not journals:
        print("No interrupted recover-table session.")
        return 0
    for journal in journals:
        print(f"{shown(journal)}:")
        for line in recover.clean_up(journal) or ["nothing to undo"]:
            print(f"  {shown(line)}")
    return 0
