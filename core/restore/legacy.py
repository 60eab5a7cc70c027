"""Plans journaled by releases that ran internal steps as `python -m <module>`.

Those command lines name module paths that no longer exist. A resumed or
rolled-back restore from such a journal runs the same actions through
`xtrarestore-step` instead: the arguments after the module are unchanged.
"""

from __future__ import annotations

from pathlib import Path

# old module -> the action its arguments now follow (None: the first argument is the action)
_MODULES = {
    "xtrarestore.core.steps": None,
    "xtrarestore.core.service": None,
    "xtrarestore.core.verify": "verify",
    "xtrarestore.core.archive.parallel": "extract",
}


def upgrade_plan_record(data: dict) -> dict:
    """A plan record as this release writes it: `python` gives way to `stepper`, argv are rewritten."""
    data = dict(data)
    python = data.pop("python", None)
    if python is None:
        return data
    from .entry import PROGRAM, step_program

    beside = Path(python).with_name(PROGRAM)
    stepper = str(beside) if beside.exists() else step_program()
    data.setdefault("stepper", stepper)
    data["steps"] = [{**step, "argv": upgrade_argv(step["argv"], stepper)} for step in data["steps"]]
    return data


def upgrade_argv(argv: list[str], stepper: str) -> list[str]:
    """`python -m xtrarestore.core.<module> ARGS` as `xtrarestore-step [ACTION] ARGS`; other commands as they are."""
    if len(argv) < 3 or argv[1] != "-m" or argv[2] not in _MODULES:
        return list(argv)
    action = _MODULES[argv[2]]
    return [stepper, *([action] if action else []), *argv[3:]]
