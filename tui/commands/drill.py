"""`xtrarestore drill`: restore a point into a throwaway server, verify it, time it, report.

Production is never touched: the plan's datadir and service are a private
sandbox server's. The exit status says whether the backup restored and
verified; the report (JSON and Markdown) is kept in the reports directory so
the console can list past drills.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from xtrarestore.core.shown import shown
from xtrarestore.tui.display import print_wrapped

from . import interrupt_on_kill
from .plan import UPTO_HELP, add_stop_point_arguments

HELP = "rehearse a restore on a throwaway server: restore, verify, time (RTO) and report"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "drill", help=HELP, description=HELP,
        epilog="Exit status 0 when the restore point restored and verified, 1 when the drill failed.",
    )
    parser.add_argument("--root", default=argparse.SUPPRESS,
                        help="backup root: a directory (default: /backups/mysql) or s3://BUCKET/PREFIX")
    parser.add_argument("--day", help="day directory of the restore point, e.g. Sat (when --upto is not unique)")
    parser.add_argument("--upto", required=True, help=UPTO_HELP)
    parser.add_argument("--key-file", type=Path, default=argparse.SUPPRESS,
                        help="encryption key file for encrypted backups")
    parser.add_argument("--report-json", type=Path, help="also write the JSON report here")
    parser.add_argument("--report-md", type=Path, help="also write the Markdown report here")
    parser.add_argument("--reports-dir", type=Path, help="where past drill reports are kept"
                        " (default: ~/.local/share/xtrarestore/drills)")
    parser.add_argument("--workdir", type=Path, help="where the throwaway server lives (default: /var/tmp)")
    parser.add_argument("--server-config", type=Path,
                        help="the original server's option file: settings the backup's backup-my.cnf lacks"
                             " (encryption plugin, page size…) for the throwaway server")
    parser.add_argument("--keep", action="store_true",
                        help="leave the restored server running and print how to connect to it")
    add_stop_point_arguments(parser, drill=True)
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.archive.targets import check_target
    from xtrarestore.core.drills import report as reports
    from xtrarestore.core.drills.drill import plan_drill, refused_report, run_drill
    from xtrarestore.core.errors import OutputError, XtraRestoreError
    from xtrarestore.core.storage.location import root_path

    root = root_path(getattr(args, "root", None) or "/backups/mysql")
    key_file = Path(args.key_file) if getattr(args, "key_file", None) else None
    # Where the reports go is checked before the drill, not found unwritable after it.
    if args.reports_dir:
        check_target(args.reports_dir, "--reports-dir", roots=[root], container=True)
    for option, path in (("--report-json", args.report_json), ("--report-md", args.report_md)):
        if path is not None:
            if path.is_dir():
                raise OutputError(f"{option} {path}: a directory; give a file name")
            check_target(path.parent, option, roots=[root], container=True)

    interrupt_on_kill()  # a kill or a hang-up still stops the throwaway server

    try:
        planned = plan_drill(root, args.day, args.upto, key_file=key_file, workroot=args.workdir,
                             server_config=args.server_config, until=args.until, skip=tuple(args.skip),
                             binlog_dirs=[Path(d) for d in args.binlog_dir],
                             from_server=Path(args.from_server) if args.from_server else None, replay=args.replay)
    except XtraRestoreError as error:
        print(f"xtrarestore: drill refused, nothing was touched: {shown(error)}", file=sys.stderr)
        result = refused_report(root, args.day or "", args.upto, error)
    else:
        print_wrapped(f"Drill {planned.id}: {planned.day} up to {planned.upto} ({len(planned.point.members)} backups)"
                      f" into a throwaway server in {planned.base}")
        if planned.plan.roll_forward:
            print_wrapped(f"then roll forward: {planned.plan.roll_forward['stop_point']}")
        result = run_drill(planned, on_event=step_printer(len(planned.steps)), keep=args.keep)
    saved_json, saved_md = reports.save(result, args.reports_dir)
    if args.report_json:
        reports.write_json(result, args.report_json)
    if args.report_md:
        reports.write_markdown(result, args.report_md)
    if result.steps:
        _summary(result, saved_json, saved_md)
    else:  # refused: the one line above said why
        print(f"Report: {shown(saved_json)}")
    return 0 if result.ok else 1


def step_printer(total: int, indent: str = ""):
    """One line per step event, never wrapped (scripts and logs read them line by line); a failure's reason is
    said once, by the caller, at the end."""

    def show(event) -> None:
        if event.kind not in ("finished", "failed"):
            return
        outcome = "done in" if event.kind == "finished" else "FAILED after"
        print(f"{indent}[{event.index:2d}/{total}] {shown(event.step.title)}: {outcome} {event.seconds:.1f}s",
              flush=True)
    return show


def _summary(result, saved_json: Path, saved_md: Path) -> None:
    print()
    if result.ok:
        print(f"Drill PASSED: RTO {result.rto_seconds:.1f}s "
              f"(drill total {result.total_seconds:.1f}s with sandbox set-up and clean-up)")
        print(f"  before the stop {result.before_stop_seconds:.1f}s; "
              f"downtime (stop → answering) {result.downtime_seconds:.1f}s")
    else:
        print(f"xtrarestore: drill FAILED: {shown(result.error)}", file=sys.stderr, flush=True)
    rf = result.roll_forward
    if rf:
        print_wrapped(f"  roll forward: {rf.get('stop_point')}; reached GTID "
                      f"{rf.get('gtid_reached') or rf.get('gtid_target')} ({rf.get('time_reached') or '-'}), "
                      f"{rf.get('transactions_applied', 0)} transactions applied in {float(rf.get('seconds') or 0):.1f}s")
    for table in result.tables:
        print(shown(f"  {table.schema}.{table.table}: {table.rows} rows, CHECK TABLE {table.check}"))
    for problem in result.problems:
        if problem.get("code") not in ("drill-failed", "refused", "chain"):
            print_wrapped(f"  problem {problem.get('code')}: {problem.get('message')}")
    print(f"Report: {shown(saved_json)}\n        {shown(saved_md)}")
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
        print(f"Kept (server stopped): {shown(server.get('directory'))}")
