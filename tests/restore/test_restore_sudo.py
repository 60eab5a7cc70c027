"""A restore run by an unprivileged operator whose sudo asks for a password.

A throwaway unix user gets a sudoers rule that requires its password; it runs
the real CLI against a real sandbox server (directories above the interpreter
get o+x for the test's duration when the user could not reach it otherwise). A wrong password is refused before
anything is touched; the right one restores, and the password shows up in no
file, log, journal or process command line.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pexpect
import pytest

from xtrarestore.core.drills.sandbox import SandboxServer

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("sudo") or not shutil.which("useradd"),
    reason="needs root (to create a throwaway user and its sudoers rule) and sudo installed",
)


def _open_traversal() -> list[tuple[Path, int]]:
    """Let other users traverse (x only, no listing) the directories above this interpreter and checkout.

    A pyenv interpreter under /root (mode 0700) is otherwise unreachable for the
    operator. Returns the directories changed, with their old modes, to put back.
    """
    opened = []
    targets = {Path(os.path.realpath(sys.executable)), Path(sys.base_prefix), Path(sys.prefix),
               Path(__file__).resolve()}
    for target in targets:
        for directory in target.parents:
            mode = directory.stat().st_mode & 0o7777
            if not mode & 0o001 and directory not in dict(opened):
                opened.append((directory, mode))
                directory.chmod(mode | 0o001)
    return opened


@pytest.fixture(scope="module")
def operator():
    name = f"xrop{secrets.token_hex(3)}"
    password = f"pw-{secrets.token_urlsafe(12)}"
    sudoers = Path(f"/etc/sudoers.d/xtrarestore-test-{name}")
    subprocess.run(["useradd", "-m", "-s", "/bin/bash", name], check=True)
    opened: list[tuple[Path, int]] = []
    try:
        # chpasswd reads "user:password" on stdin, so the password is never in argv.
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        sudoers.write_text(f"{name} ALL=(ALL:ALL) ALL\n")
        sudoers.chmod(0o440)
        subprocess.run(["visudo", "-cf", str(sudoers)], check=True, capture_output=True)
        opened = _open_traversal()
        probe = subprocess.run(["runuser", "-u", name, "--", sys.executable, "-c", "import xtrarestore.core"],
                               capture_output=True, text=True)
        if probe.returncode != 0:
            pytest.skip(f"an unprivileged user cannot run {sys.executable} here: {probe.stderr.strip()[-120:]}")
        yield name, password
    finally:
        for path, mode in opened:
            path.chmod(mode)
        sudoers.unlink(missing_ok=True)
        subprocess.run(["userdel", "-r", name], capture_output=True)


@pytest.fixture(scope="module")
def production():
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-sudo-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    server = None
    try:
        server = SandboxServer.create(base / "prod")
        server.load_playground()
        server.add_equipment("slide", 2, "blue")
        server.take_backup(base / "backups" / "Mon")
        server.add_equipment("swing", 10, "yellow")
        inc = server.take_backup(base / "backups" / "Mon")
        yield server, base, inc
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def _spawn(user: str, home: Path, server: SandboxServer, base: Path, inc: Path) -> pexpect.spawn:
    args = [
        "-u", user, "--", sys.executable, "-m", "xtrarestore.tui.cli", "restore",
        "--root", str(base / "backups"), "--day", "Mon", "--upto", inc.name, "--datadir", str(server.datadir),
        "--stop-cmd", server.stop_cmd, "--start-cmd", server.start_cmd, "--socket", str(server.socket),
        "--defaults-file", str(server.config), "--state-dir", str(home / "state"),
        "--workdir", str(home / "work"), "--stop-timeout", "30", "--start-timeout", "30", "--yes",
    ]
    return pexpect.spawn("runuser", args, encoding="utf-8", timeout=180, cwd=str(home))


def _files_containing(root: Path, secret: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and secret.encode() in p.read_bytes()]


def test_restore_as_operator_through_sudo(operator, production):
    user, password = operator
    server, base, inc = production
    home = base / "operator"
    home.mkdir()
    entry = pwd.getpwnam(user)
    os.chown(home, entry.pw_uid, entry.pw_gid)

    wrong = _spawn(user, home, server, base, inc)
    wrong.expect("sudo password")
    wrong.sendline(password + "x")
    wrong.expect(pexpect.EOF)
    wrong.close()
    assert wrong.exitstatus == 2 and "wrong sudo password; nothing was touched" in wrong.before, wrong.before[-2000:]
    assert server.ping() and not list(server.datadir.parent.glob("data.before-restore-*"))

    seen: list[str] = []
    done = threading.Event()

    def watch_ps() -> None:
        while not done.is_set():
            seen.append(subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout)
            done.wait(0.05)

    watcher = threading.Thread(target=watch_ps)
    watcher.start()
    try:
        child = _spawn(user, home, server, base, inc)
        child.expect("sudo password")
        child.sendline(password)
        child.expect(pexpect.EOF)
        child.close()
    finally:
        done.set()
        watcher.join()
    output = child.before
    assert child.exitstatus == 0, output[-3000:]
    assert [r[0] for r in server.execute("SELECT type FROM playground.equipment ORDER BY id")] == ["slide", "swing"]
    workdir = home / "work"
    assert workdir.stat().st_uid == entry.pw_uid and workdir.stat().st_mode & 0o777 == 0o700
    assert any("xtrarestore-step" in snapshot for snapshot in seen)  # the watcher saw the steps
    assert password not in output
    assert not any(password in snapshot for snapshot in seen)
    assert _files_containing(base, password) == []
