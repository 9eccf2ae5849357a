"""What Fish Audio bills (capabilities.Billing): the UTF-8 bytes of the text it speaks, speech
to text by the second, and the account's credit. The preview itself is pipeline/cost.py.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

from charvoice.engines.base import SpeechRequest
from charvoice.engines.capabilities import CharacterCost
from charvoice.engines.fish.client import NAME as FISH
from charvoice.engines.fish.settings import fish_price, fish_settings
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig


class FishAccount(Protocol):
    """The engine in use, as far as its bill goes (FishEngine)."""

    spend_beyond_credit: bool

    @property
    def timestamps(self) -> bool: ...

    @property
    def billed_retries(self) -> int: ...

    def account_credit(self) -> tuple[float | None, str]: ...


ASR_PRICE_PER_HOUR = 0.36  # Fish Audio speech to text, billed per second of audio (rounded up)


class FishBilling:
    """Fish Audio's prices for a project; with `engine` (the engine in use), its account too."""

    service = "Fish Audio"
    asr_price_per_hour = ASR_PRICE_PER_HOUR

    def __init__(self, config: ProjectConfig, engine: FishAccount | None, *, billed: bool = True) -> None:
        self.engine = engine
        self.billed = billed
        self.config = config
        self.price_per_million_bytes = fish_price(fish_settings(config))

    def line_costs(self, requests: Sequence[SpeechRequest], characters: dict[str, Character]) -> list[CharacterCost]:
        rows: dict[str, CharacterCost] = {}
        for request in requests:
            character = request.character
            if character is None or character.voice.scratch or (self.billed and request.engine != FISH):
                continue
            row = rows.setdefault(character.id, CharacterCost(character.id, characters[character.id].name))
            row.lines += 1
            row.bytes += len(request.text.encode("utf-8"))
        return [rows[key] for key in sorted(rows)]

    def account_credit(self) -> tuple[float | None, str]:
        if self.engine is None:
            return None, "the Fish engine is not in use"
        return self.engine.account_credit()

    def allow_overspend(self) -> None:
        if self.engine is not None:
            self.engine.spend_beyond_credit = True

    def timings_with_audio(self, requests: Sequence[SpeechRequest]) -> int:
        if self.engine is None or not self.engine.timestamps:
            return 0
        return sum(1 for request in requests if request.engine == FISH)

    def sample_transcripts(self, characters: Sequence[Character]) -> tuple[int, int]:
        """Instant clones without `texts` have each sample transcribed once (engine.py,
        _prepare_instant), unless charvoice.lock already holds what it says: (calls, seconds),
        each call billed for the prepared reference (at most REFERENCE_MAX_S), rounded up."""
        from charvoice.audio import decode_file
        from charvoice.engines.fish.lock import VoiceLock
        from charvoice.engines.fish.samples import REFERENCE_MAX_S
        from charvoice.engines.fish.voices import is_persistent
        from charvoice.errors import AudioError
        from charvoice.fsutil import file_sha256

        pending = [c for c in characters if c.voice.samples and not c.voice.texts and not is_persistent(c)]
        if not pending or fish_settings(self.config).server != "fish-audio":
            return 0, 0
        known = VoiceLock.load(self.config).transcripts
        calls = seconds = 0
        for character in pending:
            for path in character.voice.samples:
                if file_sha256(path) in known:
                    continue
                try:
                    length = min(REFERENCE_MAX_S, len(decode_file(path, 8000)) / 8000)
                except AudioError:
                    length = REFERENCE_MAX_S  # the build will say what is wrong with it
                calls += 1
                seconds += math.ceil(length)
        return calls, seconds

    @property
    def billed_retries(self) -> int:
        """Retries after an answer that may have been billed (engine.fish.paid_retries bounds them)."""
        return self.engine.billed_retries if self.engine is not None else 0
