"""`xtrarestore extract`: unpack xbstream backups into plain directories ready for `--prepare`.

Each STREAM goes to DIR/<stream name without .xbstream>, decrypted and
decompressed in one pass; the streams are extracted side by side (`--jobs`)
under one Rich progress bar with bytes, rate and time left, and each finished
directory is flushed to disk before its name appears.
"""

from __future__ import annotations

import argparse

from xtrarestore.core.archive import DEFAULT_JOBS

HELP = "extract xbstream backups (decrypting and decompressing in one pass) into directories"


def register(subparsers) -> None:
    parser = subparsers.add_parser("extract", help=HELP, description=HELP)
    parser.add_argument("--key-file", default=argparse.SUPPRESS, help="encryption key file for encrypted backups")
    parser.add_argument(
        "--vendor", action="store_true", help="use mbstream/xbstream -x and xtrabackup --decrypt --decompress"
    )
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, metavar="N",
                        help=f"streams extracted at the same time (default {DEFAULT_JOBS})")
    parser.add_argument("--into", required=True, metavar="DIR", help="directory receiving one sub-directory per stream")
    parser.add_argument("streams", nargs="+", metavar="STREAM", help="xbstream files to extract (or s3://BUCKET/KEY objects, read with ranged GETs)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from xtrarestore.core.archive.keys import load_key
    from xtrarestore.core.archive.parallel import extract_all
    from xtrarestore.core.archive.targets import check_target
    from xtrarestore.core.errors import XtraRestoreError
    from xtrarestore.core.storage.location import is_s3, root_path
    from xtrarestore.tui.display import text

    if args.jobs < 1:
        raise XtraRestoreError(f"--jobs {args.jobs}: give 1 or more")
    key_file = getattr(args, "key_file", None)
    key = load_key(key_file) if key_file else None
    streams = [root_path(stream) for stream in args.streams]
    into = check_target(Path(args.into), "--into", sources=[s for s in streams if not is_s3(s)], container=True)
    console = Console(stderr=True, highlight=False)
    # Done lines go beside the live bar on a terminal; piped, to stdout (stderr keeps only a failure's one line).
    out = console if console.is_terminal else Console(highlight=False)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bar:
        task = bar.add_task(f"0/{len(streams)} streams", total=None)

        def update(record: dict) -> None:
            bar.update(task, completed=record["bytes_read"], total=record["total_bytes"],
                       description=f"{record['streams_done']}/{record['streams']} streams")

        def finished(result) -> None:
            out.print(text(f"{result.target}: {result.files} files, {result.bytes_written:,} bytes ({result.method})"),
                      soft_wrap=True)

        extract_all(streams, into, key=key, jobs=args.jobs, progress=update,
                    done=finished, method="vendor" if args.vendor else "auto")
    return 0
