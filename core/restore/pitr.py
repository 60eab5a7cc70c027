"""Point-in-time recovery at plan time: where the binlogs are, how far they reach, the roll-forward step.

A stop point (`--until`, `--skip`) is resolved when the plan is made, against
the binlogs as they are then: a stop point past the binlogs, inside a gap,
before the backup, GTIDs that are not in the range, a backup taken with
binary logging off, another server's binlogs, a damaged or encrypted file —
each refuses the plan with one line, before anything is touched.

The binlogs come from `--binlog-dir` archives, from the server being
replaced (found through its `log_bin_basename` before the stop; after the
swap its datadir is the plan's `aside`, so the step reads them there), or,
for drills, from a live server (`--from-server SOCKET`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pymysql

from ..binlog import (
    BinlogPosition,
    StopPoint,
    Timeline,
    build_timeline,
    open_binlog_sources,
    parse_until,
    resolve_stop_point,
)
from ..errors import BinlogError, BinlogOffError, PreconditionError
from .plan import SWAP, Plan, Step, Target
from .verify import params_from

METHODS = ("relay", "pipe")
_INFO_POS = re.compile(r"filename '(?P<file>[^']+)', position '(?P<pos>\d+)'(?:, GTID of the last change '(?P<gtid>[^']*)')?")


@dataclass
class RollForward:
    """A resolved roll-forward: the stop point, the timeline it was resolved on, and where the step reads."""

    stop: StopPoint
    timeline: Timeline
    dirs: list[Path]  # read at plan time
    run_dirs: list[Path]  # read by the step (the replaced datadir's binlogs are in the plan's aside by then)
    method: str = "relay"
    notes: list[str] = field(default_factory=list)

    @property
    def until_arg(self) -> str:
        """What the step re-resolves: `end` stays `end` (a restore also replays what the server wrote until
        its stop); anything else is the exact position it resolved to, so no time zone is read twice."""
        return "end" if self.stop.until.kind == "end" else f"{self.stop.stop.file}:{self.stop.stop.pos}"

    def relay_copy_bytes(self, device: int) -> int:
        """Bytes the relay replay copies onto file system *device* (the restored datadir's): the binlogs it
        replays that live elsewhere and so cannot be hard-linked."""
        if self.method != "relay":
            return 0
        first, last = self.stop.start.file, self.stop.stop.file
        return sum(span.size for span in self.timeline.files
                   if first <= span.name <= last and Path(span.path).stat().st_dev != device)

    def summary(self) -> dict:
        """What plans, journals and reports keep about the stop point."""
        last = self.stop.last
        return {
            "until": self.stop.until.text,
            "stop_point": self.stop.until.describe(),
            "from": str(self.stop.start),
            "from_gtid": self.stop.start.gtid,
            "to": str(self.stop.stop),
            "gtid_target": self.stop.gtid_reached,
            "time_target": last.when.strftime("%Y-%m-%d %H:%M:%S UTC") if last else None,
            "transactions": len(self.stop.transactions),
            "skip": [str(t.gtid) for t in self.stop.skipped],
            "binlog_dirs": [str(d) for d in self.run_dirs],
            "method": self.method,
            "notes": list(self.notes),
        }


def backup_position(backup) -> BinlogPosition:
    """The binlog position a backup (inventory `Backup`) recorded; BinlogOffError when it recorded none."""
    recorded = getattr(backup, "binlog", None)
    if recorded is not None:
        return BinlogPosition(recorded.file, recorded.position, recorded.gtid or "")
    info = getattr(backup, "info", None)
    match = _INFO_POS.search((info.fields.get("binlog_pos") or "") if info else "")
    if match:
        return BinlogPosition(match["file"], int(match["pos"]), match["gtid"] or "")
    raise BinlogOffError(
        f"{backup.path}: the backup records no binlog position (binary logging was off on its server):"
        " it cannot be rolled forward"
    )


def server_binlog_dir(socket: Path | None, host: str | None = None, port: int | None = None,
                      defaults_file: Path | None = None) -> Path | None:
    """The binlog directory of a running server (from `log_bin_basename`); None when binary logging is off.

    Raises PreconditionError when the server cannot be reached.
    """
    params = params_from(str(socket) if socket else None, host, port, defaults_file)
    try:
        with params.connect(timeout=5) as conn, conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@log_bin_basename, @@datadir")
            log_bin, basename, datadir = cur.fetchone()
    except pymysql.MySQLError as error:
        where = socket or f"{host}:{port}"
        raise PreconditionError(f"{where}: cannot ask the server where its binlogs are: {error.args[-1]}") from None
    if not log_bin or not basename:
        return None
    path = Path(basename)
    return (path if path.is_absolute() else Path(datadir) / path).parent


def _datadir_binlogs(target: Target, production: bool) -> tuple[Path | None, str]:
    """The replaced server's binlog directory: asked from the running server, else the datadir if it holds any."""
    if not production:
        return None, ""
    try:
        found = server_binlog_dir(target.socket, target.host, target.port, target.defaults_file)
    except PreconditionError:
        found = None
        try:
            open_binlog_sources([target.datadir])
            found = target.datadir
        except BinlogError:
            return None, "the server is not reachable and its datadir holds no binlogs"
        return found, f"the server is not reachable; binlogs found in {target.datadir}"
    if found is None:
        return None, "binary logging is off on the server being replaced"
    return found, f"the server's binlogs are in {found}"


def plan_roll_forward(point, target: Target, plan: Plan, *, until: str | None, skip: tuple[str, ...] | list[str],
                      binlog_dirs: list[Path], from_server: Path | None = None, method: str = "relay",
                      production: bool = True) -> RollForward:
    """Resolve the stop point for *point* against the binlogs; raise (one line) when it cannot be reached."""
    if method not in METHODS:
        raise PreconditionError(f"--replay {method}: choose {' or '.join(METHODS)}")
    parsed = parse_until(until or "end")
    start = backup_position(point.members[-1])
    dirs = [Path(d) for d in binlog_dirs]
    run_dirs = list(dirs)
    notes = []
    live, note = _datadir_binlogs(target, production)
    if note:
        notes.append(note)
    if live is not None and live not in dirs:
        dirs.append(live)
        moved = live.resolve().is_relative_to(target.datadir.resolve())
        run_dirs.append(plan.aside / live.resolve().relative_to(target.datadir.resolve()) if moved else live)
    if from_server is not None:
        found = server_binlog_dir(from_server)
        if found is None:
            raise BinlogOffError(f"{from_server}: binary logging is off on that server: it has no binlogs to give")
        if found not in dirs:
            dirs.append(found)
            run_dirs.append(found)
    if not dirs:
        raise PreconditionError("--until/--skip need binlogs: give --binlog-dir DIR (or --from-server SOCKET)")
    timeline = build_timeline(open_binlog_sources(dirs), start)
    stop = resolve_stop_point(timeline, parsed, tuple(skip))
    return RollForward(stop=stop, timeline=timeline, dirs=dirs, run_dirs=run_dirs, method=method, notes=notes)


def roll_forward_step(roll: RollForward, target: Target, plan: Plan, *, backup_dir: Path) -> Step:
    """The `roll-forward` step: replay the binlogs on the restored server up to the stop point."""
    argv = [plan.stepper, "roll-forward", *plan.reach]
    if target.defaults_file:
        argv += ["--defaults-file", str(target.defaults_file)]
    for directory in roll.run_dirs:
        argv += ["--binlog-dir", str(directory)]
    argv += ["--start", str(roll.stop.start), "--start-gtid", roll.stop.start.gtid or "",
             "--until", roll.until_arg]
    for txn in roll.stop.skipped:
        argv += ["--skip", str(txn.mariadb_gtid or txn.gtid)]
    if roll.stop.until.kind != "end":
        argv += ["--expect-gtid", roll.stop.gtid_reached or ""]
    argv += ["--method", roll.method, "--backup-dir", str(backup_dir),
             "--state", str(plan.workdir / "rollforward.json")]
    return Step("roll-forward", f"Roll forward through the binlogs: {roll.stop.until.describe()}"
                f" ({len(roll.stop.transactions)} transactions)", argv, phase=SWAP, privileged=True,
                undo="part of the rollback: the rolled-forward datadir is set aside with the restored one",
                source=", ".join(str(d) for d in roll.run_dirs), target=str(target.datadir))


def open_timeline(binlog_dirs: list[Path], *, point=None, from_server: Path | None = None) -> Timeline:
    """The timeline of *binlog_dirs* (and the live server's) from *point*'s backup, else from the first file."""
    dirs = [Path(d) for d in binlog_dirs]
    if from_server is not None:
        found = server_binlog_dir(from_server)
        if found is None:
            raise BinlogOffError(f"{from_server}: binary logging is off on that server: it has no binlogs to give")
        dirs.append(found)
    if not dirs:
        raise PreconditionError("give --binlog-dir DIR (or --from-server SOCKET)")
    sources = open_binlog_sources(dirs)
    if point is not None:
        start = backup_position(point.members[-1])
    else:
        series = sources.basenames
        if len(series) != 1:
            raise BinlogError(f"{', '.join(str(d) for d in dirs)}: several binlog series ({', '.join(series)}):"
                              " give --root/--day/--upto to start from a backup")
        first = sources.sequence(series[0])[0][1]
        start = BinlogPosition(first.name, 4, "")
    return build_timeline(sources, start)
