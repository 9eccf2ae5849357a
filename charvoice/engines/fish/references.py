"""A self-hosted Fish Speech server's stored references, as its code handles them
(fishaudio/fish-speech: tools/server/views.py, fish_speech/inference_engine/reference_loader.py).

A reference is a folder `references/<id>/` with an audio file and its `.lab` transcript. The
server's loader creates the folder for any id a `/v1/tts` request names, so an id it lost (a new
container without the old `references/`) becomes an empty folder: the default voice answers,
200, and `/v1/references/add` then answers 409 for it. `/v1/references/list` names only whole
folders (audio and transcript), so a 409 means "already there" only when the list has the id;
otherwise the folder is deleted and the reference added again.

The references API appeared on 2025-09-21 (fish-speech b25daed) and is missing from the last
stable release, v1.5.1: there `/v1/references/list` is 404, and voices travel inline instead.
"""

from __future__ import annotations

import threading

from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.errors import FishError

API_SINCE = "2025-09-21"  # fish-speech b25daed, "API extension for reference voices"


class ServerReferences:
    """What the server holds, listed at most once per build (thread-safe)."""

    def __init__(self, client: FishClient) -> None:
        self.client = client
        self.api: bool | None = None  # None until asked; False: a server older than the references API
        self._held: set[str] | None = None
        self._lock = threading.Lock()

    def held(self) -> set[str] | None:
        """The ids of whole references on the server; None when it has no references API.
        FishError for any other failure."""
        with self._lock:
            if self._held is None and self.api is not False:
                try:
                    self._held = set(self.client.references_list())
                except FishError as error:
                    if error.status not in (404, 405):
                        raise
                    self.api = False
                    return None
                self.api = True
            return None if self._held is None else set(self._held)

    def forget(self) -> None:
        """List again at the next `held` (a new build: the server may have changed)."""
        with self._lock:
            self._held = None

    def store(self, reference_id: str, audio: tuple[str, bytes], text: str) -> str:
        """Add a reference; "added", "existed" (listed whole: a store whose answer was lost)
        or "repaired" (an empty or partial folder, deleted and added again)."""
        try:
            self.client.references_add(reference_id, audio, text)
            outcome = "added"
        except FishError as error:
            if error.status != 409:
                raise
            if reference_id in set(self.client.references_list()):
                outcome = "existed"
            else:  # the folder is there but not whole: the loader made it for an id it did not hold
                self.client.references_delete(reference_id)
                self.client.references_add(reference_id, audio, text)
                outcome = "repaired"
        with self._lock:
            if self._held is not None:
                self._held.add(reference_id)
        return outcome
