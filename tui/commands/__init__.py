"""One module per `xtrarestore` subcommand, and what several of them share."""

from __future__ import annotations


def interrupt_on_kill() -> None:
    """Make `kill` (SIGTERM) and a hang-up (SIGHUP) stop this command as Ctrl-C does.

    Commands that run a throwaway server (drill, recover-table, a rehearsed
    flashback) clean up on KeyboardInterrupt; without this, either signal
    would end Python at once and leave that server running. While a plan's
    steps run, the runner keeps its own hang-up rule (the step carries on).
    """
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.default_int_handler)
