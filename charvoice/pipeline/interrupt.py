"""Ctrl-C during a build, turned into a flag the build loop reads between lines.

Python raises KeyboardInterrupt in the main thread wherever it happens to be: between a line
published and counted, inside the progress bar, inside a manifest write. Raised there, the
build lost its count and the user read "0 lines were built and kept" while dozens were. While
a build runs, the first Ctrl-C only asks it to stop (the loop wakes within WAKE_SECONDS); a
second one interrupts at once, as before.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

WAKE_SECONDS = 0.2  # how often the build loop looks at the flag while lines are in flight


@contextlib.contextmanager
def sigint_as_request(on_interrupt: Callable[[], None]) -> Iterator[None]:
    """Within the block, the first SIGINT calls `on_interrupt` instead of raising. Left alone
    off the main thread, or when someone else (`watch`) handles SIGINT already."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def first(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # a second Ctrl-C interrupts at once
        on_interrupt()

    signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
