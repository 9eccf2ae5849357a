"""A loopback fake of the Fish Audio API, strict the way the real service is.

It serves what docs.fish.audio documents (and what the official `fishaudio` SDK sends, see
../shared/fish-wire/): Bearer auth, `POST /v1/tts` with a msgpack body and a `model` header,
`POST /model` as multipart with repeated `voices` files and `texts`, `GET/PATCH/DELETE
/model/{id}`, `GET /model?self=true` with paging, `POST /v1/asr` (speech to text: msgpack or multipart with
`audio`, `language`, `ignore_timestamps`; answers `{text, duration, segments, language_code}`; it
"hears" the text it spoke for that audio), `GET /wallet/{self}/api-credit|package`, and errors as
JSON `{status, message}` (a body that cannot be parsed gets a plain-text error, as the docs say).

As the reference (../shared/fish-api/openapi.json) has it: the `model` header takes s1, s2-pro,
s2.1-pro and s2.1-pro-free, and any other name (a typo, the retired speech-1.x) is silently
voiced by s2.1-pro (`Recorded.model_used` says which model really spoke); `reference_id` may be
an array (several speakers, S2 models only); a create takes 1..20 voice files, needs a
`cover_image` when public, transcribes voices sent without texts, and a fast clone answers
`trained` at once (with `training_seconds` set it goes created -> training -> trained, or
failed, so the polling path is testable too). The audio is real: espeak-ng speech (or a fast
syllable-like tone) in the requested format.

Where the reference documents no status for a refusal the fake must still make (an invalid
body, another user's model), the status is an assumption: ASSUMED lists each with its reason,
and each raise names its entry. Its self-hosted mode follows fish-speech's code instead
(tools/server/views.py, schema.py, reference_loader.py; `legacy=True`: v1.5.1).

Everything a test needs to provoke is a plain attribute that may be changed while it runs:
latency, a cap on requests in flight (answered with 429), no credit (402), a random fault rate
(5xx, 429, dropped connections, truncated bodies, stalls, and "garbage": a 200 whose body is
not the audio asked for), and one-shot faults queued with
`inject`. Every request is recorded (the Authorization header reduced to whether it matched)
so tests can count API calls. Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import random
import re
import socket
import subprocess
import threading
import time
import traceback
import uuid
import wave
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgpack
import numpy as np

from fakes import fish_timestamps

# Statuses the reference (openapi.json) does not document for the route that answers them. Each
# is the fake's assumption, chosen because the request cannot be served and some refusal must
# come back; the status follows the reference's own use elsewhere (422 for an invalid body on
# /v1/agent/*, 403/404 on GET /model/{id}). Every such raise below names its key here.
ASSUMED = {
    "tts-422": "/v1/tts documents 200/401/402/503: a body that is not a request (no text, a wrong type, "
    "a value outside the schema's enum or range) still needs a refusal; 422 as FastAPI validation answers",
    "tts-400-reference": "/v1/tts: a reference_id that names no usable model; the status is not documented",
    "tts-429": "/v1/tts: the account's concurrency limit (pricing-and-rate-limits.mdx) names no status; "
    "429 as on the reference's other routes ('too many requests')",
    "model-422": "POST /model documents 201/401/503: an invalid form still needs a refusal",
    "model-owner-403": "PATCH/DELETE /model/{id} document 200/401/503: another user's model (403 as GET documents)",
    "model-missing-404": "PATCH/DELETE /model/{id}: no such model (404 as GET documents)",
    "list-422": "GET /model documents 200 only: page_size outside 1..100 or a sort_by outside its enum",
    "asr-422": "/v1/asr documents 200/401/402/503: a body without audio, or audio that does not decode",
    "wallet-403": "/wallet/{user_id}/*: another user's wallet; only 200/401/503 are documented",
    "patch-422": "PATCH /model/{id} documents 200/401/503: a visibility outside its enum, or a public model "
    "without a cover picture (the rule POST /model documents)",
}

# The `model` header's enum in the API reference; anything else (a typo, a retired name such as
# speech-1.6) is voiced by DEFAULT_MODEL without a word, as the reference says the service does.
KNOWN_MODELS = ("s1", "s2-pro", "s2.1-pro", "s2.1-pro-free")
DEFAULT_MODEL = "s2.1-pro"
S2_FAMILY = ("s2-pro", "s2.1-pro", "s2.1-pro-free")
MAX_VOICES = 20  # POST /model: voices maxItems, texts maxItems
SORT_BY = ("score", "task_count", "created_at")  # GET /model: sort_by's enum
# opus_bitrate: the reference's enum (bps), plus the kbps values the official SDK sends on every
# request (its default is 32): the real service answers both, so the fake must too.
OPUS_BITRATES = (-1000, 24000, 32000, 48000, 64000, 24, 32, 48, 64)
MIME = {"wav": "audio/wav", "pcm": "audio/pcm", "mp3": "audio/mpeg", "opus": "audio/ogg"}
FAULT_KINDS = ("500", "502", "503", "429", "drop", "truncate", "stall", "garbage", "silent-wav")
ASR_MATCH = 0.9  # how alike two loudness contours must be (correlation) to be the same speech
FISH_SPEECH_ID = re.compile(r"[a-zA-Z0-9\-_ ]+")  # the reference loader's id rule
_SPEAKER_TAGS = re.compile(r"<\|speaker:\d+\|>")
_LEADING_CUES = re.compile(r"^\s*(?:(?:\([^)]*\)|\[[^\]]*\])\s*)+")
_VARIANTS = ("m1", "m2", "m3", "m4", "m7", "f1", "f2", "f3", "f4")


@dataclass
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; no key: authorization is "Bearer <redacted>" or "<invalid>"
    body: Any = None  # dict (msgpack/JSON), Form (multipart/urlencoded), bytes (unparsed) or None
    status: int = 0  # what the fake answered; 0 when it dropped the connection
    fault: str = ""  # the fault injected into this request, if any
    model_used: str = ""  # text to speech: the model that really spoke (after the silent fallback)
    voice: str = ""  # Fish Speech text to speech: "default", or the sha256 of the reference audio that spoke

    @property
    def authorized(self) -> bool:
        return self.headers.get("authorization") == "Bearer <redacted>"


@dataclass
class Form:
    """A multipart or urlencoded body: repeated fields keep their order."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[tuple[str, bytes]]] = field(default_factory=dict)

    def one(self, name: str, default: str | None = None) -> str | None:
        values = self.fields.get(name)
        return values[-1] if values else default


