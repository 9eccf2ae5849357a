"""Content-addressed store of raw engine audio under .charvoice/cache, optionally backed by a
remote store shared by a team (pipeline/remote_cache.py).

An entry's name is its cache key (the hash of the SpeechRequest), so an entry is never
updated, only added: the same key always means the same sound. Entries are written
atomically and only after the audio has been decoded successfully.

Each entry carries a checksum of its audio (see `seal`), checked on every read: a truncated,
damaged or unverifiable entry (one written before checksums existed) is a miss and is
deleted, so it is voiced again instead of being published as a 0.001 s asset.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from charvoice.engines.base import EngineTimings, TimedAudio
from charvoice.fsutil import atomic_write_bytes
from charvoice.pipeline.entries import MAGIC, entry_name, seal, unseal
from charvoice.pipeline.remote_cache import RemoteCache

__all__ = ["MAGIC", "AudioCache", "entry_name", "seal", "unseal"]


class AudioCache:
    """The local cache, reading through to `remote` (when set) on a miss and uploading new audio.

    `warn` receives one-line messages for the user (a damaged entry, the remote going away);
    the CLI points it at the terminal, and by default they are collected in `warnings`.
    """

    def __init__(self, folder: Path, remote: RemoteCache | None = None) -> None:
        self.folder = folder
        self.remote = remote
        self.warnings: list[str] = []
        self.warn: Callable[[str], None] = self.warnings.append
        self.discarded = 0  # damaged local entries deleted this session
        self.remote_hits = 0  # entries fetched from the remote
        self._lock = threading.Lock()
        if remote is not None:
            remote.warn = lambda message: self.warn(message)

    def path(self, key: str) -> Path:
        return self.folder / entry_name(key)

    def has(self, key: str) -> bool:
        """Whether a local entry exists (cheap: its checksum is checked when it is read)."""
        return self.path(key).is_file()

    def get(self, key: str) -> bytes | None:
        """The verified raw audio for `key`: local first, then the remote (kept locally)."""
        path = self.path(key)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            blob = None
        if blob is not None:
            audio = unseal(blob)
            if audio is not None:
                return audio
            self._discard(path)
        if self.remote is None:
            return None
        fetched = self.remote.get(key)
        if fetched is None:
            return None
        with contextlib.suppress(OSError):  # a full local disk must not cost the hit
            atomic_write_bytes(path, seal(fetched))
        with self._lock:
            self.remote_hits += 1
        self._timings_blob(key)  # now, from the request stage's threads, not when the line is processed
        return fetched

    def get_timed(self, key: str) -> TimedAudio | None:
        """The entry for `key`: its verified audio and the timings kept with it (None: a miss)."""
        audio = self.get(key)
        return None if audio is None else TimedAudio(audio, self.timings(key))

    def put(self, key: str, audio: bytes, timings: EngineTimings | None = None) -> None:
        """Keep one entry, raw audio that decoded and its timings: locally (the timings first, so
        an entry is never seen without them), then in the remote (when it has no copy yet)."""
        blob = timings.to_bytes() if timings is not None else None
        if blob is not None:
            atomic_write_bytes(self.timings_path(key), blob, durable=True)
        atomic_write_bytes(self.path(key), seal(audio), durable=True)  # paid for: survives a power cut
        if self.remote is not None:
            self.remote.put_entry(key, audio, blob)

    # The engine's raw word timings for an entry, kept locally as plain files (`timings/`, as
    # before they travelled) and sealed in the remote, so a teammate or a CI runner assembling
    # from it publishes the same timings.

    def timings_path(self, key: str) -> Path:
        return self.folder / "timings" / key[:2] / f"{key}.json"

    def has_timings(self, key: str) -> bool:
        return self.timings_path(key).is_file()

    def timings(self, key: str) -> EngineTimings | None:
        """The raw timings kept for `key` (None: none, or damaged)."""
        blob = self._timings_blob(key)
        return EngineTimings.from_bytes(blob) if blob is not None else None

    def _timings_blob(self, key: str) -> bytes | None:
        """The raw timings kept for `key`: local first, then the remote (kept locally)."""
        path = self.timings_path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            pass
        fetched = self.remote.get(key, "timings") if self.remote is not None else None
        if fetched is not None:
            with contextlib.suppress(OSError):
                atomic_write_bytes(path, fetched)
        return fetched

    def add_timings(self, key: str, timings: EngineTimings) -> None:
        """Keep timings recovered later for audio that came without them (a recording's speech
        to text, the offline voice's events): locally, and in the remote if it holds the audio."""
        data = timings.to_bytes()
        atomic_write_bytes(self.timings_path(key), data, durable=True)
        if self.remote is not None and self.has(key):
            self.remote.put(key, data, "timings")

    def held_remotely(self, keys: Iterable[str]) -> set[str]:
        """Of `keys`, those the remote holds (none without a remote, or when it is down)."""
        return self.remote.holds(keys) if self.remote is not None else set()

    def _discard(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            path.unlink()
        with self._lock:
            self.discarded += 1
            first = self.discarded == 1
        if first:
            why = "truncated, changed, or written before cache checksums"
            self.warn(f"discarded a damaged cache entry ({path.name}: {why}); its line is voiced again")
