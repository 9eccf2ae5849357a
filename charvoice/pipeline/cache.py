"""Content-addressed store of raw engine audio under .charvoice/cache.

An entry's name is its cache key (the hash of the SpeechRequest), so an entry is never
updated, only added: the same key always means the same sound. Entries are written
atomically and only after the audio has been decoded successfully, so a truncated or
non-audio response never becomes a cache entry.
"""

from __future__ import annotations

from pathlib import Path

from charvoice.fsutil import atomic_write_bytes


class AudioCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.audio"

    def has(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> bytes | None:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self.path(key), data)
