"""Backups uploaded by Percona's `xbcloud put`: one prefix per backup, one object per xbstream chunk.

Checked against `xbcloud_put` and `xbcloud_download` in percona-xtrabackup's
`storage/innobase/xtrabackup/src/xbcloud/xbcloud.cc`: every chunk of the
incoming xbstream (header and payload, the closing `E` chunk too) becomes the
object ``NAME/<member path>.<index>``, the index counting that member's chunks
from 0 and printed as 20 zero-padded digits. `xbcloud get` rebuilds a stream
by concatenating each member's objects in index order, members one after
another; the upload counts as complete when
``NAME/xtrabackup_info.00000000000000000000`` exists. An optional
``NAME.md5`` object sits beside the prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .listing import ObjectInfo

CHUNK_OBJECT = re.compile(r"^(?P<member>.+)\.(?P<index>\d{20})$")
COMPLETE_SUFFIX = ".00000000000000000000"  # on xtrabackup_info (or mariadb_backup_info): the upload finished


def chunk_objects(objects: Iterable[ObjectInfo]) -> dict[str, list[ObjectInfo]]:
    """Member path -> its chunk objects in index order, for the objects named like xbcloud's.

    *objects* are named relative to the backup's prefix (``ibdata1.000…0``,
    ``db/t1.ibd.000…3``). A member whose indexes do not run 0, 1, 2, … is
    kept with what is there; `missing_chunks` names the hole.
    """
    members: dict[str, list[tuple[int, ObjectInfo]]] = {}
    for info in objects:
        match = CHUNK_OBJECT.match(info.name)
        if match:
            members.setdefault(match["member"], []).append((int(match["index"]), info))
    return {member: [info for _i, info in sorted(found, key=lambda item: item[0])] for member, found in members.items()}


def missing_chunks(members: dict[str, list[ObjectInfo]]) -> str | None:
    """The first member whose chunk indexes have a hole, as ``member.<index>``; None when all run from 0."""
    for member, objects in sorted(members.items()):
        for expected, info in enumerate(objects):
            index = int(CHUNK_OBJECT.match(info.name)["index"])
            if index != expected:
                return f"{member}.{expected:020d}"
    return None


def stream_order(members: dict[str, list[ObjectInfo]]) -> list[ObjectInfo]:
    """The objects in the order `xbcloud get` would stream them: member by member, chunks in index order.

    The metadata members go last, as in the stream xtrabackup wrote.
    """
    late = ("xtrabackup_checkpoints", "backup-my.cnf", "xtrabackup_info", "mariadb_backup_checkpoints",
            "mariadb_backup_info")
    ordered = sorted(members, key=lambda member: (member.split(".", 1)[0] in late, member))
    return [info for member in ordered for info in members[member]]
