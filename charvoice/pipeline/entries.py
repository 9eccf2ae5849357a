"""The bytes of one cache entry, local or in the team's remote: the audio (or its timings)
sealed with its checksum, and where it lives by key. Shared by cache.py and remote_cache.py."""

from __future__ import annotations

import hashlib
import struct

# magic + format version, sha256 of the audio, audio length in bytes; then the audio itself
MAGIC = b"CVCACHE1"
_HEADER = struct.Struct(">8s32sQ")


def seal(audio: bytes) -> bytes:
    """The bytes of a cache entry (local file or remote object) holding `audio`."""
    return _HEADER.pack(MAGIC, hashlib.sha256(audio).digest(), len(audio)) + audio


def unseal(blob: bytes) -> bytes | None:
    """The audio of a cache entry, or None when the entry is truncated, damaged or unsealed."""
    if len(blob) < _HEADER.size:
        return None
    magic, digest, length = _HEADER.unpack_from(blob)
    audio = blob[_HEADER.size :]
    if magic != MAGIC or length != len(audio) or hashlib.sha256(audio).digest() != digest:
        return None
    return audio


def entry_name(key: str, kind: str = "audio") -> str:
    """Where an entry lives, relative to the cache folder (or the remote's prefix): the raw
    audio, or ("timings") the engine's word timings for it, which travel with it to a team."""
    return f"{key[:2]}/{key}.{kind}"
