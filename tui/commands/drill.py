"""`xtrarestore drill`: restore a point into a throwaway server, verify it, time it, report.

Production is never touched: the plan's datadir and service are a private
sandbox server's. The exit status says whether the backup restored and
verified; the report (JSON and Markdown) is kept in the reports directory so
the console can list past drills.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .plan import add_stop_point_arguments

HELP = "rehearse a restore on a throwaway server: restore, verify, time (RTO) and report"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "drill", help=HELP, description=HELP,
        epilog="Exit status 0 when the restore point restored and verified, 1 when the drill failed.",
    )
    parser.add_argument("--root", required=True, type=Path, help="backup root (day directories)")
    parser.add_argument("--day", required=True, help="day directory of the restore point, e.g. Sat")
    parser.add_argument("--upto", required=True, help="last backup to include (the full or an incremental)")
    parser.add_argument("--key-file", type=Path, help="encryption key file for encrypted backups")
    parser.add_argument("--report-json", type=Path, help="also write the JSON report here")
    parser.add_argument("--report-md", type=Path, help="also write the Markdown report here")
    parser.add_argument("--reports-dir", type=Path, help="where past drill reports are kept"
                        " (default: ~/.local/share/xtrarestore/drills)")
    parser.add_argument("--workdir", type=Path, help="where the throwaway server lives (default: /var/tmp)")
    parser.add_argument("--keep", action="store_true",
                        help="leave the restored server running and print how to connect to it")
    add_stop_point_arguments(parser, drill=True)
    parser.set_defaults(run=run)


def run(args) -> int:
    import signal

    from xtrarestore.core.drills import report as reports
    from xtrarestore.core.drills.drill import plan_drill, refused_report, run_drill
    from xtrarestore.core.errors import XtraRestoreError

    # A `kill` of the drill must still stop its throwaway server: treat it like Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    try:
        planned = plan_drill(args.root, args.day, args.upto, key_file=args.key_file, workroot=args.workdir,
                             until=args.until, skip=tuple(args.skip), binlog_dirs=[Path(d) for d in args.binlog_dir],
                             from_server=Path(args.from_server) if args.from_server else None, replay=args.replay)
    except XtraRestoreError as error:
        print(f"xtrarestore: drill refused, nothing was touched: {error}", file=sys.stderr)
        result = refused_report(args.root, args.day, args.upto, error)
    else:
        print(f"Drill {planned.id}: {args.day} up to {args.upto} ({len(planned.point.members)} backups)"
              f" into a throwaway server in {planned.base}", flush=True)
        if planned.plan.roll_forward:
            print(f"then roll forward: {planned.plan.roll_forward['stop_point']}", flush=True)
        result = run_drill(planned, on_event=_printer(len(planned.steps)), keep=args.keep)
    saved_json, saved_md = reports.save(result, args.reports_dir)
    if args.report_json:
        reports.write_json(result, args.report_json)
    if args.report_md:
        reports.write_markdown(result, args.report_md)
    _summary(result, saved_json, saved_md)
    return 0 if result.ok else 1


def _printer(total: int):
    def show(event) -> None:
        if event.kind == "finished":
            print(f"[{event.index:2d}/{total}] {event.step.title}: done in {event.seconds:.1f}s", flush=True)
        elif event.kind == "failed":
            print(f"[{event.index:2d}/{total}] {event.step.title}: FAILED: {event.error}", flush=True)
    return show


def _summary(result, saved_json: Path, saved_md: Path) -> None:
    print()
    if result.ok:
        print(f"Drill PASSED: RTO {result.rto_seconds:.1f}s "
              f"(drill total {result.total_seconds:.1f}s with sandbox set-up and clean-up)")
    else:
        print(f"Drill FAILED: {result.error}")
    rf = result.roll_forward
    if rf:
        print(f"  roll forward: {rf.get('stop_point')}; reached GTID {rf.get('gtid_reached') or rf.get('gtid_target')}"
              f" ({rf.get('time_reached') or '-'}), {rf.get('transactions_applied', 0)} transactions applied"
              f" in {float(rf.get('seconds') or 0):.1f}s")
    for table in result.tables:
        print(f"  {table.schema}.{table.table}: {table.rows} rows, CHECK TABLE {table.check}")
    for problem in result.problems:
        if problem.get("code") != "drill-failed":
            print(f"  problem {problem.get('code')}: {problem.get('message')}")
    print(f"Report: {saved_json}\n        {saved_md}")
    server = result.server
    if server.get("kept"):
        socket = server.get("socket")
        print(
            f"\nThe restored server is still running on socket {socket}\n"
            f"  connect:  mariadb --socket={shlex.quote(socket)} -u root\n"
            f"  stop it:  kill $(cat {shlex.quote(server.get('pid_file'))})\n"
            f"  then remove {server.get('directory')}"
        )
    elif server.get("directory"):
        print(f"Kept (server stopped): {server.get('directory')}")
