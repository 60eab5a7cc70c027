"""A drill and a restore straight from the bucket, over a real sandbox "production" server.

Backups of the production server (a full with a slide, an incremental adding a
swing; the chain again encrypted, and again as extracted directories) are
uploaded to SeaweedFS under `prod/db1/`. Restores run the real CLI in a
subprocess that gets the read-only identity only through the standard AWS
environment; the steps inherit it. The bucket is unchanged afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from xtrarestore.core.archive.transcode import encrypt_stream
from xtrarestore.core.drills.drill import drill
from xtrarestore.core.drills.sandbox import SandboxServer
from xtrarestore.core.programs import find_program
from xtrarestore.core.restore.journal import find_journal, load_state

from .bucket_support import bucket_state, upload_tree
from .conftest import BUCKET

pytestmark = [pytest.mark.s3, pytest.mark.mariadb]
CLI = [sys.executable, "-m", "xtrarestore.tui.cli"]
ROOT = f"s3://{BUCKET}/prod"


@pytest.fixture(scope="module")
def production(seaweed, uploaded):
    base = Path(tempfile.mkdtemp(prefix="xtrarestore-s3-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    server = None
    try:
        server = SandboxServer.create(base / "prod")
        server.load_playground()
        local = base / "backups"
        server.add_equipment("slide", 2, "blue")
        full = server.take_backup(local / "Mon")
        server.add_equipment("swing", 10, "yellow")
        inc = server.take_backup(local / "Mon")
        key = base / "encryption_key"
        key.write_bytes(secrets.token_bytes(32))
        (local / "Enc").mkdir()
        for src in (full, inc):
            encrypt_stream(src, local / "Enc" / src.name, key.read_bytes())
            target = local / "Dirs" / src.name.removesuffix(".xbstream")
            target.mkdir(parents=True)
            with open(src, "rb") as stream:
                subprocess.run([str(find_program(["mbstream"])), "-x", "-C", str(target)], stdin=stream, check=True)
        upload_tree(seaweed.admin_client(), BUCKET, local, "prod/db1")
        yield NS(server=server, base=base, full=full, inc=inc, key=key, runs=iter(range(1000)),
                 before=bucket_state(seaweed.admin_client(), BUCKET))
    finally:
        if server is not None:
            server.destroy()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def workroot() -> Path:
    path = Path(tempfile.mkdtemp(prefix="xtrarestore-s3-drill-", dir="/var/tmp"))
    os.chmod(path, 0o711)  # `mysql` must reach the sandbox below it
    yield path
    shutil.rmtree(path, ignore_errors=True)


def rows(server) -> list[str]:
    return [row[0] for row in server.execute("SELECT type FROM playground.equipment ORDER BY id")]


def restore_args(production, day: str, upto: str, *extra: str) -> list[str]:
    server = production.server
    run = next(production.runs)
    return [
        "restore", "--root", ROOT, "--day", day, "--upto", upto,
        "--datadir", str(server.datadir), "--stop-cmd", server.stop_cmd, "--start-cmd", server.start_cmd,
        "--socket", str(server.socket), "--defaults-file", str(server.config),
        "--state-dir", str(production.base / "state"), "--workdir", str(production.base / "work" / str(run)),
        "--stop-timeout", "30", "--start-timeout", "60", *extra, "--yes",
    ]


def cli(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, *args], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def no_secrets(production, seaweed) -> None:
    """Neither the key id nor the secret of the identity in use is in the journal or the step logs."""
    written = [p for p in (production.base / "state").rglob("*") if p.is_file()]
    written += [p for p in (production.base / "work").rglob("*.log")]
    assert written
    for path in written:
        data = path.read_bytes()
        assert not any(secret.encode() in data for secret in seaweed.reader)


def test_drill_from_the_bucket_returns_the_rows(production, seaweed, s3_env, workroot):
    result = drill(ROOT, "db1/Mon", production.inc.name, workroot=workroot)
    assert result.ok, result.error
    assert {f"{t.schema}.{t.table}": t.rows for t in result.tables}["playground.equipment"] == 2
    assert [m["name"] for m in result.restore_point["members"]] == [production.full.name, production.inc.name]
    full_only = drill(ROOT, "db1/Mon", production.full.name, workroot=workroot)
    assert full_only.ok and {t.table: t.rows for t in full_only.tables}["equipment"] == 1
    assert bucket_state(seaweed.admin_client(), BUCKET) == production.before


def test_restore_from_the_bucket_then_encrypted_then_directories(production, seaweed, s3_env):
    server = production.server
    result = cli(*restore_args(production, "db1/Mon", production.full.name))
    assert rows(server) == ["slide"] and "The restore completed." in result.stdout
    plan = load_state(find_journal(production.base / "state")).plan
    extract = next(step for step in plan.steps if step.name.startswith("extract"))
    assert f"{ROOT}/db1/Mon/{production.full.name}" in extract.argv  # read from the bucket, never copied first
    time.sleep(1.1)  # the next aside gets its own second-resolution stamp
    cli(*restore_args(production, "db1/Mon", production.inc.name))
    assert rows(server) == ["slide", "swing"]
    time.sleep(1.1)
    cli(*restore_args(production, "db1/Enc", production.inc.name, "--key-file", str(production.key)))
    assert rows(server) == ["slide", "swing"]
    time.sleep(1.1)
    result = cli(*restore_args(production, "db1/Dirs", production.full.name.removesuffix(".xbstream")))
    assert rows(server) == ["slide"] and "copy-dir" in result.stdout
    no_secrets(production, seaweed)
    assert bucket_state(seaweed.admin_client(), BUCKET) == production.before


def test_plan_from_the_bucket_names_the_objects(production, s3_env):
    server = production.server
    result = cli("plan", "--root", ROOT, "--day", "db1/Mon", "--upto", production.inc.name,
                 "--datadir", str(server.datadir), "--stop-cmd", server.stop_cmd, "--start-cmd", server.start_cmd,
                 "--socket", str(server.socket), "--defaults-file", str(server.config))
    assert f"{ROOT}/db1/Mon/{production.full.name}" in result.stdout


def test_a_bucket_restore_cut_off_mid_extraction_resumes_from_the_bucket(production, seaweed, s3_env):
    """The network keeps cutting every connection after 2 MiB: the extraction fails in one line naming the
    object, production untouched; once the network is back, `status --resume` reads the bucket again."""
    server = production.server
    server.add_equipment("canary", 1, "red")  # live data no backup has
    before = rows(server)
    s3_env.cut_next(10_000, 2 << 20)
    failed = subprocess.run([*CLI, *restore_args(production, "db1/Mon", production.inc.name)], capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert failed.returncode == 1, failed.stdout[-3000:] + failed.stderr[-3000:]
    state = load_state(find_journal(production.base / "state"))
    broken = next(step for step in state.steps if step.status == "failed")
    assert broken.name.startswith("extract") and f"{ROOT}/db1/Mon/" in broken.error and "attempts" in broken.error
    assert not state.touched_live and rows(server) == before
    s3_env.cut_next(0, 0)
    cli("status", "--state-dir", str(production.base / "state"), "--id", state.plan.restore_id, "--resume", "--yes")
    assert rows(server) == ["slide", "swing"]
    assert load_state(state.path).outcome == "completed"
    no_secrets(production, seaweed)
    assert bucket_state(seaweed.admin_client(), BUCKET) == production.before
