"""`xtrarestore extract`: unpack xbstream backups into plain directories ready for `--prepare`.

Each STREAM goes to DIR/<stream name without .xbstream>, decrypted and
decompressed in one pass; a Rich progress bar shows bytes, rate and time left.
"""

from __future__ import annotations

import argparse

HELP = "extract xbstream backups (decrypting and decompressing in one pass) into directories"


def register(subparsers) -> None:
    parser = subparsers.add_parser("extract", help=HELP, description=HELP)
    parser.add_argument("--key-file", default=argparse.SUPPRESS, help="encryption key file for encrypted backups")
    parser.add_argument(
        "--vendor", action="store_true", help="use mbstream/xbstream -x and xtrabackup --decrypt --decompress"
    )
    parser.add_argument("--into", required=True, metavar="DIR", help="directory receiving one sub-directory per stream")
    parser.add_argument("streams", nargs="+", metavar="STREAM", help="xbstream files to extract")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    from xtrarestore.core.archive.extract import extract_stream, target_for
    from xtrarestore.core.keys import load_key

    key_file = getattr(args, "key_file", None)
    key = load_key(key_file) if key_file else None
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        for stream in map(Path, args.streams):
            task = bar.add_task(stream.name, total=stream.stat().st_size if stream.exists() else None)

            def update(snapshot, task=task) -> None:
                bar.update(task, completed=snapshot.bytes_read, total=snapshot.total_bytes)

            result = extract_stream(
                stream,
                target_for(stream, Path(args.into)),
                key=key,
                progress=update,
                method="vendor" if args.vendor else "auto",
            )
            bar.update(task, completed=result.bytes_read, total=result.bytes_read)
            console.print(f"{result.target}: {result.files} files, {result.bytes_written:,} bytes ({result.method})")
    return 0
