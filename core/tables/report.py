"""Table recovery reports: what came back, how, how long each step took, the evidence.

Like drill reports (core/drills/report.py), JSON for scripts and Markdown for
tickets, written whole or not at all; never a password or a key.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

FORMAT = "xtrarestore-recover-table/1"


@dataclass
class Timing:
    step: str
    seconds: float
    status: str = "done"
    detail: str = ""


@dataclass
class RecoveryReport:
    id: str
    status: str  # running, success, failed
    started: str
    finished: str | None = None
    root: str = ""
    day: str = ""
    upto: str = ""
    target: str = ""
    production: dict = field(default_factory=dict)  # identity before and after: the server was not restarted
    steps: list[Timing] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    journal: str = ""
    roll_forward: dict | None = None  # the throwaway server's stop point and what it reached
    format: str = FORMAT

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def to_dict(self) -> dict:
        return asdict(self)


def default_reports_dir() -> Path:
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "xtrarestore" / "tables"


def save(report: RecoveryReport, directory: Path | None = None) -> tuple[Path, Path]:
    directory = Path(directory or default_reports_dir())
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"recover-table-{report.id}"
    _write(stem.with_suffix(".json"), json.dumps(report.to_dict(), indent=2) + "\n")
    _write(stem.with_suffix(".md"), render_markdown(report))
    return stem.with_suffix(".json"), stem.with_suffix(".md")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def render_markdown(report: RecoveryReport) -> str:
    verdict = {"success": "DONE", "failed": "FAILED"}.get(report.status, report.status.upper())
    before, after = report.production.get("before", {}), report.production.get("after", {})
    lines = [
        f"# Table recovery {report.id}: {verdict}",
        "",
        f"- Backup root `{report.root}`, day `{report.day}`, up to `{report.upto}`",
        (
            f"- Into {report.target} (datadir `{before.get('datadir', '-')}`), started {report.started},"
            f" finished {report.finished or '-'}"
        ),
    ]
    if report.roll_forward:
        rf = report.roll_forward
        lines.append(
            f"- Rolled forward to {rf.get('stop_point')}: reached GTID"
            f" `{rf.get('gtid_reached') or rf.get('gtid_target') or '-'}` at {rf.get('time_reached') or '-'}"
        )
    if after:
        lines.append(f"- Production not restarted: uptime {before.get('uptime')}s before, {after.get('uptime')}s after")
    if report.error:
        lines.append(f"- Error: {report.error}")
    if report.tables:
        header = "| From backup | Into production | Method | Rows | Checksum | Verified |"
        lines += ["", "## Tables", "", header, "|---|---|---|---:|---|---|"]
        for t in report.tables:
            lines.append(
                f"| {t['source']} | {t['target']} | {t['method']} ({t['reason']}) | {t['rows']}"
                f" | {t['checksum']} | {'yes' if t['verified'] else 'NO'} |"
            )
    if report.steps:
        lines += ["", "## Steps", "", "| Step | Status | Seconds |", "|---|---|---:|"]
        lines += [f"| {s.step} | {s.status} | {s.seconds:.1f} |" for s in report.steps]
    if report.foreign_keys:
        lines += ["", "## Foreign keys", ""] + [f"- {line}" for line in report.foreign_keys]
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    lines += ["", f"Journal: `{report.journal}`"]
    return "\n".join(lines) + "\n"
