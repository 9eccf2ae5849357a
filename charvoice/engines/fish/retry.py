"""One request to a Fish server, sent with retries (RetryingClient, the base of FishClient).

It retries what may succeed next time (429, 5xx, timeouts, dropped connections) with capped
exponential backoff and jitter, honouring Retry-After, and never retries what cannot (400, 401,
402, 403, 404, 422). A 503 is the service under high load (openapi.json): it is waited out for
up to `engine.fish.busy_wait` seconds (one line of progress), not counted against `retries`. Only
failures that are not answers (no connection, DNS, TLS, timeouts) across several requests make an
outage. A retry after a damaged or cut-off answer may be billed again: a line makes at most
`engine.fish.paid_retries` of them. A bad key or an empty account (401, 402) stops every thread at
once with one FatalEngineError. An adaptive limit keeps at most `jobs` requests in flight, fewer
for a while after a 429.

The API key lives only in the HTTP client's headers: no message, repr or file ever holds it.
"""

from __future__ import annotations

import email.utils
import functools
import random
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from charvoice import __version__
from charvoice.engines.fish.errors import FishBusy, FishError, FishFatalError, FishOutage
from charvoice.engines.fish.pacing import AdaptiveLimit, BusyWatch, OutageWatch, seconds_text
from charvoice.errors import CharvoiceError

OFFICIAL_BASE_URL = "https://api.fish.audio"
# Wait before retry n: BACKOFF_BASE_S * 2**n, at most BACKOFF_CAP_S, with jitter (tests shrink these).
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0
RETRY_AFTER_CAP_S = 60.0  # a Retry-After longer than this is not worth a stalled build
CONNECT_TIMEOUT_S = 10.0


