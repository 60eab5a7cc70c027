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
                        help="journal directory (default /var/lib/xtrarestore, or ~/.local/state/xtrarestore); "
                             "the locks are host-wide, in /run/lock/xtrarestore")
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


def request_from(options: dict):
    """The `RestoreRequest` these options describe (`vars()` of the parsed command line, or the console's)."""
    from pathlib import Path

    from xtrarestore.core.restore.plan import Target
    from xtrarestore.core.restore.request import RestoreRequest
    from xtrarestore.core.restore.service import resolve_service

    def path(name: str) -> Path | None:
        return Path(options[name]) if options.get(name) else None

    target = Target(
        datadir=Path(options["datadir"]),
        service=resolve_service(options.get("service"), options.get("stop_cmd"), options.get("start_cmd")),
        socket=path("socket"),
        host=options.get("host"),
        port=options.get("port"),
        defaults_file=path("defaults_file"),
        server_config=path("server_config"),
        error_log=path("error_log"),
        move_back=bool(options.get("move_back")),
        stop_timeout=float(options.get("stop_timeout") or 300.0),
        start_timeout=float(options.get("start_timeout") or 300.0),
        verify_sample=int(options.get("verify_sample") or 200),
    )
    return RestoreRequest(
        root=Path(options.get("root") or "/backups/mysql"),
        day=options["day"],
        upto=options["upto"],
        target=target,
        key_file=path("key_file"),
        workdir=path("workdir"),
        state_dir=path("state_dir"),
        extract_jobs=options.get("extract_jobs"),
    )


def prepare(args):
    """The plan and its precondition checks for these options (`core.restore.request.plan_restore`)."""
    from xtrarestore.core.restore.request import plan_restore

    return plan_restore(request_from(vars(args)))


def state_dir(args):
    """--state-dir, or the default for this user."""
    from pathlib import Path

    from xtrarestore.core.restore.journal import default_state_dir

    return Path(args.state_dir) if args.state_dir else default_state_dir()


def print_checks(checks, out=sys.stdout) -> None:
    print("preconditions:", file=out)
    for check in checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}", file=out)


def run(args) -> int:
    planned = prepare(args)
    print_checks(planned.checks)
    print("\n".join(planned.plan.lines()))
    failed = planned.failed
    if failed:
        print(f"xtrarestore: {len(failed)} precondition(s) fail; `restore` would refuse", file=sys.stderr)
        return 2
    return 0
