"""Build a demo backup root from a real sandbox server.

A newcomer needs something to look at before they point xtrarestore at real
backups. The demo root is made by a real MariaDB server and real `mariabackup`,
laid out as the DigitalOcean `backup-mysql.sh` script lays it out (weekday
directories, `full-…`/`incremental-…` streams, `encryption_key` at the root),
and it deliberately holds the problems an operator must learn to read: a gap
left by a deleted incremental and an interrupted backup. The server writes
binary logs, and after the last backup someone deletes most of the visits:
the binlogs (kept in `binlogs/`) let a point-in-time restore stop just before
that incident, or skip it.

The work directory holds `backups/` (the root), `binlogs/`, `demo.json` (what was built,
with the rows each backup holds, so a drill's counts can be checked) and a
marker file; nothing else in it is ours, and nothing without the marker is
ever deleted.

While the console runs, the demo also has its own "production" server
(`DemoProduction`): a throwaway server whose data differs from every backup, so
a restore visibly changes it. The console's restore, rollback and drills aim at
it, with their journal, lock and workspaces beside it: the host's own MariaDB,
`/var/lib/mysql` and service are never touched by the demo.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from ..archive.transcode import encrypt_stream
from ..errors import DemoError
from .sandbox import SandboxServer

DEMO_VERSION = 3
MARKER = ".xtrarestore-demo"
MANIFEST = "demo.json"
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# The tutorial's playground grows by one piece of equipment per backup.
EQUIPMENT = (
    ("slide", 2, "blue"),
    ("swing", 10, "yellow"),
    ("seesaw", 3, "green"),
    ("sandbox", 1, "orange"),
    ("monkey bars", 1, "red"),
    ("merry-go-round", 1, "purple"),
    ("zip line", 2, "black"),
    ("climbing wall", 1, "grey"),
    ("spring rider", 4, "pink"),
    ("tunnel", 2, "white"),
    ("trampoline", 1, "blue"),
    ("hopscotch", 6, "chalk"),
)
VISITS_PER_BACKUP = 250
BINLOG_OPTIONS = ("log-bin=demo-bin", "server-id=101", "binlog-format=ROW", "binlog-row-image=FULL")
INCIDENT_SQL = "DELETE FROM playground.visits WHERE minutes > 3"

Say = Callable[[str], None]


@dataclass
class DemoBackup:
    """One backup the demo took, and what it should hold when restored."""

    day: str
    name: str
    kind: str
    compressed: bool
    encrypted: bool
    state: str  # "ok", "deleted" (the gap) or "incomplete"
    rows: dict[str, int]


@dataclass
class DemoRoot:
    workdir: Path
    root: Path
    key_file: Path | None
    backups: list[DemoBackup] = field(default_factory=list)
    reused: bool = False
    binlog_dir: Path | None = None
    incident: dict | None = None
    """The bad DELETE after the last backup: gtid, sql, rows before and after it."""

    @property
    def days(self) -> list[str]:
        return list(dict.fromkeys(b.day for b in self.backups))

    def backup(self, name: str) -> DemoBackup:
        return next(b for b in self.backups if b.name == name)

    def chain(self, day: str) -> list[DemoBackup]:
        """The day's backups that are restorable, in order (up to the first missing one)."""
        members: list[DemoBackup] = []
        for backup in (b for b in self.backups if b.day == day):
            if backup.state != "ok":
                break
            members.append(backup)
        return members


PRODUCTION_EQUIPMENT = (("picnic table", 4, "brown"), ("water fountain", 1, "steel"), ("bench", 9, "green"))
PRODUCTION_VISITS = 1000


