"""What a plan is made of: a Job (one line in one locale, with everything needed to voice it)
and the Plan (the jobs to build, the fresh ones, orphans). pipeline/plan.py makes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from charvoice.engines.base import SpeechRequest
from charvoice.pipeline.manifest import ReviewMarks
from charvoice.project.lines import Line


@dataclass(frozen=True)
class Job:
    """One line in one locale, with everything needed to voice it."""

    line: Line
    request: SpeechRequest
    cache_key: str
    asset_key: str
    asset_path: Path  # absolute
    manifest_path: str  # relative to the manifest
    reason: str  # why it must be built ("" when fresh)
    cached: bool  # for lines to build: the raw audio is in the cache or pinned (no engine call)
    origin: str = "engine"  # engine | approved (a pinned take) | recorded (an actor's file)
    pinned: Path | None = None  # raw audio to use instead of the engine (approved or recorded)
    marks: ReviewMarks = field(default_factory=ReviewMarks)  # review state for the manifest (take, needs_approval, ...)
    recording_sha: str = ""
    shared: bool = False  # held by the team's remote cache, not (yet) by the local one

    @property
    def label(self) -> str:
        return f"{self.line.id} [{self.line.locale}]"


@dataclass
class Plan:
    todo: list[Job] = field(default_factory=list)  # missing or stale, in script order
    fresh: list[Job] = field(default_factory=list)  # up to date
    orphans: list[tuple[str, str]] = field(default_factory=list)  # (id, locale) in the manifest, not in any script
    moved: list[Job] = field(default_factory=list)  # fresh, but the manifest names an older `file:line`

    @property
    def total(self) -> int:
        return len(self.todo) + len(self.fresh)

    @property
    def to_synthesize(self) -> list[Job]:
        """The lines that cost an engine call: one per cache key (lines that say the same thing
        the same way share one reading)."""
        unique = {job.cache_key: job for job in reversed(self.todo) if not job.cached}
        return [job for job in self.todo if unique.get(job.cache_key) is job]
