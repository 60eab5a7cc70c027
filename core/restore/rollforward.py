"""`xtrarestore-step roll-forward`: apply the binlogs to the restored server up to the stop point.

The fast way (`--method relay`, the default) hands the binlog files to the
server's own replication applier: each file is hard-linked (copied when it is
on another file system, or when the server's user could not read it) as a
relay log of a private replication connection, `xtrarestore_pitr`, and the
SQL thread applies them with `START SLAVE SQL_THREAD UNTIL RELAY_LOG_FILE/POS`
— no SQL re-parsing, one session for all files (temporary tables survive
file boundaries). The applier purges the relay logs it is done with: those
are our links, never the archive's files. Skipped transactions cut the range
into segments; between segments the connection is repositioned past the
skipped one. The replaying server must not have the origin's server_id (the
applier would silently skip "its own" events): it gets another one for the
replay and its own back afterwards. Coordinates are binlog positions resolved
at plan time (`UNTIL master_gtid_pos` is refused with the SQL thread alone),
and MASTER_LOG_FILE/POS are always given (10.11 crashed without them when
`slave_parallel_threads` > 0).

`--method pipe` is the classic `mariadb-binlog … | mariadb`, kept as a
fallback: one client session for every segment.

Resuming is idempotent: the applier records each applied GTID in
`gtid_slave_pos`, so a second run starts after the last one applied. Progress
is printed as `progress {json}` lines (bytes, transactions, GTID reached,
rate, ETA) and a plain line every few seconds; an SQL error ends the step
with one line naming the GTID, the position and the server's message.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import pymysql

from ..binlog import (
    BinlogPosition,
    StopPoint,
    Timeline,
    Transaction,
    build_timeline,
    format_gtid_list,
    open_binlog_sources,
    parse_gtid_list,
    read_backup_position,
    resolve_stop_point,
)
from ..errors import BinlogError, ReplayError, XtraRestoreError
from ..programs import find_program
from .verify import ConnectionParams, params_from

CONNECTION = "xtrarestore_pitr"
PROBE_HOST = "xtrarestore-pitr.invalid"
_NO_CONNECTION = 1617  # ER_SLAVE_NOT_EXISTS / "There is no master connection"


@dataclass
class Outcome:
    """What a roll-forward did: written to the state file, read by drills and the result screen."""

    method: str
    resolved: str  # the stop point as the step resolved it (a position, or `end`)
    gtid_reached: str
    time_reached: str | None
    transactions_applied: int
    transactions_planned: int
    resumed_from: int
    skipped: list[str]
    seconds: float
    position: str


class Positions:
    """Binlog positions of the range as one byte axis, and the transactions by where they end."""

    def __init__(self, timeline: Timeline, transactions: tuple[Transaction, ...] | list[Transaction]):
        self.base: dict[str, int] = {}
        total = 0
        for span in timeline.files:
            self.base[span.name] = total
            total += span.readable_end
        self.ends = [self.offset(t.file, t.end) for t in transactions]

    def offset(self, file: str, pos: int) -> int:
        return self.base.get(file, 0) + pos

    def applied(self, file: str, pos: int) -> int:
        """How many of the transactions end at or before (file, pos)."""
        return bisect.bisect_right(self.ends, self.offset(file, pos))


class Reporter:
    """Prints `progress {json}` for the run screen and a plain line every few seconds."""

    def __init__(self, stop: StopPoint, positions: Positions, first: int, begin: BinlogPosition):
        self.stop, self.positions, self.first = stop, positions, first
        self.began = time.monotonic()
        self.origin = positions.offset(begin.file, begin.pos)
        self.total = positions.offset(stop.stop.file, stop.stop.pos) - self.origin
        self.last_plain = 0.0

    def report(self, file: str, pos: int, *, final: bool = False) -> int:
        done_txn = self.positions.applied(file, pos)
        elapsed = time.monotonic() - self.began
        applied_now = max(done_txn - self.first, 0)
        rate = applied_now / elapsed if elapsed > 0 else 0.0
        remaining = len(self.stop.transactions) - done_txn
        eta = remaining / rate if rate > 0 else None
        txns = self.stop.transactions
        gtid = str(txns[done_txn - 1].gtid) if done_txn else (self.stop.start.gtid or "")
        record = {
            "bytes_done": max(self.positions.offset(file, pos) - self.origin, 0),
            "bytes_total": max(self.total, 0),
            "elapsed": round(elapsed, 2),
            "transactions_done": done_txn,
            "transactions_total": len(txns),
            "gtid": gtid,
            "gtid_target": self.stop.gtid_reached,
            "rate": round(rate, 1),
            "eta": round(eta, 1) if eta is not None else None,
        }
        print(f"progress {json.dumps(record)}", flush=True)
        now = time.monotonic()
        if final or now - self.last_plain >= 5:
            self.last_plain = now
            eta_text = f", ETA {eta:.0f}s" if eta is not None and not final else ""
            print(f"applied {done_txn}/{len(txns)} transactions, at {file}:{pos} (GTID {gtid or 'none'}"
                  f" of {self.stop.gtid_reached or 'none'}), {rate:.0f}/s{eta_text}", flush=True)
        return done_txn


# -- resolving the range again, at run time ------------------------------------------------


def parse_position(text: str, gtid: str = "") -> BinlogPosition:
    file, _, pos = text.rpartition(":")
    if not file or not pos.isdigit():
        raise BinlogError(f"{text[:80]!r}: not FILE:POS")
    return BinlogPosition(file, int(pos), gtid)


def resolve(dirs: list[Path], start: BinlogPosition, until: str, skip: list[str],
            expect_gtid: str | None, backup_dir: Path | None) -> tuple[Timeline, StopPoint]:
    """The plan's stop point, resolved again on the binlogs as they are now (they must still reach it)."""
    if backup_dir is not None and backup_dir.is_dir():
        try:
            recorded = read_backup_position(backup_dir)
        except BinlogError:
            recorded = None
        if recorded is not None and (recorded.file, recorded.pos) != (start.file, start.pos):
            raise BinlogError(f"{backup_dir}: the prepared backup stands at {recorded}, the plan at {start}:"
                              " the plan does not belong to this backup")
    timeline = build_timeline(open_binlog_sources(dirs), start)
    stop = resolve_stop_point(timeline, until, skip)
    if expect_gtid is not None and stop.gtid_reached != expect_gtid:
        raise BinlogError(f"the binlogs changed since the plan: --until {until} now reaches GTID"
                          f" {stop.gtid_reached or 'none'}, the plan expected {expect_gtid or 'none'}")
    return timeline, stop


