"""A restore killed while its step runs, half-done rollbacks, fast start failures — on a real server.

One sandbox "production" server holds ~200 MB (so a copy-back lasts long
enough to be caught); its full backup is taken once. Each test SIGKILLs the
`xtrarestore restore` CLI (or its step guard) at a chosen instant and checks
what the operator would do next: `status`, `--rollback`, `--resume`.
The end state is always the server answering with its old data (or the
restored data) and no backup file in a rolled-back datadir.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.restore.guard import cmdline, proc_stat
from xtrarestore.core.restore.journal import find_journal, load_state, read_records
from xtrarestore.core.restore.lock import RestoreLock

pytestmark = pytest.mark.mariadb

CLI = [sys.executable, "-m", "xtrarestore.tui.cli"]
BACKUP_FILES = ("xtrabackup_info", "xtrabackup_checkpoints", "backup-my.cnf", "xtrabackup_binlog_info")


@pytest.fixture(scope="module")
def production():
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-orphans-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    # The workspace on a file system of its own: these restores copy back (a long step writing into the
    # datadir, the one an orphan could mix backup files into), as when the datadir's disk has no room.
    (base / "work").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2g,mode=0755", "tmpfs", str(base / "work")], check=True)
    server = None
    try:
        server = SandboxServer.create(base / "prod")
        server.load_playground()
        server.add_equipment("slide", 2, "blue")
        server.fill(200)
        root = base / "backups"
        full = server.take_backup(root / "Mon")
        server.add_equipment("swing", 10, "yellow")  # only the live server has it: "old data" = 2 rows
        os.chmod(root, 0o755)
        yield NS(server=server, base=base, root=root, full=full, runs=iter(range(1000)))
    finally:
        if server is not None:
            server.destroy()
        subprocess.run(["umount", str(base / "work")], check=False)
        shutil.rmtree(base, ignore_errors=True)


def _args(env, **over) -> list[str]:
    server = env.server
    run = next(env.runs)
    options = {
        "--root": str(env.root), "--day": "Mon", "--upto": env.full.name,
        "--datadir": str(server.datadir), "--stop-cmd": server.stop_cmd, "--start-cmd": server.start_cmd,
        "--socket": str(server.socket), "--defaults-file": str(server.config), "--error-log": str(server.error_log),
        "--state-dir": str(env.base / "state"), "--workdir": str(env.base / "work" / str(run)),
        "--stop-timeout": "60", "--start-timeout": "120",
    }
    options.update(over)
    return [part for key, value in options.items() for part in (key, value)]


def _cli(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    if check is not None:
        assert result.returncode == check, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _rows(server) -> list[str]:
    return [row[0] for row in server.execute("SELECT type FROM playground.equipment ORDER BY id")]


def _processes(marker: str) -> list[int]:
    """Pids whose command line contains *marker* (and are not zombies)."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and marker in " ".join(cmdline(int(name))):
            stat = proc_stat(int(name))
            if stat and stat[0] != "Z":
                found.append(int(name))
    return found


def _running(pid: int) -> bool:
    stat = proc_stat(pid)
    return stat is not None and stat[0] != "Z"


def _command_processes(marker: str, word: str = "") -> list[int]:
    """The step's own processes (not its guard) whose command line holds *marker* and *word*."""
    return [p for p in _processes(marker) if "guard" not in cmdline(p) and word in " ".join(cmdline(p))]


def _wait_for(predicate, what: str, timeout: float = 300.0, every: float = 0.01, cli=None):
    """Poll *predicate* until it holds; give up at once if the restore *cli* ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if cli is not None and cli.poll() is not None:
            raise AssertionError(f"the restore ended (exit {cli.returncode}) before {what}")
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def _start_restore(env, **over) -> tuple[subprocess.Popen, list[str]]:
    args = _args(env, **over)
    cli = subprocess.Popen([*CLI, "restore", *args, "--yes"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cli, args


def _copy_back_marker(args: list[str]) -> str:
    workdir = args[args.index("--workdir") + 1]
    return f"--target-dir={workdir}/data/"


def _old_data_back(env) -> None:
    server = env.server
    assert _rows(server) == ["slide", "swing"]
    assert not [name for name in BACKUP_FILES if (server.datadir / name).exists()]


def _state(env):
    return load_state(find_journal(env.base / "state"))


def test_a_killed_restore_takes_its_copy_back_with_it(production):
    """SIGKILL the CLI mid copy-back: the guard kills mariabackup, the locks go, rollback is clean."""
    env = production
    cli, args = _start_restore(env)
    marker = _copy_back_marker(args)
    copy_back = _wait_for(lambda: _command_processes(marker, "--copy-back"), "copy-back", cli=cli)
    cli.kill()
    cli.wait()
    _wait_for(lambda: not _processes(marker), "the copy-back and its guard to die", 30)
    assert not any(_running(pid) for pid in copy_back)
    state = _state(env)
    assert state.status_of("copy-back") == "running"
    RestoreLock(env.server.datadir, "probe").acquire().release()  # nothing holds the locks any more
    status = _cli("status", "--state-dir", str(env.base / "state"))
    assert "INTERRUPTED" in status.stdout and "still running" not in status.stdout
    assert "resume would:" in status.stdout and "rollback would:" in status.stdout
    _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes")
    _old_data_back(env)
    assert load_state(state.path).outcome == "rolled-back"


def _orphan_sleeps() -> list[int]:
    """The start command's `sleep 600`, child of a step guard (processes may vanish or exec as we look)."""
    found = []
    for pid in _processes("sleep 600"):
        stat = proc_stat(pid)
        if cmdline(pid)[:1] == ["sleep"] and stat is not None and "guard" in cmdline(stat[1]):
            found.append(pid)
    return found


