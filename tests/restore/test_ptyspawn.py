"""Children started for steps must begin with an ordinary signal state.

The spawning thread blocks the signals this process handles across the fork
(so none of our Python handlers can run in the child before exec); the child
must not keep them blocked, nor inherit a handler, or a server a step starts
would run with SIGHUP blocked.
"""

from __future__ import annotations

import signal

from xtrarestore.core.restore.ptyspawn import HANDLED, spawn


def _mask(status: str, field: str) -> int:
    line = next(line for line in status.splitlines() if line.startswith(f"{field}:"))
    return int(line.split()[1], 16)


def test_child_starts_unblocked_with_default_handlers_and_the_parent_mask_is_restored():
    calls = []
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: calls.append(signum))
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        child = spawn("cat", ["/proc/self/status"], encoding="utf-8")
        status = child.read()
        child.close()
        after = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert child.exitstatus == 0 and "SigBlk" in status
    blocked, ignored = _mask(status, "SigBlk"), _mask(status, "SigIgn")
    assert [s.name for s in HANDLED if blocked & (1 << (s - 1))] == []
    assert not ignored & (1 << (signal.SIGHUP - 1)), "a handled signal must not end up ignored in the child"
    assert after == before
    assert calls == []
