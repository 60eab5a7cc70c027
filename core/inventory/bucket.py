"""Inventory a backup root in an S3 bucket without downloading the backups.

One recursive listing of the prefix gives the tree; then, in parallel
threads, each stream's metadata members are read from its last bytes
(`stream_tail`: one or two ranged GETs), and each small sidecar file
(`xtrabackup_checkpoints`, `xtrabackup_info`, `backup-progress.log`) is
fetched whole. The layouts and rules are the directory scan's (`scan.py`):
day directories, several hosts as ``PREFIX/<host>/<day>/``, `full/ incr/
lsns/` series, extracted backup directories, and, in a bucket only,
`xbcloud put` uploads (`storage.xbcloud`). A sidecar's LSNs are used only
when `scan._lsndir_matches` proves it is the backup's own; a stream's last
write is then the mtime its uploader kept (rclone's ``mtime``, s3cmd's
``s3cmd-attrs`` metadata), else the object's LastModified, which is the
upload time and so rarely proves anything (the backup stays key-required).

Nothing is written to the bucket.
"""

from __future__ import annotations

import io
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from ..archive.xbstream import MAGIC, TYPE_PAYLOAD, read_header
from ..errors import BackupFormatError, BackupRootError
from ..storage.client import storage_error
from ..storage.errors import StorageError
from ..storage.listing import ObjectInfo
from ..storage.location import S3Location, S3Path, root_path, s3_path
from ..storage.roots import BucketRoot
from ..storage.xbcloud import CHUNK_OBJECT, COMPLETE_SUFFIX, chunk_objects, missing_chunks
from . import scan as rules
from .checkpoints import MARIADB, flavour_of_tool, parse_info
from .model import Backup, Day, Inventory
from .stream_metadata import BINLOG_INFO, CHECKPOINTS, COMPRESSIONS, ENCODINGS, INFO, MAX_MEMBER, WANTED, find_member
from .stream_tail import read_stream_tail

THREADS = 32
FIRST_WINDOW = 8 << 10  # the metadata members at a stream's end take ~3 KiB; the window grows when needed
HEAD_WINDOW = 1 << 10  # the first chunk header: its member says whether data files are compressed or encrypted
LOG_TAIL = 4 << 10  # backup-progress.log: the judgement needs its last line
SIDECARS = frozenset((*(name + e for name in (*CHECKPOINTS, *INFO, *BINLOG_INFO) for e in ENCODINGS), rules.LOG))
SUFFIX_FLAGS = {".qp": 1, ".lz4": 2, ".zst": 4}


@dataclass(eq=False)
class Node:
    """A "directory" of the listing: child nodes and the objects directly in it."""

    path: S3Path
    dirs: dict[str, Node] = field(default_factory=dict)
    files: dict[str, ObjectInfo] = field(default_factory=dict)

    def names(self) -> dict[str, Entry]:
        """Children by name, shaped like `os.scandir` entries for the scan's name rules."""
        found = {name: Entry(info=info) for name, info in self.files.items()}
        found.update((name, Entry(node=node)) for name, node in self.dirs.items())
        return found

    def objects(self):
        """Every object at or below this node."""
        yield from self.files.values()
        for node in self.dirs.values():
            yield from node.objects()


@dataclass(frozen=True, slots=True)
class Entry:
    """What `scan._is_dir`, `_is_day` and friends ask of a directory entry."""

    node: Node | None = None
    info: ObjectInfo | None = None

    def is_dir(self, follow_symlinks: bool = True) -> bool:
        return self.node is not None

    def is_file(self) -> bool:
        return self.info is not None

    def is_symlink(self) -> bool:
        return False


class BucketFiles:
    """The scan's `LocalFiles` for a bucket: sidecars from what was fetched, a stream's last write from the store."""

    def __init__(self, root: BucketRoot, fetched: Fetched, objects: dict[S3Path, ObjectInfo]) -> None:
        self.root, self.fetched, self.objects = root, fetched, objects

    def read_text(self, path: S3Path) -> str:
        if path in self.fetched.errors:
            raise OSError(self.fetched.errors[path])
        try:
            return self.fetched.sidecars[path].decode("utf-8", errors="replace")
        except KeyError:
            raise FileNotFoundError(str(path)) from None

    def written(self, path: S3Path) -> datetime:
        """The stream's mtime as its uploader recorded it, else the object's LastModified (local time)."""
        info = self.objects[path]
        try:
            head = self.root.client.head_object(Bucket=self.root.location.bucket, Key=self.root.location.key(info.key))
        except (ClientError, BotoCoreError) as exc:
            raise OSError(str(storage_error(exc, str(path)))) from None
        kept = _kept_mtime(head.get("Metadata") or {})
        if kept is not None:
            return datetime.fromtimestamp(kept)
        return _local(head.get("LastModified") or info.modified)


