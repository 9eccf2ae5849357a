"""How the Fish client paces itself: how many requests fly at once (AdaptiveLimit, after 429s),
when the service counts as down (OutageWatch: failures that are no answer at all), and how long
a busy service (503, "high load") is waited out (BusyWatch)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def seconds_text(value: float) -> str:
    """A wait as people read it: "4", "0.3"."""
    return f"{value:.0f}" if value >= 9.5 else f"{max(value, 0.1):.1f}".removesuffix(".0")


class BusyWatch:
    """503 "high load": every thread waits with backoff and Retry-After while the service is
    busy; the episode (503s with no success in between) may last `bound` seconds. The first
    503 of an episode prints one line of progress."""

    def __init__(self, bound: float) -> None:
        self.bound = bound
        self.say: Callable[[str], None] = lambda message: None
        self._since: float | None = None
        self._lock = threading.Lock()

    def succeeded(self) -> None:
        with self._lock:
            self._since = None

    def delay(self, backoff: float) -> float | None:
        """Seconds to wait before asking again (`backoff`, at most what is left of the bound);
        None once the episode has outlasted the bound."""
        with self._lock:
            now = time.monotonic()
            first = self._since is None
            if self._since is None:
                self._since = now
            left = self.bound - (now - self._since)
            if left <= 0:
                return None
            delay = min(left, backoff)
            if first:
                self.say(f"service busy, retrying in {seconds_text(delay)} s")
            return delay

    @property
    def waited(self) -> float:
        with self._lock:
            return 0.0 if self._since is None else time.monotonic() - self._since


class OutageWatch:
    """Tells an outage from bad luck: the same failure that is no answer (no connection, DNS,
    TLS, a timeout) on
    OUTAGE_REQUESTS different requests, each at least twice, with no success in between; or a
    connection refused OUTAGE_CONNECT_ATTEMPTS times in a row for a single request. Retrying
    every line for minutes would only print the same error once per line."""

    OUTAGE_REQUESTS = 3
    OUTAGE_CONNECT_ATTEMPTS = 3

    def __init__(self) -> None:
        self._signature = ""
        self._failures: dict[int, int] = {}  # request number -> failed attempts with that signature
        self._lock = threading.Lock()

    def succeeded(self) -> None:
        with self._lock:
            self._signature = ""
            self._failures.clear()

    def failed(self, request: int, signature: str) -> bool:
        """Record one failed attempt; True when it makes an outage."""
        with self._lock:
            if signature != self._signature:
                self._signature, self._failures = signature, {}
            self._failures[request] = self._failures.get(request, 0) + 1
            repeated = sum(1 for count in self._failures.values() if count >= 2)
            connect = signature.startswith("connect") and self._failures[request] >= self.OUTAGE_CONNECT_ATTEMPTS
            return repeated >= self.OUTAGE_REQUESTS or connect


class AdaptiveLimit:
    """At most `ceiling` requests in flight; fewer after a 429, growing back as requests succeed.

    Each 429 cuts the limit by a quarter, but only once per "epoch": the answers to requests
    sent before the last change say nothing about the new limit, so they do not cut it again.
    After `limit` successes the limit grows by one, up to the ceiling; back at the level that
    was refused last time it grows only after PROBE_ROUNDS times as many, because the account's
    limit is usually a hard one (5, 15 or 50) and probing it costs a refused request each time.
    """

    PROBE_ROUNDS = 8

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.limit = self.ceiling
        self.in_flight = 0
        self.peak = 0  # the most requests ever in flight at once
        self.cuts = 0  # how often a 429 lowered the limit
        self._epoch = 0
        self._successes = 0
        self._refused_at = self.ceiling + 1  # the lowest limit a 429 answered lately
        self._cond = threading.Condition()

    def set_ceiling(self, ceiling: int) -> None:
        with self._cond:
            self.ceiling = self.limit = max(1, ceiling)
            self._refused_at = self.ceiling + 1
            self._epoch += 1
            self._cond.notify_all()

    def acquire(self) -> int:
        """Wait for a slot; returns the epoch to hand to `overloaded`."""
        with self._cond:
            while self.in_flight >= self.limit:
                self._cond.wait()
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            return self._epoch

    def release(self) -> None:
        with self._cond:
            self.in_flight -= 1
            self._cond.notify()

    def overloaded(self, epoch: int) -> None:
        with self._cond:
            if epoch == self._epoch:
                self._refused_at = self.limit
                self.limit = max(1, min(self.limit - 1, self.limit * 3 // 4))
                self.cuts += 1
                self._epoch += 1
                self._successes = 0

    def succeeded(self) -> None:
        with self._cond:
            self._successes += 1
            needed = self.limit * (self.PROBE_ROUNDS if self.limit + 1 >= self._refused_at else 1)
            if self.limit < self.ceiling and self._successes >= needed:
                if self.limit + 1 >= self._refused_at:
                    self._refused_at += 1  # the probe worked: the limit may have been raised
                self.limit += 1
                self._epoch += 1
                self._successes = 0
                self._cond.notify()