@dataclass
class DemoProduction:
    """The demo's own "production" server and the restore target options that aim at it."""

    server: SandboxServer
    base: Path

    @property
    def target_options(self) -> dict:
        """The `plan` command's target options for this server (journal, lock and workspaces beside it)."""
        server = self.server
        return {
            "datadir": str(server.datadir),
            "stop_cmd": server.stop_cmd,
            "start_cmd": server.start_cmd,
            "socket": str(server.socket),
            "error_log": str(server.error_log),
            "workdir": str(self.base / "restores"),
            "state_dir": str(self.base / "state"),
            "start_timeout": 120,
            "stop_timeout": 120,
        }

    def rows(self) -> dict[str, int]:
        return {table: self.server.execute(f"SELECT COUNT(*) FROM {table}")[0][0]
                for table in ("playground.equipment", "playground.visits")}

    def stop(self) -> None:
        """Stop the server (however it was last started) and remove everything it had; safe to call twice."""
        for pid in self.server.server_processes():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self.server.destroy()
        shutil.rmtree(self.base, ignore_errors=True)


def start_production(say: Say = print) -> DemoProduction:
    """Start the demo's "production" server: the playground with rows no backup holds.

    It lives in /var/tmp (the server's user must reach it; preflight refuses
    a datadir in /tmp), in a fresh directory each run.
    """
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="xtrarestore-demo-production-", dir="/var/tmp"))
    base.chmod(0o711)
    say("Starting the demo's own production server (a throwaway MariaDB; the host's is never touched)")
    server = None
    try:
        server = SandboxServer.create(base=base / "server")
        server.load_playground()
        server.execute("CREATE TABLE playground.visits ("
                       " id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, equipment_id INT, minutes INT)")
        for kind, quant, color in EQUIPMENT + PRODUCTION_EQUIPMENT:
            server.add_equipment(kind, quant, color)
        server.execute("INSERT INTO playground.visits (equipment_id, minutes)"
                       " SELECT seq MOD 15 + 1, seq MOD 45 + 1 FROM playground.seq_1_to_" + str(PRODUCTION_VISITS))
    except BaseException:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)
        raise
    production = DemoProduction(server, base)
    rows = production.rows()
    say(f"  production: {server.socket}, {rows['playground.equipment']} equipment rows,"
        f" {rows['playground.visits']} visits (more than any backup holds)")
    return production


def default_workdir() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "xtrarestore" / "demo"


