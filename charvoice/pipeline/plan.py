"""Lines + manifest + cache -> what must be done for each line, and why.

Nothing here synthesises or writes: `build` executes a plan, `check` reports one, and
`build --dry-run` prints one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from charvoice.engines import Engines
from charvoice.engines.base import Engine, SpeechRequest, canonical_json
from charvoice.fsutil import text_sha256
from charvoice.pipeline.approvals import Approvals, FileHashes, find_recordings
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.manifest import AudioEntry, Manifest, ReviewMarks
from charvoice.pipeline.timings import has_timings
from charvoice.project.config import AudioSettings
from charvoice.project.lines import Line, asset_stems, file_stem
from charvoice.project.loader import Project
from charvoice.project.speech_text import prepare


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

    @property
    def total(self) -> int:
        return len(self.todo) + len(self.fresh)

    @property
    def to_synthesize(self) -> list[Job]:
        return [job for job in self.todo if not job.cached]


def asset_key(cache_key: str, project: Project) -> str:
    return text_sha256(canonical_json({"source": cache_key, "audio": _audio_settings(project.config.audio)}))


@lru_cache(maxsize=8)
def _audio_settings(settings: AudioSettings) -> dict[str, Any]:
    return asdict(settings)


_ORIGIN_CHANGED = {
    "approved": "take approved",
    "recorded": "recording added",
    "engine": "approval or recording removed",
}


def _reason(job: Job, entry: AudioEntry | None, force: bool) -> str:
    if force:
        return "forced"
    if entry is None:
        return "new line"
    if entry.text != job.line.text:
        return "text changed (needs approval)" if job.marks.needs_approval else "text changed"
    if entry.origin != job.origin:
        return _ORIGIN_CHANGED[job.origin]
    if entry.marks != job.marks:
        return "review status changed"
    if entry.source_key != job.cache_key:
        return "voice or engine settings changed"
    if entry.key != job.asset_key:
        return "audio settings changed"
    if entry.path != job.manifest_path:
        return "character changed"
    try:
        size = job.asset_path.stat().st_size
    except OSError:
        return "audio file missing"
    if entry.size is not None and size != entry.size:  # damaged, or newer than its entry
        return "audio file changed on disk"
    return ""


def speech_request(
    project: Project, engines: Engines, line: Line, take: int = 0, engine: Engine | None = None
) -> SpeechRequest:
    """What the engine is asked for this line (the cache key is its hash)."""
    character = project.characters[line.character]
    engine = engine or engines.for_character(character)
    text = prepare(
        line.text, character, project.config, direction=line.direction, engine=engine.name, note=line.direction_note
    )
    request = engine.request(line, character, text)
    return replace(request, take=take) if take else request


class _Pins:
    """Approved takes and recordings, looked up once per plan."""

    def __init__(self, project: Project) -> None:
        config = project.config
        self.approvals = Approvals.load(config)
        self.recordings = find_recordings(config)
        self.hashes = FileHashes(config.state_dir / "file-hashes.json") if self.recordings else None
        self.root = config.root

    def pin(self, job: Job, stem: str = "") -> Job:
        """The job with a recording or an approved take in place of the engine, where there is one.
        A recording is named by the line's id, or by its audio file name (`stem`) when the id
        cannot be a file name."""
        line = job.line
        recording = self.recordings.get((line.id, line.locale)) or self.recordings.get((stem, line.locale))
        if recording is not None:
            assert self.hashes is not None  # loaded whenever there are recordings
            sha = self.hashes.sha256(recording)
            moved_on = self.approvals.recording_text_changed(line.id, line.locale, sha, line.text)
            return replace(
                job,
                origin="recorded",
                pinned=recording,
                cache_key=text_sha256(f"recording:{sha}"),
                marks=ReviewMarks(text_changed_since_recording=moved_on),
                recording_sha=sha,
            )
        approval = self.approvals.approval(line.id, line.locale)
        if approval is None:
            return job
        if approval.text_sha256 != text_sha256(line.text):
            return replace(job, marks=ReviewMarks(needs_approval=True))  # the approved take says something else
        return replace(
            job,
            origin="approved",
            pinned=self.root / approval.file,
            cache_key=approval.source_key,
            marks=ReviewMarks(take=approval.take),
        )

    def close(self) -> None:
        if self.hashes is not None:
            self.hashes.save()


def _kept_instead(
    project: Project, engines: Engines, job: Job, entry: AudioEntry | None, reason: str
) -> tuple[Job, str]:
    """A line another accepted engine voiced (Fish, while this machine has no key) stays as it is."""
    made_by = entry.engine if entry is not None else None
    character = project.characters[job.line.character]
    for engine in engines.kept:
        if engine.name == made_by and not character.voice.scratch:
            request = speech_request(project, engines, job.line, engine=engine)
            kept = replace(
                job, request=request, cache_key=request.cache_key, asset_key=asset_key(request.cache_key, project)
            )
            if not _reason(kept, entry, False):
                return kept, ""
    return job, reason


def _mark_shared(plan: Plan, cache: AudioCache) -> None:
    """Lines the local cache lacks but the team's remote holds cost nothing: the build reads
    them through (and `build --dry-run` counts them)."""
    held = cache.held_remotely(job.cache_key for job in plan.to_synthesize)
    if held:
        plan.todo = [
            replace(job, cached=True, shared=True) if not job.cached and job.cache_key in held else job
            for job in plan.todo
        ]


def in_shard(line: Line, index: int, count: int) -> bool:
    """Whether `line` belongs to shard `index` of `count` (1-based): by a hash of its id and
    locale alone, so a line stays in its shard whatever is added, removed or edited elsewhere."""
    return int(text_sha256(f"{line.id}\x00{line.locale}")[:16], 16) % count == index - 1


class PlanMemo:
    """Each line's request and keys, kept between plans by `watch`, so a save re-hashes only the
    lines it changed. A line (a frozen value: text, character, locale, direction, source) maps
    to what it asked for under one set of settings: the memo empties itself when the config,
    a character or the engines differ by value, and `watch` empties it when any file but a
    script changes (a sample's audio or charvoice.lock shapes a request without showing there).
    """

    def __init__(self) -> None:
        self._settings = ""
        self._known: dict[Line, tuple[SpeechRequest, str, str]] = {}
        self._paths: dict[str, Path] = {}  # asset path relative to the output folder -> absolute

    def clear(self) -> None:
        self._known.clear()
        self._paths.clear()

    def asset_path(self, output_dir: Path, relative: str) -> Path:
        path = self._paths.get(relative)
        if path is None:
            path = self._paths[relative] = output_dir / relative
        return path

    def use(self, project: Project, engines: Engines) -> None:
        kept = [engine.name for engine in engines.kept]
        settings = repr(
            (project.config, sorted(project.characters.items()), engines.primary.name, engines.offline.name, kept)
        )
        if settings != self._settings:
            self.clear()
            self._settings = settings

    def get(self, line: Line) -> tuple[SpeechRequest, str, str] | None:
        return self._known.get(line)

    def put(self, line: Line, known: tuple[SpeechRequest, str, str]) -> None:
        self._known[line] = known


def make_plan(
    project: Project,
    engines: Engines,
    manifest: Manifest,
    cache: AudioCache,
    *,
    lines: list[Line] | None = None,
    force: bool = False,
    memo: PlanMemo | None = None,
) -> Plan:
    config = project.config
    plan = Plan()
    extension = config.audio.format
    pins = _Pins(project)
    if memo is not None:
        memo.use(project, engines)
    stems = asset_stems(line.id for line in project.lines)  # all lines: a stem never depends on the lines planned
    for line in project.lines if lines is None else lines:
        if line.audio_of is not None:
            continue  # voiced by the line it shadows
        known = memo.get(line) if memo is not None else None
        if known is None:
            request = speech_request(project, engines, line)
            known = (request, request.cache_key, asset_key(request.cache_key, project))
            if memo is not None:
                memo.put(line, known)
        request, request_key, request_asset_key = known
        stem = stems.get(line.id) or file_stem(line.id)
        relative = f"{line.locale}/{line.character}/{stem}.{extension}"
        job = pins.pin(
            Job(
                line,
                request,
                cache_key=request_key,
                asset_key=request_asset_key,
                asset_path=memo.asset_path(config.output_dir, relative)
                if memo is not None
                else config.output_dir / relative,
                manifest_path=relative,
                reason="",
                cached=True,
            ),
            stem,
        )
        if job.cache_key != request_key:  # a recording or an approved take
            job = replace(job, asset_key=asset_key(job.cache_key, project))
        entry = manifest.entry(line.id, line.locale)
        reason = _reason(job, entry, force)
        if reason and memo is not None:  # asked again: an engine learns whose voice it speaks with (Fish clones)
            job = replace(job, request=speech_request(project, engines, line))
        if reason and not force and job.pinned is None:
            job, reason = _kept_instead(project, engines, job, entry, reason)
        if (
            not reason
            and not has_timings(entry, job.asset_path)
            and (job.pinned is not None or cache.has(job.cache_key))
        ):
            reason = "timings missing"  # built before timings existed: redone from the cache, no engine call
        if reason:  # only now is it worth asking the cache (fresh lines need nothing from it)
            plan.todo.append(replace(job, reason=reason, cached=job.pinned is not None or cache.has(job.cache_key)))
        else:
            plan.fresh.append(job)
    pins.close()
    _mark_shared(plan, cache)
    current = {(line.id, line.locale) for line in project.lines}
    plan.orphans = [(line_id, locale) for line_id, locale, _ in manifest.entries() if (line_id, locale) not in current]
    return plan
