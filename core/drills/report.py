"""Drill reports: what was restored, how long each step took, what the data looked like.

A drill is only useful if its result outlives the terminal: the report is the
evidence that a backup restores and the measured recovery time (RTO). It is
written as JSON (for scripts and the console's list of past drills) and as
Markdown (for people and tickets). Reports never hold a key or a password.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = "xtrarestore-drill/1"
SUCCESS = "success"
FAILED = "failed"


@dataclass
class StepResult:
    """One timed step of a drill. `in_rto` is False for drill-only overhead (sandbox set-up, clean-up)."""

    name: str
    title: str
    status: str = "pending"  # pending, running, done, failed, skipped
    seconds: float = 0.0
    started: str | None = None
    command: str | None = None
    detail: str = ""
    in_rto: bool = True


@dataclass
class TableResult:
    schema: str
    table: str
    rows: int
    engine: str | None = None
    check: str = "not checked"


@dataclass
class DrillReport:
    id: str
    status: str
    started: str
    finished: str | None = None
    host: str = ""
    root: str = ""
    day: str = ""
    upto: str = ""
    restore_point: dict = field(default_factory=dict)
    tool: str = ""
    server: dict = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)
    tables: list[TableResult] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)
    binlog: dict | None = None
    roll_forward: dict | None = None
    """Point-in-time drills: the stop point, GTID and time reached, transactions applied, seconds."""
    problems: list[dict] = field(default_factory=list)
    error: str | None = None
    format: str = FORMAT

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @property
    def rto_seconds(self) -> float:
        """Time the restore itself took: every step that a real recovery would also run."""
        return sum(s.seconds for s in self.steps if s.in_rto)

    def _split(self) -> tuple[list[StepResult], list[StepResult], list[StepResult]]:
        """RTO steps before the stop, from the stop until the server answered (its start), and after."""
        timed = [s for s in self.steps if s.in_rto]
        names = [s.name for s in timed]
        if "stop" not in names or "start" not in names:
            return timed, [], []
        first, last = names.index("stop"), names.index("start") + 1
        return timed[:first], timed[first:last], timed[last:]

    @property
    def before_stop_seconds(self) -> float:
        """What a real recovery does while production still runs: find, extract, prepare, chown, sync."""
        return sum(s.seconds for s in self._split()[0])

    @property
    def downtime_seconds(self) -> float:
        """Production down: from the stop until the restored server answers."""
        return sum(s.seconds for s in self._split()[1])

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def share(self, step: StepResult) -> float:
        """The step's share of the RTO (0 for overhead steps)."""
        total = self.rto_seconds
        return step.seconds / total if step.in_rto and total > 0 else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rto_seconds"] = round(self.rto_seconds, 3)
        data["before_stop_seconds"] = round(self.before_stop_seconds, 3)
        data["downtime_seconds"] = round(self.downtime_seconds, 3)
        data["total_seconds"] = round(self.total_seconds, 3)
        for step, raw in zip(self.steps, data["steps"]):
            raw["seconds"] = round(step.seconds, 3)
            raw["share"] = round(self.share(step), 4)
            raw["share_of_total"] = round(step.seconds / self.total_seconds, 4) if self.total_seconds else 0.0
        return data

    @classmethod
    def from_dict(cls, data: dict) -> DrillReport:
        derived_totals = ("rto_seconds", "total_seconds", "before_stop_seconds", "downtime_seconds")
        data = {k: v for k, v in data.items() if k not in derived_totals}
        derived = ("share", "share_of_total")
        data["steps"] = [StepResult(**{k: v for k, v in s.items() if k not in derived}) for s in data.get("steps", [])]
        data["tables"] = [TableResult(**t) for t in data.get("tables", [])]
        return cls(**data)


def default_reports_dir() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "xtrarestore" / "drills"


def write_json(report: DrillReport, path: Path) -> Path:
    _write(path, json.dumps(report.to_dict(), indent=2) + "\n")
    return path


def write_markdown(report: DrillReport, path: Path) -> Path:
    _write(path, render_markdown(report))
    return path


def save(report: DrillReport, directory: Path | None = None) -> tuple[Path, Path]:
    """Store the report in the reports directory as `drill-<id>.json` and `.md`."""
    directory = directory or default_reports_dir()
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"drill-{report.id}"
    return write_json(report, stem.with_suffix(".json")), write_markdown(report, stem.with_suffix(".md"))


def load(path: Path) -> DrillReport:
    return DrillReport.from_dict(json.loads(Path(path).read_text()))


