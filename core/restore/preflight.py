"""Preconditions checked before anything destructive: space, tool, datadir, owner.

Each check is a value with the numbers behind it, so the CLI and the console
show the same list, and a failed check stops the restore before the first
step. The chain itself was already validated by `find_restore_point`.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

import pymysql

from ..errors import PreconditionError, XtraRestoreError
from .placement import RENAME, estimated_size
from .plan import Plan, Target
from .tools import Tool
from .verify import params_from

TEMPORARY_ROOTS = (Path("/tmp"), Path("/dev/shm"), Path("/run"))


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def _existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def space_checks(plan: Plan, members, *, move_back: bool = False, first_start: int = 0, roll=None) -> list[Check]:
    """Free space for the extracted copy (workspace), the copy-back (none when renamed), the files the
    restored server creates when it first starts (*first_start* from `first_start_bytes`) and the relay
    copies of binlogs a roll-forward (*roll*) cannot hard-link — the last three on the datadir's filesystem."""
    extracted = sum(estimated_size(m) for m in members)
    needs: dict[int, tuple[Path, int, list[str]]] = {}
    work = _existing(plan.workdir)
    parent = _existing(plan.datadir.parent)
    renamed = plan.swap == RENAME  # the prepared copy itself becomes the datadir: no second copy
    swap = (parent, 0, "swap by rename") if renamed else (parent, 0 if move_back else extracted, "copy-back")
    wanted = [(work, extracted, "extraction"), swap]
    if first_start:
        wanted.append((parent, first_start, "first start"))
    copies = roll.relay_copy_bytes(os.stat(parent).st_dev) if roll is not None else 0
    if copies:
        wanted.append((parent, copies, "binlog copies"))
    for path, amount, why in wanted:
        dev = os.stat(path).st_dev
        old_path, old_amount, whys = needs.get(dev, (path, 0, []))
        needs[dev] = (old_path, old_amount + amount, [*whys, why])
    checks = []
    for path, amount, whys in needs.values():
        free = shutil.disk_usage(path).free
        checks.append(Check(
            f"space for {' + '.join(whys)}",
            free >= amount,
            f"{path}: needs about {_gib(amount)}, {_gib(free)} free",
        ))
    return checks


DEFAULT_REDO = 96 << 20       # MariaDB 10.11's innodb_log_file_size
DEFAULT_TEMP = 12 << 20       # innodb_temp_data_file_path=ibtmp1:12M:autoextend
ARIA_ALLOWANCE = 16 << 20     # aria_log_control and a fresh aria_log.0000000N
MARGIN = 64 << 20
START_VARIABLES = ("innodb_log_file_size", "innodb_log_files_in_group", "innodb_temp_data_file_path")
_SIZE = re.compile(r"^(\d+)([KMGT]?)$", re.IGNORECASE)


def _bytes(text: str | None) -> int | None:
    """`100663296`, `96M`, `1G` → bytes; None when it does not parse."""
    match = _SIZE.match((text or "").strip())
    if not match:
        return None
    return int(match[1]) << (10 * " KMGT".index(match[2].upper() or " "))


def _temp_size(path_spec: str | None) -> int | None:
    """The initial size of `ibtmp1:12M:autoextend` (sum of its files)."""
    if not path_spec:
        return None
    sizes = [_bytes(part.split(":")[1]) for part in path_spec.split(";") if part.count(":") >= 1]
    return sum(size for size in sizes if size) or None


def first_start_bytes(server: dict[str, str], backup: dict[str, str]) -> tuple[int, str]:
    """What the restored server writes on its first start: the redo log (the larger of the server's and
    the backup's innodb_log_file_size × files), ibtmp1, Aria's control file and log, and a margin."""
    redo = []
    for settings in (server, backup):
        size = _bytes(settings.get("innodb_log_file_size"))
        if size:
            redo.append(size * max(1, int(_bytes(settings.get("innodb_log_files_in_group")) or 1)))
    redo_bytes = max(redo) if redo else DEFAULT_REDO
    temp = _temp_size(server.get("innodb_temp_data_file_path")) or DEFAULT_TEMP
    total = redo_bytes + temp + ARIA_ALLOWANCE + MARGIN
    return total, (f"redo log {_gib(redo_bytes)} + ibtmp1 {_gib(temp)} + Aria logs {_gib(ARIA_ALLOWANCE)} "
                   f"+ margin {_gib(MARGIN)}")


