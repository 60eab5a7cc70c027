"""Order a day's backups into LSN chains and say what can be restored.

An incremental applies only onto the backup whose `to_lsn` equals its
`from_lsn`; a restore point is a full backup followed by zero or more
incrementals, each based on the one before (a prefix of a chain). The rules:

* Only *linkable* backups take part in LSN linking: state `ok` with known
  LSNs. Every other backup (incomplete, failed, unreadable, key-required)
  stands in a one-member chain of its own carrying its problem. Extracted
  copies of a stream of the same day (`restore/full-…/`) are left out: they
  would double every chain.
* Linkable backups are taken in LSN order: `to_lsn`, then `last_lsn`, then
  time. A base's `to_lsn` never exceeds its incremental's, so this order
  holds even when names or mtimes lie about time (DST, a prepared directory
  touched later). On a quiet MariaDB server `to_lsn` does not move, so
  several backups share it; `last_lsn` and time then order them.
* A full starts a chain. An incremental's base is the *latest* backup before
  it in that order whose `to_lsn` equals its `from_lsn`: among equals, the
  newest is the one `backup-mysql.sh` took the day's checkpoints from.
* An incremental with no base starts a chain whose first member carries the
  problem: `key-required` / `unreadable` when a backup of the day taken
  before it has unknown LSNs (it may be the base), `orphan` when its
  `from_lsn` matches a backup of another day or no full precedes it, else
  `gap` (a backup in between is missing).
* Two incrementals on one base are a `fork`: each branch is a chain of its
  own, and the branches after the first (in time) carry the problem.
* A chain's restore points are its prefixes up to, not including, the first
  member with a problem.
"""

from __future__ import annotations

from collections import defaultdict

from ..errors import ChainError
from .model import EXTRA_FULL, Backup, Chain, Day, Inventory, Problem, RestorePoint
from .names import find_backup, newest_point


def _linkable(backup: Backup) -> bool:
    return backup.state == "ok" and backup.checkpoints is not None and backup.kind is not None


def _missing_base(backup: Backup, linked: list[Backup], day: Day, elsewhere: dict[int, list]) -> Problem:
    """Why an incremental has no base; *linked* are the linkable backups before it in LSN order."""
    lsn = backup.checkpoints.from_lsn
    unknown = [
        b for b in day.backups if b.state in ("unreadable", "key-required") and b.timestamp <= backup.timestamp
    ]
    unknown.sort(key=lambda b: (b.timestamp, b.name))
    if unknown:
        other = unknown[-1]
        return Problem(
            other.state,
            backup.name,
            f"from_lsn {lsn}: its base may be {other.name}, whose LSNs are unknown ({other.state})",
        )
    foreign = [(d, b) for d, b in elsewhere.get(lsn, []) if d != day.name]
    if foreign:
        other_day, other = foreign[-1]
        return Problem("orphan", backup.name, f"from_lsn {lsn} matches {other.name} in day {other_day}, not this day")
    if not any(b.kind == "full" for b in linked):
        return Problem("orphan", backup.name, f"from_lsn {lsn}: no full backup before it in day {day.name}")
    previous = linked[-1]
    return Problem(
        "gap",
        backup.name,
        f"from_lsn {lsn} matches no earlier backup (latest: {previous.name} to_lsn "
        f"{previous.checkpoints.to_lsn}): a backup in between is missing",
    )


