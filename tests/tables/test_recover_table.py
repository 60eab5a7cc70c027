"""recover-table against real servers: an incident on a production sandbox whose other tables keep changing.

One backup of shop.* is taken; then tables are dropped and emptied and a
writer keeps inserting into shop.busy while recover-table restores the backup
into a throwaway server and brings the tables back. Rows and checksums are
compared with what was backed up; production's pid and uptime prove it was
never restarted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.tables import recover
from xtrarestore.tui.cli import main

from .conftest import TABLES as TABLES_IN_BACKUP
from .conftest import identity, snapshot

pytestmark = pytest.mark.mariadb


def command(incident, workroot, state, *args) -> list[str]:
    return [
        "recover-table",
        "--root",
        str(incident.root),
        "--day",
        incident.day,
        "--upto",
        incident.upto,
        "--socket",
        str(incident.production.socket),
        "--workdir",
        str(workroot),
        "--state-dir",
        str(state),
        "--reports-dir",
        str(state / "reports"),
        *args,
    ]


def tables_of(server: SandboxServer, schema: str = "shop") -> set[str]:
    return {row[0] for row in server.execute(f"SHOW TABLES FROM `{schema}`")}


def throwaway_processes(workroot: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(workroot).encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


class Writer(threading.Thread):
    """Production keeps working: inserts into shop.busy until stopped."""

    def __init__(self, server: SandboxServer):
        super().__init__(daemon=True)
        self.server, self.stop, self.written = server, threading.Event(), 0

    def run(self) -> None:
        with self.server.connect() as conn, conn.cursor() as cur:
            while not self.stop.is_set():
                cur.execute("INSERT INTO shop.busy (v) VALUES (%s)", (f"w{self.written}",))
                self.written += 1
                time.sleep(0.01)


@pytest.fixture(scope="module")
def recovered(incident, tmp_path_factory):
    """The incident and its recovery in one CLI run: (exit status, report, pid/uptime before and after, writer)."""
    production = incident.production
    production.execute(
        "DROP TABLE shop.orders",
        "DELETE FROM shop.events",
        "DELETE FROM shop.child WHERE id > 10",
        "DROP TABLE shop.notes",
        "DELETE FROM shop.tally",
    )
    state = tmp_path_factory.mktemp("state")
    workroot = Path(f"/var/tmp/xtrarestore-test-tables-{os.getpid()}")
    workroot.mkdir(mode=0o711)
    writer = Writer(production)
    writer.start()
    before = identity(production)
    began = time.monotonic()
    status = main(
        command(
            incident,
            workroot,
            state,
            "--table",
            "shop.orders",
            "--table",
            "shop.events",
            "--table",
            "shop.child",
            "--table",
            "shop.tally",
        )
    )
    notes = main(command(incident, workroot, state, "--table", "shop.notes", "--as", "shop.notes"))
    elapsed = time.monotonic() - began
    writer.stop.set()
    writer.join()
    after = identity(production)
    reports = [json.loads(p.read_text()) for p in sorted((state / "reports").glob("*.json"))]
    leftovers = sorted(os.listdir(workroot)), throwaway_processes(workroot)
    os.rmdir(workroot)
    return {
        "status": (status, notes),
        "reports": reports,
        "before": before,
        "after": after,
        "elapsed": elapsed,
        "writer": writer,
        "leftovers": leftovers,
        "state": state,
    }


def target_of(recovered, source: str) -> dict:
    return next(t for r in recovered["reports"] for t in r["tables"] if t["source"] == source)


def test_recovery_succeeds_and_production_is_never_restarted(recovered):
    assert recovered["status"] == (0, 0)
    pid_before, uptime_before = recovered["before"]
    pid_after, uptime_after = recovered["after"]
    assert pid_after == pid_before
    assert uptime_after >= uptime_before + int(recovered["elapsed"]) - 1
    assert all(r["production"]["after"]["uptime"] >= r["production"]["before"]["uptime"] for r in recovered["reports"])


@pytest.mark.parametrize(
    ("table", "method"),
    [
        ("orders", "tablespace"),
        ("events", "partitions"),
        ("child", "tablespace"),
        ("tally", "logical"),
        ("notes", "logical"),
    ],
)
def test_each_table_comes_back_with_exact_rows_and_checksum(incident, recovered, table, method):
    moved = target_of(recovered, f"shop.{table}")
    schema, name = moved["target"].split(".", 1)
    rows, checksum = snapshot(incident.production, schema, name)
    assert (rows, checksum) == incident.before[table]
    assert moved["method"] == method and moved["verified"]
    assert moved["checksum"] == checksum


def test_tables_come_back_under_a_new_name_or_the_one_given(incident, recovered):
    shop = tables_of(incident.production)
    assert "orders" not in shop and "notes" in shop  # notes was given --as shop.notes
    assert target_of(recovered, "shop.notes")["target"] == "shop.notes"
    for source in ("orders", "events"):
        target = target_of(recovered, f"shop.{source}")["target"]
        assert target.startswith(f"shop.{source}__restored_") and target.split(".", 1)[1] in shop
    assert incident.production.execute("SELECT COUNT(*) FROM shop.events")[0][0] == 0  # the live one untouched


def test_production_kept_its_later_writes(incident, recovered):
    writer = recovered["writer"]
    assert writer.written > 0
    assert incident.production.execute("SELECT COUNT(*) FROM shop.busy")[0][0] == writer.written
    assert incident.production.execute("SELECT COUNT(*) FROM shop.child")[0][0] == 10


def test_foreign_keys_are_reported_not_silently_dropped(recovered):
    report = next(r for r in recovered["reports"] if any(t["source"] == "shop.child" for t in r["tables"]))
    assert any("-> shop.parent (id) [child_parent]: 0 orphan rows" in line for line in report["foreign_keys"])
    assert any("child_parent" in note and "created without" in note for note in report["notes"])


def test_no_throwaway_server_or_directory_is_left(recovered):
    assert recovered["leftovers"] == ([], [])
    journals = sorted((recovered["state"] / "tables").glob("*.jsonl"))
    assert len(journals) == 2
    for journal in journals:
        events = [json.loads(line)["event"] for line in journal.read_text().splitlines()]
        assert events[0] == "begin" and events[-1] == "finished" and "throwaway-removed" in events


def test_a_target_name_that_exists_is_refused_before_anything(incident, workroot, tmp_path, capsys):
    before = tables_of(incident.production)
    status = main(command(incident, workroot, tmp_path, "--table", "shop.child", "--as", "shop.parent"))
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and "shop.parent: already exists in production" in err[0]
    assert tables_of(incident.production) == before and os.listdir(workroot) == []


def test_replacing_a_referenced_table_is_refused(incident, workroot, tmp_path, capsys):
    status = main(command(incident, workroot, tmp_path, "--table", "shop.parent", "--replace", "--yes"))
    err = capsys.readouterr().err.strip()
    assert status == 2 and "referenced by shop.child" in err and "\n" not in err


def test_a_stop_point_the_binlogs_cannot_reach_is_refused_before_anything(incident, workroot, tmp_path, capsys):
    status = main(command(incident, workroot, tmp_path, "--table", "shop.child", "--until", "gtid:0-21-999999"))
    err = capsys.readouterr().err.strip()
    assert status == 2 and "0-21-999999" in err and "\n" not in err
    assert os.listdir(workroot) == []


def test_a_table_not_in_the_backup_is_refused_from_its_own_file_list(incident, workroot, tmp_path, capsys):
    before = tables_of(incident.production)
    status = main(command(incident, workroot, tmp_path, "--table", "shop.busy2"))
    err = capsys.readouterr().err.strip()
    assert status == 2 and err == f"xtrarestore: shop.busy2: not in the backup ({incident.upto} has no such table)"
    assert tables_of(incident.production) == before and os.listdir(workroot) == []


def test_a_table_the_restored_server_lacks_fails_in_one_line_production_unchanged(incident, workroot, tmp_path, capsys):
    """A name the file list cannot prove absent (file-name encoded) is checked on the restored server."""
    before = tables_of(incident.production)
    status = main(command(incident, workroot, tmp_path, "--table", "shop.no-such"))
    out = capsys.readouterr().out
    assert status == 1
    assert "Recovery FAILED: shop.no-such: not in the backup" in out
    assert tables_of(incident.production) == before
    assert os.listdir(workroot) == [] and throwaway_processes(workroot) == []


def test_the_backup_lists_its_own_tables(incident):
    from xtrarestore.core.inventory.scan import scan
    from xtrarestore.core.tables.catalog import backup_tables

    backup = next(b for d in scan(incident.root).days for b in d.backups if b.name == incident.upto)
    assert backup_tables(backup) == [("shop", t) for t in sorted(["busy", *TABLES_IN_BACKUP])]


def test_replace_swaps_after_confirmation_and_keeps_the_old_rows_aside(incident, workroot, tmp_path, monkeypatch):
    production = incident.production
    production.execute("CREATE TABLE shop.gauge (id INT PRIMARY KEY, v INT)")  # not in the backup: a control
    production.execute("INSERT INTO shop.tally VALUES (999, 1)")  # the live table's rows now
    monkeypatch.setattr("builtins.input", lambda prompt: "shop.tally")
    status = main(command(incident, workroot, tmp_path, "--table", "shop.tally", "--replace"))
    assert status == 0
    assert snapshot(production, "shop", "tally") == incident.before["tally"]
    aside = [t for t in tables_of(production) if t.startswith("tally__before_")]
    assert len(aside) == 1
    assert production.execute(f"SELECT * FROM shop.`{aside[0]}`") == [(999, 1)]


def test_replace_not_confirmed_leaves_the_live_table(incident, workroot, tmp_path, monkeypatch, capsys):
    production = incident.production
    live = snapshot(production, "shop", "events")
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    status = main(command(incident, workroot, tmp_path, "--table", "shop.events", "--replace"))
    assert status == 0 and "not replaced (not confirmed)" in capsys.readouterr().out
    assert snapshot(production, "shop", "events") == live


def test_import_refused_removes_the_copied_files_and_the_new_table(incident, workroot, tmp_path, capsys):
    """A production server with 4k pages cannot import the backup's 16k tablespace."""
    with SandboxServer.create(options=("innodb-page-size=4k",)) as other:
        status = main(
            [
                "recover-table",
                "--root",
                str(incident.root),
                "--day",
                incident.day,
                "--upto",
                incident.upto,
                "--table",
                "shop.orders",
                "--socket",
                str(other.socket),
                "--workdir",
                str(workroot),
                "--state-dir",
                str(tmp_path),
                "--reports-dir",
                str(tmp_path / "reports"),
            ]
        )
        out = capsys.readouterr().out
        assert status == 1
        assert "IMPORT TABLESPACE refused" in out and "the copied files were removed" in out
        assert other.execute("SHOW DATABASES LIKE 'shop'") == []  # the database it created, empty, went too
        assert not list(other.datadir.glob("shop/*")) and not list(other.datadir.glob("**/orders__restored_*"))
        assert os.listdir(workroot) == []


