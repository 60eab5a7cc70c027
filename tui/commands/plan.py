"""`xtrarestore plan`: print the exact restore plan and its preconditions (a dry run).

The options are shared with `restore`, which builds the very same plan before
asking to run it.
"""

from __future__ import annotations

import argparse
import sys

from xtrarestore.core.archive import DEFAULT_JOBS

HELP = "print the restore plan and its precondition checks without running anything"
UPTO_HELP = ("last backup to include, as the tool shows it: file name, name without .xbstream, "
             "DAY/NAME, time ('2026-11-19 03:00:00'), a unique prefix, or 'latest'")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The options that choose a restore point and describe the server to restore into."""
    parser.add_argument("--root", default=argparse.SUPPRESS, help="backup root (default: /backups/mysql)")
    parser.add_argument("--day", help="day directory, e.g. Mon (needed only when --upto names backups of several days)")
    parser.add_argument("--upto", required=True, help=UPTO_HELP)
    parser.add_argument("--datadir", help="the server's data directory to replace (or datadir in config.toml)")
    add_server_arguments(parser)
    parser.add_argument("--key-file", default=argparse.SUPPRESS, help="encryption key file (path only)")
    add_stop_point_arguments(parser)


UNTIL_HELP = ("roll forward through the binlogs to: 'YYYY-MM-DD HH:MM:SS[+HH:MM|Z]' (commits before that second,"
              " host time zone unless an offset is given), gtid:D-S-N (up to and including it), before:D-S-N"
              " (everything before it), FILE:POS (events before that offset) or end")


def add_stop_point_arguments(parser: argparse.ArgumentParser, *, drill: bool = False) -> None:
    """`--until`, `--skip`, `--binlog-dir`, `--replay` (and for drills `--from-server`): point-in-time recovery."""
    group = parser.add_argument_group("point-in-time recovery")
    group.add_argument("--until", metavar="STOP", help=UNTIL_HELP)
    group.add_argument("--skip", action="append", default=[], metavar="D-S-N",
                       help="leave this transaction out of the roll-forward (repeatable); alone, means --until end")
    group.add_argument("--binlog-dir", action="append", default=[], metavar="DIR",
                       help="a directory of binlog files (repeatable); " + (
                           "the throwaway server reads them" if drill else
                           "the replaced server's own binlogs are found through log_bin_basename"))
    group.add_argument("--replay", choices=("relay", "pipe"), default="relay",
                       help="relay: the server's SQL thread applies the binlogs as relay logs (fast, default);"
                            " pipe: mariadb-binlog | mariadb")
    if drill:
        group.add_argument("--from-server", metavar="SOCKET",
                           help="also read the binlogs of the live server on this socket (its log_bin_basename)")


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
    parser.add_argument("--workdir", help="restore workspace (default <datadir>.restore-<id> beside the datadir, "
                                          "mode 0700; the swap is then renames — elsewhere it is copy-back)")
    parser.add_argument("--state-dir",
                        help="journal directory (default /var/lib/xtrarestore, or ~/.local/state/xtrarestore); "
                             "the locks are host-wide, in /run/lock/xtrarestore")
    parser.add_argument("--extract-jobs", type=int, metavar="N",
                        help=f"streams extracted side by side (default {DEFAULT_JOBS}; 1 for a single spinning disk)")
    parser.add_argument("--use-memory", type=_size, metavar="SIZE",
                        help="memory for --prepare, e.g. 4G (default: a quarter of the memory available, "
                             "at most 16G and the backups' size; 0 for the backup tool's own default)")
    parser.add_argument("--move-back", action="store_true",
                        help="move (not copy) the prepared files into the datadir when space is short")
    parser.add_argument("--stop-timeout", type=float, default=300.0, help="seconds to wait for the stop")
    parser.add_argument("--start-timeout", type=float, default=300.0, help="seconds to wait for the start")
    parser.add_argument("--verify-sample", type=int, default=200, metavar="N",
                        help="count rows and CHECK TABLE in at most N tables (default 200)")


def _size(text: str) -> int:
    from xtrarestore.core.restore.memory import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


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

    if not options.get("datadir"):
        from xtrarestore.core.errors import PreconditionError

        raise PreconditionError("give --datadir, the data directory to replace (or datadir in a settings file: "
                                "see `xtrarestore config`)")

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
    from xtrarestore.core.storage.location import root_path

    return RestoreRequest(
        root=root_path(options.get("root") or "/backups/mysql"),
        day=options.get("day"),
        upto=options["upto"],
        target=target,
        key_file=path("key_file"),
        workdir=path("workdir"),
        state_dir=path("state_dir"),
        extract_jobs=options.get("extract_jobs"),
        prepare_memory=options.get("use_memory"),
        until=options.get("until") or None,
        skip=tuple(options.get("skip") or ()),
        binlog_dirs=[Path(d) for d in options.get("binlog_dir") or ()],
        from_server=path("from_server"),
        replay=options.get("replay") or "relay",
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


def print_checks(checks, out=None) -> None:
    from xtrarestore.tui.display import print_wrapped

    print_wrapped(["preconditions:"] + [f"  [{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}"
                                        for check in checks], file=out)


def run(args) -> int:
    planned = prepare(args)
    from xtrarestore.tui.display import print_wrapped

    print_checks(planned.checks)
    print_wrapped(planned.plan.lines())
    failed = planned.failed
    if failed:
        print(f"xtrarestore: {len(failed)} precondition(s) fail; `restore` would refuse", file=sys.stderr)
        return 2
    return 0
