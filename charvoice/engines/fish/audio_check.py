"""Whether a text-to-speech answer is the audio it should be: the client retries an answer
that is not (an error page sent as 200, a file cut short) like a 5xx."""

from __future__ import annotations


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