def test_interrupt_after_the_copy_removes_the_files_never_imported(incident, workroot, tmp_path, monkeypatch):
    """Ctrl-C at the worst moment (files copied, IMPORT not run): they go, and the discarded table too."""
    production = incident.production
    before, files = tables_of(production), set(production.datadir.glob("shop/*"))
    real = recover._noter

    def interrupting(journal):
        note = real(journal)

        def wrapped(event, **fields):
            note(event, **fields)
            if event == "copied":
                assert all(Path(f).exists() for f in fields["files"])
                raise KeyboardInterrupt

        return wrapped

    monkeypatch.setattr(recover, "_noter", interrupting)
    assert main(command(incident, workroot, tmp_path, "--table", "shop.child")) == 130  # the CLI's "interrupted"
    assert tables_of(production) == before
    assert set(production.datadir.glob("shop/*")) == files
    assert os.listdir(workroot) == [] and throwaway_processes(workroot) == []


def test_a_killed_session_is_cleaned_up_by_cleanup(incident, workroot, tmp_path):
    """SIGKILL while the throwaway server runs: --cleanup stops and removes it; the journal says what was done."""
    before = tables_of(incident.production)
    args = [
        sys.executable,
        "-m",
        "xtrarestore.tui.cli",
        *command(incident, workroot, tmp_path, "--table", "shop.child"),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not throwaway_processes(workroot) or not list((tmp_path / "tables").glob("*.jsonl")):
        assert time.monotonic() < deadline and proc.poll() is None, "the throwaway server never started"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert recover.unfinished_sessions(tmp_path)
    status = main(["recover-table", "--cleanup", "--state-dir", str(tmp_path)])
    assert status == 0
    deadline = time.monotonic() + 30
    while throwaway_processes(workroot) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert throwaway_processes(workroot) == [] and os.listdir(workroot) == []
    assert recover.unfinished_sessions(tmp_path) == []
    assert tables_of(incident.production) == before


def test_an_unreachable_production_is_refused_in_one_line(incident, workroot, tmp_path, capsys):
    args = command(incident, workroot, tmp_path, "--table", "shop.child")
    args[args.index("--socket") + 1] = str(tmp_path / "no.sock")
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "no.sock: cannot reach the server" in err and "\n" not in err
    assert os.listdir(workroot) == []


@pytest.fixture
def small_workroot(tmp_path) -> Iterator[Path]:
    """A 4 MB file system: too small for the throwaway server."""
    path = tmp_path / "small"
    path.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4M,mode=0711", "tmpfs", str(path)], check=True)
    yield path
    subprocess.run(["umount", str(path)], check=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small file system needs root")
def test_not_enough_space_for_the_throwaway_server_is_refused_before_anything(
    incident, small_workroot, tmp_path, capsys
):
    before = tables_of(incident.production)
    assert main(command(incident, small_workroot, tmp_path, "--table", "shop.child")) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "space" in err and str(small_workroot) in err, err
    assert os.listdir(small_workroot) == [] and tables_of(incident.production) == before
