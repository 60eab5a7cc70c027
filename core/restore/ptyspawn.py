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
import ptyprocess

HANDLED = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGCONT, signal.SIGTSTP, signal.SIGWINCH})


def _reset_in_child() -> None:
    for signum in HANDLED:
        if callable(signal.getsignal(signum)):
            signal.signal(signum, signal.SIG_IGN)  # discards one that arrived during the fork
            signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HANDLED)


class _Spawn(pexpect.spawn):
    """pexpect.spawn that passes *pass_fds* down to ptyprocess (pexpect itself does not)."""

    def __init__(self, *args, pass_fds=(), **options):
        self._pass_fds = tuple(pass_fds)
        super().__init__(*args, **options)

    def _spawnpty(self, args, **kwargs):
        return ptyprocess.PtyProcess.spawn(args, pass_fds=self._pass_fds, **kwargs)


def spawn(command: str, args: list[str], *, pass_fds=(), **options) -> pexpect.spawn:
    """`pexpect.spawn(command, args, **options)`, safe against signals during the fork.

    *pass_fds* stay open in the child (the restore's lock descriptors).
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        return _Spawn(command, args, preexec_fn=_reset_in_child, pass_fds=pass_fds, **options)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
