"""Native extraction of real mariabackup streams, and of broken ones.

The backups come from a real MariaDB server and real `mariabackup`; the plain
extraction is compared with real `mbstream -x`; a compressed and encrypted
chain extracted by us is prepared by real `mariabackup --prepare`, copied
back, started and queried.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from xtrarestore.core.archive import parallel
from xtrarestore.core.archive.extract import BUFFERS, MARKER, extract_stream, target_for
from xtrarestore.core.archive.parallel import extract_all
from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.archive.xbstream import chunk_bytes, eof_bytes, iter_headers
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.errors import (
    BackupFormatError,
    ChecksumError,
    KeyFileError,
    OperationCancelled,
    OutputError,
    UnsafePathError,
    WrongKeyError,
)
from xtrarestore.core.restore.entry import step_program

KEY = b"0123456789abcdef0123456789abcdef"
VENV_BIN = Path(sys.executable).parent

STEP = step_program()


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def members(stream: Path) -> list[tuple[str, bytes]]:
    """(path, whole payload) per member of a real stream, in first-appearance order."""
    out: dict[str, bytearray] = {}
    with open(stream, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        for header in iter_headers(handle, str(stream), size):
            data = out.setdefault(header.path, bytearray())
            if not header.is_eof:
                handle.seek(header.data_offset)
                data += handle.read(header.payload_len)
                handle.seek(header.end)
    return [(name, bytes(data)) for name, data in out.items()]


def write_stream(path: Path, items: list[tuple[str, bytes]], piece: int = 40000) -> Path:
    with open(path, "wb") as out:
        for name, data in items:
            for offset in range(0, len(data), piece):
                out.write(chunk_bytes(name, data[offset : offset + piece], offset))
            out.write(eof_bytes(name))
    return path


@pytest.fixture(scope="module")
def backups(tmp_path_factory):
    """A plain full backup, and a compressed full + incremental chain (also encrypted), of one real server."""
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-archive-"))
    base.chmod(0o711)  # the server runs as mysql and must reach its datadir
    root = tmp_path_factory.mktemp("archive")
    server = None
    try:
        server = SandboxServer.create(base / "server")
        server.load_playground()
        server.add_equipment("slide", 2, "blue")
        server.fill(4)
        plain = server.take_backup(root / "plain")
        full = server.take_backup(root / "comp", compress=True)
        server.add_equipment("swing", 10, "yellow")
        server.add_equipment("sandbox", 1, "red")
        server.fill(2)
        incremental = server.take_backup(root / "comp", compress=True)
        rows = server.execute("SELECT id, type, quant, color FROM playground.equipment ORDER BY id")
        bulk = server.execute("SELECT COUNT(*), SUM(CRC32(payload)) FROM bulk.filler")
        (root / "enc").mkdir()
        encrypted = [encrypt_stream(s, root / "enc" / s.name, KEY) for s in (full, incremental)]
        small = [(n, d) for n, d in members(full) if n.endswith(".qp") and len(d) < 70000][:25]
        mini_qp = write_stream(root / "mini-qp.xbstream", small)
        mini_enc = encrypt_stream(mini_qp, root / "mini-enc.xbstream", KEY, chunk_size=4096)
        yield SimpleNamespace(
            root=root, base=base, plain=plain, full=full, incremental=incremental, encrypted=encrypted,
            rows=rows, bulk=bulk, mini_qp=mini_qp, mini_enc=mini_enc,
        )
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)


def test_plain_extraction_is_byte_identical_to_mbstream(backups, tmp_path):
    reference = tmp_path / "mbstream"
    reference.mkdir()
    with open(backups.plain, "rb") as source:
        subprocess.run(["mbstream", "-x", "-C", str(reference)], stdin=source, check=True)
    result = extract_stream(backups.plain, tmp_path / "ours")
    ours = tree(tmp_path / "ours")
    assert ours == tree(reference)
    assert result.files == len(ours) > 100
    assert result.bytes_read == backups.plain.stat().st_size
    mode = (tmp_path / "ours" / "mysql").stat().st_mode & 0o777, (tmp_path / "ours" / "ibdata1").stat().st_mode & 0o777
    assert mode == (0o700, 0o600)


def test_early_write_back_hands_every_file_over_and_leaks_no_descriptor(backups, tmp_path, monkeypatch):
    """With sync, write-back of each file starts during extraction (on duplicated descriptors, all closed again)."""
    from xtrarestore.core.archive import extract

    monkeypatch.setattr(extract, "WRITEBACK_STEP", 1 << 20)  # also exercise the ranges of files still growing
    handed = []
    add = extract._WriteBack.add
    monkeypatch.setattr(extract._WriteBack, "add", lambda self, fd, offset, length: handed.append(length) or add(
        self, fd, offset, length))
    before = sorted(os.listdir("/proc/self/fd"))
    result = extract_stream(backups.full, tmp_path / "synced")
    assert sorted(os.listdir("/proc/self/fd")) == before
    assert handed.count(0) == result.files  # every file's tail, up to its end
    assert len(handed) > result.files  # and 1 MiB ranges of the larger ones as they were written
    count = len(handed)
    unsynced = extract_stream(backups.full, tmp_path / "unsynced", sync=False)
    assert len(handed) == count and unsynced.files == result.files  # without sync, write-back is the kernel's
    assert tree(tmp_path / "synced") == tree(tmp_path / "unsynced")


def test_compressed_encrypted_chain_prepares_starts_and_returns_the_rows(backups, tmp_path):
    full, incremental = (tmp_path / "full", tmp_path / "inc")
    extract_stream(backups.encrypted[0], full, key=KEY)
    extract_stream(backups.encrypted[1], incremental, key=KEY)
    assert not list(full.rglob("*.qp")) and not list(full.rglob("*.xbcrypt"))
    backup_tool = shutil.which("mariabackup") or shutil.which("mariadb-backup")
    subprocess.run([backup_tool, "--prepare", f"--target-dir={full}"], check=True, capture_output=True)
    subprocess.run(
        [backup_tool, "--prepare", f"--target-dir={full}", f"--incremental-dir={incremental}"],
        check=True, capture_output=True,
    )
    restored = SandboxServer.awaiting_restore(backups.base / "restored")
    try:
        subprocess.run(
            [backup_tool, "--copy-back", f"--target-dir={full}", f"--datadir={restored.datadir}"],
            check=True, capture_output=True,
        )
        if restored.user:
            subprocess.run(["chown", "-R", f"{restored.user}:{restored.user}", str(restored.datadir)], check=True)
        restored.start()
        assert restored.execute("SELECT id, type, quant, color FROM playground.equipment ORDER BY id") == backups.rows
        assert restored.execute("SELECT COUNT(*), SUM(CRC32(payload)) FROM bulk.filler") == backups.bulk
        assert len(backups.rows) == 3
    finally:
        restored.destroy()


def test_compressed_stream_matches_native_decoding_of_its_encrypted_copy(backups, tmp_path):
    extract_stream(backups.full, tmp_path / "qp")
    extract_stream(backups.encrypted[0], tmp_path / "enc", key=KEY)
    assert tree(tmp_path / "qp") == tree(tmp_path / "enc")
    assert (tmp_path / "qp" / "xtrabackup_checkpoints").read_text().startswith("backup_type = full-backuped")


def expect_failure(stream: Path, target: Path, error: type, pattern: str, **kwargs) -> str:
    """Extraction fails with *error*; the source is untouched and no output that looks complete is left."""
    before = digest(stream)
    with pytest.raises(error, match=pattern) as caught:
        extract_stream(stream, target, **kwargs)
    assert digest(stream) == before
    assert not target.exists()
    assert not target.with_name(target.name + ".partial").exists()
    message = str(caught.value)
    assert "\n" not in message and str(stream) in message
    return message


def test_truncated_stream(backups, tmp_path):
    data = backups.mini_qp.read_bytes()
    stream = tmp_path / "cut.xbstream"
    stream.write_bytes(data[: len(data) // 2])
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"(truncated|stream ends).* offset 0x")


def test_stream_cut_at_a_chunk_boundary_is_still_truncated(backups, tmp_path):
    items = members(backups.mini_qp)
    stream = tmp_path / "cut.xbstream"
    stream.write_bytes(write_stream(tmp_path / "whole.xbstream", items).read_bytes()[: -len(eof_bytes(items[-1][0]))])
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"inside member .* \(truncated stream\)")


def test_crc_mismatch(backups, tmp_path):
    data = bytearray(backups.plain.read_bytes())
    stream = tmp_path / "flip.xbstream"
    position = data.index(b"XBSTCK01", 1 << 20)
    data[position + 200] ^= 0x10
    stream.write_bytes(data)
    expect_failure(stream, tmp_path / "out", ChecksumError, r"checksum mismatch .* at offset 0x")


def test_out_of_order_chunk(tmp_path):
    stream = tmp_path / "order.xbstream"
    stream.write_bytes(chunk_bytes("a", b"x" * 10, 0) + chunk_bytes("a", b"y" * 10, 20) + eof_bytes("a"))
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"out-of-order chunk for a at offset 0x2d")


@pytest.mark.parametrize("name", ["../escape", "a/../../escape", "/tmp/xtrarestore-escape"])
def test_unsafe_paths(tmp_path, name):
    stream = tmp_path / "evil.xbstream"
    stream.write_bytes(chunk_bytes("ok", b"fine", 0) + eof_bytes("ok") + chunk_bytes(name, b"evil", 0) + eof_bytes(name))
    expect_failure(stream, tmp_path / "sub" / "out", UnsafePathError, "not allowed")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "sub" / "escape").exists()
    assert not Path("/tmp/xtrarestore-escape").exists()


def test_symlink_planted_in_the_target_is_refused(tmp_path):
    stream = tmp_path / "s.xbstream"
    stream.write_bytes(chunk_bytes("mysql/user.MAD", b"data", 0) + eof_bytes("mysql/user.MAD"))
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "out"
    target.mkdir()
    (target / "mysql").symlink_to(outside)
    with pytest.raises(OutputError, match="not an empty directory"):
        extract_stream(stream, target)
    partial = tmp_path / "out2.partial"
    partial.symlink_to(outside)
    with pytest.raises(OutputError, match="was not left by xtrarestore"):
        extract_stream(stream, tmp_path / "out2")
    assert list(outside.iterdir()) == []


def test_member_shadowing_a_directory_cannot_redirect_writes(tmp_path):
    stream = tmp_path / "s.xbstream"
    stream.write_bytes(chunk_bytes("a", b"file", 0) + eof_bytes("a") + chunk_bytes("a/b", b"x", 0) + eof_bytes("a/b"))
    expect_failure(stream, tmp_path / "out", UnsafePathError, "symlink or a file")


def test_absurd_lengths(tmp_path):
    long_path = tmp_path / "path.xbstream"
    long_path.write_bytes(b"XBSTCK01" + bytes([0, ord("P")]) + struct.pack("<I", 100000) + b"a" * 64)
    expect_failure(long_path, tmp_path / "out", BackupFormatError, r"path length 100000 too long at offset 0x0")
    huge = tmp_path / "payload.xbstream"
    header = b"XBSTCK01" + bytes([0, ord("P")]) + struct.pack("<I", 1) + b"a"
    huge.write_bytes(header + struct.pack("<QQI", 1 << 60, 0, 0) + b"x" * 100)
    expect_failure(huge, tmp_path / "out", BackupFormatError, r"truncated chunk at offset 0x0")


def test_wrong_key(backups, tmp_path):
    message = expect_failure(backups.mini_enc, tmp_path / "out", WrongKeyError, "wrong key", key=b"k" * 32)
    assert "k" * 32 not in message and KEY.decode() not in message


def test_encrypted_stream_without_key(backups, tmp_path):
    expect_failure(backups.mini_enc, tmp_path / "out", KeyFileError, "give the key file")


def test_truncated_xbcrypt_chunk(tmp_path):
    from xtrarestore.core.archive.xbcrypt import encrypt

    sealed = encrypt(b"z" * 5000, KEY, chunk_size=1024)[:-7]
    stream = write_stream(tmp_path / "t.xbstream", [("t.xbcrypt", sealed)])
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"truncated xbcrypt chunk at offset 0x.* stream offset", key=KEY)


def test_corrupt_qpress_block(backups, tmp_path):
    items = members(backups.mini_qp)
    name, data = next((n, d) for n, d in items if b"NEWBNEWB" in d and len(d) > 2000)
    block = data.index(b"NEWBNEWB") + 20
    broken = bytearray(data)
    broken[block] = 0x4F  # a level-3 header: not what qpress / --compress write
    adler = zlib.adler32(bytes(broken[block : block + int.from_bytes(broken[block + 1 : block + 5], "little")]))
    broken[block - 4 : block] = struct.pack("<I", adler)
    stream = write_stream(tmp_path / "qp.xbstream", [(name, bytes(broken))])
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"corrupt qpress block \(not a QuickLZ level-1 block\)")
    broken[block + 30] ^= 0xFF  # now the adler32 no longer matches
    stream = write_stream(tmp_path / "qp2.xbstream", [(name, bytes(broken))])
    expect_failure(stream, tmp_path / "out", ChecksumError, "qpress block checksum mismatch")


def test_full_disk_leaves_nothing_that_looks_complete(backups, tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.decode().strip()}")
    try:
        message = expect_failure(backups.plain, mount / "out", OutputError, "No space left on device")
        assert "cannot write" in message
        assert list(mount.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_cancel_removes_partial_output(backups, tmp_path):
    cancel = threading.Event()
    seen = []

    def progress(snapshot):
        seen.append(snapshot)
        cancel.set()

    expect_failure(backups.plain, tmp_path / "out", OperationCancelled, "cancelled at offset", progress=progress, cancel=cancel)
    assert seen


def test_existing_target_is_never_overwritten(backups, tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep").write_text("mine")
    with pytest.raises(OutputError, match="not an empty directory"):
        extract_stream(backups.mini_qp, target)
    assert (target / "keep").read_text() == "mine"


def test_progress_reports_bytes_files_and_eta(backups, tmp_path):
    seen = []
    result = extract_stream(backups.plain, tmp_path / "out", progress=seen.append)
    last = seen[-1]
    assert last.bytes_read == last.total_bytes == result.bytes_read
    assert last.files == result.files and last.bytes_written == result.bytes_written
    assert last.eta == 0 and last.throughput > 0
    assert not (tmp_path / "out" / MARKER).exists()


def test_zero_length_and_sparse_members(tmp_path):
    sparse_map = struct.pack("<IIII", 10, 3, 5, 2)
    payload = b"abcde"
    raw_path = b"holes"
    sparse = (
        b"XBSTCK01" + bytes([0, ord("S")]) + struct.pack("<I", len(raw_path)) + raw_path
        + struct.pack("<I", 2) + struct.pack("<QQI", len(payload), 0, zlib.crc32(payload, zlib.crc32(sparse_map)))
        + sparse_map + payload
    )
    tail = chunk_bytes("holes", b"Z", 20)
    ignorable = b"XBSTCK01" + bytes([1, ord("X")]) + struct.pack("<I", 1) + b"q" + struct.pack("<QQI", 3, 0, 0) + b"???"
    stream = tmp_path / "s.xbstream"
    stream.write_bytes(eof_bytes("empty") + sparse + ignorable + tail + eof_bytes("holes"))
    extract_stream(stream, tmp_path / "out")
    assert (tmp_path / "out" / "empty").read_bytes() == b""
    assert (tmp_path / "out" / "holes").read_bytes() == bytes(10) + b"abc" + bytes(5) + b"de" + b"Z"
    assert not (tmp_path / "out" / "q").exists()


def test_interleaved_members(tmp_path):
    stream = tmp_path / "i.xbstream"
    stream.write_bytes(
        chunk_bytes("d/a", b"a1", 0) + chunk_bytes("b", b"b1", 0) + chunk_bytes("d/a", b"a2", 2)
        + eof_bytes("b") + chunk_bytes("d/a", b"a3", 4) + eof_bytes("d/a")
    )
    extract_stream(stream, tmp_path / "out")
    assert tree(tmp_path / "out") == {"b": b"b1", "d/a": b"a1a2a3"}


def test_cli_extracts_one_directory_per_stream(backups, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY)
    into = tmp_path / "into"
    result = subprocess.run(
        [str(VENV_BIN / "xtrarestore"), "extract", "--key-file", str(key_file), "--into", str(into),
         str(backups.mini_enc), str(backups.mini_qp)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in into.iterdir()) == ["mini-enc", "mini-qp"]
    assert tree(into / "mini-enc") == tree(into / "mini-qp") != {}
    # Piped, each finished directory is a line on stdout; stderr stays empty (no bar: no one watches it).
    assert f"{into / 'mini-enc'}: " in result.stdout and f"{into / 'mini-qp'}: " in result.stdout
    assert result.stderr == ""
    assert KEY.decode() not in result.stdout + result.stderr


def test_chain_extracted_side_by_side_matches_one_by_one(backups, tmp_path):
    seen = []
    results = extract_all(backups.encrypted, tmp_path / "together", key=KEY, progress=seen.append, sync=False)
    assert [r.stream for r in results] == backups.encrypted
    for stream in backups.encrypted:
        alone = extract_stream(stream, tmp_path / "alone" / stream.name, key=KEY)
        assert tree(target_for(stream, tmp_path / "together")) == tree(alone.target) != {}
    total = sum(s.stat().st_size for s in backups.encrypted)
    assert seen[-1]["streams"] == seen[-1]["streams_done"] == 2
    assert seen[-1]["bytes_read"] == seen[-1]["total_bytes"] == total
    assert seen[-1]["files"] == sum(r.files for r in results)


def test_side_by_side_streams_share_one_buffer_budget(backups, tmp_path, monkeypatch):
    """Memory must not grow with the chain: streams running together split one stream's buffers."""
    budgets = []

    def measured(*args, buffers, **kwargs):
        budgets.append(buffers)
        return extract_stream(*args, buffers=buffers, **kwargs)

    monkeypatch.setattr(parallel, "extract_stream", measured)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: set(range(8)))
    extract_all(backups.encrypted, tmp_path / "two", key=KEY, sync=False)
    extract_all(backups.encrypted, tmp_path / "one-by-one", key=KEY, sync=False, jobs=1)
    assert budgets == [BUFFERS // 2, BUFFERS // 2, BUFFERS, BUFFERS]
    for stream in backups.encrypted:
        assert tree(target_for(stream, tmp_path / "two")) == tree(target_for(stream, tmp_path / "one-by-one")) != {}


def test_encrypted_streams_run_one_at_a_time_on_two_cores(backups, tmp_path, monkeypatch):
    """Decryption already keeps both cores busy: side by side, encrypted streams would only contend."""
    running, most = 0, 0
    lock = threading.Lock()

    def counted(*args, **kwargs):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return extract_stream(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(parallel, "extract_stream", counted)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda _pid: {0, 1})
    results = extract_all(backups.encrypted, tmp_path / "enc", key=KEY, sync=False, jobs=4)
    assert most == 1 and len(results) == len(backups.encrypted)
    assert parallel._side_by_side(4, 3, encrypted=False) == 3  # plain streams are not held back


def test_a_broken_stream_stops_the_chain_and_is_the_error_named(backups, tmp_path):
    data = backups.incremental.read_bytes()
    cut = tmp_path / "incremental-cut.xbstream"
    cut.write_bytes(data[: len(data) // 3])
    before = digest(backups.full)
    into = tmp_path / "into"
    with pytest.raises(BackupFormatError) as caught:
        extract_all([backups.full, cut], into)
    message = str(caught.value)
    assert str(cut) in message and "\n" not in message
    assert digest(backups.full) == before
    assert not target_for(cut, into).exists()
    assert not [p for p in into.rglob("*") if p.name.endswith(".partial") or p.name == MARKER]


def test_cli_reports_a_key_with_trailing_newline(backups, tmp_path):
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    result = subprocess.run(
        [str(VENV_BIN / "xtrarestore"), "extract", "--key-file", str(key_file), "--into", str(tmp_path / "i"),
         str(backups.mini_enc)],
        capture_output=True, text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"xtrarestore: key file {key_file} is 33 bytes and ends with a newline; a 32-byte AES-256 key was expected"
        " — write it with printf '%s' or echo -n"
    ]


def test_module_entry_point_for_the_runner(backups, tmp_path):
    command = [STEP, "extract", "--into", str(tmp_path / "into")]
    ok = subprocess.run(command + [str(backups.mini_qp)], capture_output=True, text=True)
    lines = ok.stdout.splitlines()
    assert ok.returncode == 0 and lines[-1] == "completed OK!"
    assert any(line.startswith("progress {") for line in lines)
    assert (target_for(backups.mini_qp, tmp_path / "into") / "mysql").is_dir()
    broken = tmp_path / "broken.xbstream"
    broken.write_bytes(backups.mini_qp.read_bytes()[:-3])
    failed = subprocess.run(command + [str(broken)], capture_output=True, text=True)
    assert failed.returncode == 2 and "completed OK!" not in failed.stdout
    assert len(failed.stderr.strip().splitlines()) == 1 and str(broken) in failed.stderr
    gone = tmp_path / "gone.xbstream"  # deleted between the plan and its run
    missing = subprocess.run(command + [str(backups.mini_qp), str(gone)], capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [f"error: {gone}: cannot read: No such file or directory"]


def test_vendor_path_matches_native(backups, tmp_path):
    vendor = extract_stream(backups.plain, tmp_path / "vendor", method="vendor")
    extract_stream(backups.plain, tmp_path / "native", method="native")
    assert vendor.method == "vendor"
    assert tree(tmp_path / "vendor") == tree(tmp_path / "native")


def fake_xtrabackup(tmp_path: Path, monkeypatch) -> Path:
    """A stand-in `xtrabackup` recording how it was called (command-line construction only)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    script = bin_dir / "xtrabackup"
    script.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {record}\n'
        "for arg; do case $arg in --encrypt-key-file=*) f=${arg#*=};"
        f' stat -c %a "$f" >> {record}; cat "$f" >> {record}; echo >> {record};; esac; done\n'
        f"env | grep -c XBCRYPT >> {record}\nexit 0\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    return record


def test_vendor_path_passes_the_key_by_private_file(backups, tmp_path, monkeypatch):
    record = fake_xtrabackup(tmp_path, monkeypatch)
    result = extract_stream(backups.mini_enc, tmp_path / "out", key=KEY, method="vendor")
    lines = record.read_text().splitlines()
    key_arg = next(line for line in lines if line.startswith("--encrypt-key-file="))
    assert "--decrypt=AES256" in lines and "--decompress" in lines and "--remove-original" in lines
    assert lines[-3:] == ["600", KEY.decode(), "0"]
    assert KEY.decode() not in "\n".join(lines[:-2])
    assert not Path(key_arg.split("=", 1)[1]).exists()
    assert result.method == "vendor"


def test_auto_falls_back_to_vendor_for_unsupported_members(tmp_path, monkeypatch):
    record = fake_xtrabackup(tmp_path, monkeypatch)
    archive = b"qpress10" + struct.pack("<Q", 65536) + b"D" + struct.pack("<I", 1) + b"d\0"
    stream = write_stream(tmp_path / "dir.xbstream", [("t.qp", archive)])
    result = extract_stream(stream, tmp_path / "out")
    assert result.method == "vendor"
    assert "--decompress" in record.read_text().splitlines()
    with pytest.raises(BackupFormatError, match="directory entries are not supported"):
        extract_stream(stream, tmp_path / "native", method="native")


def snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("which", ["mini_qp", "mini_enc"])
def test_fuzzed_streams_fail_cleanly_and_never_write_outside_the_target(backups, tmp_path, which):
    """Seeded random byte flips and truncations: our typed errors or a clean success, nothing else."""
    import random

    from xtrarestore.core.errors import XtraRestoreError

    original = getattr(backups, which).read_bytes()
    rng = random.Random(20261121)
    arena = tmp_path / "arena"
    arena.mkdir()
    stream = tmp_path / "fuzz.xbstream"
    outcomes = {"ok": 0, "error": 0}
    for attempt in range(60):
        data = bytearray(original)
        if attempt % 4 == 3:
            del data[rng.randrange(1, len(data)) :]
        else:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        stream.write_bytes(data)
        before = snapshot(tmp_path)
        target = arena / f"out{attempt}"
        try:
            extract_stream(stream, target, key=KEY)
            outcomes["ok"] += 1
        except XtraRestoreError as error:
            outcomes["error"] += 1
            assert "\n" not in str(error) and str(stream) in str(error)
            assert not target.exists()
        created = snapshot(tmp_path) - before
        assert all(name.startswith(f"arena/out{attempt}") for name in created), created
        assert not list(arena.glob("*.partial"))
        shutil.rmtree(target, ignore_errors=True)
    assert outcomes["error"] > 40


def test_fuzzed_members_raise_only_typed_errors(backups):
    """The member decoders alone, fed mutated real members in random splits."""
    import random

    from xtrarestore.core.archive.members import member_decoder
    from xtrarestore.core.errors import XtraRestoreError

    rng = random.Random(7)
    samples = [m for m in members(backups.mini_enc) if len(m[1]) > 1000][:6]
    samples += [m for m in members(backups.mini_qp) if len(m[1]) > 1000][:6]
    failures = 0
    for attempt in range(300):
        name, original = samples[attempt % len(samples)]
        data = bytearray(original)
        for _ in range(rng.randint(1, 3)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        if attempt % 5 == 0:
            del data[rng.randrange(len(data)) :]
        _plain, decoder = member_decoder(name, KEY)
        try:
            position = 0
            while position < len(data):
                step = rng.randint(1, 5000)
                for _piece in decoder.feed(bytes(data[position : position + step])):
                    pass
                position += step
            list(decoder.finish())
        except XtraRestoreError:
            failures += 1
    assert failures > 200


def test_fuzzed_quicklz_blocks_never_crash_the_decoder(backups):
    """Mutated real blocks straight into the C decoder (no adler32 in the way): bytes or ValueError only."""
    import random

    from xtrarestore.core.archive import _quicklz

    blocks = []
    for _name, data in members(backups.mini_qp):
        position = data.find(b"NEWBNEWB")
        while position >= 0 and position + 29 <= len(data):
            head = position + 20
            size = int.from_bytes(data[head + 1 : head + 5], "little") if data[head] & 2 else data[head + 1]
            blocks.append(data[head : head + size])
            position = data.find(b"NEWBNEWB", head)
    compressed = [b for b in blocks if b[0] & 1]
    assert len(compressed) > 10
    rng = random.Random(99)
    rejected = 0
    for attempt in range(3000):
        block = bytearray(compressed[attempt % len(compressed)])
        for _ in range(rng.randint(1, 6)):
            block[rng.randrange(9, len(block))] = rng.randrange(256)
        try:
            out = _quicklz.decompress(bytes(block), 65536)
            assert len(out) == int.from_bytes(block[5:9], "little")
        except ValueError:
            rejected += 1
    assert rejected > 1000


def test_lz4_and_zstd_members_in_a_stream(tmp_path):
    """XtraBackup 8 layouts: `.lz4`, `.zst` and `.zst.xbcrypt` members, each a concatenation of frames."""
    import lz4.frame
    import zstandard

    from xtrarestore.core.archive.xbcrypt import encrypt

    data = bytes(range(256)) * 3000
    pieces = [data[i : i + 100000] for i in range(0, len(data), 100000)]
    lz4_member = b"".join(lz4.frame.compress(p, content_checksum=True) for p in pieces)
    zst_member = b"".join(zstandard.ZstdCompressor(write_checksum=True).compress(p) for p in pieces)
    stream = write_stream(
        tmp_path / "x8.xbstream",
        [("db/a.ibd.lz4", lz4_member), ("db/b.ibd.zst", zst_member), ("db/c.ibd.zst.xbcrypt", encrypt(zst_member, KEY))],
        piece=7777,
    )
    extract_stream(stream, tmp_path / "out", key=KEY)
    assert tree(tmp_path / "out") == {"db/a.ibd": data, "db/b.ibd": data, "db/c.ibd": data}


def test_absurd_sparse_map(tmp_path):
    raw_path = b"holes"
    header = b"XBSTCK01" + bytes([0, ord("S")]) + struct.pack("<I", len(raw_path)) + raw_path
    stream = tmp_path / "s.xbstream"
    stream.write_bytes(header + struct.pack("<I", 1 << 30) + struct.pack("<QQI", 0, 0, 0) + bytes(64))
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"truncated chunk at offset 0x0")
    with open(stream, "wb") as out:  # long enough to hold the claimed map, as a hole
        out.write(header + struct.pack("<I", 1 << 24) + struct.pack("<QQI", 0, 0, 0))
        out.truncate(140 << 20)
    expect_failure(stream, tmp_path / "out", BackupFormatError, r"absurd sparse chunk length 0 \(16777216 map entries\)")


def test_encrypted_uncompressed_stream_matches_the_plain_one(backups, tmp_path):
    """`--encrypt` without `--compress`: every member is `name.xbcrypt`."""
    sealed = encrypt_stream(backups.plain, tmp_path / "sealed.xbstream", KEY)
    extract_stream(sealed, tmp_path / "enc", key=KEY)
    extract_stream(backups.plain, tmp_path / "plain")
    assert tree(tmp_path / "enc") == tree(tmp_path / "plain")
