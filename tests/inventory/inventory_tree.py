"""Build real backup roots for the inventory tests: one real MariaDB server, real mariabackup.

Every scenario the issue names lives in its own day directory of one root, so
one module-scoped build (~40 real backups, about a minute) serves all tests.
Between backups rows are added and InnoDB is made to checkpoint, so each
backup's `to_lsn` differs from the one before and gaps and forks are
unambiguous; the `quiet` day deliberately skips that.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.programs import find_program

KEY = b"0123456789abcdef0123456789abcdef"
START = datetime(2026, 11, 16, 1, 0, 0)


def _lsns(server: SandboxServer) -> tuple[int, int]:
    status = dict(server.execute("SHOW GLOBAL STATUS LIKE 'Innodb_lsn_%'"))
    return int(status["Innodb_lsn_current"]), int(status["Innodb_lsn_last_checkpoint"])


def move_lsn(server: SandboxServer, label: str) -> None:
    """Write a row and wait until InnoDB's checkpoint passes it, so the next backup's to_lsn moves."""
    server.add_equipment(label, 1, "grey")
    server.checkpoint()


def settle(server: SandboxServer, quiet_for: float = 2.0) -> None:
    """Wait until InnoDB's LSN and checkpoint stop moving (background stats and purge are done)."""
    deadline = time.monotonic() + 30
    last, since = _lsns(server), time.monotonic()
    while time.monotonic() - since < quiet_for:
        assert time.monotonic() < deadline, "InnoDB kept writing for 30 s"
        time.sleep(0.2)
        current = _lsns(server)
        if current != last:
            last, since = current, time.monotonic()


@dataclass
class Tree:
    root: Path
    names: dict[str, Path] = field(default_factory=dict)  # scenario label -> artifact path


def extract(stream: Path, into: Path) -> Path:
    """Extract a stream with the real mbstream (as extract-mysql.sh does with xbstream -x)."""
    into.mkdir(parents=True)
    with open(stream, "rb") as source:
        subprocess.run([str(find_program(["mbstream"])), "-x", "-C", str(into)], stdin=source, check=True)
    return into


def build(server: SandboxServer, root: Path) -> Tree:
    tree = Tree(root)
    clock = iter(START + timedelta(minutes=10 * i) for i in range(1000))

    def backup(day: str, label: str, **kwargs) -> Path:
        path = server.take_backup(root / day, when=next(clock), **kwargs)
        tree.names[label] = path
        move_lsn(server, label)
        return path

    # Mon: a healthy chain, the last incremental compressed, plus an extracted copy of the full.
    backup("Mon", "mon-full")
    backup("Mon", "mon-inc1")
    backup("Mon", "mon-inc2", compress=True)
    tree.names["mon-copy"] = extract(tree.names["mon-full"], root / "Mon" / "restore" / tree.names["mon-full"].stem)

    # Tue: an interrupted backup after a good full and incremental.
    backup("Tue", "tue-full")
    backup("Tue", "tue-inc1")
    backup("Tue", "tue-partial", interrupt_after=256 * 1024)

    # Wed: a gap (the middle incremental deleted), and one more incremental after it.
    for label in ("wed-full", "wed-inc1", "wed-inc2", "wed-inc3", "wed-inc4"):
        backup("Wed", label)
    tree.names["wed-inc2"].unlink()

    # Thu: an orphan (the full deleted); Fri: an incremental whose base is Thu's last backup.
    backup("Thu", "thu-full")
    backup("Thu", "thu-inc1")
    tree.names["thu-full"].unlink()
    (root / "Fri").mkdir()
    shutil.copy(root / "Thu" / "xtrabackup_checkpoints", root / "Fri" / "xtrabackup_checkpoints")
    backup("Fri", "fri-inc1")

    # Sat: a fork (the day's checkpoints reset to the full's before the second incremental).
    backup("Sat", "sat-full")
    saved = (root / "Sat" / "xtrabackup_checkpoints").read_bytes()
    backup("Sat", "sat-inc1")
    (root / "Sat" / "xtrabackup_checkpoints").write_bytes(saved)
    backup("Sat", "sat-inc2")

    # Sun: the latest backup failed (wrong socket) but the script still renamed its stream.
    backup("Sun", "sun-full")
    tree.names["sun-failed"] = server.take_backup(
        root / "Sun", when=next(clock), keep_failed=True, extra_args=("--socket=/nonexistent/mysqld.sock",)
    )

    # 2026-11-21: a compressed day; 2026-11-22: damaged streams; 2026-11-23: encrypted (key-required).
    backup("2026-11-21", "c-full", compress=True)
    backup("2026-11-21", "c-inc1", compress=True)
    damaged = root / "2026-11-22"
    damaged.mkdir()
    truncated = damaged / tree.names["c-full"].name
    truncated.write_bytes(tree.names["c-full"].read_bytes()[:300_000])
    garbage = damaged / tree.names["c-inc1"].name
    garbage.write_bytes(b"this is not an xbstream file\n" * 100)
    tree.names["truncated"], tree.names["garbage"] = truncated, garbage
    for label in ("enc-full", "enc-inc1"):
        plain = backup("20261123", label)
        encrypted = plain.with_name(plain.name + ".enc")
        encrypt_stream(plain, encrypted, KEY)
        stat = plain.stat()
        encrypted.replace(plain)
        os.utime(plain, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` keeps it

    # Two fulls in one day (the day's checkpoints removed between them).
    backup("11-24-2026", "two-full1")
    (root / "11-24-2026" / "xtrabackup_checkpoints").unlink()
    backup("11-24-2026", "two-full2")
    backup("11-24-2026", "two-inc1")

    # quiet: three backups with no writes between them (to_lsn does not move).
    settle(server)
    for label in ("quiet-full", "quiet-inc1", "quiet-inc2"):
        tree.names[label] = server.take_backup(root / "quiet", when=next(clock))
    return tree


def build_series(server: SandboxServer, root: Path) -> Tree:
    """The Percona blog layout: full/<ts>/ and incr/<ts>/ backup directories, lsns/<ts>/ checkpoints."""
    tree = Tree(root)
    work = root.parent / (root.name + "-work")
    stamps = ("2026-11-20_01-00-00", "2026-11-20_02-00-00", "2026-11-20_03-00-00")
    for index, stamp in enumerate(stamps):
        stream = server.take_backup(work, when=START)
        folder = "full" if index == 0 else "incr"
        lsns = root / "lsns" / stamp
        lsns.mkdir(parents=True)
        shutil.copy(work / "xtrabackup_checkpoints", lsns / "xtrabackup_checkpoints")
        if index == 0:  # the full is encrypted, as in the blog: its checkpoints only readable from lsns/
            encrypted = stream.with_name("enc.xbstream")
            encrypt_stream(stream, encrypted, KEY)
            stream = encrypted
        tree.names[f"{folder}/{stamp}"] = extract(stream, root / folder / stamp)
        move_lsn(server, stamp)
    return tree
