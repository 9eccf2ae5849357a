"""What a build would cost: lines and UTF-8 bytes to synthesise, per character, from the engine's
bill (capabilities.Billing), and what word timings add.

Only lines that really reach a paid engine count: not those up to date, not those whose audio
is already in the cache, not a second line that says exactly what another says, and not scratch
characters (always offline).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charvoice.engines import Engines
from charvoice.engines.capabilities import Billing, CharacterCost
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.plan import Plan
from charvoice.project.loader import Project


@dataclass
class TimingsCost:
    """Word timings: free with the audio (TTS with timestamps), or a speech-to-text call."""

    with_audio: int = 0  # Fish lines whose timings come with their audio: no extra call
    asr_calls: int = 0  # recordings (and the like) sent to speech to text
    asr_seconds: int = 0  # of audio, each call rounded up to the second
    price_per_hour: float = 0.0  # of speech to text, from the engine's bill

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
    timings: TimingsCost | None = None  # what word timings add
    transcripts: TimingsCost | None = None  # voices whose samples need speech to text first (instant clones)
    service: str = "Fish Audio"  # who would bill it

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
            return [f"Cost preview: nothing to send to {self.service} ($0.00 at {rate}).", *timings]
        head = (
            f"Cost preview ({rate}):"
            if self.billed
            else f"Cost preview: $0.00 now (offline engine); on {self.service} ({rate}) these would cost:"
        )
        rows = [head]
        for row in self.characters:
            rows.append(f"  {row.name:<20} {row.lines:>6} lines {row.bytes:>10} bytes  ${self.price(row.bytes):.4f}")
        rows.append(f"  {'total':<20} {self.lines:>6} lines {self.bytes:>10} bytes  ${self.price(self.bytes):.4f}")
        return rows + timings


def preview(plan: Plan, project: Project, engines: Engines) -> CostPreview:
    """What the plan's lines would cost to synthesise (one call per cache key, scratch voices
    free), and what their word timings add; all zero when no engine bills anything."""
    billing = engines.billing()
    if billing is None:
        return CostPreview(0.0, False, service="nobody", timings=TimingsCost())
    requests = [job.request for job in plan.to_synthesize]
    rows = billing.line_costs(requests, project.characters)
    cost = CostPreview(billing.price_per_million_bytes, billing.billed, rows, service=billing.service)
    cost.timings = _timings_cost(plan, project, engines, billing)
    calls, seconds = billing.sample_transcripts([project.characters[row.character] for row in rows])
    cost.transcripts = TimingsCost(asr_calls=calls, asr_seconds=seconds, price_per_hour=billing.asr_price_per_hour)
    return cost


def _timings_cost(plan: Plan, project: Project, engines: Engines, billing: Billing) -> TimingsCost:
    """What the plan's timings add to the bill: lines synthesised with timestamps cost no extra
    call; each recording to (re)build calls speech to text once, when it can run, unless its
    timings are already kept from an earlier build."""
    cost = TimingsCost(price_per_hour=billing.asr_price_per_hour)
    kept = AudioCache(project.config.cache_dir)  # the local cache: what is kept here
    if engines.transcription() is not None:
        for job in plan.todo:
            if job.origin == "recorded" and job.pinned is not None and not kept.has_timings(job.cache_key):
                cost.asr_calls += 1
                cost.asr_seconds += _seconds(job.pinned, job.line.text)
    cost.with_audio = billing.timings_with_audio([job.request for job in plan.todo if not job.cached])
    return cost


def _seconds(path: Path, text: str) -> int:
    """A recording's length, rounded up as speech to text bills it (from the text if unreadable)."""
    import math

    try:
        import soundfile

        return max(1, math.ceil(soundfile.info(str(path)).duration))
    except Exception:  # any format libsndfile cannot read: about 14 characters a second
        return max(1, math.ceil(len(text) / 14))
