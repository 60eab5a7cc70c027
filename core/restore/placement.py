"""Where the restore workspace goes, and so how the prepared copy reaches the datadir.

Production is down from the stop until the restored server answers. When the
workspace is on the datadir's file system, everything that grows with the
data (extract, prepare, chown, sync) happens before the stop and the swap is
two renames: downtime no longer depends on the data's size. Where that cannot
be (the workspace is elsewhere, no room beside the datadir, engine files kept
outside it, a datadir that is a mount point), the plan falls back to
`--copy-back` during the downtime and says why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RENAME = "rename"        # prepared beside the datadir, renamed into place
COPY_BACK = "copy-back"  # prepared elsewhere, copied into an empty datadir while the server is down

# A compressed stream's content is larger than the stream; without its true size we assume this ratio.
COMPRESSED_RATIO = 4


@dataclass(frozen=True)
class Placement:
    """The workspace and the swap method it allows; *reason* says why a plan falls back to copy-back."""

    workdir: Path
    swap: str
    reason: str = ""


def estimated_size(member) -> int:
    size = int(getattr(member, "size", 0) or 0)
    return size * COMPRESSED_RATIO if getattr(member, "compression", None) else size


def sibling_workdir(datadir: Path, restore_id: str) -> Path:
    """`<datadir>.restore-<id>`: beside the datadir, on its file system."""
    return datadir.with_name(f"{datadir.name}.restore-{restore_id}")


def _existing(path: Path) -> Path:
    while not path.exists():
        path = path.parent
    return path


def _size(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def place_workspace(datadir: Path, restore_id: str, *, workdir: Path | None, fallback: Path, need: int,
                    blockers: Sequence[str] = ()) -> Placement:
    """Choose the workspace: *workdir* if given, else a sibling of *datadir*, else *fallback*.

    *need* is the bytes the extracted chain takes; *blockers* are reasons,
    found by the caller (engine files outside the datadir, a server config
    copy-back must follow), why renaming cannot reproduce copy-back.
    """
    def copy(reason: str) -> Placement:
        return Placement(workdir or fallback, COPY_BACK, reason)

    if blockers:
        return copy("; ".join(blockers))
    parent = _existing(datadir.parent)
    if datadir.exists() and os.path.ismount(datadir):
        return copy(f"{datadir} is a mount point: a directory beside it is on another file system")
    if workdir is not None:
        if os.stat(_existing(workdir)).st_dev != os.stat(parent).st_dev:
            return copy(f"--workdir {workdir} is on another file system than {datadir}")
        return Placement(workdir, RENAME)
    if not os.access(parent, os.W_OK):
        return copy(f"{parent} is not writable by this user: the workspace cannot go beside {datadir}")
    free = shutil.disk_usage(parent).free
    if free < need:
        return copy(f"not enough space beside {datadir}: needs about {_size(need)}, {_size(free)} free")
    return Placement(sibling_workdir(datadir, restore_id), RENAME)


def placement_blockers(target, engine_files_check=None) -> list[str]:
    """Why renaming cannot stand in for copy-back on this server (empty: it can)."""
    reasons = []
    if engine_files_check is not None and not engine_files_check.ok:
        reasons.append("engine files live outside the datadir (copy-back places them)")
    if getattr(target, "server_config", None) is not None:
        reasons.append(f"--server-config {target.server_config}: copy-back places InnoDB files where it says")
    return reasons
