"""Start a throwaway server the way the backup's own server ran, and fail at once when it cannot.

The settings come from the backup (`inventory.settings`: its backup-my.cnf,
filled from the original server's option file) and are written into the
throwaway server's my.cnf before it starts: the encryption plugin exactly
(a typo must stop the server), the rest `loose-` (an option of another
flavour or version is skipped, not fatal).

Run as `xtrarestore-step sandbox-start` (a drill's start command): a key file
named by those settings that is missing is reported before the server is
started, and a server that exits is reported at once, with the last error
lines of its log, instead of waiting for a time-out.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import XtraRestoreError
from ..inventory.settings import BACKUP_CNF, ENCRYPTION, backup_settings, check_key_files, plugins


def option_lines(settings: dict[str, str]) -> tuple[str, ...]:
    """my.cnf lines: plugin loading, plugin and encryption options exactly (a typo must stop the server),
    the rest `loose-` (an option of another flavour or version is skipped, not fatal)."""
    loaded = plugins(settings)
    lines = []
    for key, value in settings.items():
        exact = ENCRYPTION.match(key) or any(key.startswith(p + "_") for p in loaded)
        name = key if exact else f"loose-{key}"
        lines.append(name if value is None else f"{name}={value}")
    return tuple(lines)


def holds_secret(settings: dict[str, str]) -> bool:
    """Whether the settings carry a key itself (a `…_filekey` that is not `FILE:`): the my.cnf is then 0600."""
    return any(k.endswith("_filekey") and v and not v.startswith("FILE:") for k, v in settings.items())


def start_like_backup(base: Path, backup_dir: Path, *, server_config: Path | None = None,
                      timeout: float = 120.0) -> None:
    """Write the backup's settings into the sandbox at *base* and start its server (see the module docstring)."""
    from ..restore.service import answers
    from .sandbox import SandboxServer, forget

    cnf = backup_dir / BACKUP_CNF
    settings = backup_settings(cnf if cnf.is_file() else None, server_config)
    check_key_files(settings, str(cnf) if cnf.is_file() else str(server_config))
    server = SandboxServer(base=base, options=option_lines(settings))
    server.write_config(private=holds_secret(settings))
    # Greeting, not login: a restored production server has its own root password.
    server.start(timeout=timeout, ready=lambda: answers(str(server.socket), None, None))
    forget(server)  # it must outlive this step: the drill's stop step and clean-up stop it


def run(argv: list[str]) -> int:
    """`xtrarestore-step sandbox-start`: a drill's start command."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step sandbox-start")
    parser.add_argument("--base", type=Path, required=True, help="the throwaway server's directory")
    parser.add_argument("--backup-dir", type=Path, required=True, help="the prepared backup (its backup-my.cnf)")
    parser.add_argument("--server-config", type=Path, help="the original server's option file")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    try:
        start_like_backup(args.base, args.backup_dir, server_config=args.server_config, timeout=args.timeout)
    except XtraRestoreError as error:
        print(f"error: {error}", flush=True)
        return 1
    print("server answers", flush=True)
    return 0