def server_start_settings(target: Target) -> dict[str, str]:
    """The running server's settings that size what a restored server creates at start; empty if unreachable."""
    params = params_from(str(target.socket) if target.socket else None, target.host, target.port, target.defaults_file)
    try:
        with params.connect(timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN (%s)" % ", ".join(["%s"] * len(START_VARIABLES)),
                        START_VARIABLES)
            return {name: str(value) for name, value in cur.fetchall()}
    except pymysql.MySQLError:
        return {}


def datadir_checks(plan: Plan) -> list[Check]:
    datadir = plan.datadir
    if datadir.is_symlink():
        return [Check("datadir", False, f"{datadir}: is a symlink; renaming it would move only the link — "
                                        f"give the real path --datadir {datadir.resolve()}")]
    if not datadir.is_dir():
        return [Check("datadir", False, f"{datadir}: not a directory")]
    info = os.stat(datadir)
    try:
        owner = f"{pwd.getpwuid(info.st_uid).pw_name}:{grp.getgrgid(info.st_gid).gr_name}"
    except KeyError:
        owner = f"{info.st_uid}:{info.st_gid}"
    resolved = datadir.resolve()
    temporary = next((root for root in TEMPORARY_ROOTS if resolved.is_relative_to(root)), None)
    return [
        Check("datadir", True, f"{datadir}: owner {owner}, mode {stat.S_IMODE(info.st_mode):o}"),
        Check("not a mount point", not os.path.ismount(datadir),
              f"{datadir}" + (": is a mount point; it cannot be renamed aside" if os.path.ismount(datadir) else "")),
        Check("not temporary", temporary is None,
              f"{datadir}" + (f": under {temporary}, which may be wiped; refusing to keep the old data there"
                              if temporary else ": the old data stays beside it, on the same filesystem")),
        Check("aside name free", not plan.aside.exists(), f"{plan.aside}" + (": exists" if plan.aside.exists() else "")),
    ]


def workspace_checks(plan: Plan, backup_root: Path) -> list[Check]:
    """The workspace must be ours alone: outside the backup root and not holding an earlier extraction."""
    work = plan.workdir.resolve()
    inside = isinstance(backup_root, Path) and work.is_relative_to(backup_root.resolve())  # not for a bucket
    leftover = plan.extracted.exists() and any(plan.extracted.iterdir())
    return [
        Check("workspace outside the backup root", not inside,
              f"{plan.workdir}" + (f": inside {backup_root}; backups are read-only to us" if inside else "")),
        Check("workspace free", not leftover,
              f"{plan.extracted}" + (": holds an earlier extraction; choose another --workdir" if leftover else
                                     ": will be created, mode 0700")),
    ]


def tool_checks(tool: Tool, members, key_file: Path | None) -> list[Check]:
    checks = [Check("backup tool", True, f"{tool.label} at {tool.path}")]
    for member in members:
        if member.flavour and member.flavour != tool.flavour:
            checks.append(Check("tool flavour", False,
                                f"{member.path}: made by {member.info.tool_name}, but this host has {tool.label}"))
        if getattr(member, "encrypted", False) and key_file is None:
            checks.append(Check("key file", False, f"{member.path}: is encrypted; give --key-file"))
    return checks


_PASSWORD_OPTION = re.compile(r"(?<![\w-])(--password=|-p)(?=\S)")


