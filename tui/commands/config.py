"""`xtrarestore config`: the effective settings and where each came from.

Settings files (`core.config`) hold what an operator would otherwise type on
every command; this shows what a command run now would use, so a surprise is
found before 3 a.m. rather than during it.
"""

from __future__ import annotations

HELP = "print the effective settings (settings files, command line, defaults) and where each came from"

# What a command uses when nothing is set (shown so the operator sees the whole picture).
BUILT_IN = {
    "root": "/backups/mysql",
    "datadir": "/var/lib/mysql (console)",
    "service": "auto (console: mysql/mysqld/mariadb)",
    "socket": "/run/mysqld/mysqld.sock (console)",
    "workdir": "/var/tmp/xtrarestore/<restore id>",
}


def register(subparsers) -> None:
    parser = subparsers.add_parser("config", help=HELP, description=HELP)
    parser.set_defaults(run=run)


def run(args) -> int:
    from xtrarestore.core.config import SETTINGS, settings_files
    from xtrarestore.core.restore.journal import default_state_dir
    from xtrarestore.tui.display import print_wrapped

    settings = args.settings
    built_in = {**BUILT_IN, "state_dir": str(default_state_dir())}
    read = [str(path) for path in settings.files]
    lines = [
        "settings files (later ones win): "
        + ", ".join(f"{path} ({'read' if str(path) in read else 'absent'})" for path in settings_files())
    ]
    if settings.profiles:
        lines.append(
            "host profiles: "
            + ", ".join(
                f"{name}{' (in use)' if name == settings.profile else ''}" for name in sorted(settings.profiles)
            )
        )
    width = max(map(len, SETTINGS))
    for name in SETTINGS:
        value = settings.get(name)
        if value is not None:
            line = f"  {name.ljust(width)}  {value}  [{settings.sources[name]}]"
        elif name in built_in:
            line = f"  {name.ljust(width)}  {built_in[name]}  [default]"
        else:
            line = f"  {name.ljust(width)}  -  [not set]"
        lines.append(line)
    print_wrapped(lines)
    return 0
