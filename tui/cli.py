"""The `xtrarestore` command line: the console by default, subcommands for scripts."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from xtrarestore.core.errors import XtraRestoreError
from xtrarestore.core.shown import shown
from xtrarestore.tui.commands.plan import add_server_arguments

# Each name is a module in xtrarestore.tui.commands with `register(subparsers)`;
# the module keeps its heavy imports inside its run function so start-up stays fast.
COMMANDS: tuple[str, ...] = (
    "binlog", "config", "demo", "drill", "extract", "flashback", "inventory", "plan", "recover-table", "restore",
    "status",
)
# Which settings (core.config) fill options a command was not given; None is the console.
ALL_SETTINGS = "all"
SETTINGS_USED: dict[str | None, tuple[str, ...] | str] = {
    None: ALL_SETTINGS, "plan": ALL_SETTINGS, "restore": ALL_SETTINGS, "config": ALL_SETTINGS,
    "inventory": ("root", "key_file"), "drill": ("root", "key_file"), "extract": ("key_file",),
    "status": ("state_dir",), "demo": (),
    "recover-table": ("root", "key_file", "socket", "host", "port", "defaults_file", "state_dir"),
    "flashback": ("socket", "host", "port", "defaults_file"),
    "binlog": ("root", "key_file"),
}
PROFILE_HELP = "use the [hosts.NAME] section of the settings files (see `xtrarestore config`)"


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("xtrarestore")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line (escaped) pointing at --help, not the usage."""

    def error(self, message: str):
        self.exit(2, shown(f"{self.prog}: {message} (see {self.prog} --help)") + "\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="xtrarestore",
        description="Restore MySQL / MariaDB from XtraBackup or mariabackup backups.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument("--root", help="backup root to open in the console (default: /backups/mysql)")
    parser.add_argument("--key-file", help="encryption key file for encrypted backups")
    parser.add_argument("--host-profile", metavar="NAME", help=PROFILE_HELP)
    parser.add_argument("--datadir", help="data directory the console restores into (default: /var/lib/mysql)")
    add_server_arguments(parser)
    parser.add_argument("--binlog-dir", action="append", default=[], metavar="DIR",
                        help="binlog archive for point-in-time restores in the console (repeatable)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"xtrarestore.tui.commands.{name.replace('-', '_')}").register(subparsers)
    for name, sub in subparsers.choices.items():
        if SETTINGS_USED.get(name):
            sub.add_argument("--host-profile", metavar="NAME", default=argparse.SUPPRESS, help=PROFILE_HELP)
    return parser


def apply_settings(args: argparse.Namespace):
    """Fill the options the command line left out from the settings files; returns the `Settings` read."""
    from xtrarestore.core.config import SETTINGS, load_settings

    settings = load_settings(getattr(args, "host_profile", None))
    used = SETTINGS_USED.get(args.command, ())
    names = SETTINGS if used == ALL_SETTINGS else used
    given = {name for name in SETTINGS if getattr(args, name, None) is not None}
    for name in names:
        if name not in given and settings.get(name) is not None:
            setattr(args, name, settings.get(name))
    for name in given:
        settings.set(name, getattr(args, name), "command line")
    return settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.settings = apply_settings(args)
        if args.command is None:
            from xtrarestore.tui.app import run_console

            return run_console(args)
        return args.run(args)
    except XtraRestoreError as error:
        print(f"xtrarestore: {shown(error)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("xtrarestore: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # a file we were told to use: one line naming it, never a traceback
        where = f"{error.filename}: " if error.filename else ""
        print(shown(f"xtrarestore: {where}{error.strerror or error}"), file=sys.stderr)
        return 2
    except Exception as error:  # a bug still ends in one line; XTRARESTORE_DEBUG=1 shows its traceback
        if os.environ.get("XTRARESTORE_DEBUG"):
            raise
        print(shown(f"xtrarestore: internal error ({type(error).__name__}): {error}"), file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
