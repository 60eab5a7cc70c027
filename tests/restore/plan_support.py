"""Plans, points and journals for the restore tests, built without a server."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace as NS

from xtrarestore.core.inventory.checkpoints import Checkpoints
from xtrarestore.core.restore.journal import Journal
from xtrarestore.core.restore.plan import Target, build_plan
from xtrarestore.core.restore.service import ServiceControl
from xtrarestore.core.restore.tools import MARIADB, Tool

FULL, INC1, INC2 = Path("/w/full"), Path("/w/inc1"), Path("/w/inc2")
NOW = datetime(2026, 11, 21, 3, 15, tzinfo=UTC)


def member(name, kind, from_lsn, to_lsn, last_lsn, *, compression=None, encrypted=False):
    return NS(name=name, path=Path("/backups/Mon") / name, artifact="stream", compression=compression,
              encrypted=encrypted, size=10 << 20, info=None, flavour=None,
              checkpoints=Checkpoints(kind, from_lsn, to_lsn, last_lsn))


def point_of(*members):
    return NS(day=NS(name="Mon"), members=list(members))


POINT = point_of(
    member("full-11-20-2026_03-00-00.xbstream", "full-backuped", 0, 100, 110),
    member("incremental-11-20-2026_06-00-00.xbstream", "incremental", 100, 200, 210),
    member("incremental-11-20-2026_09-00-00.xbstream", "incremental", 200, 300, 310),
)
CUSTOM = ServiceControl("custom", stop_cmd="my-stop", start_cmd="my-start")


COPY_BACK_REASON = "engine files live outside the datadir (copy-back places them)"


def plan_for(tmp_path, point=POINT, tool=None, *, copy_back=False, **target):
    """A plan whose workspace is beside the datadir (swap by rename), or a copy-back one (*copy_back*)."""
    tool = tool or Tool(MARIADB, Path("/usr/bin/mariabackup"), "10.11.19", Path("/usr/bin/mbstream"))
    datadir = tmp_path / "mysql"
    datadir.mkdir(exist_ok=True)
    return build_plan(point, Target(datadir=datadir, service=CUSTOM, socket=Path("/run/mysqld.sock"), **target),
                      tool=tool, workdir=tmp_path / "work", restore_id="r1", now=NOW, native=True,
                      stepper="/xs", swap_blockers=(COPY_BACK_REASON,) if copy_back else ())


def journal_with(tmp_path, plan, *events):
    journal = Journal.for_plan(plan, tmp_path / "state")
    journal.append({"event": "plan", "plan": plan.to_dict()})
    for name, status in events:
        journal.append({"event": "start", "step": name, "mode": "restore"})
        if status:
            journal.append({"event": "end", "step": name, "status": status, "mode": "restore"})
    return journal


def ok_before(plan, name: str) -> list[tuple[str, str]]:
    """Journal entries saying every step before *name* went well."""
    names = [s.name for s in plan.steps]
    return [(n, "ok") for n in names[: names.index(name)]]


