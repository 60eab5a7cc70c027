"""The demo's incident, as a new user meets it: `binlog --json` lists it, drills stop before it or skip it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from xtrarestore.core.drills.demo import DemoRoot, build_demo
from xtrarestore.core.drills.drill import drill

pytestmark = pytest.mark.mariadb


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoRoot]:
    work = Path(tempfile.mkdtemp(prefix="xr-pitr-demo-", dir="/var/tmp"))
    os.chmod(work, 0o755)
    try:
        yield build_demo(work / "demo", say=lambda line: None)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def workroot() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="xr-pitr-d-", dir="/var/tmp"))
    os.chmod(path, 0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _newest(demo: DemoRoot) -> tuple[str, str]:
    day = demo.days[-1]
    return day, demo.chain(day)[-1].name


def test_binlog_json_lists_the_incident(demo):
    day, upto = _newest(demo)
    result = subprocess.run(
        [sys.executable, "-m", "xtrarestore.tui.cli", "binlog", "--binlog-dir", str(demo.binlog_dir),
         "--root", str(demo.root), "--day", day, "--upto", upto, "--json"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    incident = next(e for e in data["events"] if e["gtid"] == demo.incident["gtid"])
    assert (incident["kind"], incident["table"]) == ("delete", "playground.visits")
    assert incident["rows"] == demo.incident["visits_before"] - (demo.incident["visits_after"] - 2)
    assert {"files", "gaps", "from", "to"} <= set(data) and data["gaps"] == []
    people = subprocess.run(
        [sys.executable, "-m", "xtrarestore.tui.cli", "binlog", "--binlog-dir", str(demo.binlog_dir),
         "--root", str(demo.root), "--day", day, "--upto", upto],
        capture_output=True, text=True, timeout=120, check=False)
    assert people.returncode == 0 and demo.incident["gtid"] in people.stdout
    assert max(len(line) for line in people.stdout.splitlines()) <= 80
    assert "UTC" in people.stdout


def _rows(report) -> dict[str, int]:
    return {f"{t.schema}.{t.table}": t.rows for t in report.tables}


def test_drill_to_just_before_the_incident(demo, workroot):
    day, upto = _newest(demo)
    report = drill(demo.root, day, upto, key_file=demo.key_file, workroot=workroot,
                   binlog_dirs=[demo.binlog_dir], until=f"before:{demo.incident['gtid']}")
    assert report.ok, report.error
    rows = _rows(report)
    assert rows["playground.visits"] == demo.incident["visits_before"]
    assert rows["playground.equipment"] == demo.incident["equipment"]
    assert report.roll_forward["transactions_applied"] > 0


def test_drill_with_the_incident_skipped(demo, workroot):
    day, upto = _newest(demo)
    report = drill(demo.root, day, upto, key_file=demo.key_file, workroot=workroot,
                   binlog_dirs=[demo.binlog_dir], until="end", skip=(demo.incident["gtid"],))
    assert report.ok, report.error
    assert _rows(report)["playground.visits"] == demo.incident["visits_before"] + 2
