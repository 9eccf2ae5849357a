"""Progress of a long build: a bar in a terminal, plain periodic lines elsewhere (CI logs),
where a redrawn bar is either invisible or hundreds of lines of carriage returns."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

PLAIN_EVERY_SECONDS = 10.0  # how often a log gets a progress line


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class PlainProgress:
    """`voiced 12/40 lines (1 failed), 0:14 elapsed, about 0:33 left`, every PLAIN_EVERY_SECONDS."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = self.failed = 0
        self.started = self.last = time.monotonic()
        click.echo(f"voicing {total} {'line' if total == 1 else 'lines'}", err=True)

    def update(self, failed: bool) -> None:
        self.done += 1
        self.failed += failed
        now = time.monotonic()
        if now - self.last >= PLAIN_EVERY_SECONDS and self.done < self.total:
            self.last = now
            click.echo(self.line(now), err=True)

    def line(self, now: float) -> str:
        elapsed = now - self.started
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        failed = f" ({self.failed} failed)" if self.failed else ""
        estimate = f", about {_clock(left)} left" if left is not None else ""
        return f"voiced {self.done}/{self.total} lines{failed}, {_clock(elapsed)} elapsed{estimate}"


class Progress:
    """A click progress bar on a terminal, PlainProgress otherwise."""

    def __init__(self, total: int, failures: list[Any]) -> None:
        self._bar: Any = None
        self._plain: PlainProgress | None = None
        if sys.stderr.isatty():
            label = lambda _item: f"{len(failures)} failed" if failures else ""  # noqa: E731
            self._bar = click.progressbar(
                length=total, label="Voicing lines", show_pos=True, file=sys.stderr, item_show_func=label
            )
            self._bar.__enter__()
        else:
            self._plain = PlainProgress(total)

    def update(self, item: Any, failed: bool) -> None:
        if self._bar is not None:
            self._bar.update(1, item)
        elif self._plain is not None:
            self._plain.update(failed)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
