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
GIVEN_BEFORE = "given_before_command_"
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
    _keep_options_given_before_the_command(parser, subparsers)
    return parser


def _keep_options_given_before_the_command(parser: argparse.ArgumentParser, subparsers) -> None:
    """`xtrarestore --socket S plan …` keeps S: argparse would let `plan`'s own default overwrite it.

    A command's option that the top level also takes gets no default while parsing; `parse_args` fills the
    command's default afterwards, only where the option was given nowhere.
    """
    top = {action.dest: action.default for action in parser._actions if action.option_strings}
    for action in parser._actions:
        if isinstance(action, argparse._AppendAction):  # a command parses into a fresh namespace: keep both lists
            action.dest = GIVEN_BEFORE + action.dest
    for sub in subparsers.choices.values():
        later: dict[str, tuple[object, object]] = {}
        for action in sub._actions:
            if action.dest in top and action.default is not argparse.SUPPRESS:
                later[action.dest] = (action.default, action.type)
                action.default = argparse.SUPPRESS
        sub.set_defaults(command_defaults=(top, later))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, with each command's defaults under what was given before or after its name
    (a value given before it converted as the command converts its own, e.g. to a Path)."""
    args = build_parser().parse_args(argv)
    top, later = vars(args).pop("command_defaults", ({}, {}))
    for key in [key for key in vars(args) if key.startswith(GIVEN_BEFORE)]:
        dest = key.removeprefix(GIVEN_BEFORE)
        setattr(args, dest, vars(args).pop(key) + (getattr(args, dest, None) or []))
    for dest, (default, kind) in later.items():
        value = getattr(args, dest, None)
        if value == top[dest]:
            setattr(args, dest, default)
        elif callable(kind):
            typed = [_typed(kind, item) for item in value] if isinstance(value, list) else _typed(kind, value)
            setattr(args, dest, typed)
    return args


def _typed(kind, value):
    return kind(value) if isinstance(value, str) else value


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
    args = parse_args(argv)
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