def already_applied(stop: StopPoint, state: dict) -> int:
    """How many of the stop point's transactions, from the first, the server already holds (by GTID)."""
    count = 0
    for txn in stop.transactions:
        reached = state.get(txn.domain)
        if reached is None or reached.seq < txn.seq:
            break
        count += 1
    return count


def remaining_segments(stop: StopPoint, first: int) -> list[tuple[BinlogPosition, BinlogPosition]]:
    """The segments left once the first *first* transactions are applied."""
    if first == 0:
        return stop.segments
    if first >= len(stop.transactions):
        return []
    begin = stop.transactions[first]
    here = (begin.file, begin.start)
    skipped = tuple(t for t in stop.skipped if (t.file, t.start) >= here)
    return replace(stop, start=BinlogPosition(*here), skipped=skipped).segments


# -- the server side -----------------------------------------------------------------------


def _query(cur, sql: str, args=None):
    cur.execute(sql, args)
    return cur.fetchall()


def _status(conn) -> dict:
    with conn.cursor(pymysql.cursors.DictCursor) as cur:
        cur.execute(f"SHOW SLAVE '{CONNECTION}' STATUS")
        return cur.fetchone() or {}


def _reset_connection(cur) -> None:
    """Forget our replication connection and its relay logs (nothing else is touched)."""
    for sql in (f"STOP SLAVE '{CONNECTION}'", f"RESET SLAVE '{CONNECTION}' ALL"):
        try:
            cur.execute(sql)
        except pymysql.MySQLError as error:
            if error.args[0] != _NO_CONNECTION:
                raise


@dataclass
class RelayLayout:
    """Where the server keeps our connection's relay logs, as it names them in the index."""

    index: Path
    prefix: str  # the text before NNNNNN in an index line, e.g. `./mysqld-relay-bin-xtrarestore_pitr.`
    directory: Path
    uid: int
    gid: int

    def line(self, number: str) -> str:
        return f"{self.prefix}{number}"

    def name(self, number: str) -> str:
        """How CHANGE MASTER and UNTIL name a relay log: as the index does, without a leading `./`."""
        return self.line(number).removeprefix("./")

    def path(self, number: str) -> Path:
        return self.directory / Path(self.line(number)).name


