"""Running privileged steps through sudo with a password typed once.

Operators often run as themselves (the DigitalOcean scripts' `backup` user)
and escalate with sudo. The password is held in memory only, in a `Password`
that never prints itself; it is written to sudo's stdin when sudo shows our
unique prompt, never stored, logged or put in argv. It is checked up front
(`sudo -k` then `sudo -S -v`) so a wrong password is reported before anything
is touched.
"""

from __future__ import annotations

import os
import secrets

import pexpect

from ..errors import PrivilegeError
from .ptyspawn import spawn


class Password:
    """A secret string that never shows up in repr, str or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Password(***)"

    __str__ = __repr__


def is_root() -> bool:
    return os.geteuid() == 0


def needs_password(plan) -> bool:
    """A sudo password is needed iff we are not root and some step of *plan* is privileged."""
    return not is_root() and any(step.privileged for step in plan.steps)


def new_prompt() -> str:
    """A prompt no program would print by chance, so only sudo's question is answered."""
    return f"[xtrarestore-sudo-{secrets.token_hex(8)}]:"


def sudo_prefix(prompt: str) -> list[str]:
    return ["sudo", "-S", "-p", prompt, "--"]


def check_sudo(password: Password | None, timeout: float = 30.0) -> None:
    """Validate sudo now: forget cached credentials, then `sudo -v` with the password."""
    if is_root():
        return
    prompt = new_prompt()
    forget = spawn("sudo", ["-k"], timeout=timeout)
    forget.expect(pexpect.EOF)
    forget.close()
    child = spawn("sudo", ["-S", "-v", "-p", prompt], echo=False, encoding="utf-8", codec_errors="replace",
                  timeout=timeout)
    try:
        answered = False
        while True:
            index = child.expect_exact([prompt, pexpect.EOF])
            if index == 1:
                break
            if answered or password is None:
                child.terminate(force=True)
                reason = "wrong sudo password" if answered else "sudo asks for a password and none was given"
                raise PrivilegeError(f"{reason}; nothing was touched")
            child.sendline(password.reveal())
            answered = True
    except pexpect.TIMEOUT:
        child.terminate(force=True)
        raise PrivilegeError("sudo did not answer in time; nothing was touched") from None
    child.close()
    if child.exitstatus != 0:
        output = (child.before or "").strip().splitlines()
        tail = output[-1] if output else f"exit status {child.exitstatus}"
        raise PrivilegeError(f"sudo -v failed: {tail}; nothing was touched")
