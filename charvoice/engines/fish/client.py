"""The Fish Audio HTTP client (docs.fish.audio), shared by the engine, voices-as-code and QA.

FishClient speaks the API: `POST /v1/tts` with a msgpack body and a `model` header, the voice
models under `/model`, and speech-to-text. It retries what may succeed next time (429, 5xx,
timeouts, dropped connections) with capped exponential backoff and jitter, honouring
Retry-After, and never retries what cannot (400, 401, 402, 403, 404, 422). A 503 is the service
under high load (openapi.json): it is waited out for up to `engine.fish.busy_wait` seconds (one
line of progress), not counted against `retries`. Only failures that are not answers (no
connection, DNS, TLS, timeouts) across several requests make an outage. A retry after a damaged
or cut-off answer may be billed again: a line makes at most `engine.fish.paid_retries` of them.
A bad key or an empty account (401, 402) stops every thread at once with one FatalEngineError.
An adaptive limit keeps at most `jobs` requests in flight, fewer for a while after a 429.

The API key lives only in the HTTP client's headers: no message, repr or file ever holds it.
"""

from __future__ import annotations

import email.utils
import functools
import json
import random
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgpack

from charvoice import __version__
from charvoice.engines.fish.pacing import AdaptiveLimit, BusyWatch, OutageWatch, seconds_text
from charvoice.engines.fish.settings import fish_settings
from charvoice.errors import CharvoiceError, EngineError, FatalEngineError
from charvoice.project.config import ProjectConfig

NAME = "fish"
OFFICIAL_BASE_URL = "https://api.fish.audio"
# Wait before retry n: BACKOFF_BASE_S * 2**n, at most BACKOFF_CAP_S, with jitter (tests shrink these).
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 10.0
RETRY_AFTER_CAP_S = 60.0  # a Retry-After longer than this is not worth a stalled build
CONNECT_TIMEOUT_S = 10.0


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