def test_status_refuses_while_an_orphaned_step_lives(production):
    """The guard itself killed (the OOM killer), and a start command that ignores hang-ups outlives it:
    nothing acts while that process lives, and status names it."""
    env = production
    server = env.server
    stubborn = "trap '' HUP; sleep 600; " + server.start_cmd
    cli, _ = _start_restore(env, **{"--start-cmd": stubborn})
    sleeper = None
    try:
        [sleeper] = _wait_for(_orphan_sleeps, "the start command", cli=cli)
        guard = proc_stat(sleeper)[1]  # the guard leads the step's process group
        os.kill(guard, signal.SIGKILL)
        cli.kill()
        cli.wait()
        time.sleep(0.5)  # the kernel's hang-up reaches the step's group; the start command ignores it
        assert _running(sleeper)
        state_dir = str(env.base / "state")
        status = _cli("status", "--state-dir", state_dir, check=2)
        assert f"pid {sleeper}: sleep 600" in status.stdout
        for action in ("--rollback", "--resume"):
            refused = _cli("status", "--state-dir", state_dir, action, "--yes", check=2)
            assert f"pid {sleeper} (sleep 600)" in refused.stderr and "still run" in refused.stderr
            assert refused.stderr.count("\n") == 1
        assert not server.ping() and _state(env).status_of("start") == "running"
    finally:
        cli.kill()  # a failure above must not leave this restore holding the host lock for later tests
        cli.wait()
        orphans = _processes("sleep 600; ") + _orphan_sleeps() + ([sleeper] if sleeper else [])
        for pid in orphans:  # the orphaned shell and its sleep
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: not _running(sleeper), "the orphan to end", 30)
    _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes", "--start-cmd", server.start_cmd)
    _old_data_back(env)


@pytest.mark.parametrize("step", ["extract:", "prepare:"])
def test_a_kill_in_the_workspace_leaves_production_alone_and_rollback_discards_the_copy(production, step):
    env = production
    cli, args = _start_restore(env)
    workdir = Path(args[args.index("--workdir") + 1])

    word = {"extract:": "extract", "prepare:": "--prepare"}[step]
    try:  # the step's own command (not just its guard starting up); not the CLI, whose --workdir matches
        _wait_for(lambda: _command_processes(str(workdir / "data"), word), f"step {step}", every=0.002, cli=cli)
    finally:
        cli.kill()
        cli.wait()
    _wait_for(lambda: not _processes(str(workdir / "data")), "the step to die", 30)
    assert env.server.ping() and _rows(env.server) == ["slide", "swing"]
    status = _cli("status", "--state-dir", str(env.base / "state"))
    assert "The live server and datadir were not touched." in status.stdout
    assert f"only discard the extracted copy in {workdir / 'data'}" in status.stdout
    _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes")
    assert not (workdir / "data").exists()  # what status said rollback would do
    _old_data_back(env)


def test_start_fails_fast_then_a_half_done_rollback_is_finished_by_rollback_only(production):
    env = production
    server = env.server
    # The server starts, logs that InnoDB's page size does not match the files, and aborts.
    bad_start = server.start_cmd.replace(" >/dev/null", " --innodb-page-size=4096 >/dev/null")
    failed = _cli("restore", *_args(env, **{"--start-cmd": bad_start}), "--yes", check=1)
    state = _state(env)
    start = next(s for s in state.steps if s.name == "start")
    assert start.status == "failed" and "aborted while starting" in start.error, failed.stdout[-2000:]
    assert "did not answer" not in start.error  # it did not wait for --start-timeout
    # The rollback puts the old datadir back but cannot start the server (the start command exits 1).
    rolled = _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes", "--start-cmd", "false",
                  check=1)
    assert "exited with status 1" in rolled.stdout + rolled.stderr
    half = _state(env)
    assert half.rollback_started and not half.moved_aside and server.datadir.is_dir()
    original = sorted(p.name for p in server.datadir.iterdir())
    status = _cli("status", "--state-dir", str(env.base / "state"), check=1)
    assert "resume is not offered" in status.stdout and "rollback has started" in status.stdout
    refused = _cli("status", "--state-dir", str(env.base / "state"), "--resume", "--yes", check=2)
    assert "finish the rollback with --rollback" in refused.stderr
    assert sorted(p.name for p in server.datadir.iterdir()) == original  # the real datadir was not set aside
    assert not list(server.datadir.parent.glob("data.partial-restore-*"))
    finished = _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes",
                    "--start-cmd", server.start_cmd)  # only the start is left, with a start command that works
    records = read_records(half.path)
    last = max(i for i, r in enumerate(records) if r["event"] == "rollback")
    assert [r["step"] for r in records[last:] if r["event"] == "start"] == ["start"], finished.stdout[-2000:]
    _old_data_back(env)
    again = _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes", check=2)
    assert "already rolled-back" in again.stderr


