"""Tie a step's processes to the restore that runs it, and find any that outlived it.

Every step runs as `xtrarestore-step guard --restore ID --watch PID:START -- COMMAND…`.
The guard leads the step's process group (the runner gives each step a session
of its own), runs the command in that group, and watches the restore process
through a pidfd. When the restore process dies — SIGKILL, OOM, a crash — or
the guard is told to stop (SIGHUP when the step's terminal closes, SIGTERM,
SIGINT), it SIGKILLs every process of its group and waits until none is
left, then exits. A parent-death signal would not do: it fires when the
forking *thread* ends (the console forks from worker threads) and is cleared
by sudo. The guard also inherits the restore's lock descriptors (when no sudo
stands in between), so the locks live exactly as long as a step might.

`live_processes` is the other half: before `status` acts, it lists every
process still running for a restore — the pids and process groups the
journal recorded for steps that never ended (checked against their start
time), and any guard whose command line names the restore.
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import subprocess
import time
from pathlib import Path

KILL_WAIT = 10.0


def proc_stat(pid: int) -> tuple[str, int, int] | None:
    """(state, process group, start time in clock ticks since boot) of *pid*, or None when gone."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[2]), int(fields[19])


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def group_members(pgid: int, *, since: int = 0) -> list[int]:
    """Live (not zombie) processes of group *pgid* started at or after *since*."""
    found = []
    for pid in _pids():
        stat = proc_stat(pid)
        if stat and stat[1] == pgid and stat[0] != "Z" and stat[2] >= since:
            found.append(pid)
    return found


def alive(pid: int, start: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z" and stat[2] == start


def guard_argv(stepper: str, restore_id: str, argv: list[str]) -> list[str]:
    """The command line that runs *argv* under a guard watching this process."""
    me = os.getpid()
    stat = proc_stat(me)
    return [stepper, "guard", "--restore", restore_id, "--watch", f"{me}:{stat[2] if stat else 0}", "--", *argv]


def live_processes(restore_id: str, spawned: list[dict]) -> list[tuple[int, str]]:
    """Every process still running for *restore_id*: (pid, command line), sorted by pid.

    *spawned* are the journal's records of steps that started and never
    ended (pid, pgid, start time); guards found in /proc by their
    `--restore ID` are added with their whole process group.
    """
    found: set[int] = set()
    for record in spawned:
        pid, start = record.get("pid"), record.get("started", 0)
        if isinstance(pid, int) and alive(pid, start):
            found.add(pid)
        pgid = record.get("pgid")
        if isinstance(pgid, int):
            found.update(group_members(pgid, since=start))
    for pid in _pids():
        argv = cmdline(pid)
        if _guards(argv, restore_id):
            found.add(pid)
            stat = proc_stat(pid)
            if stat:
                found.update(group_members(stat[1], since=stat[2]))
    found.discard(os.getpid())
    return [(pid, " ".join(cmdline(pid)) or "?") for pid in sorted(found) if proc_stat(pid)]


def _guards(argv: list[str], restore_id: str) -> bool:
    """Is *argv* (a /proc command line) `[python] …/xtrarestore-step guard --restore RESTORE_ID …`?"""
    for at, part in enumerate(argv[:2]):
        if os.path.basename(part) == "xtrarestore-step" and argv[at + 1:at + 2] == ["guard"]:
            rest = argv[at + 2:]
            return "--restore" in rest and rest[rest.index("--restore") + 1:][:1] == [restore_id]
    return False


def kill_group() -> None:
    """SIGKILL every other process of this group until none is left (or KILL_WAIT passes)."""
    me, group = os.getpid(), os.getpgrp()
    deadline = time.monotonic() + KILL_WAIT
    while time.monotonic() < deadline:
        others = [pid for pid in group_members(group) if pid != me]
        if not others:
            return
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


def _stop(signum, frame) -> None:
    kill_group()
    os._exit(128 + signum)


def _watch(spec: str) -> int | None:
    """A pidfd on the restore process named by PID:START; None when it is already gone."""
    pid_text, _, start_text = spec.partition(":")
    pid = int(pid_text)
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    if not alive(pid, int(start_text or 0)):
        os.close(pidfd)
        return None
    return pidfd


def run(argv: list[str]) -> int:
    """`xtrarestore-step guard --restore ID --watch PID:START -- COMMAND…`: the command's exit status."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step guard")
    parser.add_argument("--restore", required=True)
    parser.add_argument("--watch", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command to run")
    for signum in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    restore = _watch(args.watch)
    if restore is None:
        print(f"error: restore {args.restore} ended before its step started; not running it", flush=True)
        return 1
    try:
        child = subprocess.Popen(command)  # close_fds: the lock descriptors stay with the guard
    except OSError as error:
        print(f"error: {command[0]}: {error.strerror}", flush=True)
        return 127
    step = os.pidfd_open(child.pid)
    while True:
        ready, _, _ = select.select([restore, step], [], [])
        if step in ready:
            status = child.wait()
            return 128 - status if status < 0 else status
        if restore in ready:
            print(f"restore {args.restore} died: killing its step", flush=True)
            _stop(signal.SIGKILL, None)