class ApiError(Exception):
    """An error answer: JSON {status, message}, or plain text for a body that cannot be parsed."""

    def __init__(
        self, status: int, message: str, *, plain: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.plain, self.headers = (status, message, plain, headers or {})

    def response(self) -> _Response:
        if self.plain:
            return _Response(
                self.status, {"Content-Type": "text/plain; charset=utf-8", **self.headers}, self.message.encode()
            )
        return _json(self.status, {"status": self.status, "message": self.message}, self.headers)


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes
    chunked: bool = False
    fault: str = ""


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> _Response:
    return _Response(status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(data).encode())


def _now_iso() -> str:
    return datetime.now(UTC).isoformat()


class FakeFishServer:
    """Start with `with FakeFishServer(...) as fake:`; point clients at `fake.url`."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        latency: float = 0.0,
        max_in_flight: int | None = None,
        retry_after: str | None = None,
        fault_rate: float = 0.0,
        faults: tuple[str, ...] = ("500", "503", "drop", "truncate"),
        fault_paths: tuple[str, ...] = ("/v1/tts",),
        stall_seconds: float = 2.0,
        training_seconds: float = 0.0,
        fail_titles: tuple[str, ...] = (),
        no_credit: bool = False,
        credit: str = "25.000000",
        self_hosted: bool = False,
        legacy: bool = False,
        audio: str = "speech",
        known_models: tuple[str, ...] = KNOWN_MODELS,
        seed: int = 1,
    ) -> None:
        self.api_key = api_key  # None: no auth at all (a self-hosted Fish Speech server)
        self.latency = latency  # seconds every routed request takes at least
        self.max_in_flight = max_in_flight  # the account's concurrency limit; above it: 429
        self.retry_after = retry_after  # Retry-After header value sent with 429 and 503
        self.busy_until = 0.0  # time.monotonic() until which every request is answered 503 (`busy`)
        self._busy_for: float | None = None  # `busy`: how long, once the next request arrives
        self.fault_rate = fault_rate
        self.faults = faults
        self.fault_paths = fault_paths
        self.stall_seconds = stall_seconds
        self.training_seconds = training_seconds
        self.fail_titles = set(fail_titles)
        self.no_credit = no_credit
        self.credit = credit  # the account's API credit in USD, a decimal string as the wallet API sends it
        self.self_hosted = self_hosted  # Fish Speech: its /v1/tts schema and /v1/references API
        # Fish Speech 1.5.1 (the last stable release): no /v1/references API, chunk_length <= 300, no opus.
        self.legacy = legacy
        # Fish Speech's references/<id>/ folders: (audio, .lab text) pairs; an empty list is the
        # empty folder its loader creates for an id a /v1/tts request names.
        self.references: dict[str, list[tuple[bytes, str]]] = {}
        self.audio = audio  # "speech" (espeak-ng) or "tone"
        self.known_models = known_models
        self.user_id = "user-" + hashlib.sha256((api_key or "").encode()).hexdigest()[:12]
        # Speech to text: the fake hears the text it spoke in that audio, recognised by the bytes
        # it served or, once the audio was processed (trimmed, normalised, re-encoded), by its
        # loudness contour. `asr_mishear` maps a spoken text to what is heard instead (a garbled
        # take); `asr_unknown` is what it hears in audio it never spoke.
        self.asr_mishear: dict[str, str] = {}
        self.asr_unknown = ""
        self._spoken: list[tuple[str, str, np.ndarray]] = []  # (sha256 of the bytes served, text, contour)
        # The same request is answered with the same audio, made once: the real service's
        # synthesis runs on its machines, so a benchmark that asks again measures charvoice
        # alone (bench/fish_throughput.py asks every line once before the clock starts).
        self._said: dict[tuple[Any, ...], tuple[bytes, tuple[str, str, np.ndarray]]] = {}

        self.requests: list[Recorded] = []
        self.models: dict[str, dict[str, Any]] = {}
        self.max_in_flight_seen = 0
        self._in_flight = 0
        self._queued: list[list[Any]] = []  # [kind, path or None, remaining]
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._httpd: _HTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeFishServer:
        self._httpd = _HTTPServer(self)
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeFishServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # --- what tests use ----------------------------------------------------------------------

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally only one method and/or path (a path ending in / is a prefix)."""
        with self._lock:
            found = list(self.requests)
        if method:
            found = [r for r in found if r.method == method]
        if path:
            found = [r for r in found if (r.path.startswith(path) if path.endswith("/") else r.path == path)]
        return found

    def asr_calls(self) -> list[Recorded]:
        return self.calls("POST", "/v1/asr")

    def tts_texts(self) -> list[str]:
        return [r.body["text"] for r in self.calls("POST", "/v1/tts") if isinstance(r.body, dict) and "text" in r.body]

    def reset_calls(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight_seen = 0

    def inject(self, kind: str, path: str | None = None, count: int = 1) -> None:
        """Make the next `count` requests to `path` (any path when None) fail with `kind`."""
        assert kind in FAULT_KINDS, kind
        with self._lock:
            self._queued.append([kind, path, count])

    def busy(self, seconds: float) -> None:
        """Answer every request with 503 (openapi.json: "cannot process the request due to a
        high load") for `seconds` from the next request on."""
        with self._lock:
            self._busy_for = seconds

    def add_model(
        self, title: str, *, owner: str | None = None, visibility: str = "public", state: str = "trained"
    ) -> str:
        """A model that already exists (someone else's when `owner` is given); returns its id."""
        model = self._new_model(title, "", visibility, [], [("sample.wav", b"")], [], owner or self.user_id)
        model["_forced_state"] = state
        return model["_id"]

    def state_of(self, model_id: str) -> str:
        return self._state(self.models[model_id])

    # --- request handling --------------------------------------------------------------------

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        body = _read_body(handler)
        url = urlsplit(handler.path)
        record = Recorded(handler.command, url.path, parse_qs(url.query), self._safe_headers(handler))
        try:  # recorded even when the request is refused, so tests can tell which line it was
            record.body = _parse_body(handler.headers.get("Content-Type", ""), body)
        except ApiError:
            record.body = body
        with self._lock:
            self.requests.append(record)
            self._in_flight += 1
            in_flight = self._in_flight
            self.max_in_flight_seen = max(self.max_in_flight_seen, in_flight)
        try:
            response = self._respond(handler, record, body, in_flight)
        except ApiError as error:
            response = error.response()
        except Exception as exc:  # a bug in the fake must show up as a 500, never as a hang
            traceback.print_exc()
            response = _json(500, {"status": 500, "message": f"fake server bug: {exc!r}"})
        finally:
            # Leave the in-flight count before answering: once a client holds the answer, the
            # request is over for it too, so a new one it sends is never counted twice.
            with self._lock:
                self._in_flight -= 1
        record.status = 0 if response.fault == "drop" else response.status
        _write(handler, response)

    def _safe_headers(self, handler: BaseHTTPRequestHandler) -> dict[str, str]:
        headers = {name.lower(): value for name, value in handler.headers.items()}
        if "authorization" in headers:
            good = self.api_key is not None and headers["authorization"] == f"Bearer {self.api_key}"
            headers["authorization"] = "Bearer <redacted>" if good else "<invalid>"
        return headers

    def _respond(self, handler: BaseHTTPRequestHandler, record: Recorded, body: bytes, in_flight: int) -> _Response:
        if self.api_key is not None and handler.headers.get("Authorization") != f"Bearer {self.api_key}":
            raise ApiError(401, "Invalid Token")
        if self.max_in_flight is not None and in_flight > self.max_in_flight:
            record.fault = "over-cap"  # ASSUMED["tts-429"]
            raise ApiError(
                429, f"Too many concurrent requests (limit {self.max_in_flight})", headers=self._retry_after()
            )
        with self._lock:
            if self._busy_for is not None:
                self.busy_until, self._busy_for = time.monotonic() + self._busy_for, None
        if time.monotonic() < self.busy_until:
            record.fault = "busy"
            raise ApiError(503, "Service is under high load", headers=self._retry_after())
        fault = self._pick_fault(record.path)
        record.fault = fault
        if fault in ("500", "502", "503", "429"):
            headers = self._retry_after() if fault in ("429", "503") else {}
            reason = {"429": "Rate limit exceeded", "502": "Bad gateway", "503": "Service unavailable"}.get(
                fault, "Internal server error"
            )
            raise ApiError(int(fault), reason, headers=headers)
        if fault == "stall":
            time.sleep(self.stall_seconds)
        started = time.monotonic()
        parsed = _parse_body(handler.headers.get("Content-Type", ""), body)
        response = self._route(handler.command, record.path, record.query, parsed, handler.headers, record)
        remaining = self.latency - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)
        response.fault = fault if fault in ("drop", "truncate") else ""
        if fault == "silent-wav" and response.body[:4] == b"RIFF":  # a header that declares no sound
            response.body = response.body[:40] + b"\x00\x00\x00\x00" + response.body[44:]
        if fault == "garbage" and response.status == 200:
            with self._lock:
                variant = self._rng.randrange(len(GARBAGE))
            response.body = GARBAGE[variant](response.body)
        return response

    def _retry_after(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after} if self.retry_after is not None else {}

    def _pick_fault(self, path: str) -> str:
        with self._lock:
            for queued in self._queued:
                if queued[1] is None or queued[1] == path:
                    queued[2] -= 1
                    if queued[2] <= 0:
                        self._queued.remove(queued)
                    return queued[0]
            if self.fault_rate and path in self.fault_paths and self._rng.random() < self.fault_rate:
                return self._rng.choice(self.faults)
        return ""

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, headers, record: Recorded | None = None
    ) -> _Response:
        if self.self_hosted:  # Fish Speech: its own /v1/tts schema and references API, nothing else
            return self._fish_speech(method, path, body, headers, record)
        if path == "/v1/tts":
            if method != "POST":
                raise ApiError(405, "Method Not Allowed")
            return self._tts(body, headers.get("model"), record)
        match = re.fullmatch(r"/wallet/([^/]+)/(api-credit|package)", path)
        if match:
            if method != "GET":
                raise ApiError(405, "Method Not Allowed")
            return self._wallet(match.group(1), match.group(2), query)
        if path == "/model":
            if method == "POST":
                return self._create(body)
            if method == "GET":
                return self._list(query)
            raise ApiError(405, "Method Not Allowed")
        if path == fish_timestamps.PATH:  # TTS with word timings as an event stream: fish_timestamps.py
            if method != "POST":
                raise ApiError(405, "Method Not Allowed")
            return fish_timestamps.handle(self, body, headers.get("model"))
        if path == "/v1/asr":
            if method != "POST":
                raise ApiError(405, "Method Not Allowed")
            return self._asr(body)
        match = re.fullmatch(r"/model/([^/]+)", path)
        if match:
            handler = {"GET": self._get, "PATCH": self._patch, "DELETE": self._delete}.get(method)
            if handler is None:
                raise ApiError(405, "Method Not Allowed")
            return handler(match.group(1), body)
        raise ApiError(404, "Not Found")

    # --- /v1/tts -----------------------------------------------------------------------------

    def _tts(self, body: Any, model: str | None, record: Recorded | None = None) -> _Response:
        """TTSRequest as openapi.json has it; every 422 here is ASSUMED["tts-422"]."""
        if not isinstance(body, dict):
            raise ApiError(422, "the request body must be a msgpack (or JSON) map")  # ASSUMED["tts-422"]
        used = self.resolve_model(model)
        if record is not None:
            record.model_used = used
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():  # ASSUMED["tts-422"]: nothing to say is no request
            raise ApiError(422, "text: field required (a non-empty string)")
        fmt = body.get("format", "mp3")
        if fmt not in MIME:
            raise ApiError(422, f"format: must be one of {', '.join(MIME)}, not {fmt!r}")
        _check_number(body, "temperature", 0.0, 1.0)
        _check_number(body, "top_p", 0.0, 1.0)
        _check_number(body, "chunk_length", 100, 300, integer=True)
        _check_number(body, "min_chunk_length", 0, 100, integer=True)
        _check_number(body, "early_stop_threshold", 0.0, 1.0)
        _check_number(body, "sample_rate", 1, 1 << 31, integer=True)  # any integer; no audio at a rate <= 0
        _check_number(body, "max_new_tokens", -(1 << 63), 1 << 63, integer=True)  # any integer
        _check_number(body, "repetition_penalty", -1e308, 1e308)  # any number
        _check_choice(body, "latency", ("normal", "balanced", "low"))
        _check_choice(body, "mp3_bitrate", (64, 128, 192))
        _check_choice(body, "opus_bitrate", OPUS_BITRATES)
        for flag in ("normalize", "condition_on_previous_chunks"):
            if flag in body and not isinstance(body[flag], bool):
                raise ApiError(422, f"{flag}: must be a boolean")
        features = body.get("features", [])
        if not isinstance(features, list) or not all(isinstance(f, str) for f in features):
            raise ApiError(422, "features: must be a list of strings")
        prosody = body.get("prosody")
        speed = 1.0
        if prosody is not None:
            if not isinstance(prosody, dict):
                raise ApiError(422, "prosody: must be a map with speed and volume")
            # ProsodyControl: speed and volume are numbers with no documented range; a speed <= 0
            # cannot be spoken (ASSUMED["tts-422"]).
            _check_number(prosody, "speed", 1e-6, 1e308, where="prosody.")
            _check_number(prosody, "volume", -1e308, 1e308, where="prosody.")
            if "normalize_loudness" in prosody and not isinstance(prosody["normalize_loudness"], bool):
                raise ApiError(422, "prosody.normalize_loudness: must be a boolean")
            speed = float(prosody.get("speed", 1.0))
        speakers = self._speakers(body, used)
        if self.no_credit:
            raise ApiError(402, "Insufficient credits")
        voices = []
        for reference_id, references in speakers:
            if references:  # zero-shot: the samples are the voice (ids are then just labels)
                voices.append(hashlib.sha256(b"".join(r["audio"] for r in references)).hexdigest())
            elif reference_id:
                self._usable_model(reference_id)
                voices.append(reference_id)
        voice = voices[0] if voices else "default"  # dialogue: the fake speaks with the first voice
        sample_rate = body.get("sample_rate") or (48000 if fmt == "opus" else 44100)
        said = (text, voice, speed, sample_rate, fmt)
        with self._lock:
            known = self._said.get(said)
        if known is None:
            pcm = self._speak(_SPEAKER_TAGS.sub(" ", text), voice, speed, sample_rate)
            audio = _encode(pcm, sample_rate, fmt)
            known = (audio, (hashlib.sha256(audio).hexdigest(), text, _contour(pcm, sample_rate)))
            with self._lock:
                self._said[said] = known
        with self._lock:
            self._spoken.append(known[1])
        return _Response(200, {"Content-Type": MIME[fmt]}, known[0], chunked=True)

    def resolve_model(self, model: str | None) -> str:
        """The model that really speaks: the header's when the service knows it, else the default."""
        return model if model in self.known_models else DEFAULT_MODEL

    def _speakers(self, body: dict, model: str) -> list[tuple[str, list[dict]]]:
        """(reference_id, references) per speaker. One speaker: a string and/or a list of
        references; several (S2 family only): an array of ids and/or an array of arrays."""
        reference_id = body.get("reference_id")
        references = body.get("references") or []
        if not isinstance(references, list):
            raise ApiError(422, "references: must be a list")
        multi = isinstance(reference_id, list) or (references and all(isinstance(r, list) for r in references))
        if multi and model not in S2_FAMILY:
            raise ApiError(
                422, f"reference_id: several speakers need an S2 model ({', '.join(S2_FAMILY)}), not {model!r}"
            )
        if not multi:
            if reference_id is not None and not isinstance(reference_id, str):
                raise ApiError(422, "reference_id: must be a string or an array of strings")
            _check_references(references, "references")
            return [(reference_id or "", references)]
        ids = reference_id if isinstance(reference_id, list) else []
        if not all(isinstance(i, str) for i in ids):
            raise ApiError(422, "reference_id: must be a string or an array of strings")
        groups = references if references else [[] for _ in ids]
        if not all(isinstance(g, list) for g in groups):
            raise ApiError(422, "references: for several speakers, an array of arrays of references")
        if ids and len(groups) != len(ids):
            raise ApiError(422, f"references: {len(groups)} speakers' references for {len(ids)} reference ids")
        for index, group in enumerate(groups):
            _check_references(group, f"references[{index}]")
        return [(ids[i] if i < len(ids) else "", group) for i, group in enumerate(groups)]

    # --- /v1/asr -----------------------------------------------------------------------------

    def _asr(self, body: Any) -> _Response:
        """Every 422 here is ASSUMED["asr-422"]."""
        if isinstance(body, Form):  # multipart: audio as a file part, the rest as fields
            files = body.files.get("audio") or []
            audio = files[-1][1] if files else None
            language = body.one("language")
            flag = (body.one("ignore_timestamps") or "true").lower()
            if flag not in ("true", "false"):
                raise ApiError(422, f"ignore_timestamps: must be true or false, not {flag!r}")
            ignore_timestamps = flag == "true"
        elif isinstance(body, dict):
            audio, language, ignore_timestamps = (
                body.get("audio"),
                body.get("language"),
                body.get("ignore_timestamps", True),
            )
            if not isinstance(ignore_timestamps, bool):
                raise ApiError(422, "ignore_timestamps: must be a boolean")
        else:
            raise ApiError(422, "the request body must be msgpack or multipart/form-data with an audio field")
        if not isinstance(audio, bytes) or not audio:
            raise ApiError(422, "audio: field required (the audio file's bytes)")
        if language is not None and not isinstance(language, str):  # any string: "an optional hint"
            raise ApiError(422, f"language: must be a string, not {language!r}")  # ASSUMED["asr-422"]
        if self.no_credit:
            raise ApiError(402, "Insufficient credits")
        pcm, rate = _decode(audio)
        text = self._heard(audio, pcm, rate)
        duration = round(len(pcm) / rate, 3)
        segments = [] if ignore_timestamps or not text else _sentence_segments(text, pcm, rate)
        answer: dict[str, Any] = {"text": text, "duration": duration, "segments": segments}
        if text:  # "Omitted if no language is detected"; the fake only ever speaks English
            answer.update(language_code="en", language="English")
        return _json(200, answer)

    def _heard_file(self, audio: bytes) -> str:
        try:
            pcm, rate = _decode(audio)
        except ApiError:
            return ""
        return self._heard(audio, pcm, rate)

    # --- /wallet -------------------------------------------------------------------------------

    def _wallet(self, user_id: str, what: str, query: dict[str, list[str]]) -> _Response:
        if user_id not in ("self", self.user_id):  # ASSUMED["wallet-403"]
            raise ApiError(403, "Permission denied")
        now = _now_iso()
        if what == "package":
            return _json(
                200,
                {
                    "_id": "package-" + self.user_id,
                    "user_id": self.user_id,
                    "type": "free",
                    "total": 0,
                    "balance": 0,
                    "created_at": now,
                    "updated_at": now,
                    "finished_at": now,
                },
            )
        answer: dict[str, Any] = {
            "_id": "credit-" + self.user_id, "user_id": self.user_id, "credit": self.credit,  # no_credit (402 on requests) leaves the balance to the test
            "cumulative_top_up": self.credit, "created_at": now, "updated_at": now, "has_phone_sha256": False,
        }  # fmt: skip
        if query.get("check_free_credit", ["false"])[-1].lower() == "true":
            answer["has_free_credit"] = False
        return _json(200, answer)

    def _heard(self, audio: bytes, pcm: np.ndarray, rate: int) -> str:
        digest = hashlib.sha256(audio).hexdigest()
        with self._lock:
            spoken = list(self._spoken)
        text = next((said for sha, said, _ in spoken if sha == digest), None)
        if text is None:
            contour = _contour(pcm, rate)
            scores = [(_similarity(contour, other), said) for _, said, other in spoken]
            best = max(scores, default=(0.0, ""))
            text = best[1] if best[0] >= ASR_MATCH else None
        if text is None:
            return self.asr_unknown
        text = self.asr_mishear.get(text, text)
        return _LEADING_CUES.sub("", text).strip()  # emotion cues steer the voice; they are not spoken

    # --- self-hosted Fish Speech (fishaudio/fish-speech: tools/server/views.py, schema.py,
    # reference_loader.py) ---------------------------------------------------------------------

    def _fish_speech(self, method: str, path: str, body: Any, headers, record: Recorded | None) -> _Response:
        as_json = "application/json" in (headers.get("Accept") or "")
        if path == "/v1/tts" and method == "POST":
            return self._fish_speech_tts(body, record)
        if path in ("/v1/health",):
            return _json(200, {"status": "ok"})
        if self.legacy:  # v1.5.1 routes nothing under /v1/references (kui: an unknown route is 404)
            if path == "/v1/asr" and method == "POST" and not (isinstance(body, dict) and "audios" in body):
                # Its ServeASRRequest wants `audios` (float16 PCM), not Fish Audio's `audio`: pydantic's 422.
                raise ApiError(422, "audios: field required", plain=True)
            raise ApiError(404, "Not Found", plain=True)
        if path == "/v1/references/list" and method == "GET":
            # reference_loader.list_reference_ids: only folders holding audio and its .lab
            ids = sorted(rid for rid, files in self.references.items() if files)
            return _reply(
                200, {"success": True, "reference_ids": ids, "message": f"Found {len(ids)} reference voices"}, as_json
            )
        if path == "/v1/references/add" and method == "POST":
            return self._fish_speech_add(body, as_json)
        if path == "/v1/references/delete" and method == "DELETE":
            reference_id = (
                body.get("reference_id")
                if isinstance(body, dict)
                else (body.one("reference_id") if isinstance(body, Form) else None)
            )
            if not isinstance(reference_id, str) or not reference_id.strip():
                return _reply(
                    400, {"success": False, "message": "Reference ID cannot be empty", "reference_id": ""}, as_json
                )
            if not FISH_SPEECH_ID.fullmatch(reference_id) or len(reference_id) > 255:
                message = "Reference ID contains invalid characters or is too long"
                return _reply(400, {"success": False, "message": message, "reference_id": reference_id}, as_json)
            if self.references.pop(reference_id, None) is None:  # rmtree: an empty folder goes too
                return _reply(
                    404,
                    {
                        "success": False,
                        "message": f"Reference ID '{reference_id}' not found",
                        "reference_id": reference_id,
                    },
                    as_json,
                )
            return _reply(
                200,
                {
                    "success": True,
                    "message": f"Reference voice '{reference_id}' deleted successfully",
                    "reference_id": reference_id,
                },
                as_json,
            )
        raise ApiError(404, "Not Found", plain=True)

    def _fish_speech_add(self, form: Any, as_json: bool) -> _Response:
        if not isinstance(form, Form):
            raise ApiError(422, "multipart/form-data with id, audio and text", plain=True)
        reference_id, text = form.one("id") or "", form.one("text") or ""
        audio = (form.files.get("audio") or [("", b"")])[-1][1]
        problem = ""
        if not reference_id.strip():
            problem = "Reference ID cannot be empty"
        elif not text.strip():
            problem = "Reference text cannot be empty"
        elif not audio:
            problem = "Audio file is empty or could not be read"
        elif not FISH_SPEECH_ID.fullmatch(reference_id) or len(reference_id) > 255:
            problem = "Reference ID contains invalid characters or is too long"
        if problem:
            return _reply(400, {"success": False, "message": problem, "reference_id": reference_id}, as_json)
        if reference_id in self.references:  # the folder exists, whole or empty: FileExistsError
            return _reply(
                409,
                {
                    "success": False,
                    "message": f"Reference ID '{reference_id}' already exists",
                    "reference_id": reference_id,
                },
                as_json,
            )
        self.references[reference_id] = [(audio, text)]
        return _reply(
            200,
            {
                "success": True,
                "message": f"Reference voice '{reference_id}' added successfully",
                "reference_id": reference_id,
            },
            as_json,
        )

    def _fish_speech_tts(self, body: Any, record: Recorded | None) -> _Response:
        """ServeTTSRequest (pydantic 2, fields not in the model ignored): chunk_length a strict
        int of 100..1000 (100..300 in v1.5.1), format wav/pcm/mp3/opus (no opus in v1.5.1),
        latency normal/balanced (no such field in v1.5.1), top_p/temperature/repetition_penalty
        strict floats in range (pydantic's strict float takes an int, never a bool or a string).
        An unknown reference_id makes an empty folder (the default voice speaks, 200); an id
        outside the loader's characters fails inside the server (500)."""
        if not isinstance(body, dict):
            raise ApiError(422, "the request body must be msgpack or JSON")
        text = body.get("text")
        if not isinstance(text, str):
            raise ApiError(422, "text: field required")
        if record is not None:
            record.model_used = "fish-speech"
        fmt = body.get("format", "wav")
        formats = ("wav", "pcm", "mp3") if self.legacy else ("wav", "pcm", "mp3", "opus")
        if fmt not in formats:
            raise ApiError(422, f"format: must be one of {', '.join(formats)}, not {fmt!r}")
        _check_number(body, "chunk_length", 100, 300 if self.legacy else 1000, integer=True)
        if not self.legacy:
            _check_choice(body, "latency", ("normal", "balanced"))
        for key, low, high in (("top_p", 0.1, 1.0), ("temperature", 0.1, 1.0), ("repetition_penalty", 0.9, 2.0)):
            value = body.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high
            ):
                raise ApiError(422, f"{key}: must be a number from {low} to {high}, not {value!r}")
        if body.get("use_memory_cache", "off") not in ("on", "off"):
            raise ApiError(422, "use_memory_cache: must be 'on' or 'off'")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ApiError(422, "seed: must be an integer")
        references = body.get("references") or []
        _check_references(references, "references")
        reference_id = body.get("reference_id")
        voice = "default"
        if references:
            voice = hashlib.sha256(b"".join(r["audio"] for r in references)).hexdigest()
        elif reference_id is not None:
            if not isinstance(reference_id, str):
                raise ApiError(422, "reference_id: must be a string")
            if not FISH_SPEECH_ID.fullmatch(reference_id):
                raise ApiError(500, "Failed to generate speech", plain=True)
            with self._lock:
                files = self.references.setdefault(reference_id, [])  # load_by_id: mkdir(exist_ok=True)
            if files:  # an empty folder: no prompt, the default voice
                voice = hashlib.sha256(files[0][0]).hexdigest()
        if record is not None:
            record.voice = voice
        rate = 44100
        pcm = self._speak(text, voice, 1.0, rate)  # no prosody: the speed is never applied here
        audio = _encode(pcm, rate, fmt)
        with self._lock:
            self._spoken.append((hashlib.sha256(audio).hexdigest(), text, _contour(pcm, rate)))
        return _Response(200, {"Content-Type": MIME[fmt]}, audio)

    def _usable_model(self, reference_id: str) -> dict[str, Any]:
        model = self.models.get(reference_id)
        if self.self_hosted:
            if model is None:  # Fish Speech looks for references/<id>/ on the server
                raise ApiError(400, f"reference_id {reference_id!r}: no such reference folder on the server")
            return model
        if model is None or (model["_owner"] != self.user_id and model["visibility"] == "private"):
            raise ApiError(400, f"reference_id {reference_id!r}: voice model not found")  # ASSUMED["tts-400-reference"]
        state = self._state(model)
        if state != "trained":  # ASSUMED["tts-400-reference"]
            raise ApiError(400, f"reference_id {reference_id!r}: voice model is {state}, not trained")
        model["task_count"] += 1
        return model

    def _speak(self, text: str, voice: str, speed: float, sample_rate: int) -> np.ndarray:
        digest = int(hashlib.sha256(voice.encode()).hexdigest(), 16)
        if self.audio == "speech":
            from charvoice.engines.base import SpeechRequest
            from charvoice.engines.offline import OfflineEngine

            request = SpeechRequest(
                engine="offline", text=text, locale="en",
                voice={"language": "en", "variant": _VARIANTS[digest % len(_VARIANTS)], "pitch": 30 + (digest >> 8) % 40, "rate": int(170 * speed)},
            )  # fmt: skip
            with wave.open(io.BytesIO(OfflineEngine().synthesize(request).audio)) as reader:
                rate = reader.getframerate()
                pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768
        else:
            rate = 16000
            pcm = _tone(len(text), 110 + digest % 120, rate, speed)
        if rate != sample_rate:  # linear interpolation is plenty for a fake
            positions = np.arange(int(len(pcm) * sample_rate / rate)) * rate / sample_rate
            pcm = np.interp(positions, np.arange(len(pcm)), pcm).astype(np.float32)
        return pcm

    # --- /model ------------------------------------------------------------------------------

    def _create(self, form: Any) -> _Response:
        """Every 422 here is ASSUMED["model-422"]."""
        if not isinstance(form, Form):
            raise ApiError(422, "POST /model takes multipart/form-data")
        kind = form.one("type")
        if kind != "tts":
            raise ApiError(
                422, "type: field required and must be 'tts'" if kind is None else f"type: must be 'tts', not {kind!r}"
            )
        title = form.one("title")
        if not title:
            raise ApiError(422, "title: field required")
        train_mode = form.one("train_mode")
        if train_mode != "fast":
            raise ApiError(422, "train_mode: field required and must be 'fast'")
        visibility = form.one("visibility", "public")
        if visibility not in ("public", "unlist", "private"):
            raise ApiError(422, f"visibility: must be public, unlist or private, not {visibility!r}")
        enhance = form.one("enhance_audio_quality", "false")
        if enhance.lower() not in ("true", "false"):
            raise ApiError(422, f"enhance_audio_quality: must be true or false, not {enhance!r}")
        voices = form.files.get("voices", [])
        if not voices:
            raise ApiError(422, "voices: at least one audio file is required")
        if len(voices) > MAX_VOICES:
            raise ApiError(422, f"voices: at most {MAX_VOICES} files, not {len(voices)}")
        if any(not data for _, data in voices):
            raise ApiError(422, "voices: empty file")
        texts = form.fields.get("texts", [])
        if len(texts) > MAX_VOICES:
            raise ApiError(422, f"texts: at most {MAX_VOICES}, not {len(texts)}")
        if texts and len(texts) != len(voices):
            raise ApiError(
                422, f"texts: {len(texts)} texts for {len(voices)} voices; give one text per voice file or none"
            )
        covers = form.files.get("cover_image", [])
        if visibility == "public" and not (covers and covers[-1][1]):
            raise ApiError(422, "cover_image: required when the model is public")
        if not texts:  # "if unspecified, ASR will be performed on the voices"
            texts = [self._heard_file(data) for _, data in voices]
        model = self._new_model(
            title,
            form.one("description", "") or "",
            visibility,
            form.fields.get("tags", []),
            voices,
            texts,
            self.user_id,
        )
        if covers:
            model["cover_image"] = f"coverimage/{model['_id']}"
            model["_cover_sha256"] = hashlib.sha256(covers[-1][1]).hexdigest()
        # A fast clone is usually ready at once (`trained` in this very answer); with
        # training_seconds set it starts as `created` and a client has to poll.
        return _json(201, self._public(model))

    def _new_model(self, title, description, visibility, tags, voices, texts, owner) -> dict[str, Any]:
        model_id = uuid.uuid4().hex
        now = _now_iso()
        model = {
            "_id": model_id, "type": "tts", "title": title, "description": description, "cover_image": "",
            "train_mode": "fast", "tags": list(tags), "created_at": now, "updated_at": now, "languages": ["en"],
            "visibility": visibility, "lock_visibility": False, "like_count": 0, "mark_count": 0, "shared_count": 0,
            "task_count": 0, "liked": False, "marked": False,
            "author": {"_id": owner, "nickname": "fake-user", "avatar": ""},
            "samples": [
                {"title": name, "text": texts[i] if i < len(texts) else "", "task_id": uuid.uuid4().hex, "audio": f"/fake/{model_id}/{i}"}
                for i, (name, _) in enumerate(voices)
            ],
            "_owner": owner, "_created": time.monotonic(), "_fail": title in self.fail_titles, "_forced_state": None, "_cover_sha256": "",
            "_voice_sha256": [hashlib.sha256(data).hexdigest() for _, data in voices],
        }  # fmt: skip
        with self._lock:
            self.models[model_id] = model
        return model

    def _state(self, model: dict[str, Any]) -> str:
        if model["_forced_state"]:
            return model["_forced_state"]
        elapsed = time.monotonic() - model["_created"]
        if elapsed < self.training_seconds / 3:
            return "created"
        if elapsed < self.training_seconds:
            return "training"
        return "failed" if model["_fail"] else "trained"

    def _public(self, model: dict[str, Any], state: str | None = None) -> dict[str, Any]:
        public = {key: value for key, value in model.items() if not key.startswith("_") or key == "_id"}
        public["state"] = state or self._state(model)
        return public

    def _owned(self, model_id: str) -> dict[str, Any]:
        model = self.models.get(model_id)
        if model is None:  # ASSUMED["model-missing-404"] (PATCH, DELETE)
            raise ApiError(404, "Model not found")
        if model["_owner"] != self.user_id:  # ASSUMED["model-owner-403"]
            raise ApiError(403, "Permission denied: this model belongs to another user")
        return model

    def _get(self, model_id: str, _body: Any) -> _Response:
        model = self.models.get(model_id)
        if model is None or (model["_owner"] != self.user_id and model["visibility"] == "private"):
            raise ApiError(404, "Model not found")
        return _json(200, self._public(model))

    def _patch(self, model_id: str, body: Any) -> _Response:
        """Form fields or JSON (both listed); fields it does not list are ignored, as the
        reference's models ignore them. Every 422 here is ASSUMED["patch-422"]."""
        model = self._owned(model_id)
        if isinstance(body, Form):
            changes: dict[str, Any] = {key: values[-1] for key, values in body.fields.items() if key != "tags"}
            if "tags" in body.fields:
                changes["tags"] = body.fields["tags"]
        elif isinstance(body, dict):
            changes = dict(body)
        elif body is None:
            changes = {}
        else:
            raise ApiError(422, "PATCH /model/{id} takes form fields or JSON")
        changes = {
            key: value
            for key, value in changes.items()
            if key in ("title", "description", "visibility", "tags", "cover_image")
        }
        if "visibility" in changes and changes["visibility"] not in ("public", "unlist", "private", None):
            raise ApiError(422, f"visibility: must be public, unlist or private, not {changes['visibility']!r}")
        changes = {key: value for key, value in changes.items() if value is not None}  # null: unchanged
        if "tags" in changes and isinstance(changes["tags"], str):
            changes["tags"] = [changes["tags"]]
        cover = changes.pop("cover_image", None)
        if isinstance(body, Form) and body.files.get("cover_image"):
            cover = body.files["cover_image"][-1][1]
        if isinstance(cover, bytes) and cover:
            model["cover_image"] = f"coverimage/{model_id}"
            model["_cover_sha256"] = hashlib.sha256(cover).hexdigest()
        if changes.get("visibility") == "public" and not model["cover_image"]:
            raise ApiError(422, "cover_image: required when the model is public")
        model.update(changes)
        model["updated_at"] = _now_iso()
        return _Response(200, {}, b"")

    def _delete(self, model_id: str, _body: Any) -> _Response:
        self._owned(model_id)
        with self._lock:
            del self.models[model_id]
        return _Response(200, {}, b"")

    def _list(self, query: dict[str, list[str]]) -> _Response:
        def one(name: str, default: str) -> str:
            return query.get(name, [default])[-1]

        try:
            page_size, page_number = (int(one("page_size", "10")), int(one("page_number", "1")))
        except ValueError:
            raise ApiError(422, "page_size and page_number must be integers") from None
        if not 1 <= page_size <= 100 or page_number < 1:  # ASSUMED["list-422"]
            raise ApiError(422, "page_size must be 1..100 and page_number >= 1")
        own = one("self", "false").lower() == "true"
        models = [
            m
            for m in list(self.models.values())
            if (m["_owner"] == self.user_id if own else m["visibility"] == "public")
        ]
        if "title" in query:
            models = [m for m in models if one("title", "").lower() in m["title"].lower()]
        for tag in query.get("tag", []):
            models = [m for m in models if tag in m["tags"]]
        order = one("sort_by", "score")  # the reference's default
        if order not in SORT_BY:
            raise ApiError(422, f"sort_by: must be one of {', '.join(SORT_BY)}, not {order!r}")  # ASSUMED["list-422"]
        models.sort(
            key=lambda m: {
                "task_count": (m["task_count"], m["created_at"]),
                "created_at": (m["created_at"],),
                "score": (m["like_count"] + m["task_count"], m["created_at"]),  # its formula is not published
            }[order],
            reverse=True,
        )
        page = models[(page_number - 1) * page_size : page_number * page_size]
        return _json(200, {"total": len(models), "items": [self._public(m) for m in page]})


