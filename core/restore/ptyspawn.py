"""Start pexpect children that never run this process's Python signal handlers.

pexpect forks and then runs Python code in the child until exec. A signal
that arrives in that window would run our handlers in the child: a terminal
hang-up reaches a child that has not yet left the console's session, and the
console's hang-up handler or Textual's SIGCONT handler then runs in a copy of
the console that never execs its step. So the spawning thread blocks those
signals across the fork; in the child, anything that arrived is dropped,
default handlers are restored and the signals are unblocked before exec, so
the step (and a server it starts) sees an ordinary signal state.
"""

from __future__ import annotations

import signal

import pexpect

HANDLED = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCONT, signal.SIGTSTP, signal.SIGWINCH})


def _reset_in_child() -> None:
    for signum in HANDLED:
        if callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_IGN)  # discards one that arrived during the fork
            signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)


def spawn(command: str, args: list[str], **options) -> pexpect.spawn:
    """`pexpect.spawn(command, args, **options)`, safe against signals during the fork."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        return pexpect.spawn(command, args, preexec_fn=_reset_in_child, **options)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