def link_day(day: Day, elsewhere: dict[int, list] | None = None) -> None:
    """Fill `day.chains` and each backup's chain problems and final state.

    *elsewhere* maps a `to_lsn` to (day name, backup) pairs across the whole
    inventory, to recognise an incremental whose base lives in another day.
    A backup's state ends as `ok` (the target of a restore point), its own
    problem code, or `blocked` (fine itself, but after a problem in its chain).
    """
    backups = sorted(day.backups, key=lambda b: (b.timestamp, b.name))
    chains = [Chain([b], list(b.problems[:1]), day) for b in backups if not b.copy_of and not _linkable(b)]
    linkable = sorted(
        (b for b in backups if not b.copy_of and _linkable(b)),
        key=lambda b: (b.checkpoints.to_lsn, b.checkpoints.last_lsn, b.timestamp, b.name),
    )
    by_to_lsn: dict[int, list[Backup]] = defaultdict(list)
    children: dict[int, list[Backup]] = defaultdict(list)
    roots: list[tuple[Backup, Problem | None]] = []
    for index, backup in enumerate(linkable):
        checkpoints = backup.checkpoints
        if backup.kind == "full":
            roots.append((backup, None))
        elif bases := by_to_lsn.get(checkpoints.from_lsn):
            children[id(bases[-1])].append(backup)  # the latest in LSN order of those sharing to_lsn
        else:
            roots.append((backup, _missing_base(backup, linkable[:index], day, elsewhere or {})))
        by_to_lsn[checkpoints.to_lsn].append(backup)
    for root, problem in roots:
        chains += _branches(root, problem, children, day)
    chains.sort(key=lambda c: (c.members[0].timestamp, c.members[0].name))
    day.chains = chains
    fulls = [b for b in backups if not b.copy_of and _linkable(b) and b.kind == "full"]
    for extra in fulls[1:] if day.single_full else ():
        day.problems.append(Problem(EXTRA_FULL, extra.name, f"a second full backup in this day: {extra.name}"))
    _settle_states(chains)


def _branches(root: Backup, problem: Problem | None, children: dict[int, list[Backup]], day: Day) -> list[Chain]:
    """One chain per path from *root* to a leaf; later branches of a fork carry a `fork` problem."""
    chains: list[Chain] = []
    stack: list[tuple[list[Backup], list[Problem]]] = [([root], [problem] if problem else [])]
    while stack:
        path, problems = stack.pop()
        kids = children.get(id(path[-1]), [])
        if not kids:
            chains.append(Chain(path, problems, day))
            continue
        for position, kid in reversed(list(enumerate(kids))):
            extra = []
            if position:
                extra.append(
                    Problem(
                        "fork",
                        kid.name,
                        # The problem names its backup; the message names each other backup once.
                        f"applies onto {path[-1].name} (from_lsn {kid.checkpoints.from_lsn}) as {kids[0].name} "
                        "already does: the chain forks",
                    )
                )
            stack.append((path + [kid], problems + extra))
    return chains


def _settle_states(chains: list[Chain]) -> None:
    restorable = {id(point.target) for chain in chains for point in chain.restore_points()}
    for chain in chains:
        for problem in chain.problems:
            member = next(m for m in chain.members if m.name == problem.backup)
            if problem not in member.problems:
                member.problems.append(problem)
    for chain in chains:
        for member in chain.members:
            if id(member) in restorable:
                member.state = "ok"
            elif member.problems:
                member.state = member.problems[0].code
            else:
                member.state = "blocked"


def find_restore_point(inventory: Inventory, day_name: str | None, upto_name: str) -> RestorePoint:
    """The restore point ending at the backup *upto_name* names (`core.inventory.names`), in *day_name*
    or, without one, wherever the name is unique; ChainError says why there is none."""
    day, backup = find_backup(inventory, day_name, upto_name)
    if backup is None:  # `latest`
        return newest_point([day])
    for chain in day.chains:
        for point in chain.restore_points():
            if point.target is backup:
                return point
    if backup.copy_of:
        raise ChainError(f"{backup.path}: an extracted copy of {backup.copy_of}; choose {backup.copy_of} instead")
    chain = next(c for c in day.chains if backup in c.members)
    reason = chain.problems[0].message if chain.problems else "it does not start with a full backup"
    first = chain.problems[0].backup if chain.problems else backup.name
    reason = reason.removeprefix(f"{backup.path}: ").removeprefix(f"{backup.path}:")  # named once, up front
    because = f"{first}: {reason}" if first != backup.name else reason
    raise ChainError(f"{backup.path}: not restorable ({backup.state}): {because}")