def _kept_mtime(metadata: dict[str, str]) -> float | None:
    """An mtime (seconds) from rclone's ``mtime`` or s3cmd's ``s3cmd-attrs`` user metadata."""
    values = [metadata.get("mtime")]
    attrs = metadata.get("s3cmd-attrs", "")
    values += [part.partition(":")[2] for part in attrs.split("/") if part.startswith("mtime:")]
    for value in values:
        try:
            return float(value)
        except (TypeError, ValueError):
            continue
    return None


def _local(moment: datetime | None) -> datetime:
    """An aware UTC time as the naive local time `datetime.fromtimestamp` gives for a file's mtime."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo else moment


# -- fetching ---------------------------------------------------------------


@dataclass(slots=True)
class Fetched:
    """What the parallel reads brought back, by object path."""

    tails: dict = field(default_factory=dict)  # stream -> StreamTail
    heads: dict = field(default_factory=dict)  # stream -> member names at its start (None: not xbstream)
    compression: dict = field(default_factory=dict)  # stream -> codec its plain xtrabackup_info implies
    sidecars: dict = field(default_factory=dict)  # small file -> bytes
    xbcloud: dict = field(default_factory=dict)  # xbcloud backup node path -> (members, error)
    errors: dict = field(default_factory=dict)  # object path -> one-line StorageError


def _tree(root: BucketRoot) -> tuple[Node, dict[S3Path, ObjectInfo]]:
    top = Node(s3_path(root.location))
    by_path: dict[S3Path, ObjectInfo] = {}
    for info in root.list_all().objects:
        parts = [part for part in info.name.split("/") if part]
        if not parts or info.name.endswith("/"):
            continue  # a "folder" marker object
        node = top
        for part in parts[:-1]:
            node = node.dirs.setdefault(part, Node(node.path / part))
        info = ObjectInfo(parts[-1], info.name, info.size, info.etag, info.modified)  # key: relative to the root
        node.files[parts[-1]] = info
        by_path[node.path / parts[-1]] = info
    return top, by_path


def _is_xbcloud(node: Node) -> bool:
    """Whether *node* is an `xbcloud put` upload: chunk objects of a backup's own files."""
    return any((match := CHUNK_OBJECT.match(name)) and match["member"].startswith(rules.BACKUP_DIR_MARKERS)
               for name in node.files)


def _jobs(node: Node, depth: int = 0):
    """(kind, node, name, info) for every read the inventory may need under *node*."""
    if _is_xbcloud(node):
        yield "xbcloud", node, None, None
        return
    for name, info in node.files.items():
        if name.endswith(rules.INCOMPLETE):
            yield "head", node, name, info
        elif name.endswith(rules.STREAM):
            yield "tail", node, name, info
        elif name in SIDECARS and info.size <= rules.MAX_METADATA_FILE:
            yield "sidecar", node, name, info
    if depth <= rules.MAX_DEPTH + 2:
        for child in node.dirs.values():
            yield from _jobs(child, depth + 1)


def _fetch(root: BucketRoot, top: Node, threads: int) -> Fetched:
    fetched = Fetched()

    def run(job) -> None:
        kind, node, name, info = job
        path = node.path if name is None else node.path / name
        try:
            if kind == "tail":
                with root.open(info, depth=1) as reader:
                    fetched.tails[path] = tail = read_stream_tail(reader, first_window=FIRST_WINDOW)
                    if not any(_encoded(name) for name in tail.names):  # e.g. --compress keeps metadata plain
                        said = _info_compression(tail.members)
                        if said is False:
                            fetched.heads[path] = _head_names(reader.read_range(0, HEAD_WINDOW), str(path))
                        else:
                            fetched.compression[path] = said
            elif kind == "head":
                with root.open(info, depth=1) as reader:
                    fetched.heads[path] = _head_names(reader.read_range(0, HEAD_WINDOW), str(path))
            elif kind == "sidecar" and name == rules.LOG:  # only its last line matters
                with root.open(info, depth=1) as reader:
                    text = reader.read_range(max(0, info.size - LOG_TAIL), info.size)
                fetched.sidecars[path] = text if info.size <= LOG_TAIL else text.partition(b"\n")[2]
            elif kind == "sidecar":
                fetched.sidecars[path] = root.read(info)
            else:
                fetched.xbcloud[path] = _xbcloud_members(root, node)
        except (StorageError, BackupFormatError) as error:
            fetched.errors[path] = str(error)

    with ThreadPoolExecutor(threads, thread_name_prefix="s3-inventory") as pool:
        list(pool.map(run, _jobs(top)))
    return fetched


