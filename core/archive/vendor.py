"""Extraction with the vendor tools, for operators who prefer them or members we cannot decode.

`mbstream`/`xbstream -x` unpacks the stream, then `xtrabackup --decrypt
--decompress --remove-original` decodes the members in place (Percona's
tool; mariabackup can only decompress, and needs a `qpress` binary). The key
reaches xtrabackup as `--encrypt-key-file` naming a private 0600 copy, never
on the command line.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from ..errors import KeyFileError, StepFailedError
from ..programs import find_program
from .members import COMPRESSORS, ENCRYPTED

ALGORITHMS = {16: "AES128", 24: "AES192", 32: "AES256"}


def unpack_command(partial: Path) -> list[str]:
    return [str(find_program(["mbstream", "xbstream"])), "-x", "-C", str(partial)]


def decode_command(
    partial: Path, *, encrypted: bool, compressed: bool, key_file: Path | None, key_len: int
) -> list[str]:
    """The `xtrabackup` call decoding *partial* in place; the key is only named by its file."""
    if encrypted:
        args = [str(find_program(["xtrabackup"])), f"--decrypt={ALGORITHMS[key_len]}", f"--encrypt-key-file={key_file}"]
    else:
        args = [str(find_program(["xtrabackup", "mariabackup", "mariadb-backup"]))]
    if compressed:
        args.append("--decompress")
    return args + ["--remove-original", f"--target-dir={partial}"]


def encoded_members(root: Path) -> tuple[bool, bool]:
    """(any encrypted member, any compressed member) under *root*."""
    encrypted = compressed = False
    for _dir, _subdirs, files in os.walk(root):
        for name in files:
            stem = name[: -len(ENCRYPTED)] if name.endswith(ENCRYPTED) else name
            encrypted |= stem != name
            compressed |= any(stem.endswith(suffix) for suffix in COMPRESSORS)
    return encrypted, compressed


def vendor_extract(stream: Path, partial: Path, key: bytes | None) -> int:
    """Unpack and decode *stream* into the existing directory *partial*; returns the number of files."""
    with open(stream, "rb") as source:
        _run(unpack_command(partial), stream, stdin=source)
    encrypted, compressed = encoded_members(partial)
    if encrypted or compressed:
        if encrypted and key is None:
            raise KeyFileError(f"{stream} has encrypted members: give the key file (--key-file)")
        with tempfile.TemporaryDirectory(prefix="xtrarestore-key-") as private:
            key_file = None
            if encrypted:
                key_file = Path(private) / "key"
                descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(key)
            command = decode_command(
                partial, encrypted=encrypted, compressed=compressed, key_file=key_file, key_len=len(key or b"")
            )
            _run(command, stream)
    return sum(len(files) for _dir, _subdirs, files in os.walk(partial))


def _run(command: list[str], stream: Path, stdin=None) -> None:
    started = time.monotonic()
    result = subprocess.run(command, stdin=stdin if stdin is not None else subprocess.DEVNULL, capture_output=True)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).decode(errors="replace").strip().splitlines()
        tail = lines[-1] if lines else "no output"
        raise StepFailedError(
            f"{stream}: {Path(command[0]).name} exited with status {result.returncode} after "
            f"{time.monotonic() - started:.1f}s: {tail}"
        )