def backoff_delay(attempt: int, retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait before retry `attempt` (0-based): exponential, capped, jittered, and
    never shorter than the server's Retry-After (itself capped)."""
    ceiling = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** min(attempt, 30))
    delay = rng.uniform(ceiling / 2, ceiling)  # jitter: retries from many threads do not arrive together
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
    return delay


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle takes 50-200 ms."""
    return httpx.create_ssl_context()


@functools.cache
def _no_tls_context() -> ssl.SSLContext:
    """For an http:// server (self-hosted, or the loopback fake), which never uses TLS: no CA
    bundle is loaded. The context trusts no certificate, so it can never verify one by mistake."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class RetryingClient:
    """Sends requests to one Fish server with retries (thread-safe: the build calls it from
    `jobs` threads). FishClient adds the endpoints."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        jobs: int = 5,
        timeout: float = 120.0,
        retries: int = 6,
        busy_wait: float = 300.0,
        paid_retries: int = 2,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.official = self.base_url == OFFICIAL_BASE_URL
        headers = {"User-Agent": f"charvoice/{__version__}"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        self._client_settings: dict[str, Any] = {
            "base_url": self.base_url,
            "headers": headers,
            "timeout": httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT_S)),
            "limits": httpx.Limits(max_connections=100, max_keepalive_connections=64),
        }
        self._client: httpx.Client | None = None  # made at the first request (see _http)
        self._tls = self.base_url.startswith("https://")
        self._redact = api_key or None
        self.limit = AdaptiveLimit(jobs)
        self.retries = retries
        self.timeout = timeout
        self.retried = 0  # retries made (the benchmark reports them)
        self.paid_retries = paid_retries  # per request: retries after an answer that may have been billed
        self.billed_retries = 0  # such retries made (the build report counts them)
        self.busy = BusyWatch(busy_wait)
        self._fatal: FishFatalError | None = None
        self._stop = threading.Event()  # set on a fatal error: wakes every thread waiting to retry
        self._outage = OutageWatch()
        self._requests = 0  # numbers each logical request, for OutageWatch
        self.missing_key = not api_key and self.official
        if self.missing_key:  # fail at the first request, without sending it
            self._fatal = FishFatalError(
                "the Fish Audio engine needs an API key: set the environment variable FISH_API_KEY "
                "(https://fish.audio/app/api-keys), or use --engine offline",
                401,
            )
        self._rng = random.Random()
        self._lock = threading.Lock()

    @property
    def _http(self) -> httpx.Client:
        """The HTTP client, made at the first request: a build with nothing to send (a no-op,
        `check`, a `watch` rebuild from the cache) never loads the CA bundle."""
        with self._lock:
            if self._client is None:
                verify = _tls_context() if self._tls else _no_tls_context()
                self._client = httpx.Client(verify=verify, **self._client_settings)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()

    # --- one call, with retries ----------------------------------------------------------------

    def send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        replayable: bool = True,
        check: Callable[[bytes], str | None] | None = None,
        billed: bool = False,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send with retries. `replayable=False`: retry only failures the server cannot have acted
        on (no connection, 429, 503); anything else raises FishError(uncertain=True). `check` says
        what is wrong with a successful answer's body (None: nothing); a bad one is retried.
        `billed`: the server charges for what it answered, so a retry after a damaged or cut-off
        answer costs again (at most `paid_retries` of them)."""
        problem = ""
        with self._lock:
            self._requests += 1
            number = self._requests
        attempt = busy_attempt = paid = 0
        while True:
            self._check_stopped()
            retry_after = None
            signature = ""  # how it failed, when that may be an outage (OutageWatch)
            busy = costly = False
            epoch = self.limit.acquire()
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.UnsupportedProtocol:
                raise CharvoiceError(
                    f"engine.fish.base_url {self.base_url!r} must start with http:// or https://"
                ) from None
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections, cut bodies
                problem = self._describe(exc)
                connect = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                retryable = replayable or connect
                if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):  # refused, DNS, TLS, unreachable
                    signature = "connect " + problem
                elif isinstance(exc, httpx.TimeoutException):  # no answer at all: an outage too
                    signature = "timeout " + problem
                costly = not connect  # it may have spoken the line before the answer was lost
            else:
                status = response.status_code
                if response.is_success:
                    bad_body = check(response.content) if check is not None else None
                    if bad_body is None:
                        self.limit.succeeded()
                        self._outage.succeeded()
                        self.busy.succeeded()
                        return response
                    problem = f"{status} with {bad_body}"  # an error page or a cut file: as a 5xx
                    retryable = replayable
                    costly = True
                else:
                    message = self._message(response)
                    if status in (401, 402):
                        raise self._fatal_error(status, message)
                    if status == 429:
                        self.limit.overloaded(epoch)
                    elif status < 500:
                        raise FishError(f"{what}: {self.server_name} answered {status}: {message}", status)
                    problem = f"{status} {message}"
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    busy = status == 503  # "high load" (openapi.json): an answer, so never an outage
                    retryable = replayable or status in (429, 503)
            finally:
                self.limit.release()
            if signature and self._outage.failed(number, signature):
                raise self._outage_error(problem)
            if not retryable:
                raise FishError(f"{what}: {problem}", uncertain=True)
            if busy:
                delay = self.busy.delay(backoff_delay(busy_attempt, retry_after, self._rng))
                if delay is None:
                    raise self._busy_error(problem)
                busy_attempt += 1
                self._pause(delay)
                continue
            if attempt >= self.retries:
                raise FishError(f"{what} failed after {attempt + 1} attempts: {problem}")
            if billed and costly:
                if paid >= self.paid_retries:
                    raise FishError(
                        f"{what}: {problem}; {paid + 1} answer(s) for this line were damaged or cut off and each may "
                        f"have been billed, so it is not asked again (engine.fish.paid_retries = {self.paid_retries})"
                    )
                paid += 1
                with self._lock:
                    self.billed_retries += 1
            self._wait(attempt, retry_after)
            attempt += 1

    def _wait(self, attempt: int, retry_after: float | None) -> None:
        self._pause(backoff_delay(attempt, retry_after, self._rng))

    def _pause(self, seconds: float) -> None:
        with self._lock:
            self.retried += 1
        self._stop.wait(seconds)
        self._check_stopped()

    def _check_stopped(self) -> None:
        if self._fatal is not None:
            raise self._fatal

    def _fatal_error(self, status: int, message: str) -> FishFatalError:
        with self._lock:
            if self._fatal is None:
                if status == 401:
                    where = "; check it at https://fish.audio/app/api-keys" if self.official else ""
                    text = f"{self.server_name} rejected the API key in FISH_API_KEY (401: {message}){where}"
                else:
                    text = f"{self.server_name} says the account has no credit left (402: {message}); top up at https://fish.audio/app/billing"
                self._fatal = FishFatalError(text, status)
                self._stop.set()
            return self._fatal

    def _outage_error(self, problem: str) -> FishFatalError:
        with self._lock:
            if self._fatal is None:
                self._fatal = FishOutage(
                    f"{self.server_name} is not answering: {problem}, the same for every request just now, so "
                    "charvoice stopped instead of retrying each line. Run the command again once the service is back "
                    "(a build resumes with the lines it did not finish).",
                    503,
                )
                self._stop.set()
            return self._fatal

    def _busy_error(self, problem: str) -> FishFatalError:
        with self._lock:
            if self._fatal is None:
                bound = self.busy.bound
                self._fatal = FishBusy(
                    f"{self.server_name} is under high load ({problem}) and has been for {seconds_text(self.busy.waited)} s, "
                    f"longer than engine.fish.busy_wait ({bound:g} s) allows, so charvoice stopped. Run the command "
                    "again later, or raise engine.fish.busy_wait (a build resumes with the lines it did not finish).",
                    503,
                )
                self._stop.set()
            return self._fatal

    @property
    def server_name(self) -> str:
        return "Fish Audio" if self.official else f"the Fish server at {self.base_url}"

    def _describe(self, exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
            return f"cannot connect to {self.base_url} ({type(exc).__name__})"
        if isinstance(exc, httpx.TimeoutException):
            return f"no answer within {self.timeout:g} s (engine.fish.timeout)"
        if isinstance(exc, httpx.RemoteProtocolError):
            return "the connection dropped before the whole answer arrived"
        return f"network error ({type(exc).__name__})"

    def _message(self, response: httpx.Response) -> str:
        """The server's own words for an error: JSON {message} (or {detail}), else its text."""
        try:
            data = response.json()
            text = str(data.get("message") or data.get("detail") or data) if isinstance(data, dict) else str(data)
        except ValueError:
            text = response.text.strip() or response.reason_phrase
        text = " ".join(text.split())[:300]
        return text.replace(self._redact, "<key>") if self._redact else text

    def json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise FishError(
                f"{self.server_name} sent something that is not JSON for {response.request.method} {response.request.url.path}"
            ) from None