def probe_relay_layout(cur, datadir: Path) -> RelayLayout:
    """Let the server create our connection once to learn its relay-log names, then forget it again."""
    _reset_connection(cur)
    cur.execute(f"CHANGE MASTER '{CONNECTION}' TO MASTER_HOST=%s, MASTER_USE_GTID=no", (PROBE_HOST,))
    basename = _query(cur, "SELECT @@relay_log_basename")[0][0]
    candidates = [Path(basename).parent] if basename else []
    candidates.append(datadir)
    index = next((p for d in candidates for p in d.glob(f"*-{CONNECTION}.index")), None)
    if index is None:
        _reset_connection(cur)
        raise ReplayError(f"{datadir}: the server created no relay-log index for {CONNECTION}; cannot replay")
    first = index.read_text().splitlines()[0].strip()
    prefix = first[: first.rindex(".") + 1]
    info = index.stat()
    _reset_connection(cur)
    directory = Path(first).parent if Path(first).is_absolute() else index.parent / Path(first).parent
    return RelayLayout(index=index, prefix=prefix, directory=directory.resolve(), uid=info.st_uid, gid=info.st_gid)


def _readable_by(path: Path, uid: int, gid: int) -> bool:
    info = path.stat()
    if info.st_uid == uid:
        return bool(info.st_mode & 0o400)
    if info.st_gid == gid:
        return bool(info.st_mode & 0o040)
    return bool(info.st_mode & 0o004)


RELAY_MARGIN = 64 << 20  # left free beside the relay copies, for what the replay itself writes


def _linkable(path: Path, layout: RelayLayout) -> bool:
    """Can *path* become a relay log by a hard link: same file system, and the server's user may read it?"""
    same_fs = path.stat().st_dev == layout.directory.stat().st_dev
    return same_fs and (_readable_by(path, layout.uid, layout.gid) or os.geteuid() == layout.uid)


def check_relay_space(layout: RelayLayout, files: list[Path]) -> None:
    """Binlogs that must be copied (another file system, unreadable by the server) need room beside the
    relay logs: refuse before copying anything rather than fill the restored server's disk."""
    copied = [path for path in files if not _linkable(path, layout)]
    if not copied:
        return
    needed = sum(path.stat().st_size for path in copied)
    free = shutil.disk_usage(layout.directory).free
    if free < needed + RELAY_MARGIN:
        raise ReplayError(f"{layout.directory}: needs {needed >> 20} MiB for relay copies of {len(copied)} binlog "
                          f"file(s) from {copied[0].parent} that cannot be hard-linked (another file system, or "
                          f"unreadable by the server) and {RELAY_MARGIN >> 20} MiB to spare, {free >> 20} MiB free;"
                          " free space there or use --replay pipe")


def place_relay_logs(layout: RelayLayout, files: list[Path]) -> list[str]:
    """Hard-link (or copy) each binlog as a relay log and write the index; returns the index lines."""
    check_relay_space(layout, files)
    lines = []
    for path in files:
        number = path.name.rsplit(".", 1)[1]
        relay = layout.path(number)
        relay.unlink(missing_ok=True)
        linked = False
        if _linkable(path, layout):
            try:
                os.link(path, relay)
                linked = True
            except OSError:
                linked = False
        if not linked:  # another file system, or the server's user could not read the archive's file
            try:
                shutil.copyfile(path, relay)
            except OSError as error:
                relay.unlink(missing_ok=True)
                raise ReplayError(f"{relay}: cannot copy {path} as a relay log: {error.strerror or error}") from None
            if os.geteuid() == 0:
                os.chown(relay, layout.uid, layout.gid)
            os.chmod(relay, 0o640)
        lines.append(layout.line(number))
    layout.index.write_text("".join(f"{line}\n" for line in lines))
    if os.geteuid() == 0:
        os.chown(layout.index, layout.uid, layout.gid)
    return lines


def remove_relay_logs(layout: RelayLayout | None, files: list[Path]) -> None:
    if layout is None:
        return
    for path in files:
        layout.path(path.name.rsplit(".", 1)[1]).unlink(missing_ok=True)
    layout.index.unlink(missing_ok=True)