# --- HTTP plumbing ---------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # a burst of new connections must not be refused by the backlog

    def __init__(self, fake: FakeFishServer) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address) -> None:
        pass  # a client hanging up mid-request is not news


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real service and httpx's pool expect
    server_version = "FakeFish/1.0"

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self.server.fake._serve(self)  # type: ignore[attr-defined]

    do_POST = do_PATCH = do_DELETE = do_PUT = do_GET


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _parse_body(content_type: str, body: bytes) -> Any:
    kind = content_type.split(";")[0].strip().lower()
    if not body and kind != "multipart/form-data":
        return None
    if kind == "application/msgpack":
        try:
            return msgpack.unpackb(body, raw=False)
        except Exception as exc:  # msgpack raises several unrelated types
            raise ApiError(422, f"Failed to parse msgpack body: {exc}", plain=True) from None
    if kind == "application/json":
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ApiError(422, f"Failed to parse JSON body: {exc}", plain=True) from None
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if kind == "application/x-www-form-urlencoded":
        return Form(parse_qs(body.decode("utf-8"), keep_blank_values=True))
    return body


def _parse_multipart(content_type: str, body: bytes) -> Form:
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not match:
        raise ApiError(422, "Failed to parse multipart body: no boundary", plain=True)
    parts = body.split(b"--" + match.group(1).encode())
    if len(parts) < 2 or not parts[-1].startswith(b"--"):
        raise ApiError(422, "Failed to parse multipart body: missing closing boundary", plain=True)
    form = Form()
    for part in parts[1:-1]:
        head, separator, content = part.partition(b"\r\n\r\n")
        if not separator or not head.startswith(b"\r\n") or not content.endswith(b"\r\n"):
            raise ApiError(422, "Failed to parse multipart body: malformed part", plain=True)
        content = content[:-2]
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-disposition":
                disposition = value
        name_match = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        if not name_match:
            raise ApiError(422, "Failed to parse multipart body: part without a name", plain=True)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if filename:
            form.files.setdefault(name_match.group(1), []).append((filename.group(1), content))
        else:
            form.fields.setdefault(name_match.group(1), []).append(content.decode("utf-8"))
    return form


