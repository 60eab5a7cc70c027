"""The `xtrarestore` command line: the console by default, subcommands for scripts."""

from __future__ import annotations

import argparse
import importlib
import sys

from xtrarestore.core.errors import XtraRestoreError
from xtrarestore.tui.commands.plan import add_server_arguments

# Each name is a module in xtrarestore.tui.commands with `register(subparsers)`;
# the module keeps its heavy imports inside its run function so start-up stays fast.
COMMANDS: tuple[str, ...] = ("binlog", "demo", "drill", "extract", "inventory", "plan", "restore", "status")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xtrarestore",
        description="Restore MySQL / MariaDB from XtraBackup or mariabackup backups.",
    )
    parser.add_argument("--root", help="backup root to open in the console (default: /backups/mysql)")
    parser.add_argument("--key-file", help="encryption key file for encrypted backups")
    parser.add_argument("--datadir", help="data directory the console restores into (default: /var/lib/mysql)")
    add_server_arguments(parser)
    parser.add_argument("--binlog-dir", action="append", default=[], metavar="DIR",
                        help="binlog archive for point-in-time restores in the console (repeatable)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"xtrarestore.tui.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command is None:
            from xtrarestore.tui.app import run_console

            return run_console(args)
        return args.run(args)
    except XtraRestoreError as error:
        print(f"xtrarestore: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xtrarestore: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