def _info_compression(members: dict[str, bytes]) -> str | None | bool:
    """What a plain xtrabackup_info says of compression: None (not compressed), "qpress" (mariabackup's
    only codec), or False when it cannot tell (then the stream's first member is read)."""
    stored = find_member(members, INFO)
    if stored is None or stored not in INFO:
        return False
    info = parse_info(members[stored].decode("utf-8", errors="replace"))
    if info.compressed is False:
        return None
    if info.compressed and flavour_of_tool(info.tool_name) == MARIADB:
        return "qpress"
    return False


def _encoded(name: str) -> bool:
    stem = name.removesuffix(".xbcrypt")
    return stem != name or stem.endswith(tuple(SUFFIX_FLAGS))


def _head_names(data: bytes, name: str) -> list[str] | None:
    """The member names of the chunk headers at the start of a stream (its first member says how
    data files are stored); None when it does not start with a chunk."""
    if not data.startswith(MAGIC):
        return None
    source, names, position = io.BytesIO(data), [], 0
    while position < len(data):
        try:
            header = read_header(source, name, position)
        except BackupFormatError:
            break
        if header is None:
            break
        names.append(header.path)
        position = header.end
        source.seek(position)
    return names


def _xbcloud_members(root: BucketRoot, node: Node) -> tuple[dict[str, bytes], list[str], str | None]:
    """The metadata members of an xbcloud upload (from their chunk objects), all member names, an error."""
    members = chunk_objects(ObjectInfo(info.key[len(_relative(root, node)):], info.key, info.size, info.etag,
                                       info.modified) for info in node.objects())
    found: dict[str, bytes] = {}
    error = None
    for member in WANTED:
        if member not in members:
            continue
        data = b"".join(root.read(info) for info in members[member])
        payload, problem = _payload(data, member, f"{node.path}/{member}")
        if problem:
            error = error or problem
        else:
            found[member] = payload
    if error is None:
        hole = missing_chunks(members)
        if hole is not None:
            error = f"{node.path}/{hole}: chunk object missing"
    return found, list(members), error


def _relative(root: BucketRoot, node: Node) -> str:
    """*node*'s key prefix relative to the root (ends with ``/``; empty for the root itself)."""
    relative = node.path.key[len(root.location.prefix):]
    return relative + "/" if relative else ""


def _payload(data: bytes, member: str, where: str) -> tuple[bytes, str | None]:
    """A member's bytes from its chunks (CRC-checked, in offset order, ending with its `E` chunk)."""
    source, position, out, ended = io.BytesIO(data), 0, bytearray(), False
    try:
        while (header := read_header(source, where, position)) is not None:
            if header.end > len(data) or header.path != member:
                return b"", f"{where}: chunk object does not hold a whole chunk of {member}"
            if header.is_eof:
                ended = True
            elif header.type == TYPE_PAYLOAD:
                payload = data[header.data_offset : header.end]
                if header.offset != len(out) or zlib.crc32(payload) != header.checksum or len(out) > MAX_MEMBER:
                    return b"", f"{where}: checksum or offset mismatch at offset {header.position:#x}"
                out += payload
            position = header.end
            source.seek(position)
    except BackupFormatError as error:
        return b"", str(error)
    return (bytes(out), None) if ended else (b"", f"{where}: member has no end chunk (upload incomplete?)")


# -- reading backups (the rules are scan.py's) --------------------------------


