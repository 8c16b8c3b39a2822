"""Ctrl-C (SIGINT) and SIGTERM during training: finish the update, save a checkpoint, say how
to resume, exit non-zero.

    with Interrupts() as interrupts:
        ...                            # training checks interrupts.received after each update
    if interrupts.received:
        sys.exit(interrupts.exit_code)  # 130 for SIGINT, 143 for SIGTERM, as shells use

The first signal only sets a flag, so that no update or checkpoint is cut in half; a second
one stops at once (KeyboardInterrupt), for a user who will not wait for the checkpoint. Outside
the main thread (where Python cannot take signals) nothing is installed.
"""

from __future__ import annotations

import signal
import threading

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """Records SIGINT and SIGTERM while it is entered, instead of stopping the process."""

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received else ""

    @property
    def exit_code(self) -> int:
        """128 plus the signal's number, as a shell reports a process the signal ended."""
        return 128 + int(self.received or 0)

    def _handle(self, signum, frame) -> None:
        if self.received is not None:  # the second one: stop now
            raise KeyboardInterrupt
        self.received = signum

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
