"""Fish Audio's text to speech with word timings: `POST /v1/tts/stream/with-timestamp`.

Why this endpoint rather than a speech-to-text pass over the produced audio: it is the same
synthesis request (same body, same `model` header, same price per UTF-8 byte) and its answer
carries the words' times as the model generated them, so timings cost no extra call, no extra
money and no extra concurrency slot; speech to text would be a second call per line, billed by
the audio second, and its segments are phrases rather than words.

The answer is a Server-Sent Events stream (docs.fish.audio, "Text to Speech Stream with
Timestamps"): each `data:` line is a JSON object with one base64 audio chunk
(`audio_base64`; all of them, in order, make the whole file), the text chunk it describes
(`content`, `chunk_seq`), where that text chunk starts in the whole audio
(`chunk_audio_offset_sec`) and `alignment`: null, or the latest cumulative snapshot
`{audio_duration, segments: [{text, start, end}]}` for that `chunk_seq`, which replaces the
previous one (never appended). Segment times are relative to their text chunk.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import msgpack

from charvoice.engines.base import EngineTimings, SpokenWord
from charvoice.engines.fish.audio_check import audio_problem
from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.errors import FishError

PATH = "/v1/tts/stream/with-timestamp"


class StreamError(ValueError):
    """The stream is not what the reference describes (the message says how)."""


def parse_stream(body: bytes) -> tuple[bytes, EngineTimings]:
    """The whole audio and the words' times (seconds from the start of the audio)."""
    chunks: list[bytes] = []
    snapshots: dict[int, tuple[float, list[Any]]] = {}  # chunk_seq -> (offset, latest segments)
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    events = 0
    for block in text.split("\n\n"):
        data = [line[5:].removeprefix(" ") for line in block.split("\n") if line.startswith("data:")]
        if not data:
            continue  # comments, keep-alives, a trailing newline
        try:
            event = json.loads("\n".join(data))
            chunks.append(base64.b64decode(event["audio_base64"], validate=True))
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise StreamError(f"an event that is not the documented JSON ({type(exc).__name__})") from None
        events += 1
        alignment = event.get("alignment")
        if alignment is not None:
            try:
                seq = int(event["chunk_seq"])
                offset = float(event.get("chunk_audio_offset_sec") or 0.0)
                segments = list(alignment["segments"])
            except (KeyError, TypeError, ValueError):
                raise StreamError("an alignment without chunk_seq or segments") from None
            snapshots[seq] = (offset, segments)  # the latest snapshot wins
    if not events:
        raise StreamError("no events")
    words = []
    for seq in sorted(snapshots):
        offset, segments = snapshots[seq]
        for segment in segments:
            try:
                start, end = float(segment["start"]) + offset, float(segment["end"]) + offset
                words.append(SpokenWord(start, max(start, end), str(segment["text"])))
            except (KeyError, TypeError, ValueError):
                raise StreamError("a segment without text, start and end") from None
    return complete_wav(b"".join(chunks)), EngineTimings("engine", words)


def complete_wav(audio: bytes) -> bytes:
    """A streamed WAV's header cannot know the final length: state the real one."""
    if audio[:4] != b"RIFF" or audio[8:12] != b"WAVE":
        return audio
    offset = 12
    while offset + 8 <= len(audio):
        name, size = audio[offset : offset + 4], int.from_bytes(audio[offset + 4 : offset + 8], "little")
        if name == b"data":
            length = len(audio) - offset - 8
            return b"".join(
                [
                    b"RIFF",
                    (len(audio) - 8).to_bytes(4, "little"),
                    audio[8 : offset + 4],
                    length.to_bytes(4, "little"),
                    audio[offset + 8 :],
                ]
            )
        offset += 8 + size + (size & 1)
    return audio


def _problem(body: bytes, fmt: str) -> str | None:
    try:
        audio, _ = parse_stream(body)
    except StreamError as error:
        return f"a broken event stream: {error}"
    return audio_problem(audio, fmt)


def tts_with_timestamps(client: FishClient, payload: dict[str, Any], model: str) -> tuple[bytes, EngineTimings]:
    """One synthesis with its word timings. A stream that does not parse, or whose audio is
    not the format asked for, is retried like a 5xx (the client's usual machinery)."""
    fmt = payload.get("format", "mp3")
    response = client.send(
        "POST",
        PATH,
        "text-to-speech with timestamps",
        content=msgpack.packb(payload, use_bin_type=True),
        headers={"Content-Type": "application/msgpack", "model": model, "Accept": "text/event-stream"},
        check=lambda body: _problem(body, fmt),
        billed=True,  # a retry after a broken stream may be billed again: engine.fish.paid_retries
    )
    return parse_stream(response.content)


def unavailable(error: FishError) -> bool:
    """The server has no such endpoint (a self-hosted Fish Speech server)."""
    return error.status in (404, 405)