def load_demo(workdir: Path) -> DemoRoot | None:
    """The demo already built in *workdir*, or None if it is missing, stale or damaged."""
    try:
        data = json.loads((workdir / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if data.get("version") != DEMO_VERSION:
        return None
    root = workdir / "backups"
    key_file = root / "encryption_key" if data.get("key_file") else None
    backups = [DemoBackup(**b) for b in data.get("backups", [])]
    sizes = data.get("sizes", {})
    for relative, size in sizes.items():
        try:
            if (root / relative).stat().st_size != size:
                return None
        except OSError:
            return None
    binlogs = workdir / "binlogs"
    return DemoRoot(workdir=workdir, root=root, key_file=key_file, backups=backups, reused=True,
                    binlog_dir=binlogs if binlogs.is_dir() else None, incident=data.get("incident"))


def build_demo(workdir: Path | None = None, *, rebuild: bool = False, say: Say = print) -> DemoRoot:
    """Return a valid demo in *workdir*, building it (about 20 s) unless one is already there."""
    workdir = (workdir or default_workdir()).expanduser().resolve()
    if not rebuild and (demo := load_demo(workdir)) is not None:
        say(f"Using the demo backup root already built in {demo.root}")
        return demo
    _clear(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("A work directory of `xtrarestore demo`; `xtrarestore demo --rebuild` replaces it.\n")
    partial = workdir / "backups.partial"
    partial.mkdir(mode=0o750)
    started = time.monotonic()
    say(f"Building a demo backup root in {workdir / 'backups'}")
    demo = _Builder(workdir, partial, say).build()
    partial.rename(demo.root)
    _write_manifest(demo)
    say(f"Demo ready in {time.monotonic() - started:.1f}s: {demo.root}")
    return demo


def _clear(workdir: Path) -> None:
    """Remove a previous demo, refusing to touch a directory that is not one."""
    if not workdir.exists():
        return
    if not workdir.is_dir():
        raise DemoError(f"{workdir}: exists and is not a directory")
    if any(workdir.iterdir()) and not (workdir / MARKER).exists():
        raise DemoError(f"{workdir}: not empty and not a demo work directory; choose another --workdir")
    for name in ("backups", "backups.partial", "staging", "binlogs", MANIFEST):
        path = workdir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _write_manifest(demo: DemoRoot) -> None:
    sizes = {
        str(path.relative_to(demo.root)): path.stat().st_size
        for path in sorted(demo.root.rglob("*"))
        if path.is_file()
    }
    document = {
        "version": DEMO_VERSION,
        "built": datetime.now().isoformat(timespec="seconds"),
        "root": str(demo.root),
        "key_file": str(demo.key_file) if demo.key_file else None,
        "backups": [asdict(b) for b in demo.backups],
        "sizes": sizes,
        "incident": demo.incident,
    }
    tmp = demo.workdir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    tmp.rename(demo.workdir / MANIFEST)


def schedule(now: datetime, counts: list[int]) -> list[tuple[str, list[datetime]]]:
    """Day names and backup times for *counts* backups a day, the last day being today.

    Past days are backed up at 01:00, 06:00, 11:00…; today's backups end ten
    minutes ago. Shortly after midnight the days end yesterday instead, so that
    no backup lies in the future.
    """
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    room = now - midnight - timedelta(minutes=10)
    last = midnight if room >= timedelta(hours=1) else midnight - timedelta(days=1)
    days = []
    for back, count in enumerate(reversed(counts)):
        day = last - timedelta(days=back)
        if day == midnight:
            step = min(timedelta(hours=5), room / count)
            end = now - timedelta(minutes=10)
            times = [end - step * (count - 1 - k) for k in range(count)]
        else:
            times = [day + timedelta(hours=1 + 5 * k) for k in range(count)]
        days.append((WEEKDAYS[day.weekday()], [t.replace(microsecond=0) for t in times]))
    return list(reversed(days))


class _Builder:
    """Drives one sandbox server through three days of backups."""

    def __init__(self, workdir: Path, root: Path, say: Say) -> None:
        self.workdir = workdir
        self.root = root
        self.say = say
        self.backups: list[DemoBackup] = []
        self.equipment = 0
        self.visits = 0
        self.server: SandboxServer | None = None

    def build(self) -> DemoRoot:
        plan = schedule(datetime.now(), [4, 3, 4])
        (gap_day, gap_times), (enc_day, enc_times), (today, today_times) = plan
        self.say("Starting a sandbox MariaDB server (real mariadbd, private socket)")
        with SandboxServer.create(options=BINLOG_OPTIONS) as server:
            self.server = server
            server.load_playground()
            server.execute(
                "CREATE TABLE playground.visits ("
                " id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, equipment_id INT, minutes INT)",
            )
            self.say(f"{gap_day}: a compressed chain whose second incremental gets deleted (a gap)")
            names = [self._backup(self.root / gap_day, when, compress=True) for when in gap_times]
            (self.root / gap_day / names[2]).unlink()
            self.backup_named(names[2]).state = "deleted"
            self.say(f"  deleted {gap_day}/{names[2]}: {names[3]} now has no base")
            # mariabackup cannot encrypt: take compressed streams aside, then write them
            # in XtraBackup's `--encrypt` layout with the key the tutorial's way.
            key_file = self._key()
            self.say(f"{enc_day}: an encrypted and compressed chain (key: {key_file.name})")
            staging = self.workdir / "staging" / enc_day
            (self.root / enc_day).mkdir()
            for when in enc_times:
                name = self._backup(staging, when, compress=True, encrypted=True, quiet=True)
                encrypt_stream(staging / name, self.root / enc_day / name, key_file.read_bytes())
                self._said(self.root / enc_day / name, "encrypted")
            for extra in ("xtrabackup_checkpoints", "xtrabackup_info", "backup-progress.log"):
                shutil.copy2(staging / extra, self.root / enc_day / extra)
            shutil.rmtree(self.workdir / "staging")
            self.say(f"{today}: a plain chain, then a backup interrupted mid-stream")
            for when in today_times[:-1]:
                self._backup(self.root / today, when)
            self._grow()
            partial = server.take_backup(self.root / today, when=today_times[-1], interrupt_after=1 << 20)
            self.backups.append(
                DemoBackup(today, partial.name, "incremental", False, False, "incomplete", self._rows())
            )
            self.say(f"  {today}/{partial.name}: killed after {partial.stat().st_size >> 10} KiB")
            incident = self._incident()
            server.stop()
            binlogs = self.workdir / "binlogs"
            binlogs.mkdir(mode=0o755)
            for path in sorted(server.datadir.glob("demo-bin.[0-9]*")):
                shutil.copy2(path, binlogs / path.name)
                os.chmod(binlogs / path.name, 0o644)
            self.say(f"Binlogs kept in {binlogs} (an archive, as mariadb-binlog --raw would keep them)")
        self.say("Sandbox server stopped and removed")
        root = self.workdir / "backups"
        return DemoRoot(workdir=self.workdir, root=root, key_file=root / key_file.name, backups=self.backups,
                        binlog_dir=self.workdir / "binlogs", incident=incident)

    def _incident(self) -> dict:
        """After the last backup: more visits, then the bad DELETE, then business as usual."""
        assert self.server is not None
        self._grow()
        time.sleep(1.1)  # the incident gets a second of its own: a time stop point can fall just before it
        before = self.server.execute("SELECT COUNT(*) FROM playground.visits")[0][0]
        self.server.execute(INCIDENT_SQL)
        gtid = self.server.execute("SELECT @@gtid_binlog_pos")[0][0]
        after = self.server.execute("SELECT COUNT(*) FROM playground.visits")[0][0]
        time.sleep(1.1)
        self.server.execute("INSERT INTO playground.visits (equipment_id, minutes) VALUES (1, 30), (2, 12)")
        self.say(f"Incident after the last backup: {INCIDENT_SQL} (GTID {gtid}) left {after} of {before} visits")
        return {"gtid": gtid, "sql": INCIDENT_SQL, "visits_before": before, "visits_after": after + 2,
                "equipment": self.equipment}

    def backup_named(self, name: str) -> DemoBackup:
        return next(b for b in self.backups if b.name == name)

    def _backup(self, day_dir: Path, when: datetime, *, compress: bool = False, encrypted: bool = False,
                quiet: bool = False) -> str:
        assert self.server is not None
        self._grow(settle=(day_dir / "xtrabackup_checkpoints").exists())
        path = self.server.take_backup(day_dir, when=when, compress=compress)
        kind = "full" if path.name.startswith("full-") else "incremental"
        self.backups.append(DemoBackup(day_dir.name, path.name, kind, compress, encrypted, "ok", self._rows()))
        if not quiet:
            self._said(path, "compressed" if compress else "plain")
        return path.name

    def _said(self, path: Path, flavour: str) -> None:
        rows = self.backups[-1].rows
        self.say(
            f"  {path.parent.name}/{path.name}  {flavour}, {path.stat().st_size / 1e6:.1f} MB,"
            f" {rows['playground.equipment']} equipment rows, {rows['playground.visits']} visits"
        )

    def _grow(self, settle: bool = False) -> None:
        """Add one piece of equipment and its visits.

        With *settle* (before an incremental), wait for InnoDB to checkpoint
        them, so the incremental's `to_lsn` moves: on a quiet MariaDB it does
        not, a deleted incremental would then leave no visible gap, and a
        prepared chain would not reach the incremental's `last_lsn`.
        """
        assert self.server is not None
        kind, quant, color = EQUIPMENT[self.equipment % len(EQUIPMENT)]
        self.server.add_equipment(kind, quant, color)
        self.equipment += 1
        self.server.execute(
            "INSERT INTO playground.visits (equipment_id, minutes)"
            " SELECT %s, seq MOD 45 + 1 FROM playground.seq_1_to_" + str(VISITS_PER_BACKUP),
            params=(self.equipment,),
        )
        self.visits += VISITS_PER_BACKUP
        if settle:
            self.server.checkpoint()

    def _rows(self) -> dict[str, int]:
        return {"playground.equipment": self.equipment, "playground.visits": self.visits}

    def _key(self) -> Path:
        """A key made like the tutorial's: `openssl rand -base64 24`, no trailing newline."""
        key_file = self.root / "encryption_key"
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(base64.b64encode(secrets.token_bytes(24)))
        return key_file