def _number(name: str) -> str:
    return name.rsplit(".", 1)[1]


def _position_to(cur, layout: RelayLayout, at: BinlogPosition) -> None:
    cur.execute(
        f"CHANGE MASTER '{CONNECTION}' TO MASTER_HOST=%s, MASTER_USE_GTID=no, RELAY_LOG_FILE=%s,"
        " RELAY_LOG_POS=%s, MASTER_LOG_FILE=%s, MASTER_LOG_POS=%s",
        (PROBE_HOST, layout.name(_number(at.file)), at.pos, at.file, at.pos),
    )


def relay_replay(params: ConnectionParams, timeline: Timeline, stop: StopPoint, first: int,
                 segments: list[tuple[BinlogPosition, BinlogPosition]], state: StepState, *,
                 poll: float = 0.5) -> int:
    """Apply *segments* with the server's SQL thread; returns the number of transactions applied in all."""
    files = [Path(span.path) for span in timeline.files
             if (span.name >= segments[0][0].file and span.name <= segments[-1][1].file)]
    positions = Positions(timeline, stop.transactions)
    reporter = Reporter(stop, positions, first, segments[0][0])
    conn = params.connect(timeout=30)
    layout = None
    original_id = None
    done = first
    try:
        with conn.cursor() as cur:
            datadir = Path(_query(cur, "SELECT @@datadir")[0][0])
            original_id = state.data.get("server_id") or _query(cur, "SELECT @@server_id")[0][0]
            origins = {span.server_id for span in timeline.files} | {t.server_id for t in stop.transactions}
            if original_id in origins:
                replay_id = max(origins | {original_id}) % 4294967294 + 1
                print(f"server_id {original_id} is the binlogs' own: replaying as server_id {replay_id}", flush=True)
                state.save(server_id=original_id)
                cur.execute("SET GLOBAL server_id = %s", (replay_id,))
            else:
                original_id = None
            layout = probe_relay_layout(cur, datadir)
            place_relay_logs(layout, files)
            for begin, end in segments:
                _position_to(cur, layout, begin)
                cur.execute(f"START SLAVE '{CONNECTION}' SQL_THREAD UNTIL RELAY_LOG_FILE=%s, RELAY_LOG_POS=%s",
                            (layout.name(_number(end.file)), end.pos))
                while True:
                    time.sleep(poll)
                    status = _status(conn)
                    at_file = status.get("Relay_Master_Log_File") or begin.file
                    at_pos = int(status.get("Exec_Master_Log_Pos") or begin.pos)
                    done = reporter.report(at_file, at_pos)
                    if status.get("Slave_SQL_Running") != "No":
                        if "read all relay log" in str(status.get("Slave_SQL_Running_State") or ""):
                            if (at_file, at_pos) == (end.file, end.pos):
                                # UNTIL at the very end of the last file: no event follows to trip it
                                cur.execute(f"STOP SLAVE '{CONNECTION}' SQL_THREAD")
                                break
                            raise ReplayError(f"the applier read every relay log but stands at {at_file}:{at_pos},"
                                              f" short of {end}: the binlogs end early")
                        continue
                    if int(status.get("Last_SQL_Errno") or 0):
                        failed = stop.transactions[done] if done < len(stop.transactions) else None
                        what = f"GTID {failed.gtid} at {failed.file}:{failed.start}" if failed else f"{at_file}:{at_pos}"
                        message = " ".join(str(status.get("Last_SQL_Error") or "").split())[:300]
                        raise ReplayError(f"roll-forward stopped applying {what}: {message}")
                    if (at_file, at_pos) != (end.file, end.pos):
                        raise ReplayError(f"roll-forward stopped at {at_file}:{at_pos}, not at {end}: the applier"
                                          " stopped early (see the server's error log)")
                    break
            done = reporter.report(stop.stop.file, stop.stop.pos, final=True)
    finally:
        try:
            with conn.cursor() as cur:
                _reset_connection(cur)
                if original_id is not None:
                    cur.execute("SET GLOBAL server_id = %s", (original_id,))
                    state.save(server_id=None)
        finally:
            conn.close()
            remove_relay_logs(layout, files)
    return done