def _sentence_segments(text: str, pcm: np.ndarray, rate: int) -> list[dict[str, Any]]:
    """ASRSegment per sentence, spread over the voiced part by length: the fake is no aligner,
    but its times are consistent with its text, which is what a client relies on."""
    parts = [part for part in re.split(r"(?<=[.!?])\s+", text.strip()) if part]
    start, end = fish_timestamps._voiced(pcm, rate)
    total = sum(len(part) for part in parts) or 1
    segments, cursor = [], start
    for part in parts:
        width = (end - start) * len(part) / total
        segments.append({"text": part, "start": round(cursor, 3), "end": round(cursor + width, 3)})
        cursor += width
    return segments


def _check_number(body: dict, key: str, low: float, high: float, *, integer: bool = False, where: str = "") -> None:
    value = body.get(key)
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise ApiError(
            422, f"{where}{key}: must be {'an integer' if integer else 'a number'} from {low} to {high}, not {value!r}"
        )


def _reply(status: int, data: dict, as_json: bool) -> _Response:
    """Fish Speech's format_response: JSON when asked for, else msgpack."""
    if as_json:
        return _json(status, data)
    return _Response(status, {"Content-Type": "application/msgpack"}, msgpack.packb(data, use_bin_type=True))


def _check_references(references: list, where: str) -> None:
    for index, reference in enumerate(references):
        if (
            not isinstance(reference, dict)
            or not isinstance(reference.get("audio"), bytes)
            or not isinstance(reference.get("text"), str)
        ):
            raise ApiError(422, f"{where}[{index}]: must be a map with audio (bytes) and text (string)")


