"""The plan's internal steps, as commands: `python -m xtrarestore.core.restore.steps ACTION …`.

Moving the datadir aside, creating the new one, chown, the LSN check and vendor
extraction are Python, but they run as commands like every other step, so the
runner can run them under sudo, stream their output and journal them the same
way. Every action is idempotent where a resumed restore may repeat it (a rename
already done is recognised, not redone) and none deletes live data. Each step
is an interpreter of its own, so modules only one action needs are imported
inside that action: start-up time is restore time.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

from ..errors import StepFailedError, XtraRestoreError
from ..storage.location import is_s3, root_path

CHECKPOINT_FILES = ("xtrabackup_checkpoints", "mariadb_backup_checkpoints")


def _say(text: str) -> None:
    print(text, flush=True)


def rename(src: Path, dst: Path) -> None:
    """Rename *src* to *dst* on the same filesystem; recognise a rename already done."""
    if dst.exists() and not src.exists():
        _say(f"{src} was already renamed to {dst}")
        return
    if dst.exists():
        raise StepFailedError(f"{dst}: already exists; refusing to overwrite it")
    if not src.exists():
        raise StepFailedError(f"{src}: does not exist")
    if os.stat(src.parent).st_dev != os.stat(src).st_dev:
        raise StepFailedError(f"{src}: is a mount point; it cannot be renamed aside on the same filesystem")
    os.rename(src, dst)
    from ..durable import sync_directory

    for parent in {src.parent, dst.parent}:
        sync_directory(parent)  # the rename itself survives a power cut
    _say(f"renamed {src} -> {dst}")


def create_datadir(datadir: Path, like: Path) -> None:
    """Create an empty *datadir* with the owner and mode of *like* (the old datadir)."""
    info = os.stat(like)
    if datadir.exists():
        if any(datadir.iterdir()):
            raise StepFailedError(f"{datadir}: exists and is not empty")
        _say(f"{datadir} already exists and is empty")
    else:
        datadir.mkdir(mode=0o700)
    os.chown(datadir, info.st_uid, info.st_gid)
    os.chmod(datadir, stat.S_IMODE(info.st_mode))
    _say(f"created {datadir} owner {info.st_uid}:{info.st_gid} mode {stat.S_IMODE(info.st_mode):o}")


def chown_tree(datadir: Path, like: Path) -> None:
    """Give every file under *datadir* the owner of *like* (the datadir it replaces) and *datadir* its mode;
    directories below 0750, files not world-readable.

    Then flush the file system: copy-back does not, and the server must not
    start on a datadir that a power cut could still take back.
    """
    info = os.stat(like)
    uid, gid = info.st_uid, info.st_gid
    count = 0
    for root, dirs, files in os.walk(datadir):
        os.chown(root, uid, gid, follow_symlinks=False)
        os.chmod(root, stat.S_IMODE(info.st_mode) if Path(root) == datadir else 0o750)
        for name in files:
            path = os.path.join(root, name)
            os.chown(path, uid, gid, follow_symlinks=False)
            if not os.path.islink(path):
                os.chmod(path, stat.S_IMODE(os.lstat(path).st_mode) & 0o770 | 0o600)
            count += 1
    _say(f"owner {uid}:{gid} on {count} files under {datadir}")
    from ..durable import sync_tree

    sync_tree(datadir)
    _say(f"{datadir} synced to disk")


def check_lsn(directory: Path, backup_type: str, to_lsn: int, last_lsn: int | None) -> None:
    """The prepared copy must be prepared and end exactly at the chosen restore point."""
    from ..inventory.checkpoints import parse_checkpoints

    path = next((directory / n for n in CHECKPOINT_FILES if (directory / n).exists()), None)
    if path is None:
        raise StepFailedError(f"{directory}: no xtrabackup_checkpoints / mariadb_backup_checkpoints after prepare")
    found = parse_checkpoints(path.read_text(), str(path))
    _say(f"prepared: backup_type={found.backup_type} to_lsn={found.to_lsn} last_lsn={found.last_lsn}")
    if found.backup_type != backup_type:
        raise StepFailedError(f"{path}: backup_type is {found.backup_type!r} after prepare, expected {backup_type!r}")
    if found.to_lsn != to_lsn:
        raise StepFailedError(f"{path}: prepared to_lsn {found.to_lsn} != restore point's {to_lsn}")
    if last_lsn is not None and found.last_lsn != last_lsn:
        raise StepFailedError(f"{path}: prepared last_lsn {found.last_lsn} != restore point's {last_lsn}")
    _say(f"LSNs match the restore point (to_lsn {to_lsn})")


def vendor_extract(tool: Path, stream: Path, into: Path, extra: list[str]) -> None:
    """Run `mbstream`/`xbstream -x` with the stream on stdin (the stream file is only read)."""
    import subprocess

    into.mkdir(parents=True, exist_ok=False, mode=0o700)
    if is_s3(stream):  # ranged reads of the object piped into the tool
        from ..storage.roots import open_stream

        with open_stream(stream) as source, subprocess.Popen([str(tool), "-x", "-C", str(into), *extra],
                                                             stdin=subprocess.PIPE) as process:
            try:
                while data := source.read(8 << 20):
                    process.stdin.write(data)
            except BrokenPipeError:
                pass
            finally:
                process.stdin.close()
        result = process
    else:
        with open(stream, "rb") as source:
            result = subprocess.run([str(tool), "-x", "-C", str(into), *extra], stdin=source)
    if result.returncode != 0:
        raise StepFailedError(f"{stream}: {tool.name} -x exited with status {result.returncode}")
    _say(f"extracted {stream} into {into}")


def copy_directory(src: Path, into: Path) -> None:
    """Copy an already-extracted backup directory, so prepare never touches the source."""
    import shutil

    if is_s3(src):
        from ..storage.download import download_prefix

        download_prefix(src, into)
    else:
        shutil.copytree(src, into, symlinks=True)
    os.chmod(into, 0o700)
    _say(f"copied {src} into {into}")


def run(argv: list[str]) -> int:
    """`xtrarestore-step rename|create-datadir|chown|check-lsn|vendor-extract|copy-dir …`."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step")
    sub = parser.add_subparsers(dest="action", required=True)
    p = sub.add_parser("rename")
    p.add_argument("src", type=Path)
    p.add_argument("dst", type=Path)
    p = sub.add_parser("create-datadir")
    p.add_argument("datadir", type=Path)
    p.add_argument("--like", type=Path, required=True)
    p = sub.add_parser("chown")
    p.add_argument("datadir", type=Path)
    p.add_argument("--like", type=Path, required=True)
    p = sub.add_parser("check-lsn")
    p.add_argument("directory", type=Path)
    p.add_argument("--type", required=True, choices=["log-applied", "full-prepared"])
    p.add_argument("--to-lsn", type=int, required=True)
    p.add_argument("--last-lsn", type=int)
    p = sub.add_parser("vendor-extract")
    p.add_argument("--tool", type=Path, required=True)
    p.add_argument("--into", type=Path, required=True)
    p.add_argument("stream", type=root_path)
    p.add_argument("extra", nargs="*")
    p = sub.add_parser("copy-dir")
    p.add_argument("src", type=root_path)
    p.add_argument("into", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.action == "rename":
            rename(args.src, args.dst)
        elif args.action == "create-datadir":
            create_datadir(args.datadir, args.like)
        elif args.action == "chown":
            chown_tree(args.datadir, args.like)
        elif args.action == "check-lsn":
            check_lsn(args.directory, args.type, args.to_lsn, args.last_lsn)
        elif args.action == "vendor-extract":
            vendor_extract(args.tool, args.stream, args.into, args.extra)
        else:
            copy_directory(args.src, args.into)
    except (XtraRestoreError, OSError) as error:
        print(f"error: {error}", flush=True)
        return 1
    return 0