def pipe_replay(params: ConnectionParams, defaults_file: Path | None, timeline: Timeline, stop: StopPoint,
                first: int, segments: list[tuple[BinlogPosition, BinlogPosition]], state: StepState) -> int:
    """`mariadb-binlog … | mariadb`: every segment into one client session, not binlogged on the restored server.

    The client records no GTIDs as it goes, so an interrupted pipe cannot be
    resumed: the state file says it started, and a second run refuses.
    """
    if state.data.get("pipe_started"):
        raise ReplayError(f"{state.path}: an earlier pipe replay was interrupted part-way and what it applied is"
                          " unknown: roll the restore back and run it again")
    reader_tool = str(find_program(["mariadb-binlog", "mysqlbinlog"]))  # a missing one is said before anything runs
    client = [str(find_program(["mariadb", "mysql"]))]
    state.save(pipe_started=True)
    paths = {span.name: span.path for span in timeline.files}
    if defaults_file:
        client.append(f"--defaults-file={defaults_file}")
    client += ["--binary-mode", "--batch"]
    client += [f"--socket={params.socket}"] if params.socket else [f"--host={params.host}", f"--port={params.port}"]
    if not defaults_file and params.user:
        client.append(f"--user={params.user}")
    reporter = Reporter(stop, Positions(timeline, stop.transactions), first, segments[0][0])
    sink = subprocess.Popen(client, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        sink.stdin.write(b"SET SESSION sql_log_bin = 0;\n")
        for begin, end in segments:
            names = [n for n in paths if begin.file <= n <= end.file]
            argv = [reader_tool, f"--start-position={begin.pos}", f"--stop-position={end.pos}",
                    *(paths[n] for n in names)]
            sink.stdin.flush()
            reader = subprocess.run(argv, check=False, stdout=sink.stdin, stderr=subprocess.PIPE)
            if reader.returncode != 0 and sink.poll() is None:
                raise ReplayError(f"mariadb-binlog {names[0]}: {reader.stderr.decode(errors='replace').strip()[:300]}")
            if sink.poll() is not None:
                break
            reporter.report(end.file, end.pos)
        try:
            sink.stdin.close()
        except BrokenPipeError:
            pass
        error = sink.stderr.read().decode(errors="replace").strip()
        if sink.wait() != 0:
            raise ReplayError(f"mariadb (the pipe's client): {' '.join(error.split())[:300] or 'failed'}")
    except BrokenPipeError:
        raise ReplayError(f"mariadb (the pipe's client): {sink.stderr.read().decode(errors='replace')[:300]}") from None
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    with params.connect(timeout=30) as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL gtid_slave_pos = %s", (stop.gtid_reached,))
    state.save(pipe_started=False)
    return reporter.report(stop.stop.file, stop.stop.pos, final=True)


class StepState:
    """The step's own notes across runs (JSON beside the plan's workspace): the server's GTID position before
    the first run, its server_id while replaying under another, whether a pipe started."""

    def __init__(self, path: Path | None):
        self.path = path
        self.data: dict = {}
        if path is not None and path.exists():
            try:
                self.data = json.loads(path.read_text())
            except ValueError:
                raise ReplayError(f"{path}: unreadable roll-forward state; remove it only if nothing was applied") from None

    def save(self, **values) -> None:
        self.data.update(values)
        if self.path is not None:
            temporary = self.path.with_name(self.path.name + ".tmp")
            temporary.write_text(json.dumps(self.data, indent=1))
            os.replace(temporary, self.path)


def server_gtid_state(params: ConnectionParams) -> dict:
    """The GTIDs the server has applied as a replica (`gtid_slave_pos`), by domain."""
    with params.connect(timeout=30) as conn, conn.cursor() as cur:
        return parse_gtid_list(_query(cur, "SELECT @@gtid_slave_pos")[0][0] or "")


@contextmanager
def relaxed_flush(params: ConnectionParams, state: StepState) -> Iterator[None]:
    """No fsync per replayed commit (`innodb_flush_log_at_trx_commit=2`) while replaying, the server's own
    setting back afterwards. Safe for a replay: `gtid_slave_pos` commits in the same redo log as the data, so
    after a crash the step resumes exactly where the recovered server stands."""
    with params.connect(timeout=30) as conn, conn.cursor() as cur:
        original = state.data.get("flush_log_at_trx_commit")
        if original is None:
            original = int(_query(cur, "SELECT @@innodb_flush_log_at_trx_commit")[0][0])
            state.save(flush_log_at_trx_commit=original)
        if original == 1:
            print("innodb_flush_log_at_trx_commit 1 -> 2 while replaying (set back afterwards)", flush=True)
            cur.execute("SET GLOBAL innodb_flush_log_at_trx_commit = 2")
    try:
        yield
    finally:
        with params.connect(timeout=30) as conn, conn.cursor() as cur:
            cur.execute("SET GLOBAL innodb_flush_log_at_trx_commit = %s", (original,))
        state.save(flush_log_at_trx_commit=None)


def roll_forward(params: ConnectionParams, timeline: Timeline, stop: StopPoint, *, method: str = "relay",
                 defaults_file: Path | None = None, state: StepState | None = None) -> Outcome:
    """Apply *stop*'s transactions the server does not hold yet; the outcome says how far it got."""
    state = state or StepState(None)
    began = time.monotonic()
    current = server_gtid_state(params)
    if "initial_slave_pos" not in state.data:
        state.save(initial_slave_pos=format_gtid_list(current))
    # gtid_slave_pos restored with the backup (the origin was once a replica) says nothing about this replay
    moved = format_gtid_list(current) != state.data["initial_slave_pos"]
    first = already_applied(stop, current) if moved else 0
    if first:
        print(f"resuming: the server already holds {first} of the {len(stop.transactions)} transactions"
              f" (up to GTID {stop.transactions[first - 1].gtid})", flush=True)
    segments = remaining_segments(stop, first)
    print(f"roll forward: {stop.describe()}", flush=True)
    if not segments:
        done = first
        print("nothing left to apply", flush=True)
    elif method == "pipe":
        with relaxed_flush(params, state):
            done = pipe_replay(params, defaults_file, timeline, stop, first, segments, state)
    else:
        with relaxed_flush(params, state):
            done = relay_replay(params, timeline, stop, first, segments, state)
    last = stop.transactions[done - 1] if done else None
    outcome = Outcome(
        method=method, resolved=stop.until.describe(), gtid_reached=stop.gtid_reached,
        time_reached=last.when.strftime("%Y-%m-%d %H:%M:%S UTC") if last else None,
        transactions_applied=done - first, transactions_planned=len(stop.transactions), resumed_from=first,
        skipped=[str(t.gtid) for t in stop.skipped], seconds=round(time.monotonic() - began, 2),
        position=str(stop.stop),
    )
    reached = format_gtid_list(server_gtid_state(params))
    print(f"reached GTID {outcome.gtid_reached or 'none'} at {stop.stop}"
          f" ({outcome.time_reached or 'no transaction applied'}); server gtid_slave_pos {reached or 'empty'}",
          flush=True)
    return outcome


def _terminate(signum, frame):
    raise KeyboardInterrupt


def run(argv: list[str]) -> int:
    """`xtrarestore-step roll-forward …`."""
    parser = argparse.ArgumentParser(prog="xtrarestore-step roll-forward")
    parser.add_argument("--socket")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--defaults-file", type=Path)
    parser.add_argument("--binlog-dir", type=Path, action="append", default=[], required=True)
    parser.add_argument("--start", required=True, help="the backup's binlog position, FILE:POS")
    parser.add_argument("--start-gtid", default="")
    parser.add_argument("--until", default="end")
    parser.add_argument("--skip", action="append", default=[])
    parser.add_argument("--expect-gtid")
    parser.add_argument("--method", choices=("relay", "pipe"), default="relay")
    parser.add_argument("--backup-dir", type=Path)
    parser.add_argument("--state", type=Path, help="write what was applied here as JSON")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        params = params_from(args.socket, args.host, args.port, args.defaults_file)
        timeline, stop = resolve(args.binlog_dir, parse_position(args.start, args.start_gtid), args.until,
                                 args.skip, args.expect_gtid, args.backup_dir)
        state = StepState(args.state)
        outcome = roll_forward(params, timeline, stop, method=args.method, defaults_file=args.defaults_file,
                               state=state)
    except XtraRestoreError as error:
        print(f"error: {error}", flush=True)
        return 1
    except pymysql.MySQLError as error:
        print(f"error: the restored server: {error.args[-1]}", flush=True)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted; the applied transactions stay (run the step again to continue)", flush=True)
        return 1
    state.save(outcome=outcome.__dict__)
    return 0
