"""The settings an operator would otherwise type at 3 a.m.: config.toml files, then the command line.

Files, later ones winning: `/etc/xtrarestore/config.toml`, then
`~/.config/xtrarestore/config.toml` (`$XDG_CONFIG_HOME`); `$XTRARESTORE_CONFIG`
names one file to read instead of both. Each file holds top-level settings and
any number of named hosts, chosen with `--host-profile NAME`:

    root = "/backups/mysql"
    key_file = "/backups/mysql/encryption_key"
    service = "mariadb"

    [hosts.db1]
    root = "/backups/db1"
    datadir = "/srv/mysql"
    socket = "/run/mysqld/db1.sock"

A profile's settings override the file's top level; the command line overrides
everything. The key *file's path* may be configured, never key bytes: a `key`
setting is refused. `defaults_file` falls back to `/etc/mysql/backup.cnf`, the
DigitalOcean scripts' credentials file, when it exists and can be read.
Every value keeps where it came from, for `xtrarestore config`.
"""

from __future__ import annotations

import errno
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SettingsError
from .files import open_regular

SYSTEM_FILE = Path("/etc/xtrarestore/config.toml")
ENV_FILE = "XTRARESTORE_CONFIG"
BACKUP_CNF = Path("/etc/mysql/backup.cnf")

# name -> (type, what it is)
SETTINGS: dict[str, tuple[type, str]] = {
    "root": (str, "backup root (a directory or s3://bucket/prefix)"),
    "key_file": (str, "encryption key file (its path; the key itself is never a setting)"),
    "datadir": (str, "the server's data directory to replace"),
    "service": (str, "systemd unit (or sysv:NAME, or 'auto')"),
    "stop_cmd": (str, "shell command that stops the server"),
    "start_cmd": (str, "shell command that starts the server"),
    "socket": (str, "server socket"),
    "host": (str, "server host (with port) when there is no socket"),
    "port": (int, "server port"),
    "defaults_file": (str, "option file whose [client] section has user/password"),
    "server_config": (str, "server my.cnf for copy-back (innodb file locations)"),
    "error_log": (str, "server error log"),
    "workdir": (str, "restore workspace"),
    "state_dir": (str, "journal and lock directory"),
}
SECRET_NAMES = ("key", "encryption_key", "key_bytes", "password", "secret", "aws_secret_access_key")
DEFAULT = "default"


@dataclass
class Settings:
    """Effective values and, for each, where it came from."""

    values: dict[str, object] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    profiles: dict[str, list[str]] = field(default_factory=dict)  # profile -> files defining it
    profile: str | None = None

    def get(self, name: str, fallback=None):
        return self.values.get(name, fallback)

    def set(self, name: str, value, source: str) -> None:
        self.values[name] = value
        self.sources[name] = source


def user_file() -> Path:
    config_home = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config_home) / "xtrarestore" / "config.toml"


def settings_files() -> list[Path]:
    """The files read, in order (later wins); `$XTRARESTORE_CONFIG` replaces both."""
    chosen = os.environ.get(ENV_FILE)
    if chosen:
        return [Path(chosen)]
    return [SYSTEM_FILE, user_file()]


def _read(path: Path) -> dict | None:
    if os.path.realpath(path) == os.devnull:  # XTRARESTORE_CONFIG=/dev/null: no settings at all
        return {}
    try:
        with open(open_regular(path), "rb") as handle:  # a FIFO in a settings file's place cannot hang us
            return tomllib.load(handle)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise SettingsError(f"{path}: cannot be read (permission denied)") from None
    except OSError as error:
        if error.errno == errno.EINVAL and path.is_dir():
            raise SettingsError(f"{path}: is a directory, not a settings file") from None
        if error.errno == errno.EINVAL:
            raise SettingsError(f"{path}: {error.strerror}, not a settings file") from None
        raise SettingsError(f"{path}: cannot be read ({error.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise SettingsError(f"{path}: not valid TOML: {error}") from None


def _checked(path: Path, where: str, table: dict) -> dict[str, object]:
    """The settings of one table, names normalised (`key-file` = `key_file`), types and secrets checked."""
    found: dict[str, object] = {}
    for raw, value in table.items():
        name = raw.replace("-", "_").lower()
        if name in SECRET_NAMES:
            raise SettingsError(
                f"{path}: {where}{raw}: secrets are never read from settings; "
                "give the key's file as key_file, and passwords in a defaults_file"
            )
        if name not in SETTINGS:
            close = ", ".join(sorted(SETTINGS))
            raise SettingsError(f"{path}: {where}{raw}: unknown setting (known: {close})")
        kind = SETTINGS[name][0]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise SettingsError(f"{path}: {where}{raw}: must be a whole number, not {value!r}")
        if kind is str and not isinstance(value, str):
            raise SettingsError(f"{path}: {where}{raw}: must be a string (in quotes), not {value!r}")
        if kind is str and not value.strip():
            raise SettingsError(f"{path}: {where}{raw}: is empty")
        found[name] = value
    return found


def load_settings(profile: str | None = None, files: list[Path] | None = None) -> Settings:
    """Read the settings files, with *profile*'s `[hosts.NAME]` section on top of each file's top level."""
    settings = Settings(profile=profile)
    layers: list[tuple[str, dict]] = []
    for path in settings_files() if files is None else files:
        document = _read(path)
        if document is None:
            continue
        settings.files.append(path)
        hosts = document.pop("hosts", {})
        if not isinstance(hosts, dict) or not all(isinstance(v, dict) for v in hosts.values()):
            raise SettingsError(f"{path}: hosts: give each host as a [hosts.NAME] section")
        layers.append((str(path), _checked(path, "", document)))
        for name, table in hosts.items():
            settings.profiles.setdefault(name, []).append(str(path))
            values = _checked(path, f"[hosts.{name}] ", table)  # every section is checked, chosen or not
            if name == profile:
                layers.append((f"{path} [hosts.{name}]", values))
    if profile is not None and profile not in settings.profiles:
        where = ", ".join(str(p) for p in settings.files) or "no settings file"
        known = ", ".join(sorted(settings.profiles)) or "none"
        raise SettingsError(f"--host-profile {profile}: no [hosts.{profile}] in {where} (profiles: {known})")
    for source, values in layers:
        for name, value in values.items():
            settings.set(name, value, source)
    if "defaults_file" not in settings.values and os.access(BACKUP_CNF, os.R_OK):
        settings.set("defaults_file", str(BACKUP_CNF), f"{BACKUP_CNF} exists (backup-mysql.sh's credentials)")
    return settings
