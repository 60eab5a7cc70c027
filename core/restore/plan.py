"""A restore as data: the ordered steps, each with its exact command.

The same `Plan` is printed by `xtrarestore plan`, shown in the console's confirm
screen, executed by the runner and written (as JSON) at the head of the
journal, so `status`, `resume` and `rollback` work from what was actually
planned, not from a fresh scan. Every step is a command (an argv list): the
backup tool, or `xtrarestore-step ACTION …` for our own actions (extraction,
renames, service control, verification), a stable entry point whose command
lines stay valid in journals whatever module implements them. Steps also
carry what they read and write (`source`, `target`), so screens never parse
a command line back.
"""

from __future__ import annotations

import os
import secrets
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from ..errors import ToolNotFoundError
from .entry import step_program
from .legacy import upgrade_plan_record
from .placement import COPY_BACK, RENAME, Placement, estimated_size, place_workspace
from .service import ServiceControl
from .tools import PERCONA, Tool

WORKSPACE = "workspace"  # extraction and prepare: our own copy, safe to discard
SWAP = "swap"            # stop, move aside, swap in (or copy back, chown), start: touches the live server
VERIFY = "verify"        # read-only checks on the restored server



@dataclass
class Step:
    """One command of the plan."""

    name: str
    title: str
    argv: list[str]
    phase: str = WORKSPACE
    destructive: bool = False
    undo: str = ""
    privileged: bool = False
    expect_ok: bool = True
    timeout: float | None = None
    source: str | None = None
    """What the step reads that the screens show (the prepared backup for copy-back and verify)."""
    target: str | None = None
    """What the step writes or renames into (the datadir for copy-back)."""

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


@dataclass
class Target:
    """The server to restore into and how to control and reach it."""

    datadir: Path
    service: ServiceControl
    socket: Path | None = None
    host: str | None = None
    port: int | None = None
    defaults_file: Path | None = None
    server_config: Path | None = None
    error_log: Path | None = None
    move_back: bool = False
    stop_timeout: float = 300.0
    start_timeout: float = 300.0
    verify_sample: int = 200

    def reach_options(self) -> list[str]:
        if self.socket:
            return ["--socket", str(self.socket)]
        return ["--host", self.host or "127.0.0.1", "--port", str(self.port or 3306)]