def list_reports(directory: Path | None = None) -> list[tuple[Path, DrillReport]]:
    """Past drills, newest first; unreadable files are skipped, not fatal."""
    directory = directory or default_reports_dir()
    found = []
    for path in directory.glob("drill-*.json"):
        try:
            found.append((path, load(path)))
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return sorted(found, key=lambda item: item[1].started, reverse=True)


def _write(path: Path, text: str) -> None:
    """Write whole or not at all: a half-written report must not look complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:04.1f}s"


def render_markdown(report: DrillReport) -> str:
    point = report.restore_point
    verdict = "PASSED" if report.ok else "FAILED"
    lines = [
        f"# Restore drill {report.id}: {verdict}",
        "",
        f"- Backup root: `{report.root}`, day `{report.day}`, up to `{report.upto}`",
        f"- Started {report.started}, finished {report.finished or '-'} on `{report.host}`",
        f"- RTO (restore steps): **{_duration(report.rto_seconds)}**;"
        f" drill total with sandbox set-up and clean-up: {_duration(report.total_seconds)}",
        f"- RTO split: before the stop {_duration(report.before_stop_seconds)} (production still answering);"
        f" downtime (stop → answering) **{_duration(report.downtime_seconds)}**;"
        f" after: {_duration(report.rto_seconds - report.before_stop_seconds - report.downtime_seconds)}"
        " (verification)",
    ]
    if report.tool:
        lines.append(f"- Tool: {report.tool}; sandbox server: {report.server.get('version', '-')}")
    if report.error:
        lines.append(f"- Error: {report.error}")
    if point:
        lines += [
            "",
            "## Restore point",
            "",
            f"Target time {point.get('time', '-')}, LSN {point.get('to_lsn', '-')}"
            f" (last LSN {point.get('last_lsn', '-')})",
            "",
            "| # | Backup | Type | Time | from_lsn | to_lsn | last_lsn |",
            "|---|---|---|---|---|---|---|",
        ]
        for n, m in enumerate(point.get("members", []), 1):
            lines.append(
                f"| {n} | {m.get('name')} | {m.get('type')} | {m.get('time', '-')} | {m.get('from_lsn', '-')}"
                f" | {m.get('to_lsn', '-')} | {m.get('last_lsn', '-')} |"
            )
    if report.steps:
        lines += ["", "## Steps", "", "| Step | Status | Duration | Share of RTO |", "|---|---|---|---|"]
        for step in report.steps:
            share = f"{report.share(step):.0%}" if step.in_rto else "(drill overhead)"
            lines.append(f"| {step.title} | {step.status} | {_duration(step.seconds)} | {share} |")
    if report.tables:
        lines += ["", "## Tables", "", "| Table | Engine | Rows | CHECK TABLE |", "|---|---|---:|---|"]
        for t in report.tables:
            lines.append(f"| {t.schema}.{t.table} | {t.engine or '-'} | {t.rows} | {t.check} |")
    if report.binlog:
        where = f"{report.binlog.get('file')}:{report.binlog.get('position')}"
        gtid = f", GTID {report.binlog['gtid']}" if report.binlog.get("gtid") else ""
        lines += ["", f"Binlog position at the backup, for a roll-forward: `{where}`{gtid}"]
    if report.roll_forward:
        rf = report.roll_forward
        skipped = f"; skipped {', '.join(rf['skip'])}" if rf.get("skip") else ""
        lines += ["", "## Roll forward", "",
                  f"- Stop point: {rf.get('stop_point')}{skipped}",
                  (f"- Reached GTID `{rf.get('gtid_reached') or rf.get('gtid_target') or '-'}`"
                   f" at {rf.get('time_reached') or '-'} ({rf.get('position') or rf.get('to') or '-'})"),
                  (f"- Transactions applied: {rf.get('transactions_applied', '-')}"
                   f" of {rf.get('transactions', '-')}, in {_duration(float(rf.get('seconds') or 0))}"
                   f" ({rf.get('method', 'relay')})")]
    lines += ["", "## Problems found", ""]
    if report.problems:
        lines += [f"- `{p.get('code')}` {p.get('backup') or ''}: {p.get('message')}" for p in report.problems]
    else:
        lines.append("None.")
    if report.server.get("kept"):
        lines += ["", "## Sandbox kept", "", f"Connect with `mariadb --socket={report.server.get('socket')}`"]
    return "\n".join(lines) + "\n"