def _check_choice(body: dict, key: str, choices: tuple) -> None:
    if key in body and body[key] not in choices:
        raise ApiError(422, f"{key}: must be one of {', '.join(map(str, choices))}, not {body[key]!r}")


# What a 200 may carry instead of the audio (a proxy's error page, a JSON status, noise, a file
# cut short under intact framing, nothing): the "garbage" fault picks one.
GARBAGE = (
    lambda audio: b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
    lambda audio: b'{"status": 200, "message": "ok"}',
    lambda audio: bytes(random.Random(len(audio)).randrange(256) for _ in range(2048)),
    lambda audio: audio[: len(audio) // 2],
    lambda audio: b"",
)


def _tone(characters: int, pitch_hz: float, rate: int, speed: float) -> np.ndarray:
    """A voice-like stand-in: a harmonic tone in 4 Hz 'syllables', longer for longer text."""
    seconds = min(10.0, 0.4 + 0.06 * characters) / speed
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.5
    wave_ = sum(np.sin(2 * np.pi * pitch_hz * k * t) / k for k in (1, 2, 3))
    return (0.3 * envelope * wave_).astype(np.float32)


def _encode(pcm: np.ndarray, rate: int, fmt: str) -> bytes:
    ints = np.clip(pcm * 32767, -32768, 32767).astype("<i2").tobytes()
    if fmt == "pcm":
        return ints
    if fmt == "wav":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(rate)
            out.writeframes(ints)
        return buffer.getvalue()
    import imageio_ffmpeg

    codec = {"mp3": ["-c:a", "libmp3lame", "-f", "mp3"], "opus": ["-c:a", "libopus", "-f", "ogg"]}[fmt]
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "s16le",
        "-ar",
        str(rate),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        *codec,
        "pipe:1",
    ]
    return subprocess.run(command, input=ints, capture_output=True, check=True).stdout


