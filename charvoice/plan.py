"""Lines + manifest + cache -> what must be done for each line, and why.

Nothing here synthesises or writes: `build` executes a plan, `check` reports one, and
`build --dry-run` prints one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from charvoice.cache import AudioCache
from charvoice.engines import Engines
from charvoice.engines.base import SpeechRequest, canonical_json, sha256_hex
from charvoice.lines import Line
from charvoice.manifest import Manifest
from charvoice.project import Project
from charvoice.speech_text import prepare


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
    cached: bool  # the raw engine audio is already in the cache

    @property
    def label(self) -> str:
        return f"{self.line.id} [{self.line.locale}]"


@dataclass
class Plan:
    todo: list[Job] = field(default_factory=list)  # missing or stale, in script order
    fresh: list[Job] = field(default_factory=list)  # up to date
    orphans: list[tuple[str, str]] = field(default_factory=list)  # (id, locale) in the manifest, not in any script

    @property
    def total(self) -> int:
        return len(self.todo) + len(self.fresh)

    @property
    def to_synthesize(self) -> list[Job]:
        return [job for job in self.todo if not job.cached]


def asset_key(cache_key: str, project: Project) -> str:
    return sha256_hex(canonical_json({"source": cache_key, "audio": asdict(project.config.audio)}))


def _reason(job: Job, entry: dict | None, force: bool) -> str:
    if force:
        return "forced"
    if entry is None:
        return "new line"
    if entry.get("text") != job.line.text:
        return "text changed"
    if entry.get("source_key") != job.cache_key:
        return "voice or engine settings changed"
    if entry.get("key") != job.asset_key:
        return "audio settings changed"
    if entry.get("path") != job.manifest_path:
        return "character changed"
    if not job.asset_path.is_file():
        return "audio file missing"
    return ""


def make_plan(project: Project, engines: Engines, manifest: Manifest, cache: AudioCache, *, lines: list[Line] | None = None, force: bool = False) -> Plan:
    config = project.config
    plan = Plan()
    extension = config.audio.format
    for line in project.lines if lines is None else lines:
        if line.audio_of is not None:
            continue  # voiced by the line it shadows
        character = project.characters[line.character]
        engine = engines.for_character(character)
        request = engine.request(line, character, prepare(line.text, character, config, direction=line.direction, engine=engine.name))
        key = request.cache_key
        relative = f"{line.locale}/{line.character}/{line.id}.{extension}"
        job = Job(line, request, key, asset_key(key, project), config.output_dir / relative, relative, "", cache.has(key))
        reason = _reason(job, manifest.entry(line.id, line.locale), force)
        if reason:
            plan.todo.append(replace(job, reason=reason))
        else:
            plan.fresh.append(job)
    current = {(line.id, line.locale) for line in project.lines}
    plan.orphans = [
        (line_id, locale)
        for line_id, entry in manifest.lines.items()
        for locale in entry.get("audio", {})
        if (line_id, locale) not in current
    ]
    return plan
