"""The fake's `POST /v1/tts/stream/with-timestamp` (docs.fish.audio, "Text to Speech Stream
with Timestamps"; openapi.json, TTSStreamWithTimestampRequest).

The request is the /v1/tts request (msgpack or JSON body, `model` header), so it is checked,
refused and spoken exactly as FakeFishServer._tts does it: the same 401/402/422/429/5xx
answers, as JSON, before any stream starts. A good request is answered 200 with
`text/event-stream`, chunked: one `data: {json}` event per audio chunk with `audio_base64`,
`content`, `chunk_seq`, `chunk_audio_offset_sec` and `alignment`. As the reference says:
- the first event's alignment is null (no snapshot yet);
- with `latency: "balanced"` a text of several sentences is split into text chunks, each
  with its own `chunk_seq` and its start within the whole audio; segment times are relative
  to that start;
- snapshots are cumulative and each replaces the previous one for its `chunk_seq`: the fake
  sends a partial snapshot (the first half of the chunk's words) before the full one, so a
  client that appends instead of replacing gets every early word twice;
- segment texts are words without punctuation ("Ive", "its", as in the reference's example).

The fake is no aligner: it spreads the words over the voiced part of the audio it spoke in
proportion to their length. Tests check what the client does with the stream, not how well
a real model aligns.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import numpy as np

PATH = "/v1/tts/stream/with-timestamp"
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def handle(fake: Any, body: Any, model: str | None) -> Any:
    """Answer one request (raises the fake's ApiError for a bad one, like /v1/tts)."""
    from fakes.fish_server import _decode, _Response

    spoken = fake._tts(body, model)  # validation, errors, the audio, and what ASR will recognise
    audio: bytes = spoken.body
    text: str = body["text"]
    if body.get("format", "mp3") == "pcm":
        rate = int(body.get("sample_rate") or 44100)
        pcm = np.frombuffer(audio, dtype="<i2").astype(np.float32) / 32768
    else:
        pcm, rate = _decode(audio)
    start, end = _voiced(pcm, rate)
    chunks = _SENTENCE.split(text.strip()) if body.get("latency") == "balanced" else [text.strip()]
    timeline = _spread([_WORD.findall(chunk) for chunk in chunks], start, end)
    alignments: list[tuple[int, str, float, dict[str, Any] | None]] = [(0, chunks[0], 0.0, None)]
    for seq, (chunk, words) in enumerate(zip(chunks, timeline, strict=True)):
        offset = words[0][1] if words else start
        segments = [{"text": word, "start": round(a - offset, 3), "end": round(b - offset, 3)} for word, a, b in words]
        duration = round((words[-1][2] if words else end) - offset, 3)
        half = segments[: max(1, len(segments) // 2)]
        alignments.append((seq, chunk, offset, {"audio_duration": duration, "segments": half}))
        alignments.append((seq, chunk, offset, {"audio_duration": duration, "segments": segments}))
    pieces = np.array_split(np.frombuffer(audio, dtype=np.uint8), len(alignments))
    events = []
    for (seq, chunk, offset, alignment), piece in zip(alignments, pieces, strict=True):
        event = {
            "audio_base64": base64.b64encode(piece.tobytes()).decode("ascii"),
            "content": chunk,
            "alignment": alignment,
            "chunk_seq": seq,
            "chunk_audio_offset_sec": round(offset, 3),
        }
        events.append(b"data: " + json.dumps(event).encode() + b"\n\n")
    return _Response(
        200, {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}, b"".join(events), chunked=True
    )


def _voiced(pcm: np.ndarray, rate: int) -> tuple[float, float]:
    frame = max(1, rate // 100)
    count = len(pcm) // frame
    if count == 0:
        return 0.0, len(pcm) / rate
    rms = np.sqrt(np.mean(pcm[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(np.maximum(rms, 1e-9))
    voiced = np.flatnonzero(level > level.max() - 40)
    return voiced[0] * frame / rate, (voiced[-1] + 1) * frame / rate


def _spread(chunks: list[list[str]], start: float, end: float) -> list[list[tuple[str, float, float]]]:
    """Each word gets a share of [start, end] by its length (+1 for the gap after it)."""
    weights = [len(word) + 1 for words in chunks for word in words]
    total = sum(weights) or 1
    cursor, out = start, []
    for words in chunks:
        timed = []
        for word in words:
            width = (end - start) * (len(word) + 1) / total
            timed.append(
                (word.replace("'", "").replace("\u2019", ""), cursor, cursor + width * len(word) / (len(word) + 1))
            )
            cursor += width
        out.append(timed)
    return out
