"""One request, one plan: what the CLI, the console and drills all call.

A `RestoreRequest` says which point to restore (root, day, last backup, key)
and into which server (`Target`). `plan_restore` scans the root, finds and
checks the restore point, picks the tool that matches the backup's own
flavour, builds the plan and checks its preconditions. Nothing is touched:
errors (a gap, a missing key, a missing tool) are raised before any step runs.
Drills ask for the same plan aimed at a throwaway server, without the checks
that only make sense for a production server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..archive.keys import load_key
from ..archive.targets import check_target
from ..errors import ChainError, PreconditionError
from ..inventory.chains import find_restore_point
from ..inventory.model import RestorePoint
from ..inventory.roots import scan_root
from ..inventory.settings import backup_cnf_text, backup_settings
from ..storage.location import root_path
from . import preflight
from .memory import available_memory, prepare_memory
from .pitr import RollForward, plan_roll_forward, roll_forward_step
from .placement import estimated_size, placement_blockers
from .plan import Plan, Target, build_plan
from .tools import Tool, detect_tool


@dataclass
class RestoreRequest:
    """Everything a restore plan is made from."""

    root: Path
    day: str | None  # None: wherever *upto* is unique (core.inventory.names)
    upto: str
    target: Target
    key_file: Path | None = None
    workdir: Path | None = None
    state_dir: Path | None = None
    extract_jobs: int | None = None
    restore_id: str | None = None
    prepare_memory: int | None = None
    """Bytes for `--prepare --use-memory`: None sizes it from the host's free memory, 0 leaves the tool's default."""
    until: str | None = None
    """Point-in-time stop point (`--until`); with `skip` or this, the plan rolls forward through the binlogs."""
    skip: tuple[str, ...] = ()
    binlog_dirs: list[Path] = field(default_factory=list)
    from_server: Path | None = None
    """Socket of a live server whose binlog directory is read too (drills)."""
    replay: str = "relay"

    @property
    def rolls_forward(self) -> bool:
        return bool(self.until or self.skip)


@dataclass
class PlannedRestore:
    """A plan with the point and tool it was made for and its precondition checks."""

    plan: Plan
    checks: list[preflight.Check]
    point: RestorePoint
    tool: Tool
    roll_forward: RollForward | None = None

    @property
    def failed(self) -> list[preflight.Check]:
        return [check for check in self.checks if not check.ok]


def locate(root: Path, day: str | None, upto: str, key_file: Path | None) -> RestorePoint:
    """Scan *root* and return the checked restore point; a missing key is named with where to find it.

    *upto* is any name the tool shows (`core.inventory.names`): file name, shown name, time, `latest`, prefix.
    """
    key = load_key(key_file) if key_file else None
    inventory = scan_root(root, key=key)
    hint = f"pass --key-file (the DigitalOcean layout keeps it at {root_path(root) / 'encryption_key'})"
    try:
        point = find_restore_point(inventory, day, upto)
    except ChainError as error:
        if key is None and "key-required" in str(error):
            raise ChainError(f"{error}; {hint}") from None
        raise
    encrypted = [m for m in point.members if m.encrypted]
    if encrypted and key is None:
        raise ChainError(f"{encrypted[0].path}: encrypted; {hint}")
    return point


def encryption_checks(full, settings: dict) -> list[preflight.Check]:
    """Prepare opens the backup with its backup-my.cnf (*settings*): a data-at-rest key file it names must be
    on this host."""
    from ..errors import KeyFileError
    from ..inventory.settings import check_key_files, key_files

    found = key_files(settings)
    if not found:
        return []
    try:
        check_key_files(settings, f"{full.path}: backup-my.cnf")
    except KeyFileError as error:
        return [preflight.Check("data-at-rest key", False, str(error))]
    return [preflight.Check("data-at-rest key", True, ", ".join(str(path) for _option, path in found))]


def plan_restore(request: RestoreRequest, *, production: bool = True) -> PlannedRestore:
    """Build the plan for *request* and check its preconditions.

    *production* adds the checks that concern a live server: that it is the
    one named, where its engine files are, how it is stopped, and that no
    unfinished restore of the same datadir is waiting.
    """
    from .journal import default_state_dir

    target = request.target
    if request.extract_jobs is not None and request.extract_jobs < 1:
        raise PreconditionError(f"--extract-jobs {request.extract_jobs}: give 1 or more")
    check_target(target.datadir, "--datadir", roots=[request.root], datadir=True)
    if request.workdir is not None:
        check_target(request.workdir, "--workdir", roots=[request.root])
    if production and not (target.socket or target.host):
        raise PreconditionError("give --socket or --host/--port so the restore can see the server answer")
    point = locate(request.root, request.day, request.upto, request.key_file)
    tool = detect_tool(point.members[0].flavour)
    checks: list[preflight.Check] = []
    if production:
        checks, error_log = preflight.server_checks(target)
        if target.error_log is None and error_log is not None:
            target.error_log = error_log
    engine_files = next((c for c in checks if c.name == "engine files in the datadir"), None)
    plan = build_plan(point, target, tool=tool, workdir=request.workdir, key_file=request.key_file,
                      extract_jobs=request.extract_jobs, restore_id=request.restore_id,
                      swap_blockers=placement_blockers(target, engine_files),
                      prepare_memory=_prepare_memory(request.prepare_memory, point.members))
    roll = None
    if request.rolls_forward:
        roll = plan_roll_forward(point, target, plan, until=request.until, skip=request.skip,
                                 binlog_dirs=request.binlog_dirs, from_server=request.from_server,
                                 method=request.replay, production=production)
        verify_at = next(n for n, s in enumerate(plan.steps) if s.name == "verify")
        plan.steps.insert(verify_at, roll_forward_step(roll, target, plan,
                                                         backup_dir=Path(plan.steps[verify_at].source)))
        plan.roll_forward = roll.summary()
    if production:
        checks += preflight.unfinished_checks(request.state_dir or default_state_dir(), target.datadir)
        checks += preflight.service_checks(target)
    checks += preflight.tool_checks(tool, point.members, request.key_file)
    # The full backup's backup-my.cnf, read once without extracting: its key files and its redo log size.
    settings = backup_settings(backup_cnf_text(point.members[0], load_key(request.key_file) if request.key_file else None))
    if production:
        checks += encryption_checks(point.members[0], settings)
        checks += preflight.workspace_checks(plan, request.root)
        checks += preflight.datadir_checks(plan)
    server = preflight.server_start_settings(target) if production else {}
    first_start, _ = preflight.first_start_bytes(server, settings)
    checks += preflight.space_checks(plan, point.members, move_back=target.move_back, first_start=first_start,
                                     roll=roll)
    return PlannedRestore(plan, checks, point, tool, roll)


def _prepare_memory(asked: int | None, members) -> int | None:
    """What the operator asked for, else a share of the memory free now, no more than the data (see `memory`)."""
    if asked is None:
        return prepare_memory(available_memory(), sum(estimated_size(m) for m in members))
    return asked or None