class FishClient:
    """The Fish Audio HTTP API (thread-safe: the build calls it from `jobs` threads)."""

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

    @classmethod
    def from_config(cls, config: ProjectConfig, api_key: str | None, *, require_key: bool = True) -> FishClient:
        """The client for a project. The official service needs a key, a self-hosted server may
        not; with `require_key=False` a missing key only matters once a request is sent (so
        `check` and an up-to-date build run in CI without the secret)."""
        settings = fish_settings(config)
        if not settings.base_url.startswith(("http://", "https://")):
            raise CharvoiceError(
                f"charvoice.toml: engine.fish.base_url must start with http:// or https://, not {settings.base_url!r}"
            )
        client = cls(
            settings.base_url, api_key, jobs=config.jobs, timeout=settings.timeout, retries=settings.retries,
            busy_wait=settings.busy_wait, paid_retries=settings.paid_retries,
        )  # fmt: skip
        if client._fatal is not None and require_key:
            raise client._fatal
        return client

    def __repr__(self) -> str:
        return f"FishClient({self.base_url!r})"

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

    # --- the endpoints -------------------------------------------------------------------------

    def tts(self, payload: dict[str, Any], model: str) -> bytes:
        """Audio bytes for one `POST /v1/tts` (payload as the API documents it). A 200 whose body
        is not audio in the format asked for (an error page, a file cut short) is retried like a 5xx."""
        fmt = payload.get("format", "mp3")
        response = self.send(
            "POST", "/v1/tts", "text-to-speech",
            content=msgpack.packb(payload, use_bin_type=True),
            headers={"Content-Type": "application/msgpack", "model": model},
            check=lambda body: audio_problem(body, fmt), billed=True,
        )  # fmt: skip
        return response.content

    def asr(self, audio: bytes, language: str | None = None, *, timestamps: bool = False) -> dict[str, Any]:
        """`POST /v1/asr` (msgpack, as the official SDK sends it): `{text, duration, segments,
        language_code}`. FishError with status 404/405 when the server has no such endpoint."""
        payload: dict[str, Any] = {"audio": audio, "ignore_timestamps": not timestamps}
        if language:
            payload["language"] = language
        response = self.send(
            "POST", "/v1/asr", "speech-to-text",
            content=msgpack.packb(payload, use_bin_type=True), headers={"Content-Type": "application/msgpack"},
        )  # fmt: skip
        data = self.json(response)
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise FishError(f"{self.server_name} answered speech-to-text without a `text`")
        return data

    def credit(self) -> float:
        """The account's API credit in USD (`GET /wallet/self/api-credit`, as the official SDK asks)."""
        data = self.json(self.send("GET", "/wallet/self/api-credit", "reading the account's credit"))
        try:
            return float(data["credit"])
        except (KeyError, TypeError, ValueError):
            raise FishError(f"{self.server_name} answered the credit request without a `credit` amount") from None

    # --- a self-hosted Fish Speech server's references (tools/server/views.py) --------------

    def references_list(self) -> list[str]:
        """`GET /v1/references/list`: the reference ids the server holds."""
        data = self._reference_answer(
            self.send(
                "GET", "/v1/references/list", "listing the server's references", headers={"Accept": "application/json"}
            )
        )
        ids = data.get("reference_ids")
        return [str(item) for item in ids] if isinstance(ids, list) else []

    def references_add(self, reference_id: str, audio: tuple[str, bytes], text: str) -> None:
        """`POST /v1/references/add` (multipart id, audio, text): a voice stored on the server."""
        files = [("audio", (audio[0], audio[1], _mime(audio[0])))]
        response = self.send(
            "POST", "/v1/references/add", f"adding reference {reference_id!r}", replayable=False,
            data={"id": reference_id, "text": text}, files=files, headers={"Accept": "application/json"},
        )  # fmt: skip
        self._reference_answer(response)

    def references_delete(self, reference_id: str) -> None:
        """`DELETE /v1/references/delete` with the id in a JSON body."""
        self.send(
            "DELETE", "/v1/references/delete", f"deleting reference {reference_id!r}",
            content=json.dumps({"reference_id": reference_id}).encode(),
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )  # fmt: skip

    def _reference_answer(self, response: httpx.Response) -> dict[str, Any]:
        """Fish Speech answers JSON when asked (msgpack otherwise) with {success, message, ...}."""
        try:
            data = response.json()
        except ValueError:
            try:
                data = msgpack.unpackb(response.content, raw=False)
            except Exception:
                data = None
        if not isinstance(data, dict):
            raise FishError(
                f"{self.server_name} sent something that is not a references answer for {response.request.url.path}"
            )
        if data.get("success") is False:
            raise FishError(f"{self.server_name}: {data.get('message', 'refused')}", response.status_code)
        return data

    def create_model(
        self,
        *,
        title: str,
        samples: list[tuple[str, bytes]],
        texts: list[str],
        visibility: str,
        enhance_audio_quality: bool,
        description: str = "",
        tags: list[str] | tuple[str, ...] = (),
        marker: str = "",
        cover_image: tuple[str, bytes] | None = None,
    ) -> dict[str, Any]:
        """`POST /model`: a voice model from sample files (name, bytes) and their transcripts.

        A create whose answer was lost may still have made the model, and a blind retry would
        make a second one. `marker` (a tag unique to these samples) lets us look for it first;
        without one (a public model, whose tags everyone sees) we look for a model of the same
        title made since the first attempt.
        """
        data: dict[str, Any] = {
            "type": "tts",
            "title": title,
            "train_mode": "fast",
            "visibility": visibility,
            "enhance_audio_quality": "true" if enhance_audio_quality else "false",
        }
        if description:
            data["description"] = description
        if texts:
            data["texts"] = list(texts)
        all_tags = [*tags, marker] if marker else list(tags)
        if all_tags:
            data["tags"] = all_tags
        files = [("voices", (name, content, _mime(name))) for name, content in samples]
        if cover_image is not None:
            files.append(("cover_image", (cover_image[0], cover_image[1], _mime(cover_image[0]))))
        started = time.time() - 5  # the server's clock may be a little behind ours
        for attempt in range(self.retries + 1):
            try:
                return self.json(
                    self.send(
                        "POST", "/model", f"creating voice model {title!r}", replayable=False, data=data, files=files
                    )
                )
            except FishError as error:
                if not error.uncertain or attempt == self.retries:
                    raise
            found = self._find_created(title, marker, started)
            if found is not None:
                return found
            self._wait(attempt, None)
        raise AssertionError("unreachable")

    def _find_created(self, title: str, marker: str, since: float) -> dict[str, Any] | None:
        """The model a create whose answer was lost made, if it did: by marker tag, else by title
        and creation time (the newest first)."""
        if marker:
            return next(self.list_models(tag=marker), None)
        for model in self.list_models(title=title):
            if model.get("title") == title and _timestamp(str(model.get("created_at", ""))) >= since:
                return model
        return None

    def get_model(self, model_id: str) -> dict[str, Any]:
        return self.json(self.send("GET", f"/model/{model_id}", f"reading voice model {model_id}"))

    def update_model(self, model_id: str, *, cover_image: tuple[str, bytes] | None = None, **fields: Any) -> None:
        """`PATCH /model/{id}` with any of title, description, visibility, tags (and a cover picture)."""
        data = {
            key: list(value) if isinstance(value, (list, tuple)) else value
            for key, value in fields.items()
            if value is not None
        }
        # JSON (a body openapi.json lists): a form cannot say "no tags", so `tags=[]` would leave
        # the old ones (charvoice's marker too) on the model. The picture goes as a form of its own.
        what = f"updating voice model {model_id}"
        if data:
            self.send(
                "PATCH", f"/model/{model_id}", what,
                content=json.dumps(data).encode(), headers={"Content-Type": "application/json"},
            )  # fmt: skip
        if cover_image:
            files = [("cover_image", (cover_image[0], cover_image[1], _mime(cover_image[0])))]
            self.send("PATCH", f"/model/{model_id}", what, files=files)

    def delete_model(self, model_id: str) -> None:
        self.send("DELETE", f"/model/{model_id}", f"deleting voice model {model_id}")

    def list_models(
        self, *, self_only: bool = True, tag: str | None = None, title: str | None = None, page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every model (the account's own by default), fetched a page at a time."""
        seen = 0
        page = 1
        while True:
            params: dict[str, Any] = {
                "self": "true" if self_only else "false",
                "page_size": page_size,
                "page_number": page,
                "sort_by": "created_at",
            }
            if tag:
                params["tag"] = tag
            if title:
                params["title"] = title
            data = self.json(self.send("GET", "/model", "listing voice models", params=params))
            items = data.get("items") or []
            yield from items
            seen += len(items)
            if not items or seen >= int(data.get("total", 0)):
                return
            page += 1

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


def audio_problem(body: bytes, fmt: str) -> str | None:
    """What is wrong with a text-to-speech answer that should be audio in `fmt` (None: it looks
    like it). WAV is checked in depth, the other formats by their signature."""
    if not body:
        return "no audio"
    if fmt == "wav":
        return _wav_problem(body)
    signatures = {"mp3": (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"), "opus": (b"OggS",)}
    if fmt in signatures and not body.startswith(signatures[fmt]):
        return f"something that is not {fmt.upper()} audio"
    return None


def _wav_problem(body: bytes) -> str | None:
    """A RIFF/WAVE header, a fmt chunk, then samples; a header that states the file's length
    (rather than a streaming placeholder) must have all of it."""
    if body[:4] != b"RIFF" or body[8:12] != b"WAVE":
        return "something that is not WAV audio"
    riff_end = 8 + int.from_bytes(body[4:8], "little")
    offset, chunks = 12, set()
    while offset + 8 <= len(body):
        name, size = body[offset : offset + 4], int.from_bytes(body[offset + 4 : offset + 8], "little")
        if name == b"data":
            if size == 0:  # no sound at all: it would decode to nothing
                return "WAV audio that declares no sound"
            start = offset + 8
            states_length = start + size <= riff_end
            if b"fmt " in chunks and len(body) > start and not (states_length and len(body) < start + size):
                return None
            break
        chunks.add(name)
        offset += 8 + size + (size & 1)
    return "WAV audio that is cut short or malformed"


def _mime(name: str) -> str:
    suffix = name.rsplit(".", 1)[-1].lower()
    types = {
        "wav": "audio/wav",
        "mp3": "audio/mpeg",
        "m4a": "audio/mp4",
        "opus": "audio/ogg",
        "ogg": "audio/ogg",
        "flac": "audio/flac",
    }
    types.update({"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"})
    return types.get(suffix, "application/octet-stream")


def _timestamp(iso: str) -> float:
    """Seconds since the epoch of an ISO 8601 time (0 when it is not one)."""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
