"""The Fish Audio HTTP client (docs.fish.audio), shared by the engine, voices-as-code and QA.

FishClient speaks the API: `POST /v1/tts` with a msgpack body and a `model` header, the voice
models under `/model`, speech-to-text, and a self-hosted Fish Speech server's references. How
each request is sent, retried and stopped is retry.py's job (RetryingClient, its base).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgpack

from charvoice.engines.fish.audio_check import audio_problem
from charvoice.engines.fish.errors import FishError
from charvoice.engines.fish.retry import RetryingClient
from charvoice.engines.fish.settings import fish_settings
from charvoice.errors import CharvoiceError
from charvoice.project.config import ProjectConfig

NAME = "fish"


class FishClient(RetryingClient):
    """The Fish Audio HTTP API (thread-safe: the build calls it from `jobs` threads)."""

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