def service_checks(target: Target) -> list[Check]:
    """Custom stop/start commands are journaled verbatim, so they must not carry a password."""
    control = target.service
    commands = [c for c in (control.stop_cmd, control.start_cmd) if c]
    secret = any(_PASSWORD_OPTION.search(c) for c in commands)
    detail = ("a custom command has a password option; it would be written to the journal — "
              "put the credentials in an option file instead") if secret else control.describe("stop")
    return [Check("service commands", not secret, detail)]


# Server variables naming where InnoDB and Aria keep files that a backup restores.
FILE_DIR_VARIABLES = ("innodb_data_home_dir", "innodb_log_group_home_dir", "innodb_undo_directory",
                      "aria_log_dir_path")


def server_checks(target: Target) -> tuple[list[Check], Path | None]:
    """Ask the running server where its datadir, error log and engine files are; compare with --datadir."""
    params = params_from(str(target.socket) if target.socket else None, target.host, target.port, target.defaults_file)
    names = ("datadir", "log_error", *FILE_DIR_VARIABLES)
    try:
        with params.connect(timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SHOW GLOBAL VARIABLES WHERE Variable_name IN (%s)" % ", ".join(["%s"] * len(names)), names)
            variables = dict(cur.fetchall())
    except pymysql.MySQLError as error:
        return [Check("running server", True, f"not reachable ({error.args[-1]}); using --datadir as given")], None
    datadir = variables["datadir"]
    same = Path(datadir).resolve() == target.datadir.resolve()
    log_error = variables.get("log_error")
    log = Path(log_error) if log_error else None
    if log is not None and not log.is_absolute():
        log = Path(datadir) / log
    detail = f"the server says datadir={datadir}" + ("" if same else f", but --datadir is {target.datadir}")
    return [Check("server datadir", same, detail), file_dir_check(Path(datadir), variables)], log


def file_dir_check(datadir: Path, variables: dict[str, str]) -> Check:
    """Engine files kept outside the datadir would not be moved aside, and copy-back needs their directory empty."""
    home = datadir.resolve()
    outside = [f"{name}={value}" for name in FILE_DIR_VARIABLES
               if (value := variables.get(name))
               and not (datadir / value).resolve().is_relative_to(home)]  # a relative value is relative to the datadir
    if not outside:
        return Check("engine files in the datadir", True, f"InnoDB and Aria files all live under {datadir}")
    return Check("engine files in the datadir", False,
                 f"{', '.join(outside)}: outside {datadir}; moving the datadir aside would leave those files "
                 "in place and copy-back would refuse the non-empty directory — restore this server by hand")


def unfinished_checks(state_dir: Path, datadir: Path) -> list[Check]:
    """Refuse to start over a restore of the same datadir that left the old data aside unfinished.

    A new restore would move the half-restored datadir aside and bury the real
    previous data one level deeper; the old restore must be resumed or rolled back.
    Besides *state_dir*'s journals, the journal named by the datadir's lock file
    is read: the last restore of this datadir, whatever state directory it used.
    """
    from .journal import load_state
    from .lock import last_journal

    mine = sorted((state_dir / "journal").glob("*.jsonl"))
    other = last_journal(datadir)
    if other is not None and other.parent.resolve() != (state_dir / "journal").resolve() and other.is_file():
        mine.append(other)
    for path in mine:
        try:
            state = load_state(path)
        except XtraRestoreError:
            continue
        if state.plan.datadir == datadir and not state.finished and state.moved_aside:
            where = "" if path.parent.parent == state_dir else f"--state-dir {path.parent.parent} "
            return [Check("no unfinished restore", False,
                          f"{path}: restore {state.plan.restore_id} left the old datadir at {state.plan.aside}; "
                          f"finish it with `xtrarestore status {where}--id {state.plan.restore_id} --resume` "
                          f"or `--rollback`")]
    return [Check("no unfinished restore", True, f"none for {datadir} in {state_dir / 'journal'}")]


def require(checks: list[Check]) -> None:
    failed = [c for c in checks if not c.ok]
    if failed:
        raise PreconditionError("; ".join(f"{c.name}: {c.detail}" for c in failed) + "; nothing was touched")
