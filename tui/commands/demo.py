"""`xtrarestore demo`: build a demo backup root from a real server and open the console on it.

The first command a newcomer runs: it needs MariaDB's server and backup tool
(it says exactly what to install when they are missing), builds three days of
real backups with the problems an operator must learn to read, and reuses
them on later runs. The console then runs against the demo's own throwaway
"production" server: restore, rollback and drills aim at it, never at the
host's MariaDB. Quitting (or SIGHUP/SIGTERM) stops and removes it.
"""

from __future__ import annotations

import sys
from pathlib import Path

HELP = "build a demo backup root from a real sandbox MariaDB server and open the console on it"
PROGRAMS = (["mariadbd", "mysqld"], ["mariadb-install-db", "mysql_install_db"], ["mariabackup", "mariadb-backup"])


def register(subparsers) -> None:
    parser = subparsers.add_parser("demo", help=HELP, description=HELP)
    parser.add_argument("--workdir", type=Path,
                        help="where the demo lives (default: ~/.local/share/xtrarestore/demo)")
    parser.add_argument("--rebuild", action="store_true", help="build it again even if one is there")
    parser.add_argument("--no-console", action="store_true", help="build (or check) it and print where it is")
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.drills.demo import build_demo
    from xtrarestore.core.errors import ToolNotFoundError
    from xtrarestore.core.programs import find_program

    try:
        for names in PROGRAMS:
            find_program(names)
    except ToolNotFoundError as error:
        print(f"xtrarestore: {error}", file=sys.stderr)
        return 1
    demo = build_demo(args.workdir, rebuild=args.rebuild)
    key = f" --key-file {demo.key_file}" if demo.key_file else ""
    print(f"\nBackup root: {demo.root}")
    for day in demo.days:
        chain = demo.chain(day)
        troubles = [f"{b.name} ({b.state})" for b in demo.backups if b.day == day and b.state != "ok"]
        print(f"  {day}: {len(chain)} restorable backups" + (f"; problems: {', '.join(troubles)}" if troubles else ""))
    if chain := demo.chain(demo.days[-1]):
        print(f"Try a drill from the shell:\n  xtrarestore drill --root {demo.root} --day {demo.days[-1]}"
              f" --upto {chain[-1].name}{key}")
    if demo.incident and demo.binlog_dir and (chain := demo.chain(demo.days[-1])):
        incident = demo.incident
        print(f"After the last backup someone ran {incident['sql']} (GTID {incident['gtid']}). Undo it:\n"
              f"  xtrarestore binlog --binlog-dir {demo.binlog_dir} --root {demo.root} --day {demo.days[-1]}"
              f" --upto {chain[-1].name}\n"
              f"  xtrarestore drill --root {demo.root} --day {demo.days[-1]} --upto {chain[-1].name}{key}"
              f" --binlog-dir {demo.binlog_dir} --until before:{incident['gtid']}")
    if args.no_console:
        return 0
    return console(demo)


def console(demo) -> int:
    """The console on *demo*, restoring into the demo's own production server, which it stops at the end."""
    import signal

    from xtrarestore.core.drills.demo import start_production
    from xtrarestore.tui.app import XtraRestoreApp

    production = start_production()
    try:
        app = XtraRestoreApp(demo_settings(demo, production))

        def terminated(signum, frame) -> None:
            app.call_later(app.exit, 128 + signum)

        previous = signal.signal(signal.SIGTERM, terminated)
        try:
            result = app.run()
        finally:
            signal.signal(signal.SIGTERM, previous)
        return result or 0
    finally:
        print("Stopping the demo's production server", file=sys.stderr)
        production.stop()


def demo_settings(demo, production):
    """The console's settings for the demo: its backups, and its production server as the only target."""
    from xtrarestore.core.archive.keys import load_key
    from xtrarestore.tui.app import ConsoleSettings

    return ConsoleSettings(
        root=demo.root,
        key_file=demo.key_file,
        key=load_key(demo.key_file) if demo.key_file else None,
        target_options=production.target_options,
        reports_dir=demo.workdir / "reports",
        drill_workroot=production.base,
        host="demo",
        cleanup=production.stop,
        binlog_dirs=[demo.binlog_dir] if demo.binlog_dir else [],
    )