class _Reader:
    def __init__(self, root: BucketRoot, fetched: Fetched, files: BucketFiles, key: bytes | None) -> None:
        self.root, self.fetched, self.files, self.key = root, fetched, files, key

    def new_backup(self, path: S3Path, name: str, artifact: str, size: int, modified: datetime | None) -> Backup:
        named = rules._name_time(name)
        when = named or _local(modified)
        return Backup(name, path, rules._kind_from_name(name), artifact, when, size, named_time=named is not None)

    def stream(self, node: Node, name: str, label: str, artifact: str) -> Backup:
        info, path = node.files[name], node.path / name
        backup = self.new_backup(path, label, artifact, info.size, info.modified)
        if artifact == "incomplete":
            backup.fail("incomplete", f"{path}: backup still running or interrupted (.incomplete)")
            _flags(backup, self.fetched.heads.get(path) or [])
            return backup
        if info.size == 0:
            backup.fail("failed", f"{path}: empty stream: the backup did not start")
            return backup
        if path in self.fetched.errors:
            backup.fail("unreadable", self.fetched.errors[path])
            return backup
        tail = self.fetched.tails[path]
        backup.bytes_read = tail.bytes_fetched
        head = self.fetched.heads.get(path, [])
        _flags(backup, tail.names + (head or []))
        if path in self.fetched.compression:
            backup.compression = self.fetched.compression[path]
        if tail.error:
            backup.fail("unreadable", f"{path}: not an xbstream file at offset 0x0" if head is None else tail.error)
            return backup
        rules._read_metadata(backup, tail.members, str(path), self.key, "stream")
        rules._time_from_info(backup)
        return backup

    def node_backup(self, node: Node, label: str, kind: str) -> Backup:
        """A backup made of *node*'s objects: their total size, the newest of their times."""
        objects = list(node.objects())
        newest = max((info.modified for info in objects if info.modified), default=None)
        return self.new_backup(node.path, label, kind, sum(info.size for info in objects), newest)

    def directory(self, node: Node, label: str, lsndir: S3Path | None) -> Backup:
        backup = self.node_backup(node, label, "directory")
        names = [info.name for info in node.objects()]
        backup.encrypted = any(".xbcrypt" in name for name in names)
        backup.compression = next(
            (codec for suffix, codec in rules.DIR_COMPRESSIONS
             if any(name.removesuffix(".xbcrypt").endswith(suffix) for name in names)), None)
        failed = next((self.fetched.errors[node.path / name] for name in node.files
                       if node.path / name in self.fetched.errors), None)
        if failed is not None:
            backup.fail("unreadable", f"{node.path}: cannot read metadata: {failed}")
            return backup
        members = {name: self.fetched.sidecars[node.path / name] for name in node.files
                   if node.path / name in self.fetched.sidecars and name != rules.LOG}
        if not rules._read_metadata(backup, members, str(node.path), self.key, "directory") and lsndir is not None:
            rules._use_lsndir(backup, lsndir, self.files)
        rules._time_from_info(backup)
        return backup

    def xbcloud(self, node: Node, label: str, lsndir: S3Path | None) -> Backup:
        backup = self.node_backup(node, label, "xbcloud")
        if node.path in self.fetched.errors:
            backup.fail("unreadable", self.fetched.errors[node.path])
            return backup
        members, names, error = self.fetched.xbcloud[node.path]
        _flags(backup, names)
        if not any(info + COMPLETE_SUFFIX in node.files for info in INFO):
            backup.fail("incomplete", f"{node.path}: no {INFO[0]}{COMPLETE_SUFFIX}: the xbcloud upload did not finish")
            return backup
        if error:
            backup.fail("unreadable", error)
            return backup
        if not rules._read_metadata(backup, members, str(node.path), self.key, "xbcloud") and lsndir is not None:
            rules._use_lsndir(backup, lsndir, self.files)
        rules._time_from_info(backup)
        return backup

    def backup_dir(self, node: Node, label: str, lsndir: S3Path | None = None) -> Backup | None:
        if _is_xbcloud(node):
            return self.xbcloud(node, label, lsndir)
        if rules._is_backup_dir(node.names()):
            return self.directory(node, label, lsndir)
        return None


