"""`xtrarestore-step ACTION …`: the one command behind every internal step of a plan.

Journals keep each step's command line, so the action names and their options
are a stable interface: the modules implementing them can move without
breaking `status --resume` of an older restore. Each action imports only the
module it needs (every step is an interpreter of its own: start-up time is
restore time) and the success line is printed here, once, when it returns 0.
"""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

from ..errors import ToolNotFoundError
from ..programs import OK_LINE

PROGRAM = "xtrarestore-step"
GUARD = "guard"  # wraps every step's command (see guard.py); not a plan action
# action -> (module under xtrarestore.core, whether the module's run() gets the action name too)
ACTIONS: dict[str, tuple[str, bool]] = {
    "extract": ("archive.parallel", False),
    "vendor-extract": ("restore.steps", True),
    "copy-dir": ("restore.steps", True),
    "check-lsn": ("restore.steps", True),
    "stop": ("restore.service", True),
    "start": ("restore.service", True),
    "rename": ("restore.steps", True),
    "create-datadir": ("restore.steps", True),
    "chown": ("restore.steps", True),
    "keep-record": ("restore.swap", True),
    "roll-forward": ("restore.rollforward", False),
    "verify": ("restore.verify", False),
    "sandbox-start": ("drills.startup", False),
}


def step_program() -> str:
    """The installed `xtrarestore-step`: beside this interpreter (a virtualenv), else on PATH."""
    beside = Path(sys.executable).with_name(PROGRAM)
    if beside.exists():
        return str(beside)
    found = shutil.which(PROGRAM)
    if found:
        return found
    raise ToolNotFoundError(f"{PROGRAM}: not installed beside {sys.executable} nor on PATH; reinstall xtrarestore")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in ACTIONS and argv[0] != GUARD):
        print(f"usage: {PROGRAM} {{{','.join(ACTIONS)}}} ...", file=sys.stderr)
        return 2
    if argv[0] == GUARD:  # the guarded command prints its own success line, or not
        from . import guard

        return guard.run(argv[1:])
    module_name, with_action = ACTIONS[argv[0]]
    module = importlib.import_module(f"xtrarestore.core.{module_name}")
    status = module.run(argv if with_action else argv[1:])
    if status == 0:
        print(OK_LINE, flush=True)
    return status
