"""A matrix of hostile inputs through the real command line: each ends quickly, in one line, touching nothing.

Every case runs `xtrarestore …` in a subprocess with a time-out and checks
what an operator (or an attacker) would: a non-zero exit, exactly one line
on stderr that names the problem, no traceback, no raw control character in
the output, the sources byte-identical and nothing new outside the target
(no `.partial`, no half-written directory). The backups are real
(mariabackup of a sandbox server), damaged or replaced in the ways careless
colleagues and attackers do: special files named like backups, truncated
and bit-flipped streams, injected member names, absurd lengths, bad keys
and bad targets.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.archive.xbstream import MAGIC, TYPE_PAYLOAD, chunk_bytes, eof_bytes
from xtrarestore.core.drills.sandbox import SandboxServer

pytestmark = pytest.mark.mariadb

XTRARESTORE = str(Path(sys.executable).with_name("xtrarestore"))
KEY = b"0123456789abcdef0123456789abcdef"
LIMIT = 20  # seconds each case may take, the judge's bound
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\r")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A real day of backups (full + incremental, an encrypted copy, its key) and a workshop of damaged inputs."""
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-hostile-", dir="/var/tmp"))
    base.chmod(0o711)
    try:
        with SandboxServer.create(base / "server") as server:
            server.load_playground()
            server.add_equipment("slide", 2, "blue")
            root = base / "backups"
            full = server.take_backup(root / "Mon")
            server.add_equipment("swing", 10, "yellow")
            server.checkpoint()
            incremental = server.take_backup(root / "Mon")
        key_file = root / "encryption_key"
        key_file.write_bytes(KEY)
        (root / "Tue").mkdir()
        encrypted = encrypt_stream(full, root / "Tue" / full.name, KEY)
        bad = tmp_path_factory.mktemp("bad")
        yield SimpleNamespace(base=base, root=root, full=full, incremental=incremental, key_file=key_file,
                              encrypted=encrypted, bad=bad)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def digests(*folders: Path) -> dict[str, str]:
    """sha256 of every regular file under *folders* (special files by type), to prove sources untouched."""
    found = {}
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_symlink() or not path.is_file():
                found[str(path)] = "special" if not path.is_dir() else "dir"
            else:
                found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "100", "XDG_DATA_HOME": str(Path(tempfile.gettempdir()) / "xtrarestore-hostile")}
    return subprocess.run([XTRARESTORE, *args], capture_output=True, text=True, errors="surrogateescape",
                          timeout=LIMIT, stdin=subprocess.DEVNULL, cwd=cwd, env=env, check=False)