def _decode(audio: bytes) -> tuple[np.ndarray, int]:
    """Any audio file -> (float mono samples, rate): 16-bit WAV directly, the rest with ffmpeg."""
    if audio[:4] == b"RIFF":
        try:
            with wave.open(io.BytesIO(audio)) as reader:
                if reader.getsampwidth() == 2:
                    channels, rate = reader.getnchannels(), reader.getframerate()
                    pcm = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2").astype(np.float32) / 32768
                    return pcm.reshape(-1, channels).mean(axis=1) if channels > 1 else pcm, rate
        except (wave.Error, EOFError):
            pass
    import imageio_ffmpeg

    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        "pipe:0",
        "-ac",
        "1",
        "-ar",
        "16000",
        "-f",
        "s16le",
        "pipe:1",
    ]
    result = subprocess.run(command, input=audio, capture_output=True, check=False)
    if result.returncode != 0 or not result.stdout:
        raise ApiError(422, "audio: not an audio file the server can decode")
    return np.frombuffer(result.stdout, dtype="<i2").astype(np.float32) / 32768, 16000


def _contour(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Loudness in dB per 10 ms, floored 50 dB under the loudest frame (gain and rate do not matter)."""
    frame = max(1, rate // 100)
    count = len(pcm) // frame
    if count == 0:
        return np.zeros(0)
    rms = np.sqrt(np.mean(pcm[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(np.maximum(rms, 1e-9))
    return np.maximum(level, level.max() - 50.0)


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Best correlation of the shorter contour against every stretch of the longer one."""
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 5 or len(short) < 0.6 * len(long):
        return 0.0
    best = 0.0
    centred = short - short.mean()
    norm = np.sqrt((centred**2).sum())
    for offset in range(len(long) - len(short) + 1):
        window = long[offset : offset + len(short)]
        other = window - window.mean()
        denominator = norm * np.sqrt((other**2).sum())
        if denominator > 0:
            best = max(best, float((centred * other).sum() / denominator))
    return best


def _write(handler: BaseHTTPRequestHandler, response: _Response) -> None:
    try:
        if response.fault == "drop":
            _hang_up(handler)
            return
        handler.send_response(response.status)
        for name, value in response.headers.items():
            handler.send_header(name, value)
        if response.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        else:
            handler.send_header("Content-Length", str(len(response.body)))
        handler.end_headers()
        body = response.body
        if response.fault == "truncate":
            body = body[: max(1, len(body) // 2)]
        if response.chunked:
            for start in range(0, len(body), 16384):
                chunk = body[start : start + 16384]
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            if response.fault != "truncate":
                handler.wfile.write(b"0\r\n\r\n")
        else:
            handler.wfile.write(body)
        handler.wfile.flush()
        if response.fault == "truncate":
            _hang_up(handler)
    except OSError:
        handler.close_connection = True


def _hang_up(handler: BaseHTTPRequestHandler) -> None:
    handler.close_connection = True
    with contextlib.suppress(OSError):
        handler.connection.shutdown(socket.SHUT_RDWR)