@pytest.mark.parametrize("how", ["missing option file", "log elsewhere"])
def test_a_server_that_dies_without_a_word_in_its_error_log_fails_the_start_early(production, how):
    """Its death is seen in /proc, not waited out for --start-timeout: a server that never reaches its
    datadir (its --defaults-file mistyped, said only on the stderr the start command discards), and one
    that aborts while logging elsewhere than --error-log."""
    env = production
    server = env.server
    elsewhere = Path(tempfile.gettempdir()) / f"xtrarestore-elsewhere-{os.getpid()}.log"
    if how == "missing option file":
        bad_start = server.start_cmd.replace("/my.cnf ", "/my.cnf.typo ")
    else:
        bad_start = server.start_cmd.replace(" >/dev/null",
                                             f" --log-error={elsewhere} --innodb-page-size=4096 >/dev/null")
    assert bad_start != server.start_cmd
    try:
        failed = _cli("restore", *_args(env, **{"--start-cmd": bad_start, "--start-timeout": "240"}), "--yes",
                      check=1)
    finally:
        elsewhere.unlink(missing_ok=True)
    start = next(s for s in _state(env).steps if s.name == "start")
    assert start.status == "failed" and "no server is running in" in start.error, failed.stdout[-2000:]
    assert "did not answer" not in start.error  # it did not wait for --start-timeout
    assert str(server.datadir) in start.error
    _cli("status", "--state-dir", str(env.base / "state"), "--rollback", "--yes", "--start-cmd", server.start_cmd)
    _old_data_back(env)


def test_two_state_dirs_on_one_datadir_are_kept_apart(production):
    env = production
    cli, args = _start_restore(env, **{"--state-dir": str(env.base / "state-a")})
    try:
        workdir = args[args.index("--workdir") + 1]
        for pid in _wait_for(lambda: _command_processes(f"{workdir}/data"), "the first restore's first step",
                              cli=cli):
            os.kill(pid, signal.SIGSTOP)  # the first restore stays in its extraction while the second tries
        second = _cli("restore", *_args(env, **{"--state-dir": str(env.base / "state-b")}), "--yes", check=2)
        line = second.stderr.strip()
        assert "is locked by restore" in line and f"pid {cli.pid}" in line and "\n" not in line
    finally:
        cli.kill()
        cli.wait()
    _wait_for(lambda: not _command_processes(f"{workdir}/data"), "the first restore's steps to die", 30)
    _cli("status", "--state-dir", str(env.base / "state-a"), "--rollback", "--yes")
    _old_data_back(env)


def test_an_unfinished_restore_under_another_state_dir_is_found(production):
    """A restore that failed with the old datadir aside, journaled in state-a: a restore planned with state-b
    is refused naming that journal and how to finish it there, and nothing is touched."""
    env = production
    server = env.server
    bad_start = server.start_cmd.replace(" >/dev/null", " --innodb-page-size=4096 >/dev/null")
    _cli("restore", *_args(env, **{"--start-cmd": bad_start, "--state-dir": str(env.base / "state-a")}), "--yes",
         check=1)
    first = load_state(find_journal(env.base / "state-a"))
    assert first.moved_aside and not first.finished
    listing = sorted(p.name for p in server.datadir.parent.iterdir())
    second = _cli("restore", *_args(env, **{"--state-dir": str(env.base / "state-b")}), "--yes", check=2)
    line = second.stderr.strip()
    assert f"restore {first.plan.restore_id} left the old datadir at {first.plan.aside}" in line, line
    assert f"xtrarestore status --state-dir {env.base / 'state-a'} --id {first.plan.restore_id} --resume" in line
    assert "\n" not in line and "nothing was touched" in line
    assert sorted(p.name for p in server.datadir.parent.iterdir()) == listing
    assert not (env.base / "state-b" / "journal").exists() or not list((env.base / "state-b" / "journal").iterdir())
    _cli("status", "--state-dir", str(env.base / "state-a"), "--rollback", "--yes", "--start-cmd", server.start_cmd)
    _old_data_back(env)
    again = _cli("plan", *_args(env, **{"--state-dir": str(env.base / "state-b")}), check=None)
    assert "[ok] no unfinished restore" in again.stdout  # finished: no longer in the way
