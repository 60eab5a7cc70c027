"""The server settings a backup needs, read from its backup-my.cnf and from option files.

A datadir restored from a backup only opens under the settings that shaped
its files: page size, redo log size, undo tablespaces, checksums, and for
data-at-rest encryption the key management plugin with its key file.
mariabackup records them in the backup's `backup-my.cnf` (the InnoDB format
settings, `plugin_load` and every option of the encryption plugin,
`innodb_encrypt_*`); the original server's option file, when the operator
gives it, fills what the backup left out. Read here without extracting
anything, for the restore's preconditions and for drills' throwaway servers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ..archive.members import decode_member
from ..errors import KeyFileError, PreconditionError, XtraRestoreError
from ..files import open_regular
from ..storage.location import is_s3
from .stream_metadata import ENCODINGS, find_member, read_stream_metadata

SERVER_GROUPS = ("mysqld", "mariadb", "mariadbd", "server", "mariadb-server")
# Where the original's files were: meaningless for a server living elsewhere.
LOCATIONS = {"datadir", "innodb_data_home_dir", "innodb_log_group_home_dir", "innodb_undo_directory",
             "socket", "port", "bind_address", "pid_file", "log_error", "tmpdir", "general_log_file",
             "slow_query_log_file", "log_bin", "log_bin_index", "relay_log", "server_id", "user",
             "basedir", "lc_messages_dir", "skip_networking"}
# What shapes the files on disk, besides encryption: taken from the original's config when the backup lacks it.
FORMAT = {"innodb_page_size", "innodb_log_file_size", "innodb_data_file_path", "innodb_undo_tablespaces",
          "innodb_checksum_algorithm", "innodb_log_files_in_group", "innodb_log_block_size",
          "innodb_compression_algorithm", "innodb_compression_level", "lower_case_table_names"}
ENCRYPTION = re.compile(r"^(plugin_load|plugin_load_add|plugin_dir|innodb_encrypt_.*|innodb_encryption_.*|"
                        r"encrypt_tmp_files|aria_encrypt_tables|encrypt_tmp_disk_tables)$")
KEY_OPTIONS = re.compile(r"(_filename|_filekey|_key_file|_keyfile)$")
MAX_OPTION_FILE = 1 << 20
BACKUP_CNF = "backup-my.cnf"


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_").removeprefix("loose_")


def read_option_file(path: Path, groups: tuple[str, ...] = SERVER_GROUPS, _depth: int = 0) -> dict[str, str | None]:
    """The server options of an option file (`!include`/`!includedir` followed), last one winning.

    Names are normalised (`-` to `_`, without `loose-`); values keep their text, unquoted; a bare
    option (`skip-name-resolve`) has None; an empty one (`name=`) is left out.
    """
    try:
        fd = open_regular(Path(path))
        with os.fdopen(fd, "rb") as source:
            data = source.read(MAX_OPTION_FILE + 1)
    except OSError as error:
        raise PreconditionError(f"{path}: cannot read option file: {error.strerror}") from None
    if len(data) > MAX_OPTION_FILE:
        raise PreconditionError(f"{path}: too large for an option file")
    return parse_options(data.decode(errors="replace"), groups, _depth)


def parse_options(text: str, groups: tuple[str, ...] = SERVER_GROUPS, _depth: int = 0) -> dict[str, str | None]:
    """The server options in option-file *text* (see `read_option_file`)."""
    options: dict[str, str | None] = {}
    group = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("!include") and _depth < 8:
            directive, _, target = line.partition(" ")
            target_path = Path(target.strip())
            if directive == "!includedir" and target_path.is_dir():
                for child in sorted(target_path.iterdir()):
                    if child.suffix == ".cnf" and child.is_file():
                        _merge(options, read_option_file(child, groups, _depth + 1))
            elif directive == "!include" and target_path.is_file():
                _merge(options, read_option_file(target_path, groups, _depth + 1))
            continue
        if line.startswith("["):
            group = line.strip("[] ").lower()
            continue
        if group not in groups and not (group or "").startswith(("mysqld-", "mariadb-", "mariadbd-")):
            continue
        name, sep, value = line.partition("=")
        value = value.split(" #", 1)[0].strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if sep and not value:
            options.pop(_key(name), None)  # `name=` (mariabackup writes unset options so): the default
            continue
        if _key(name) == "plugin_load_add" and options.get("plugin_load_add"):
            value = f"{options['plugin_load_add']};{value}"  # each line adds plugins, as the server reads it
        options[_key(name)] = value if sep else None
    return options


def _merge(options: dict[str, str | None], included: dict[str, str | None]) -> None:
    """Options of an included file over ours; plugins added by both are all loaded."""
    added = ";".join(filter(None, (options.get("plugin_load_add"), included.get("plugin_load_add"))))
    options.update(included)
    if added:
        options["plugin_load_add"] = added


def plugins(options: dict[str, str]) -> list[str]:
    """The plugins `plugin_load(_add)` names (`name=lib.so;…`, `lib.so`), as option prefixes."""
    names = []
    for key in ("plugin_load", "plugin_load_add"):
        for item in filter(None, (options.get(key) or "").split(";")):
            name = item.split("=", 1)[0] if "=" in item else Path(item).stem
            names.append(_key(name.removesuffix(".so")))
    return names


def backup_cnf_text(backup, key: bytes | None) -> str | None:
    """The backup-my.cnf of *backup* (a stream or a directory, decoded with *key*), read without extracting it."""
    names = tuple(BACKUP_CNF + encoding for encoding in ENCODINGS)
    try:
        if is_s3(backup.path):
            members = _bucket_members(backup, names)
        elif backup.artifact == "directory":
            members = {name: (backup.path / name).read_bytes() for name in names if (backup.path / name).is_file()}
        else:
            members = read_stream_metadata(backup.path, names).members
        stored = find_member(members, (BACKUP_CNF,))
        if stored is None:
            return None
        return decode_member(stored, members[stored], key)[1][:MAX_OPTION_FILE].decode(errors="replace")
    except (OSError, XtraRestoreError):
        return None  # the inventory and extraction report an unreadable backup in their own words


def _bucket_members(backup, names: tuple[str, ...]) -> dict[str, bytes]:
    """The wanted metadata members of a backup in a bucket: a stream's tail, or a directory's objects."""
    from ..storage.roots import open_stream
    from .stream_tail import read_stream_tail

    if backup.artifact == "directory":
        found = {}
        for name in names:
            try:
                with open_stream(backup.path / name) as source:
                    found[name] = source.read()
            except XtraRestoreError:
                continue  # not there: this encoding was not used
        return found
    with open_stream(backup.path) as source:
        return {name: data for name, data in read_stream_tail(source).members.items() if name in names}


def backup_settings(backup_cnf: Path | str | None, server_config: Path | None = None) -> dict[str, str | None]:
    """The settings a throwaway server needs to open this backup: its backup-my.cnf (a file, or its text),
    filled from the original server's option file."""
    if isinstance(backup_cnf, Path):
        backup_options = read_option_file(backup_cnf)
    else:
        backup_options = parse_options(backup_cnf or "")
    settings = {k: v for k, v in backup_options.items() if k not in LOCATIONS}
    if server_config is not None:
        original = read_option_file(server_config)
        loaded = plugins(original)
        for key, value in original.items():
            wanted = key in FORMAT or ENCRYPTION.match(key) or any(key.startswith(p + "_") for p in loaded)
            if wanted and key not in LOCATIONS:
                settings.setdefault(key, value)
    plugin_dir = settings.get("plugin_dir")
    if plugin_dir and not Path(plugin_dir).is_dir():
        del settings["plugin_dir"]  # another host's layout: this server's own plugin directory is the one to use
    return settings


