"""What a build would cost on Fish Audio: lines and UTF-8 bytes to synthesise, per character.

Fish Audio bills the UTF-8 bytes of the text it speaks. Only lines that really reach the API
count: not those up to date, not those whose audio is already in the cache, and not scratch
characters (always offline).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from charvoice.engines.fish.client import NAME as FISH
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig


@dataclass
class CharacterCost:
    character: str
    name: str
    lines: int = 0
    bytes: int = 0


ASR_PRICE_PER_HOUR = 0.36  # Fish Audio speech to text, billed per second of audio (rounded up)


@dataclass
class TimingsCost:
    """Word timings: free with the audio (TTS with timestamps), or a speech-to-text call."""

    with_audio: int = 0  # Fish lines whose timings come with their audio: no extra call
    asr_calls: int = 0  # recordings (and the like) sent to speech to text
    asr_seconds: int = 0  # of audio, each call rounded up to the second
    price_per_hour: float = ASR_PRICE_PER_HOUR

    @property
    def usd(self) -> float:
        return self.asr_seconds * self.price_per_hour / 3600

    def as_dict(self) -> dict[str, Any]:
        return {
            "with_audio": self.with_audio,
            "asr_calls": self.asr_calls,
            "asr_seconds": self.asr_seconds,
            "usd": round(self.usd, 4),
        }

    def text(self) -> str:
        free = f"{self.with_audio} come with their audio (no extra call)" if self.with_audio else ""
        paid = (
            f"{self.asr_calls} speech-to-text calls, about {self.asr_seconds} s of audio, ${self.usd:.4f}"
            if self.asr_calls
            else ""
        )
        return "  word timings: " + ("; ".join(part for part in (free, paid) if part) or "no extra call")


@dataclass
class CostPreview:
    price_per_million_bytes: float
    billed: bool  # False: the engine in use is free (offline); the figures say what Fish would cost
    characters: list[CharacterCost] = field(default_factory=list)
    timings: TimingsCost | None = None  # what word timings add (pipeline/timings.py fills it in)
    transcripts: TimingsCost | None = None  # instant clones without texts: each new sample heard once

    @property
    def lines(self) -> int:
        return sum(row.lines for row in self.characters)

    @property
    def bytes(self) -> int:
        return sum(row.bytes for row in self.characters)

    def price(self, byte_count: int) -> float:
        return byte_count * self.price_per_million_bytes / 1_000_000

    def as_dict(self) -> dict[str, Any]:
        return {
            "billed": self.billed,
            "price_per_million_bytes": self.price_per_million_bytes,
            "lines": self.lines,
            "bytes": self.bytes,
            "usd": round(self.price(self.bytes), 4),
            "characters": {
                row.character: {"lines": row.lines, "bytes": row.bytes, "usd": round(self.price(row.bytes), 4)}
                for row in self.characters
            },
            "timings": (self.timings or TimingsCost()).as_dict(),
            "transcripts": (self.transcripts or TimingsCost()).as_dict(),
        }

    def text(self) -> list[str]:
        timings = (
            [self.timings.text()]
            if self.timings is not None and (self.timings.asr_calls or self.timings.with_audio)
            else []
        )
        if self.transcripts is not None and self.transcripts.asr_calls:
            heard = self.transcripts
            timings.append(
                f"  sample transcripts (instant clones without texts): {heard.asr_calls} speech-to-text calls, "
                f"about {heard.asr_seconds} s of audio, ${heard.usd:.4f}"
            )
        rate = f"${self.price_per_million_bytes:g} per million UTF-8 bytes"
        if not self.lines:
            return [f"Cost preview: nothing to send to Fish Audio ($0.00 at {rate}).", *timings]
        head = (
            f"Cost preview ({rate}):"
            if self.billed
            else f"Cost preview: $0.00 now (offline engine); on Fish Audio ({rate}) these would cost:"
        )
        rows = [head]
        for row in self.characters:
            rows.append(f"  {row.name:<20} {row.lines:>6} lines {row.bytes:>10} bytes  ${self.price(row.bytes):.4f}")
        rows.append(f"  {'total':<20} {self.lines:>6} lines {self.bytes:>10} bytes  ${self.price(self.bytes):.4f}")
        return rows + timings


def preview(
    jobs_to_synthesize: list[Any],
    characters: dict[str, Character],
    engine_name: str,
    price_per_million_bytes: float,
    config: ProjectConfig | None = None,
) -> CostPreview:
    """The cost of the plan's lines that would be synthesised (`plan.to_synthesize`); with
    `config`, also the speech to text that instant clones without texts need first."""
    billed = engine_name == FISH
    rows: dict[str, CharacterCost] = {}
    for job in jobs_to_synthesize:
        character = characters[job.line.character]
        if character.voice.scratch or (billed and job.request.engine != FISH):
            continue
        row = rows.setdefault(character.id, CharacterCost(character.id, character.name))
        row.lines += 1
        row.bytes += len(job.request.text.encode("utf-8"))
    cost = CostPreview(price_per_million_bytes, billed, [rows[key] for key in sorted(rows)])
    if config is not None and config.fish.server == "fish-audio":
        cost.transcripts = transcripts_cost([characters[cid] for cid in rows], config)
    return cost


def transcripts_cost(characters: list[Character], config: ProjectConfig) -> TimingsCost:
    """Instant clones without `texts` have each sample transcribed once (engine.py,
    _prepare_instant), unless charvoice.lock already holds what it says: one call per such
    sample, billed for the prepared reference (at most REFERENCE_MAX_S), rounded up."""
    from charvoice.audio import decode_file
    from charvoice.engines.fish.lock import VoiceLock
    from charvoice.engines.fish.samples import REFERENCE_MAX_S
    from charvoice.engines.fish.voices import is_persistent
    from charvoice.errors import AudioError
    from charvoice.fsutil import file_sha256

    cost = TimingsCost()
    pending = [c for c in characters if c.voice.samples and not c.voice.texts and not is_persistent(c)]
    if not pending:
        return cost
    known = VoiceLock.load(config).transcripts
    for character in pending:
        for path in character.voice.samples:
            if file_sha256(path) in known:
                continue
            try:
                seconds = min(REFERENCE_MAX_S, len(decode_file(path, 8000)) / 8000)
            except AudioError:
                seconds = REFERENCE_MAX_S  # the build will say what is wrong with it
            cost.asr_calls += 1
            cost.asr_seconds += math.ceil(seconds)
    return cost
