"""End-to-end restores into a real sandbox "production" server, through the CLI.

The DigitalOcean story: playground.equipment gets a slide (full backup), then a
swing (incremental). Restoring to the full gives 1 row, to the incremental 2.
The server is driven with --stop-cmd/--start-cmd; its datadir lives under
/var/tmp (never /tmp, which the restore refuses for the old datadir).
Faults: chain gap, no space, server will not stop, restored server will not
start (rollback), a kill after move-aside (status, resume, rollback), a
SIGHUP mid-step, and prepare failing (copy discarded).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.errors import StepFailedError
from xtrarestore.core.inventory.chains import find_restore_point
from xtrarestore.core.inventory.scan import scan
from xtrarestore.core.programs import find_program
from xtrarestore.core.restore import recovery
from xtrarestore.core.restore.journal import Journal, find_journal, load_state
from xtrarestore.core.restore.plan import Target, build_plan
from xtrarestore.core.restore.runner import Runner
from xtrarestore.core.restore.service import ServiceControl
from xtrarestore.core.restore.tools import detect_tool

CLI = [sys.executable, "-m", "xtrarestore.tui.cli"]


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def story():
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-e2e-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    server = None
    try:
        server = SandboxServer.create(base / "prod")
        server.load_playground()
        root = base / "backups"
        server.add_equipment("slide", 2, "blue")
        full = server.take_backup(root / "Mon")
        server.add_equipment("swing", 10, "yellow")
        inc = server.take_backup(root / "Mon")
        # A day whose middle incremental is lost: the chain has a gap before the last one.
        # Each checkpoint moves to_lsn, so each backup starts where the last ended.
        server.take_backup(root / "Tue")
        server.add_equipment("seesaw", 1, "red")
        server.checkpoint()
        lost = server.take_backup(root / "Tue")
        server.add_equipment("sandbox", 1, "green")
        server.checkpoint()
        after_gap = server.take_backup(root / "Tue")
        lost.unlink()
        # The Mon chain again, in XtraBackup's --encrypt layout (mariabackup cannot encrypt).
        key = base / "encryption_key"
        key.write_bytes(secrets.token_bytes(32))
        (root / "Enc").mkdir()
        enc = [encrypt_stream(src, root / "Enc" / src.name, key.read_bytes()) for src in (full, inc)]
        # The Mon chain again as plain backup directories (what `mbstream -x` or --target-dir leaves).
        plain = []
        for src in (full, inc):
            target = root / "Dirs" / src.name.removesuffix(".xbstream")
            target.mkdir(parents=True)
            with open(src, "rb") as stream:
                subprocess.run([str(find_program(["mbstream"])), "-x", "-C", str(target)], stdin=stream, check=True)
            plain.append(target)
        os.chmod(root, 0o755)
        yield NS(plain=plain, server=server, base=base, root=root, full=full, inc=inc, after_gap=after_gap, key=key, enc=enc,
                 digest=_digest(root), runs=iter(range(1000)))
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def _args(story, upto: Path, **over) -> list[str]:
    server = story.server
    run = next(story.runs)
    options = {
        "--root": str(story.root), "--day": upto.parent.name, "--upto": upto.name,
        "--datadir": str(server.datadir), "--stop-cmd": server.stop_cmd, "--start-cmd": server.start_cmd,
        "--socket": str(server.socket), "--defaults-file": str(server.config),
        "--state-dir": str(story.base / "state"), "--workdir": str(story.base / "work" / str(run)),
        "--stop-timeout": "20", "--start-timeout": "20",
    }
    options.update(over)
    return [part for key, value in options.items() if value is not None for part in (key, value)]


def _cli(*args: str, check: int | None = 0) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    if check is not None:
        assert result.returncode == check, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def _rows(server) -> list[str]:
    return [row[0] for row in server.execute("SELECT type FROM playground.equipment ORDER BY id")]


def _siblings(server, marker: str) -> list[Path]:
    return sorted(server.datadir.parent.glob(f"{server.datadir.name}.{marker}-*"))


def _table_files(datadir: Path) -> set[str]:
    """The data a server keeps across a clean shutdown (it drops ibtmp1 and its DDL log)."""
    return {str(p.relative_to(datadir)) for p in datadir.rglob("*") if p.suffix in (".ibd", ".frm", ".MAD")}


def _state(story):
    return load_state(find_journal(story.base / "state"))


def _journal_text(story) -> str:
    return find_journal(story.base / "state").read_text()


def _journal_records(story) -> list[dict]:
    return [json.loads(line) for line in _journal_text(story).splitlines() if line.strip()]


def test_story_restore_to_full_then_to_incremental(story):
    server = story.server
    before = _table_files(server.datadir)
    result = _cli("restore", *_args(story, story.full, **{"--workdir": None}), "--yes")  # beside the datadir
    assert _rows(server) == ["slide"]
    assert "playground.equipment" in result.stdout and "The restore completed." in result.stdout
    [aside] = _siblings(server, "before-restore")
    assert _table_files(aside) == before
    assert (aside / "playground" / "equipment.ibd").stat().st_size > 0
    mysql = pwd.getpwnam(server.user or "root").pw_uid
    assert all(p.stat().st_uid == mysql for p in [server.datadir, *server.datadir.rglob("*")])
    assert server.datadir.stat().st_mode & 0o777 == aside.stat().st_mode & 0o777  # the old datadir's mode
    assert all(p.stat().st_mode & 0o777 == 0o750 for p in server.datadir.rglob("*") if p.is_dir())
    state = _state(story)
    # Swapped by rename: no copy-back ran, production was down for renames only, and the backup's
    # own files (what copy-back leaves out) are in the workspace record, not in the datadir.
    assert state.plan.swap == "rename" and state.plan.workdir.name.startswith(f"{server.datadir.name}.restore-")
    assert state.plan.workdir.parent == server.datadir.parent and state.plan.workdir.stat().st_mode & 0o777 == 0o700
    assert [s.name for s in state.steps if s.status == "ok"][-6:] == [
        "chown", "stop", "move-aside", "swap-in", "start", "verify"]
    assert "copy-back" not in {s.name for s in state.steps} and "--copy-back" not in _journal_text(story)
    assert "production down (stop → answering):" in result.stdout and state.downtime.seconds > 0
    assert any(r.get("event") == "downtime" for r in _journal_records(story))
    assert not [p.name for p in server.datadir.iterdir()
                if p.name.startswith(("xtrabackup_", "mariadb_backup_")) or p.name == "backup-my.cnf"]
    assert (state.plan.record / "xtrabackup_checkpoints").exists() and (state.plan.record / "backup-my.cnf").exists()

    time.sleep(1.1)  # the next aside gets its own second-resolution stamp
    _cli("restore", *_args(story, story.inc), "--yes")
    assert _rows(server) == ["slide", "swing"]
    state = _state(story)
    assert state.outcome == "completed" and all(s.status == "ok" for s in state.steps)
    assert len(_siblings(server, "before-restore")) == 2
    [chown_log] = (state.plan.workdir / "logs").glob("*-chown.log")
    prepared = state.plan.step("swap-in").source
    assert f"{prepared} synced to disk" in chown_log.read_text()  # before the stop, so before it became the datadir
    verify = json.loads((state.plan.workdir / "verify.json").read_text())
    assert {(t["schema"], t["name"], t["rows"], t["check"]) for t in verify["tables"]} >= {
        ("playground", "equipment", 2, "OK")}
    assert _digest(story.root) == story.digest


def test_encrypted_chain_restores_with_the_key_file(story):
    time.sleep(1.1)
    missing = _cli("restore", *_args(story, story.enc[-1]), "--yes", check=2)
    assert "encrypted" in missing.stderr and "--key-file" in missing.stderr and story.server.ping()
    _cli("restore", *_args(story, story.enc[-1], **{"--key-file": str(story.key)}), "--yes")
    assert _rows(story.server) == ["slide", "swing"]
    state = _state(story)
    key = story.key.read_bytes()
    written = [p for p in [*state.plan.workdir.rglob("*"), *(story.base / "state").rglob("*")] if p.is_file()]
    assert written and not any(key in p.read_bytes() or key.hex().encode() in p.read_bytes() for p in written)
    assert _digest(story.root) == story.digest


def test_plain_backup_directories_are_copied_not_prepared_in_place(story):
    time.sleep(1.1)
    result = _cli("restore", *_args(story, story.plain[-1]), "--yes")
    assert "copy-dir" in result.stdout
    assert _rows(story.server) == ["slide", "swing"]
    assert _digest(story.root) == story.digest


def test_chain_gap_is_refused_before_anything(story):
    aside = _siblings(story.server, "before-restore")
    result = _cli("restore", *_args(story, story.after_gap), "--yes", check=2)
    assert story.after_gap.name in result.stderr and "not restorable" in result.stderr
    assert _siblings(story.server, "before-restore") == aside and story.server.ping()


def test_plan_is_a_dry_run(story):
    before = _siblings(story.server, "before-restore")
    unconfirmed = _cli("restore", *_args(story, story.inc), check=1)  # no --yes, nobody types 'restore'
    assert "not confirmed; nothing was touched" in unconfirmed.stderr
    result = _cli("plan", *_args(story, story.inc), "--extract-jobs", "1", "--use-memory", "1G")
    assert "[ok] server datadir" in result.stdout and "DESTRUCTIVE" in result.stdout
    assert "--prepare --use-memory=1G --target-dir=" in result.stdout and "--incremental-dir=" in result.stdout
    tiny = _cli("plan", *_args(story, story.inc)).stdout  # a chain this small: the tool's own default is plenty
    assert "--prepare --target-dir=" in tiny and "--use-memory" not in tiny
    assert "swap by rename" in result.stdout and "production down (stop → answering): steps" in result.stdout
    assert "xtrarestore-step extract --jobs 1 --no-sync --into" in result.stdout
    assert "-m xtrarestore." not in result.stdout  # internal steps name the stable entry point, not modules
    refused = _cli("plan", *_args(story, story.inc), "--extract-jobs", "0", check=2)
    assert "--extract-jobs 0: give 1 or more" in refused.stderr
    bad = _cli("plan", *_args(story, story.inc), "--use-memory", "lots", check=2)
    assert "give a size like 2G" in bad.stderr and "Traceback" not in bad.stderr
    assert _siblings(story.server, "before-restore") == before and story.server.ping()


def test_second_concurrent_restore_is_refused(story):
    from xtrarestore.core.restore.lock import RestoreLock

    other_state = story.base / "state-of-another-restore"  # the lock does not depend on --state-dir
    with RestoreLock(story.server.datadir, "20260101-000000-held"):
        result = _cli("restore", *_args(story, story.inc, **{"--state-dir": str(other_state)}), "--yes", check=2)
    line = result.stderr.strip()
    assert "locked by restore 20260101-000000-held" in line and f"pid {os.getpid()}" in line
    assert "\n" not in line and story.server.ping()
    latest = load_state(find_journal(story.base / "state")).plan.restore_id if (story.base / "state").exists() else None
    if latest:
        with RestoreLock(story.server.datadir, latest):
            status = _cli("status", "--state-dir", str(story.base / "state"), "--id", latest, "--rollback", "--yes",
                          check=2)
        assert "A restore is running now" in status.stdout and "wait for it" in status.stderr


def test_not_enough_space_is_refused_with_numbers(story):
    small = story.base / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small)]).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        result = _cli("restore", *_args(story, story.inc, **{"--workdir": str(small / "w")}), "--yes", check=2)
    finally:
        subprocess.run(["umount", str(small)], check=True)
    assert "space for extraction" in result.stderr and "needs about" in result.stderr and "free" in result.stderr
    assert "nothing was touched" in result.stderr and story.server.ping()


def test_redo_log_outside_the_datadir_is_refused(story):
    """copy-back would write ib_logfile0 into a directory that move-aside never touched."""
    split = SandboxServer.create(story.base / "split")
    try:
        split.stop()
        redo = split.base / "redo"
        redo.mkdir()
        if split.user:
            shutil.chown(redo, split.user, split.user)
        (split.datadir / "ib_logfile0").rename(redo / "ib_logfile0")
        split.config.write_text(split.config.read_text().replace(
            "[mariadbd]\n", f"[mariadbd]\ninnodb-log-group-home-dir={redo}\n", 1))
        split.start()
        before = sorted(p.name for p in split.datadir.iterdir())
        target = {"--datadir": str(split.datadir), "--stop-cmd": split.stop_cmd, "--start-cmd": split.start_cmd,
                  "--socket": str(split.socket), "--defaults-file": str(split.config)}
        result = _cli("restore", *_args(story, story.inc, **target), "--yes", check=2)
        assert f"innodb_log_group_home_dir={redo}" in result.stderr and "outside" in result.stderr
        assert "nothing was touched" in result.stderr and split.ping()
        assert sorted(p.name for p in split.datadir.iterdir()) == before and (redo / "ib_logfile0").exists()
        assert not _siblings(split, "before-restore")
    finally:
        split.destroy()


def test_server_that_will_not_stop_is_left_alone(story):
    aside = _siblings(story.server, "before-restore")
    result = _cli("restore", *_args(story, story.inc, **{"--stop-cmd": "true", "--stop-timeout": "3"}), "--yes",
                  check=1)
    assert "still running 3s after `true`" in result.stdout + result.stderr and "nothing was moved" in result.stdout
    state = _state(story)
    assert state.status_of("stop") == "failed" and state.status_of("move-aside") == "pending"
    assert _siblings(story.server, "before-restore") == aside and story.server.ping()


def test_restored_server_that_will_not_start_is_rolled_back(story):
    server = story.server
    previous = _rows(server)
    broken = " ".join(shlex.quote(a) for a in [*server.server_command(), "--no-such-option=1"])
    time.sleep(1.1)
    result = _cli("restore", *_args(story, story.full, **{"--start-cmd": f"setsid {broken} >/dev/null 2>&1 &",
                                                           "--start-timeout": "5"}), "--yes", check=1)
    assert "unknown variable 'no-such-option=1'" in result.stdout  # the error-log tail is shown
    assert "rollback would: stop the server if it runs" in result.stdout
    assert not server.ping()
    status = _cli("status", "--state-dir", str(story.base / "state"), check=1)
    assert "FAILED      Start the server" in status.stdout
    _cli("status", "--state-dir", str(story.base / "state"), "--rollback", "--yes", "--start-cmd", server.start_cmd)
    assert _rows(server) == previous
    assert len(_siblings(server, "failed-restore")) == 1
    assert _state(story).outcome == "rolled-back"


def _kill_after(story, upto: Path, step: str) -> None:
    """Run a restore and SIGKILL it as soon as the journal shows *step* done."""
    args = _args(story, upto)
    state = Path(args[args.index("--state-dir") + 1]) / "journal"
    known = set(state.glob("*.jsonl"))
    proc = subprocess.Popen([*CLI, "restore", *args, "--yes"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        new = set(state.glob("*.jsonl")) - known
        lines = [json.loads(line) for path in new for line in path.read_text().splitlines() if line.endswith("}")]
        if any(r.get("event") == "end" and r.get("step") == step and r.get("status") == "ok" for r in lines):
            proc.kill()
            break
        time.sleep(0.01)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the restore ended before it could be killed"


def test_kill_after_move_aside_then_resume(story):
    server = story.server
    time.sleep(1.1)
    _kill_after(story, story.inc, "move-aside")
    status = _cli("status", "--state-dir", str(story.base / "state"), check=None).stdout
    state = _state(story)
    assert state.status_of("move-aside") == "ok" and state.outcome is None
    assert f"The previous datadir is at {state.plan.aside}" in status
    assert "resume would:" in status and "rollback would:" in status
    assert not server.ping()
    again = _cli("restore", *_args(story, story.full), "--yes", check=2)
    assert f"restore {state.plan.restore_id} left the old datadir at {state.plan.aside}" in again.stderr
    _cli("status", "--state-dir", str(story.base / "state"), "--resume", "--yes")
    assert _rows(server) == ["slide", "swing"] and _state(story).outcome == "completed"


def test_kill_after_move_aside_then_rollback(story):
    server = story.server
    previous = _rows(server)
    time.sleep(1.1)
    _kill_after(story, story.full, "move-aside")
    _cli("status", "--state-dir", str(story.base / "state"), "--rollback", "--yes")
    assert _rows(server) == previous and _state(story).outcome == "rolled-back"


def test_hangup_does_not_abandon_the_running_step(story):
    args = _args(story, story.inc)
    proc = subprocess.Popen([*CLI, "restore", *args, "--yes"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    workdir = Path(args[args.index("--workdir") + 1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        journal = workdir / "journal.jsonl"
        if journal.exists() and '"step": "prepare:' in journal.read_text():
            proc.send_signal(signal.SIGHUP)
            break
        time.sleep(0.01)
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    state = _state(story)
    assert any("SIGHUP" in note for note in state.notes)
    assert state.outcome == "completed" and _rows(story.server) == ["slide", "swing"]


def test_failed_prepare_discards_the_extracted_copy(story):
    server = story.server
    point = find_restore_point(scan(story.root), "Mon", story.inc.name)
    target = Target(datadir=server.datadir, socket=server.socket, stop_timeout=20, start_timeout=20,
                    service=ServiceControl("custom", stop_cmd=server.stop_cmd, start_cmd=server.start_cmd))
    plan = build_plan(point, target, tool=detect_tool(), workdir=story.base / "work" / "prepare-fails")
    plan.step(f"prepare:{story.inc.name}").argv.append("--no-such-option")
    state_dir = story.base / "state"
    with pytest.raises(StepFailedError, match="Apply incremental"):
        recovery.start(plan, Runner(plan, Journal.for_plan(plan, state_dir)))
    assert not plan.extracted.exists()
    state = _state(story)
    assert any("discarded the extracted copy" in note for note in state.notes)
    assert not state.touched_live and server.ping() and not plan.aside.exists()
    assert "discard the extracted copy" in "\n".join(state.describe())


@pytest.mark.parametrize("step", ["stop", "move-aside", "swap-in", "start"])
@pytest.mark.parametrize("finish", ["--resume", "--rollback"])
def test_kill_at_each_swap_step_loses_no_data(story, step, finish):
    """Killed right after each step of the downtime, a resume restores the point and a rollback the old data."""
    server = story.server
    time.sleep(1.1)
    _cli("restore", *_args(story, story.full), "--yes")  # a known previous state: one row
    previous = _rows(server)
    time.sleep(1.1)
    _kill_after(story, story.inc, step)
    state = _state(story)
    assert state.plan.swap == "rename" and state.status_of(step) == "ok" and state.outcome is None
    _cli("status", "--state-dir", str(story.base / "state"), finish, "--yes")
    state = _state(story)
    if finish == "--resume":
        assert _rows(server) == ["slide", "swing"] and state.outcome == "completed"
    else:
        assert _rows(server) == previous and state.outcome == "rolled-back"
        assert _table_files(server.datadir) and not state.plan.aside.exists()
    assert state.downtime is not None and not state.downtime.ongoing
    assert "--copy-back" not in _journal_text(story)


def test_workdir_on_another_file_system_falls_back_to_copy_back(story):
    mount = Path(tempfile.mkdtemp(prefix="xtrarestore-fallback-", dir="/var/tmp"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256m,mode=0711", "tmpfs", str(mount)], check=True)
    work = mount / "w"
    try:
        time.sleep(1.1)
        planned = _cli("plan", *_args(story, story.inc, **{"--workdir": str(work)}))
        assert f"swap by copy-back (fallback: --workdir {work} is on another file system" in planned.stdout
        result = _cli("restore", *_args(story, story.inc, **{"--workdir": str(work)}), "--yes")
        assert _rows(story.server) == ["slide", "swing"]
        state = _state(story)
        assert state.plan.swap == "copy-back" and state.status_of("copy-back") == "ok"
        assert "production down (stop → answering):" in result.stdout
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()
