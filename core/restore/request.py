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

from dataclasses import dataclass
from pathlib import Path

from ..archive.keys import load_key
from ..errors import ChainError, PreconditionError
from ..inventory.chains import find_restore_point
from ..inventory.model import RestorePoint
from ..inventory.scan import scan
from . import preflight
from .plan import Plan, Target, build_plan
from .tools import Tool, detect_tool


@dataclass
class RestoreRequest:
    """Everything a restore plan is made from."""

    root: Path
    day: str
    upto: str
    target: Target
    key_file: Path | None = None
    workdir: Path | None = None
    state_dir: Path | None = None
    extract_jobs: int | None = None
    restore_id: str | None = None


@dataclass
class PlannedRestore:
    """A plan with the point and tool it was made for and its precondition checks."""

    plan: Plan
    checks: list[preflight.Check]
    point: RestorePoint
    tool: Tool

    @property
    def failed(self) -> list[preflight.Check]:
        return [check for check in self.checks if not check.ok]


def locate(root: Path, day: str, upto: str, key_file: Path | None) -> RestorePoint:
    """Scan *root* and return the checked restore point; a missing key is named with where to find it."""
    key = load_key(key_file) if key_file else None
    inventory = scan(root, key=key)
    hint = f"pass --key-file (the DigitalOcean layout keeps it at {Path(root) / 'encryption_key'})"
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
    if production and not (target.socket or target.host):
        raise PreconditionError("give --socket or --host/--port so the restore can see the server answer")
    point = locate(request.root, request.day, request.upto, request.key_file)
    tool = detect_tool(point.members[0].flavour)
    checks: list[preflight.Check] = []
    if production:
        checks, error_log = preflight.server_checks(target)
        if target.error_log is None and error_log is not None:
            target.error_log = error_log
    plan = build_plan(point, target, tool=tool, workdir=request.workdir, key_file=request.key_file,
                      extract_jobs=request.extract_jobs, restore_id=request.restore_id)
    if production:
        checks += preflight.unfinished_checks(request.state_dir or default_state_dir(), target.datadir)
        checks += preflight.service_checks(target)
    checks += preflight.tool_checks(tool, point.members, request.key_file)
    if production:
        checks += preflight.workspace_checks(plan, request.root)
        checks += preflight.datadir_checks(plan)
    server = preflight.server_start_settings(target) if production else {}
    first_start, _ = preflight.first_start_bytes(server, preflight.backup_settings(point.members[0]))
    checks += preflight.space_checks(plan, point.members, move_back=target.move_back, first_start=first_start)
    return PlannedRestore(plan, checks, point, tool)