@dataclass
class Plan:
    """An ordered restore: what will run, where the old data goes, where the work happens."""

    restore_id: str
    created: str
    workdir: Path
    datadir: Path
    aside: Path
    day: str
    upto: str
    members: list[str]
    tool: str
    service: dict
    steps: list[Step]
    reach: list[str] = field(default_factory=list)
    defaults_file: Path | None = None
    error_log: Path | None = None
    stop_timeout: float = 300.0
    start_timeout: float = 300.0
    stepper: str = field(default_factory=step_program)
    """The `xtrarestore-step` program every internal step runs."""
    swap: str = COPY_BACK
    """How the prepared copy becomes the datadir: renamed into place, or copied back (journals before renames)."""
    swap_reason: str = ""
    """Why this plan copies back instead of renaming."""
    record: Path | None = None
    """Where the backup's own files (what copy-back leaves out) are kept when the copy is renamed into place."""
    roll_forward: dict | None = None
    """The stop point of a point-in-time restore (`pitr.RollForward.summary()`), None without one."""

    @property
    def extracted(self) -> Path:
        return self.workdir / "data"

    def step(self, name: str) -> Step:
        return next(s for s in self.steps if s.name == name)

    @property
    def downtime_steps(self) -> list[Step]:
        """The steps production is down for: from the stop until the restored server answers."""
        names = [s.name for s in self.steps]
        if "stop" not in names or "start" not in names:
            return []
        return self.steps[names.index("stop"): names.index("start") + 1]

    @property
    def settled_by(self) -> str:
        """The step after which the prepared copy no longer needs to survive a reboot (it is synced or spent)."""
        return "chown" if self.swap == RENAME else "copy-back"

    def swap_lines(self) -> list[str]:
        """How the swap happens and which steps production is down for (shared by the CLI and the console)."""
        if self.swap == RENAME:
            out = ["  swap by rename: prepared, chowned and synced beside the datadir while it runs"]
        else:
            out = [f"  swap by copy-back (fallback: {self.swap_reason or 'plan made before renames'})"]
        down = self.downtime_steps
        if down:
            first = self.steps.index(down[0]) + 1
            span = f"steps {first}-{first + len(down) - 1}: {', '.join(s.name for s in down)}"
            out.append(f"  production down (stop → answering): {span}")
        return out

    def with_service(self, control: ServiceControl) -> Plan:
        """This plan with other stop/start commands (e.g. a fixed start command for a rollback)."""
        stop, start = service_steps(control, stepper=self.stepper, reach=self.reach, datadir=self.datadir,
                                    stop_timeout=self.stop_timeout, start_timeout=self.start_timeout,
                                    error_log=self.error_log)
        swap = {"stop": stop, "start": start}
        return replace(self, service=control.to_dict(), steps=[swap.get(s.name, s) for s in self.steps])

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("workdir", "datadir", "aside", "defaults_file", "error_log", "record"):
            data[key] = None if data[key] is None else str(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        data = upgrade_plan_record(data)
        data["steps"] = [Step(**s) for s in data["steps"]]
        for key in ("workdir", "datadir", "aside", "defaults_file", "error_log", "record"):
            data[key] = None if data.get(key) is None else Path(data[key])
        return cls(**data)

    def lines(self) -> list[str]:
        """The plan as an operator reads it: numbered steps, commands, what they destroy and undo."""
        out = [
            f"restore {self.restore_id}: day {self.day}, up to {self.upto} ({len(self.members)} backups, {self.tool})",
            f"  workspace {self.workdir}   datadir {self.datadir}",
            f"  the current datadir will be kept as {self.aside}",
            *self.swap_lines(),
        ]
        if self.roll_forward:
            rf = self.roll_forward
            skip = f", skipping {', '.join(rf['skip'])}" if rf.get("skip") else ""
            out.append(f"  roll forward: {rf['stop_point']}{skip}")
            out.append(f"    {rf['transactions']} transactions from {rf['from']} to {rf['to']},"
                       f" reaching GTID {rf['gtid_target'] or 'none'} ({rf['time_target'] or 'no commit'})")
            out.append(f"    binlogs read from {', '.join(rf['binlog_dirs'])}")
            out += [f"    {note}" for note in rf.get("notes") or ()]
        for number, step in enumerate(self.steps, 1):
            flags = [flag for flag, on in (("DESTRUCTIVE", step.destructive), ("as root", step.privileged)) if on]
            out.append(f"{number:2d}. {step.title}" + (f"  [{', '.join(flags)}]" if flags else ""))
            out.append(f"      $ {step.command}")
            if step.undo:
                out.append(f"      undo: {step.undo}")
        return out


def new_restore_id(now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


def utc_stamp(now: datetime | None = None) -> str:
    return f"{(now or datetime.now(UTC)):%Y%m%dT%H%M%SZ}"


def default_workdir(restore_id: str) -> Path:
    """`/var/tmp/xtrarestore/<id>` for root, `/var/tmp/xtrarestore-<user>/<id>` otherwise (never the backup root)."""
    if os.geteuid() == 0:
        return Path("/var/tmp/xtrarestore") / restore_id
    return Path(f"/var/tmp/xtrarestore-{os.geteuid()}") / restore_id


def _stem(name: str) -> str:
    """The directory a backup is extracted into (the native extractor's naming)."""
    return name[: -len(".xbstream")] if name.endswith(".xbstream") else name + ".d"


def _is_directory(member) -> bool:
    return getattr(member, "artifact", "stream") == "directory"


def native_extract_step(streams: Sequence, into: Path, *, key_file: Path | None, jobs: int | None,
                        stepper: str) -> Step:
    """One command extracting every stream member side by side (*jobs* at a time, else the extractor's default)."""
    argv = [stepper, "extract"]
    if key_file:
        argv += ["--key-file", str(key_file)]
    if jobs is not None:
        argv += ["--jobs", str(jobs)]
    # No syncfs: the journal records the boot, and a copy from before a reboot is extracted again.
    argv += ["--no-sync", "--into", str(into), *(str(m.path) for m in streams)]
    if len(streams) == 1:
        return Step(f"extract:{streams[0].name}", f"Extract {streams[0].name}", argv)
    if key_file:  # decryption keeps two cores busy per stream: they run side by side only on more cores
        return Step("extract:chain", f"Extract and decrypt the {len(streams)} streams", argv)
    return Step("extract:chain", f"Extract the {len(streams)} streams side by side", argv)


def extract_steps(members: Sequence, dirs: Sequence[Path], *, tool: Tool, key_file: Path | None, native: bool,
                  jobs: int | None, stepper: str) -> list[Step]:
    """The commands that turn the chain's backups into directories of ours.

    Natively, all streams are one step extracting them side by side; copied
    directories (and vendor extraction) are a step per backup.
    """
    streams = [m for m in members if not _is_directory(m)]
    steps = []
    for member, into in zip(members, dirs, strict=True):
        if _is_directory(member):
            argv = [stepper, "copy-dir", str(member.path), str(into)]
            steps.append(Step(f"extract:{member.name}", f"Copy {member.name}", argv,
                              source=str(member.path), target=str(into)))
        elif not native:
            steps.append(extract_step(member, into, tool=tool, key_file=key_file, stepper=stepper))
    if native and streams:
        steps.append(native_extract_step(streams, dirs[0].parent, key_file=key_file, jobs=jobs, stepper=stepper))
    return steps


def extract_step(member, into: Path, *, tool: Tool, key_file: Path | None, stepper: str) -> Step:
    """The vendor command (mbstream / xbstream -x) that extracts one stream into a directory of ours."""
    title = f"Extract {member.name}"
    if tool.stream_tool is None:
        raise ToolNotFoundError("mbstream / xbstream not found and the native extractor is not installed")
    extra: list[str] = []
    if tool.flavour == PERCONA:
        if member.compression:
            extra.append("--decompress")
        if member.encrypted:
            extra += ["--decrypt=AES256", f"--encrypt-key-file={key_file}"]
    elif member.compression or member.encrypted:
        raise ToolNotFoundError(
            f"{member.path}: compressed/encrypted MariaDB streams need the native extractor "
            "(mariabackup shells out to qpress, which is not packaged)"
        )
    argv = [stepper, "vendor-extract", "--tool", str(tool.stream_tool),
            "--into", str(into), str(member.path)]
    if extra:
        argv += ["--", *extra]
    return Step(f"extract:{member.name}", title, argv, source=str(member.path), target=str(into))


def service_steps(control: ServiceControl, *, stepper: str, reach: list[str], datadir: Path,
                  stop_timeout: float, start_timeout: float, error_log: Path | None) -> tuple[Step, Step]:
    """The stop and start steps: run the service command, then wait until really down / answering."""
    stop = Step("stop", f"Stop the server ({control.describe('stop')}) and wait until it is down",
                [stepper, "stop", *control.options(), *reach, "--datadir", str(datadir),
                 "--timeout", str(stop_timeout)],
                phase=SWAP, privileged=True, undo=f"start it again: {control.describe('start')}")
    start = Step("start", f"Start the server ({control.describe('start')}) and wait until it answers",
                 [stepper, "start", *control.options(), *reach, "--datadir", str(datadir),
                  "--timeout", str(start_timeout), *(["--error-log", str(error_log)] if error_log else [])],
                 phase=SWAP, privileged=True, undo="rollback: stop, swap the old datadir back, start")
    return stop, start


def build_plan(
    point,
    target: Target,
    *,
    tool: Tool,
    workdir: Path | None = None,
    key_file: Path | None = None,
    restore_id: str | None = None,
    now: datetime | None = None,
    native: bool | None = None,
    extract_jobs: int | None = None,
    stepper: str | None = None,
    swap_blockers: Sequence[str] = (),
    placement: Placement | None = None,
    prepare_memory: int | None = None,
) -> Plan:
    """Turn a restore point (full + incrementals) and a target into the ordered steps.

    The workspace goes beside the datadir when it can (see `placement`), and
    the swap is then renames; *swap_blockers* are reasons it cannot. An
    explicit *placement* overrides that choice.
    """
    restore_id = restore_id or new_restore_id(now)
    if placement is None:
        placement = place_workspace(target.datadir, restore_id, workdir=workdir,
                                    fallback=default_workdir(restore_id),
                                    need=sum(estimated_size(m) for m in point.members), blockers=swap_blockers)
    workdir = placement.workdir
    native = True if native is None else native
    stepper = stepper or step_program()
    members: Sequence = point.members
    data = workdir / "data"
    dirs = [data / _stem(m.name) for m in members]
    full, incrementals = dirs[0], dirs[1:]
    datadir = target.datadir
    aside = datadir.with_name(f"{datadir.name}.before-restore-{utc_stamp(now)}")

    steps = extract_steps(members, dirs, tool=tool, key_file=key_file, native=native, jobs=extract_jobs,
                          stepper=stepper)
    for number, argv in enumerate(tool.prepare_commands(full, incrementals, memory=prepare_memory)):
        if number == 0:
            steps.append(Step(f"prepare:{members[0].name}", f"Prepare the full backup {members[0].name}", argv))
        else:
            name = members[number].name
            steps.append(Step(f"prepare:{name}", f"Apply incremental {name}", argv))
    target_cp = point.members[-1].checkpoints
    check = [stepper, "check-lsn", str(full), "--type", tool.prepared_type, "--to-lsn", str(target_cp.to_lsn)]
    # mariabackup leaves last_lsn alone when an incremental does not move the checkpoint (to_lsn).
    if getattr(target_cp, "last_lsn", None) and (len(members) == 1 or target_cp.to_lsn != target_cp.from_lsn):
        check += ["--last-lsn", str(target_cp.last_lsn)]
    steps.append(Step("check-lsn", "Check the prepared LSNs against the restore point", check))

    reach = target.reach_options()
    stop, start = service_steps(target.service, stepper=stepper, reach=reach, datadir=datadir,
                                stop_timeout=target.stop_timeout, start_timeout=target.start_timeout,
                                error_log=target.error_log)
    move_aside = Step("move-aside", f"Move the live datadir aside to {aside.name}",
                      [stepper, "rename", str(datadir), str(aside)], phase=SWAP, destructive=True, privileged=True,
                      undo=f"rename {aside} back to {datadir}", source=str(datadir), target=str(aside))
    record = workdir / "backup-record" if placement.swap == RENAME else None
    if record is not None:
        steps += rename_swap_steps(full, datadir, record, stop=stop, move_aside=move_aside, start=start,
                                   stepper=stepper)
    else:
        steps += [
            stop,
            move_aside,
            Step("create-datadir", f"Create an empty {datadir} with the old owner and mode",
                 [stepper, "create-datadir", str(datadir), "--like", str(aside)], phase=SWAP, privileged=True,
                 undo="part of the move-aside undo", target=str(datadir)),
            Step("copy-back", ("Move" if target.move_back else "Copy") + f" the prepared files into {datadir}",
                 tool.copy_back_command(full, datadir, move=target.move_back, server_config=target.server_config),
                 phase=SWAP, destructive=target.move_back, privileged=True,
                 undo="set the restored datadir aside and rename the old one back (rollback)",
                 source=str(full), target=str(datadir)),
            Step("chown", f"Give {datadir} its old owner and mode (dirs below 750); sync it to disk",
                 [stepper, "chown", str(datadir), "--like", str(aside)], phase=SWAP, privileged=True,
                 target=str(datadir)),
            start,
        ]
    verify = [stepper, "verify", *reach]
    if target.defaults_file:
        verify += ["--defaults-file", str(target.defaults_file)]
    binlog_from = record if record is not None else dirs[-1]  # where xtrabackup_binlog_info is after the swap
    verify += ["--backup-dir", str(binlog_from), "--sample", str(target.verify_sample),
               "--json", str(workdir / "verify.json")]
    steps.append(Step("verify", "Verify the restored server (schemas, row counts, CHECK TABLE)", verify,
                      phase=VERIFY, source=str(binlog_from)))
    return Plan(
        restore_id=restore_id,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        workdir=workdir,
        datadir=datadir,
        aside=aside,
        day=point.day.name,
        upto=point.members[-1].name,
        members=[m.name for m in members],
        tool=tool.label,
        service=target.service.to_dict(),
        steps=steps,
        reach=reach,
        defaults_file=target.defaults_file,
        error_log=target.error_log,
        stop_timeout=target.stop_timeout,
        start_timeout=target.start_timeout,
        stepper=stepper,
        swap=placement.swap,
        swap_reason=placement.reason,
        record=record,
    )


def rename_swap_steps(full: Path, datadir: Path, record: Path, *, stop: Step, move_aside: Step, start: Step,
                      stepper: str) -> list[Step]:
    """Before the stop: set the backup's own files aside, give the copy the datadir's owner, sync it.
    Then the downtime is renames only: stop, move the live datadir aside, rename the copy into place, start."""
    return [
        Step("keep-record", f"Move what copy-back leaves out (xtrabackup_*, backup-my.cnf…) to {record.name}",
             [stepper, "keep-record", str(full), "--into", str(record)], source=str(full), target=str(record)),
        Step("chown", f"Give the prepared copy {datadir.name}'s owner and mode (dirs below 750); sync it to disk",
             [stepper, "chown", str(full), "--like", str(datadir)], privileged=True, target=str(full)),
        stop,
        move_aside,
        Step("swap-in", f"Rename the prepared copy into place as {datadir}",
             [stepper, "rename", str(full), str(datadir)], phase=SWAP, privileged=True,
             undo="rollback: keep it as .failed-restore-<stamp>, rename the old datadir back",
             source=str(full), target=str(datadir)),
        start,
    ]
