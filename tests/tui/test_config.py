"""Settings files: defaults an operator would otherwise type, named host profiles, the command line on top."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from xtrarestore.core import config
from xtrarestore.core.errors import SettingsError
from xtrarestore.tui.app import settings_from_args
from xtrarestore.tui.cli import apply_settings, parse_args

SETTINGS = """
root = "/backups/mysql"
key-file = "/backups/mysql/encryption_key"
service = "mariadb"
socket = "/run/mysqld/mysqld.sock"

[hosts.db1]
root = "/srv/backups/db1"
datadir = "/srv/db1/mysql"
port = 3307
"""


@pytest.fixture
def settings_file(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text(SETTINGS)
    monkeypatch.setenv(config.ENV_FILE, str(path))
    monkeypatch.setattr(config, "BACKUP_CNF", tmp_path / "no-backup.cnf")
    return path


def parsed(*argv: str):
    args = parse_args(list(argv))
    args.settings = apply_settings(args)
    return args


def test_system_then_user_file_later_wins_and_profile_on_top(tmp_path, monkeypatch):
    system, user = tmp_path / "etc.toml", tmp_path / "user.toml"
    system.write_text('root = "/a"\ndatadir = "/var/lib/mysql"\n[hosts.db1]\nsocket = "/s1"\n')
    user.write_text('root = "/b"\n[hosts.db1]\nroot = "/c"\n')
    monkeypatch.setattr(config, "BACKUP_CNF", tmp_path / "none")
    plain = config.load_settings(files=[system, user])
    assert plain.values == {"root": "/b", "datadir": "/var/lib/mysql"}
    assert plain.sources["root"] == str(user) and plain.sources["datadir"] == str(system)
    db1 = config.load_settings("db1", files=[system, user])
    assert db1.values == {"root": "/c", "datadir": "/var/lib/mysql", "socket": "/s1"}
    assert db1.sources["root"] == f"{user} [hosts.db1]"


def test_default_files_are_etc_then_the_users(monkeypatch, tmp_path):
    monkeypatch.delenv(config.ENV_FILE, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config.settings_files() == [Path("/etc/xtrarestore/config.toml"), tmp_path / "xtrarestore/config.toml"]


def test_command_line_overrides_and_fills_the_rest(settings_file, tmp_path):
    args = parsed("--host-profile", "db1", "plan", "--upto", "latest", "--socket", "/tmp/mine.sock")
    assert (args.root, args.datadir, args.port, args.socket) == (
        "/srv/backups/db1",
        "/srv/db1/mysql",
        3307,
        "/tmp/mine.sock",
    )
    assert args.settings.sources["socket"] == "command line"
    assert parsed("plan", "--upto", "x", "--host-profile", "db1").datadir == "/srv/db1/mysql"
    key = tmp_path / "encryption_key"
    key.write_bytes(b"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3")
    console = settings_from_args(parsed("--root", "/elsewhere", "--key-file", str(key)))
    assert console.root == Path("/elsewhere")
    assert console.target_options["service"] == "mariadb"


def test_status_only_takes_the_state_dir(settings_file):
    args = parsed("status")
    assert args.service is None, "a configured service must not override the journal's own on --resume"


def test_backup_cnf_is_the_default_defaults_file_when_readable(tmp_path, monkeypatch, settings_file):
    cnf = tmp_path / "backup.cnf"
    cnf.write_text("[client]\nuser=backup\npassword=password\n")
    monkeypatch.setattr(config, "BACKUP_CNF", cnf)
    args = parsed("plan", "--upto", "latest")
    assert args.defaults_file == str(cnf) and "backup-mysql.sh" in args.settings.sources["defaults_file"]
    assert parsed("plan", "--upto", "latest", "--defaults-file", "/mine.cnf").defaults_file == "/mine.cnf"
    cnf.chmod(0)
    if os.geteuid() != 0:
        assert parsed("plan", "--upto", "latest").defaults_file is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('key = "0123456789abcdef"', "key: secrets are never read from settings"),
        ('[hosts.db9]\nencryption_key = "x"', "[hosts.db9] encryption_key: secrets are never read"),
        ('rooot = "/x"', "rooot: unknown setting"),
        ('port = "3306"', "port: must be a whole number"),
        ("datadir = 5", "datadir: must be a string"),
        ("root = [", "not valid TOML"),
        ('hosts = "db1"', "give each host as a [hosts.NAME] section"),
    ],
)
def test_bad_settings_are_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(SettingsError) as caught:
        config.load_settings(files=[path])
    assert message in str(caught.value) and str(path) in str(caught.value) and "\n" not in str(caught.value)
    assert "0123456789abcdef" not in str(caught.value)


def test_unknown_profile_names_the_known_ones(settings_file):
    with pytest.raises(SettingsError, match=r"--host-profile db2: no \[hosts.db2\] in .* \(profiles: db1\)"):
        config.load_settings("db2")


def test_config_command_prints_values_and_sources(settings_file):
    environment = {**os.environ, config.ENV_FILE: str(settings_file), "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "xtrarestore.tui.cli", "--host-profile", "db1", "config", "--host-profile", "db1"],
        capture_output=True,
        text=True,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.startswith("  ")}
    assert "/srv/backups/db1" in lines["root"] and "[hosts.db1]" in lines["root"]
    assert "mariadb" in lines["service"] and f"[{settings_file}]" in lines["service"]
    assert "[default]" in lines["state_dir"] and "[not set]" in lines["stop_cmd"]
    assert "db1 (in use)" in result.stdout
    settings_file.write_text('key = "abc"\n')
    refused = subprocess.run(
        [sys.executable, "-m", "xtrarestore.tui.cli", "config"], capture_output=True, text=True, env=environment
    )
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "abc" not in refused.stderr


def test_dev_null_is_no_settings_and_other_special_files_are_refused(tmp_path):
    """`XTRARESTORE_CONFIG=/dev/null` is the usual way to say "no settings"; a FIFO or a directory is named."""
    assert config.load_settings(files=[Path(os.devnull)]).get("root") is None
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)
    with pytest.raises(SettingsError, match=r"config.toml: not a regular file \(a FIFO\), not a settings file"):
        config.load_settings(files=[fifo])
    with pytest.raises(SettingsError, match=r": is a directory, not a settings file"):
        config.load_settings(files=[tmp_path])
