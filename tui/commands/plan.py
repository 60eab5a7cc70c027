"""`xtrarestore plan`: print the exact restore plan and its preconditions (a dry run).

The options are shared with `restore`, which builds the very same plan before
asking to run it.
"""

from __future__ import annotations

import argparse
import sys

from xtrarestore.core.archive import DEFAULT_JOBS

HELP = "print the restore plan and its precondition checks without running anything"


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose a restore point and describe the server to restore into."""
    parser.add_argument("--root", default=argparse.SUPPRESS, help="backup root (default: /backups/mysql)")
    parser.add_argument("--day", required=True, help="day directory, e.g. Mon")
    parser.add_argument("--upto", required=True,
                        help="last backup to include: an incremental's file name, or the full's")
    parser.add_argument("--datadir", required=True, help="the server's data directory to replace")
    add_server_arguments(parser)
    parser.add_argument("--key-file", default=argparse.SUPPRESS, help="encryption key file (path only)")


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """How to stop, start and reach the server, and where the restore keeps its files.

    Shared by `plan`/`restore` and the console (which restores into the server they name).
    """
    service = parser.add_argument_group("service control (one of)")
    service.add_argument("--service", metavar="UNIT",
                         help="systemd unit (or sysv:NAME); 'auto' detects mysql/mysqld/mariadb")
    service.add_argument("--stop-cmd", help="shell command that stops the server")
    service.add_argument("--start-cmd", help="shell command that starts the server")
    reach = parser.add_argument_group("reaching the server")
    reach.add_argument("--socket", help="server socket (to see it answer and to verify)")
    reach.add_argument("--host", help="server host (with --port) when there is no socket")
    reach.add_argument("--port", type=int)
    reach.add_argument("--defaults-file",
                       help="option file whose [client] section has user/password for verification")
    reach.add_argument("--error-log", help="server error log (default: asked from the running server)")
    reach.add_argument("--server-config",
                       help="server my.cnf passed to copy-back as --defaults-file (innodb file locations)")
    parser.add_argument("--workdir", help="restore workspace (default /var/tmp/xtrarestore/<id>, mode 0700)")
    parser.add_argument("--state-dir",
                        help="journal and lock directory (default /var/lib/xtrarestore, or ~/.local/state/xtrarestore)")
    parser.add_argument("--extract-jobs", type=int, metavar="N",
                        help=f"streams extracted side by side (default {DEFAULT_JOBS}; 1 for a single spinning disk)")
    parser.add_argument("--move-back", action="store_true",
                        help="move (not copy) the prepared files into the datadir when space is short")
    parser.add_argument("--stop-timeout", type=float, default=300.0, help="seconds to wait for the stop")
    parser.add_argument("--start-timeout", type=float, default=300.0, help="seconds to wait for the start")
    parser.add_argument("--verify-sample", type=int, default=200, metavar="N",
                        help="count rows and CHECK TABLE in at most N tables (default 200)")


def register(subparsers) -> None:
    parser = subparsers.add_parser("plan", help=HELP, description=HELP)
    add_target_arguments(parser)
    parser.set_defaults(run=run)


def prepare(args):
    """Scan, find the restore point, detect tool and service, build the plan and check preconditions.

    Returns (plan, checks). Raises a typed error (chain gap, missing tool, …)
    before anything is touched.
    """
    from pathlib import Path

    from xtrarestore.core import preflight
    from xtrarestore.core.chain import find_restore_point
    from xtrarestore.core.inventory import scan
    from xtrarestore.core.keys import load_key
    from xtrarestore.core.plan import Target, build_plan
    from xtrarestore.core.service import resolve_service
    from xtrarestore.core.tools import detect_tool, flavour_of_backup

    root = Path(getattr(args, "root", None) or "/backups/mysql")
    key_file = Path(args.key_file) if getattr(args, "key_file", None) else None
    inventory = scan(root, key=load_key(key_file) if key_file else None)
    point = find_restore_point(inventory, args.day, args.upto)
    info = getattr(point.members[0], "info", None)
    tool = detect_tool(flavour_of_backup(getattr(info, "tool_name", None)))
    target = Target(
        datadir=Path(args.datadir),
        service=resolve_service(args.service, args.stop_cmd, args.start_cmd),
        socket=Path(args.socket) if args.socket else None,
        host=args.host,
        port=args.port,
        defaults_file=Path(args.defaults_file) if args.defaults_file else None,
        server_config=Path(args.server_config) if args.server_config else None,
        error_log=Path(args.error_log) if args.error_log else None,
        move_back=args.move_back,
        stop_timeout=args.stop_timeout,
        start_timeout=args.start_timeout,
        verify_sample=getattr(args, "verify_sample", 200),  # the console builds args without it
    )
    if not (target.socket or target.host):
        raise preflight.PreconditionError("give --socket or --host/--port so the restore can see the server answer")
    checks, error_log = preflight.server_checks(target)
    if target.error_log is None and error_log is not None:
        target.error_log = error_log
    jobs = getattr(args, "extract_jobs", None)
    if jobs is not None and jobs < 1:
        raise preflight.PreconditionError(f"--extract-jobs {jobs}: give 1 or more")
    plan = build_plan(point, target, tool=tool, workdir=Path(args.workdir) if args.workdir else None,
                      key_file=key_file, extract_jobs=jobs)
    checks += preflight.unfinished_checks(state_dir(args), target.datadir)
    checks += preflight.service_checks(target)
    checks += preflight.tool_checks(tool, point.members, key_file)
    checks += preflight.workspace_checks(plan, root)
    checks += preflight.datadir_checks(plan)
    checks += preflight.space_checks(plan, point.members, move_back=target.move_back)
    return plan, checks


def state_dir(args):
    """--state-dir, or the default for this user."""
    from pathlib import Path

    from xtrarestore.core.journal import default_state_dir

    return Path(args.state_dir) if args.state_dir else default_state_dir()


def print_checks(checks, out=sys.stdout) -> None:
    print("preconditions:", file=out)
    for check in checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}", file=out)


def run(args) -> int:
    plan, checks = prepare(args)
    print_checks(checks)
    print("\n".join(plan.lines()))
    failed = [c for c in checks if not c.ok]
    if failed:
        print(f"xtrarestore: {len(failed)} precondition(s) fail; `restore` would refuse", file=sys.stderr)
        return 2
    return 0