def refused(result: subprocess.CompletedProcess, *named: str) -> str:
    """Assert the judge's properties of a refusal; return its one line."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("xtrarestore"), lines
    for raw in RAW:
        assert raw not in output, repr(output)
    for name in named:
        assert name in lines[0], (name, lines[0])
    return lines[0]


# -- damaged copies of a real stream -----------------------------------------------------------

def _chunks(data: bytes) -> list[int]:
    """Offsets of the chunk headers in a plain stream."""
    offsets, position = [], 0
    while position < len(data):
        offsets.append(position)
        path_len = struct.unpack_from("<I", data, position + 10)[0]
        kind = data[position + 9]
        position += 14 + path_len
        if kind == TYPE_PAYLOAD:
            length = struct.unpack_from("<Q", data, position)[0]
            position += 20 + length
    return offsets


def damaged(source: Path, how: str) -> bytes:
    data = bytearray(source.read_bytes())
    chunks = _chunks(bytes(data))
    second = chunks[1]
    payload = next(o for o in chunks[1:] if data[o + 9] == TYPE_PAYLOAD and struct.unpack_from("<I", data, o + 10)[0])
    path_len = struct.unpack_from("<I", data, payload + 10)[0]
    if how == "truncated-middle":
        return bytes(data[: len(data) // 2])
    if how == "truncated-last-byte":
        return bytes(data[:-1])
    if how == "truncated-in-header":
        return bytes(data[: second + 5])
    if how == "only-magic":
        return MAGIC
    if how == "bit-flip-payload":
        data[payload + 14 + path_len + 20 + 7] ^= 0x40
    elif how == "bad-magic-second-chunk":
        data[second] ^= 0xFF
    elif how == "absurd-path-length":
        struct.pack_into("<I", data, second + 10, 0xFFFFFFF0)
    elif how == "absurd-payload-length":
        struct.pack_into("<Q", data, payload + 14 + path_len, 1 << 62)
    elif how == "offset-jump":
        struct.pack_into("<Q", data, payload + 14 + path_len + 8, 1 << 40)
    elif how == "unknown-chunk-type":
        data[second + 9] = ord("Z")
    elif how == "garbage-tail":
        return bytes(data) + b"\x00garbage after the end" * 3
    return bytes(data)


DAMAGES = ("truncated-middle", "truncated-last-byte", "truncated-in-header", "only-magic", "bit-flip-payload",
           "bad-magic-second-chunk", "absurd-path-length", "absurd-payload-length", "offset-jump",
           "unknown-chunk-type", "garbage-tail")


def crafted(members: list[tuple[str, bytes]]) -> bytes:
    return b"".join(chunk_bytes(name, data, 0) + eof_bytes(name) for name, data in members)


CRAFTED = {
    "escape-dotdot": [("../escaped", b"x")],
    "absolute-path": [("/etc/xtrarestore-owned", b"x")],
    "newline-member": [("ibdata1\nrestore complete, all good", b"x")],
    "ansi-member": [("\x1b[2J\x1b]52;c;cm0gLXJmIH4K\x07clear", b"x")],
    "markup-member": [("[bold]boom[/] [/]", b"x"), ("[bold]boom[/] [/]", b"x")],  # twice: refused
    "rtl-member": [("\u202etxt.exe", b"x"), ("\u202etxt.exe", b"y")],
    "long-member": [("d/" * 3000 + "f", b"x")],
    "nul-member": [("a\x00b", b"x")],
}


def _make_fifo(path: Path) -> None:
    os.mkfifo(path)


def _make_socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


SPECIALS = {
    "fifo": _make_fifo,
    "directory": lambda path: path.mkdir(),
    "socket": _make_socket,
    "char-device": lambda path: path.symlink_to("/dev/zero"),
    "dangling-symlink": lambda path: path.symlink_to(path.with_name("nowhere")),
    "symlink-loop": lambda path: path.symlink_to(path),
    "unreadable": lambda path: (path.write_bytes(b"XBSTCK01"), path.chmod(0)),
}


def _extract_refused(hostile, stream: Path, *named: str, extra: tuple[str, ...] = ()) -> str:
    into = hostile.bad / f"into-{stream.name[:40]}"
    into.mkdir(exist_ok=True)
    before = digests(hostile.root, stream.parent)
    line = refused(run_cli("extract", *extra, "--into", str(into), str(stream)), *named)
    assert list(into.iterdir()) == [], "a failed extraction left files behind"
    assert digests(hostile.root, stream.parent) == before
    return line


@pytest.mark.parametrize("how", DAMAGES)
def test_damaged_real_streams_fail_in_one_line(hostile, how):
    stream = hostile.bad / f"{how}.xbstream"
    stream.write_bytes(damaged(hostile.full, how))
    _extract_refused(hostile, stream, str(stream))


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_injected_member_names_are_refused_escaped(hostile, case):
    stream = hostile.bad / f"crafted-{case}.xbstream"
    stream.write_bytes(crafted(CRAFTED[case]))
    line = _extract_refused(hostile, stream, str(stream))
    assert "restore complete" not in line.split("\\n")[0] or "\\n" in line
    assert not (hostile.bad / "escaped").exists() and not Path("/etc/xtrarestore-owned").exists()


@pytest.mark.parametrize("kind", sorted(SPECIALS))
def test_special_files_named_like_backups_never_hang_extract(hostile, kind):
    if kind == "unreadable" and os.geteuid() == 0:
        pytest.skip("root reads a chmod 000 file anyway")
    folder = hostile.bad / f"special-{kind}"
    folder.mkdir()
    path = folder / "full-11-11-2026_11-11-11.xbstream"
    SPECIALS[kind](path)
    _extract_refused(hostile, path, str(path))


@pytest.mark.parametrize("content", [b"", b"X", b"XBSTCK0", b"not a backup at all, just text\n" * 100,
                                     os.urandom(4096)], ids=["zero-byte", "one-byte", "short-magic", "text", "random"])
def test_empty_and_headerless_streams_fail_extraction(hostile, content):
    stream = hostile.bad / f"headerless-{len(content)}-{content[:1].hex()}.xbstream"
    stream.write_bytes(content)
    _extract_refused(hostile, stream, str(stream))


@pytest.mark.parametrize("key", ["missing", "empty", "short", "long", "wrong", "fifo", "directory", "newline-name"])
def test_bad_keys_fail_in_one_line_and_never_show_the_key(hostile, key):
    folder = hostile.bad / f"key-{key}"
    folder.mkdir()
    key_file = folder / ("key\nforged line" if key == "newline-name" else "key")
    if key == "empty":
        key_file.write_bytes(b"")
    elif key == "short":
        key_file.write_bytes(KEY[:7])
    elif key in ("long", "newline-name"):
        key_file.write_bytes(KEY * 40)
    elif key == "wrong":
        key_file.write_bytes(b"f" * 32)
    elif key == "fifo":
        os.mkfifo(key_file)
    elif key == "directory":
        key_file.mkdir()
    line = _extract_refused(hostile, hostile.encrypted, extra=("--key-file", str(key_file)))
    assert KEY.decode() not in line and "f" * 32 not in line
    inventory = run_cli("inventory", "--root", str(hostile.root), "--key-file", str(key_file))
    refused_or_listed = inventory.returncode == 0 or refused(inventory)
    assert refused_or_listed and "Traceback" not in inventory.stderr


def _target_cases(hostile) -> dict[str, tuple[list[str], str]]:
    existing = hostile.bad / "existing-file"
    existing.write_text("keep me\n")
    day = hostile.root / "Mon"
    return {
        "into-root-dir": (["extract", "--into", "/", str(hostile.full)], "/"),
        "into-etc": (["extract", "--into", "/etc", str(hostile.full)], "/etc"),
        "into-etc-sub": (["extract", "--into", "/etc/xtrarestore-x", str(hostile.full)], "/etc/xtrarestore-x"),
        "into-proc": (["extract", "--into", "/proc/self", str(hostile.full)], "/proc/self"),
        "into-usr": (["extract", "--into", "/usr/lib", str(hostile.full)], "/usr/lib"),
        "into-existing-file": (["extract", "--into", str(existing), str(hostile.full)], str(existing)),
        "into-under-a-file": (["extract", "--into", str(existing / "sub"), str(hostile.full)], str(existing)),
        "into-the-day": (["extract", "--into", str(day), str(hostile.full)], str(day)),
        "into-day-restore": (["extract", "--into", str(day / "restore"), str(hostile.full)], str(day)),
        "into-the-root": (["extract", "--into", str(hostile.root / "x"), str(hostile.full)], str(hostile.root)),
        "into-too-long": (["extract", "--into", str(hostile.bad / ("x" * 300)), str(hostile.full)], "x" * 20),
        "jobs-zero": (["extract", "--jobs", "0", "--into", str(hostile.bad / "j0"), str(hostile.full)], "--jobs"),
        "missing-stream": (["extract", "--into", str(hostile.bad / "ms"), str(hostile.bad / "nope.xbstream")],
                           "nope.xbstream"),
        "stream-too-long": (["extract", "--into", str(hostile.bad / "tl"), "/" + "y" * 5000 + ".xbstream"], "yyyy"),
        "jobs-text": (["extract", "--jobs", "many\x1b[2J", "--into", str(hostile.bad / "jt"), str(hostile.full)],
                      "--jobs"),
        "no-stream": (["extract", "--into", str(hostile.bad / "ns")], "STREAM"),
        "same-stream-twice": (["extract", "--into", str(hostile.bad / "twice"), str(hostile.full), str(hostile.full)],
                              hostile.full.stem),
    }


TARGETS = ("into-root-dir", "into-etc", "into-etc-sub", "into-proc", "into-usr", "into-existing-file",
           "into-under-a-file", "into-the-day", "into-day-restore", "into-the-root", "into-too-long", "jobs-zero",
           "missing-stream", "stream-too-long", "jobs-text", "no-stream", "same-stream-twice")


@pytest.mark.parametrize("case", TARGETS)
def test_bad_extract_targets_are_refused(hostile, case):
    args, named = _target_cases(hostile)[case]
    before = digests(hostile.root)
    listing = set(os.listdir(hostile.bad))
    refused(run_cli(*args), named)
    assert digests(hostile.root) == before
    assert set(os.listdir(hostile.bad)) == listing
    assert not Path("/etc/xtrarestore-x").exists() and not Path("/full-" + hostile.full.name).exists()


def _plan_args(hostile, **override) -> list[str]:
    options = {"--root": str(hostile.root), "--day": "Mon", "--upto": hostile.incremental.name,
               "--datadir": str(hostile.bad / "datadir"), "--stop-cmd": "true", "--start-cmd": "true",
               "--socket": str(hostile.bad / "no.sock"), "--workdir": str(hostile.bad / "work"), **override}
    return [item for pair in options.items() for item in pair]


PLAN_CASES = {
    "datadir-root": ({"--datadir": "/"}, "--datadir /"),
    "datadir-etc": ({"--datadir": "/etc"}, "--datadir /etc"),
    "datadir-var": ({"--datadir": "/var"}, "--datadir /var"),
    "datadir-tmp": ({"--datadir": "/tmp"}, "--datadir /tmp"),
    "datadir-inside-root": ({"--datadir": "{root}/Mon/data"}, "backup root"),
    "datadir-holds-root": ({"--datadir": "{root}"}, "backup root"),
    "datadir-a-file": ({"--datadir": "{existing}"}, "not a directory"),
    "workdir-etc-passwd": ({"--workdir": "/etc/passwd"}, "--workdir /etc/passwd"),
    "workdir-root": ({"--workdir": "/"}, "--workdir /"),
    "workdir-in-root": ({"--workdir": "{root}/Mon/work"}, "backup root"),
    "workdir-a-file": ({"--workdir": "{existing}"}, "not a directory"),
    "day-absurd": ({"--day": "D" * 10000}, "DDDD"),
    "upto-absurd": ({"--upto": "u" * 10000}, "uuuu"),
    "upto-injected": ({"--upto": "x\nrestore complete, all good\x1b[2J"}, "\\n"),
    "root-missing": ({"--root": "/nonexistent/backups"}, "/nonexistent/backups"),
    "root-a-file": ({"--root": "{existing}"}, "not a directory"),
    "root-a-fifo": ({"--root": "{fifo}"}, "not a directory"),
}


@pytest.mark.parametrize("command", ["plan", "restore", "drill"])
@pytest.mark.parametrize("case", sorted(PLAN_CASES))
def test_bad_plan_restore_drill_options_are_refused(hostile, command, case):
    existing = hostile.bad / "existing-file"
    existing.write_text("keep me\n")
    fifo = hostile.bad / "a-fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    override, named = PLAN_CASES[case]
    values = {k: v.format(root=hostile.root, existing=existing, fifo=fifo) for k, v in override.items()}
    args = _plan_args(hostile, **values)
    if command == "drill":
        if "--datadir" in override:
            pytest.skip("a drill's datadir is its own")
        args = [a for a in args if a not in ("--stop-cmd", "--start-cmd", "true")]
        pairs = dict(zip(args[::2], args[1::2]))
        args = [item for key in ("--root", "--day", "--upto", "--workdir") for item in (key, pairs[key])]
        args += ["--reports-dir", str(hostile.bad / "reports")]
    elif command == "restore":
        args.append("--yes")
    before = digests(hostile.root)
    listing = set(os.listdir(hostile.bad)) - {"reports"}
    refused(run_cli(command, *args), named)
    assert digests(hostile.root) == before
    assert set(os.listdir(hostile.bad)) - {"reports"} == listing, "a refused command created something"


def test_inventory_lists_special_files_instead_of_hiding_them(hostile):
    root = Path(tempfile.mkdtemp(dir="/tmp")) / "root"  # short: a socket's path has at most 107 bytes
    day = root / "Wed"
    day.mkdir(parents=True)
    shutil.copy(hostile.full, day / hostile.full.name)
    os.mkfifo(day / "incremental-11-12-2026_01-00-00.xbstream")
    (day / "incremental-11-12-2026_02-00-00.xbstream").mkdir()
    _make_socket(day / "incremental-11-12-2026_03-00-00.xbstream.incomplete")
    result = run_cli("inventory", "--root", str(root), "--json")
    assert result.returncode == 0, result.stderr
    import json

    backups = {b["name"]: b for b in json.loads(result.stdout)["days"][0]["backups"]}
    assert len(backups) == 4
    odd = [b for name, b in backups.items() if name != hostile.full.name]
    assert {b["state"] for b in odd} == {"not-a-file"}
    assert sorted(b["problems"][0]["message"].split(" is ")[-1].split(";")[0] for b in odd) == [
        "a FIFO", "a directory", "a socket"]
    assert backups[hostile.full.name]["state"] == "ok"
    shutil.rmtree(root.parent)


@pytest.mark.parametrize("lsns", [("9", "5"), ("-1", "5"), ("0", str(1 << 70)), ("0", "18446744073709551616")])
def test_nonsense_checkpoints_are_unreadable(hostile, tmp_path, lsns):
    root = tmp_path / "root"
    backup = root / "Thu" / "full-11-13-2026_01-00-00"
    backup.mkdir(parents=True)
    (backup / "backup-my.cnf").write_text("[mysqld]\n")
    (backup / "xtrabackup_checkpoints").write_text(
        f"backup_type = full-backuped\nfrom_lsn = {lsns[0]}\nto_lsn = {lsns[1]}\nlast_lsn = {lsns[1]}\n")
    result = run_cli("inventory", "--root", str(root), "--json")
    import json

    only = json.loads(result.stdout)["days"][0]["backups"][0]
    assert only["state"] == "unreadable", only
    assert "xtrabackup_checkpoints" in only["problems"][0]["message"]


@pytest.mark.parametrize("journal", ["fifo", "garbage", "no-plan", "bad-plan", "binary", "traversal-id", "none"])
def test_status_refuses_broken_or_special_journals_in_one_line(hostile, journal):
    state = Path(tempfile.mkdtemp(dir="/tmp"))
    folder = state / "journal"
    folder.mkdir()
    path = folder / "20261117T100000Z-0001.jsonl"
    args = ["status", "--state-dir", str(state)]
    if journal == "fifo":
        os.mkfifo(path)
        args += ["--id", path.stem]
    elif journal == "garbage":
        path.write_text("garbage{\nmore garbage\n")
    elif journal == "no-plan":
        path.write_text('{"event": "start"}\n')
    elif journal == "bad-plan":
        path.write_text('{"event": "plan", "plan": {"restore_id": "x"}}\n')
    elif journal == "binary":
        path.write_bytes(os.urandom(2048))
    elif journal == "traversal-id":
        args += ["--id", "../../../../etc/passwd"]
    try:
        refused(run_cli(*args))
    finally:
        shutil.rmtree(state)


@pytest.mark.parametrize("option, value", [("--reports-dir", "/etc/passwd"), ("--reports-dir", "{root}/Mon/r"),
                                           ("--report-json", "/proc/x.json"), ("--report-md", "{bad}"),
                                           ("--report-json", "{root}/report.json")])
def test_drill_report_places_are_checked_before_the_drill(hostile, option, value):
    value = value.format(root=hostile.root, bad=hostile.bad)
    before = digests(hostile.root)
    result = run_cli("drill", "--root", str(hostile.root), "--day", "Mon", "--upto", hostile.full.name,
                     "--workdir", str(hostile.bad), option, value)
    refused(result, option)
    assert result.stdout == ""  # refused before the drill started
    assert digests(hostile.root) == before


SPECIAL_PLACES = {
    # where an operator names a file that is a FIFO, and what the one line must name
    "binlog named like one": (["binlog", "--binlog-dir", "{dir}"], "mysql-bin.000001"),
    "defaults-file": (["flashback", "--binlog-dir", "{dir}", "--gtid", "0-1-1", "--socket", "/nonexistent.sock",
                       "--defaults-file", "{fifo}"], "a-fifo"),
    "settings file": (["config"], "a-fifo"),
}


@pytest.mark.parametrize("place", sorted(SPECIAL_PLACES))
def test_a_fifo_where_a_binlog_option_or_settings_file_belongs_is_named_never_waited_on(tmp_path, place):
    binlogs = tmp_path / "binlogs"
    binlogs.mkdir()
    os.mkfifo(binlogs / "mysql-bin.000001")
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    argv, named = SPECIAL_PLACES[place]
    argv = [a.format(dir=binlogs, fifo=fifo) for a in argv]
    environment = {"XTRARESTORE_CONFIG": str(fifo)} if place == "settings file" else {}
    with_env = {**os.environ, **environment, "COLUMNS": "100"}
    result = subprocess.run([XTRARESTORE, *argv], capture_output=True, text=True, timeout=LIMIT,
                            stdin=subprocess.DEVNULL, env=with_env, check=False)
    line = refused(result, named)
    assert "FIFO" in line or "not a regular file" in line, line