def key_files(settings: dict[str, str]) -> list[tuple[str, Path]]:
    """(option, path) of every key file the settings name (`…_filename`, `FILE:` in `…_filekey`)."""
    found = []
    for key, value in settings.items():
        if not KEY_OPTIONS.search(key) or not value:
            continue
        if key.endswith("_filekey"):
            if not value.startswith("FILE:"):
                continue  # the secret itself, not a file
            value = value[len("FILE:"):]
        found.append((key, Path(value)))
    return found


def check_key_files(settings: dict[str, str], where: str) -> None:
    """KeyFileError naming the option, the file and the plugin when a key file the server needs is unreadable."""
    named = ", ".join(plugins(settings)) or "encryption"
    for option, path in key_files(settings):
        if not path.is_file() or not os.access(path, os.R_OK):
            why = "does not exist" if not path.exists() else "is not a readable file"
            raise KeyFileError(f"{where}: key file {path} ({option}, plugin {named}) {why}; "
                               "the server cannot decrypt this backup without it")


def describe_encryption(settings: dict[str, str | None]) -> str:
    """`encrypted at rest (plugin P, key file F): …` when the settings load a key management plugin, else ''."""
    managers = [p for p in plugins(settings) if "key" in p or "encryption" in p]
    if not managers:
        return ""
    files = ", ".join(str(path) for _option, path in key_files(settings))
    return (f"the backup is encrypted at rest (plugin {', '.join(managers)}"
            + (f", key file {files}" if files else "") + "): is that the key the backup's server used?")
