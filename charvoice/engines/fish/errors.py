"""The Fish client's failures: a request refused or failed after every retry (FishError), and
the ones that stop every thread at once (FishFatalError: bad key, no credit; FishOutage: the
service down; FishBusy: under high load for too long)."""

from __future__ import annotations

from charvoice.errors import EngineError, FatalEngineError


class FishError(EngineError):
    """A request the API refused, or one that still failed after every retry."""

    def __init__(self, message: str, status: int | None = None, *, uncertain: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.uncertain = uncertain  # the server may have acted on it (a create that lost its answer)


class FishFatalError(FatalEngineError):
    """Bad key (401) or no credit (402): every further request would fail the same way."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class FishOutage(FishFatalError):
    """The server is down or out of reach: every request fails the same way (OutageWatch)."""


class FishBusy(FishOutage):
    """The service answered 503 (high load) for longer than engine.fish.busy_wait allows."""