def _flags(backup: Backup, names: list[str]) -> None:
    """Compression and encryption from the member names seen (as the local walk's suffix bits)."""
    bits = 0
    for name in names:
        stem = name.removesuffix(".xbcrypt")
        bits |= 8 if stem != name else 0
        bits |= next((flag for suffix, flag in SUFFIX_FLAGS.items() if stem.endswith(suffix)), 0)
    backup.compression = next((codec for flag, codec in COMPRESSIONS.items() if bits & flag), None)
    backup.encrypted = bool(bits & 8)


def _find(reader: _Reader, top: Node) -> list[Day]:
    found = reader.backup_dir(top, top.path.name)
    if found is not None:
        day = Day(top.path.name, top.path)
        day.backups.append(found)
        return [day]
    days: list[Day] = []
    _collect(reader, top, "", 0, days)
    return days


def _collect(reader: _Reader, node: Node, rel: str, depth: int, days: list[Day]) -> None:
    label = rel or node.path.name
    names = node.names()
    if rules._is_series(names):
        days.append(_read_series(reader, node, label))
        return
    if rules._is_day(label.rsplit("/", 1)[-1], names):
        days.append(_read_day(reader, node, label))
        return
    if depth >= rules.MAX_DEPTH:
        return
    children = [(name, node.dirs[name]) for name in sorted(node.dirs) if not name.startswith(".")]
    if any(rules._is_backup_dir(child.names()) or _is_xbcloud(child) for _name, child in children):
        days.append(_read_day(reader, node, label))
        return
    for name, child in children:
        _collect(reader, child, f"{rel}/{name}" if rel else name, depth + 1, days)


def _read_day(reader: _Reader, node: Node, label: str) -> Day:
    day = Day(label, node.path)
    for name in sorted(node.names()):
        if name.endswith(rules.INCOMPLETE) and name in node.files:
            day.backups.append(reader.stream(node, name, name, "incomplete"))
        elif name.endswith(rules.STREAM) and name in node.files:
            day.backups.append(reader.stream(node, name, name, "stream"))
        elif name in node.dirs and not name.startswith("."):
            child = node.dirs[name]
            found = reader.backup_dir(child, name)
            if found is not None:
                day.backups.append(found)
                continue
            for sub_name in sorted(child.dirs):
                found = reader.backup_dir(child.dirs[sub_name], f"{name}/{sub_name}")
                if found is not None:
                    day.backups.append(found)
    rules._judge_latest(day, reader.files)
    rules._mark_copies(day)
    return day


def _read_series(reader: _Reader, node: Node, label: str) -> Day:
    day = Day(label, node.path, single_full=False)
    lsns = node.path / "lsns"
    for folder in ("full", "incr"):
        parent = node.dirs.get(folder)
        if parent is None:
            continue
        for child_name in sorted(parent.names()):
            child_label = f"{folder}/{child_name}"
            if child_name.endswith(rules.INCOMPLETE) and child_name in parent.files:
                backup = reader.stream(parent, child_name, child_label, "incomplete")
            elif child_name.endswith(rules.STREAM) and child_name in parent.files:
                backup = reader.stream(parent, child_name, child_label, "stream")
                if backup.state == "key-required":
                    rules._use_lsndir(backup, lsns / child_name[: -len(rules.STREAM)], reader.files)
            elif child_name in parent.dirs:
                backup = reader.backup_dir(parent.dirs[child_name], child_label, lsns / child_name)
                if backup is None:
                    continue
            else:
                continue
            if backup.kind is None:
                backup.kind = "full" if folder == "full" else "incremental"
            day.backups.append(backup)
    return day


def scan_bucket(spec, key: bytes | None = None, *, threads: int = THREADS, client=None) -> Inventory:
    """Inventory ``s3://bucket/prefix`` (or its `S3Path`); `Inventory.fetched` says what was downloaded.

    Raises StorageError (one line) when the bucket cannot be listed, and
    BackupRootError when nothing is stored under the prefix.
    """
    path = root_path(spec)
    root = BucketRoot(S3Location(path.bucket, path.key + "/" if path.key else ""), client, max_connections=threads)
    top, by_path = _tree(root)
    if not top.files and not top.dirs:
        raise BackupRootError(f"{root.url}: cannot read backup root: no objects under this prefix")
    fetched = _fetch(root, top, threads)
    reader = _Reader(root, fetched, BucketFiles(root, fetched, by_path), key)
    inventory = rules._linked(path, _find(reader, top))
    inventory.fetched = root.counter.bytes
    inventory.requests = root.counter.requests
    return inventory
