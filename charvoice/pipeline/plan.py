"""Lines + manifest + cache -> what must be done for each line, and why.

Nothing here synthesises or writes: `build` executes a plan, `check` reports one, and
`build --dry-run` prints one. Job and Plan themselves are in jobs.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from charvoice.engines import Engines
from charvoice.engines.base import SpeechRequest, canonical_json
from charvoice.engines.capabilities import Engine
from charvoice.fsutil import text_sha256
from charvoice.pipeline.approvals import Approvals, FileHashes
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.jobs import Job, Plan
from charvoice.pipeline.manifest import AudioEntry, Manifest, ReviewMarks
from charvoice.pipeline.timings import timings_problem
from charvoice.project.config import AudioSettings
from charvoice.project.lines import Line, file_stem
from charvoice.project.loader import Project
from charvoice.project.recordings import find_recordings
from charvoice.project.speech_text import prepare
from charvoice.timings.format import timings_path


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
    capabilities = engine.capabilities
    text = prepare(
        line.text,
        character,
        project.config,
        direction=line.direction,
        style=capabilities.cue_style,
        note=line.direction_note,
        write_cues=capabilities.direction.with_cues if capabilities.direction else None,
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
    """What `watch` keeps between plans, so a save costs what the saved script holds, not the project.

    - Each line's request and keys: a line (a frozen value: text, character, locale, direction,
      source) maps to what it asked for under one set of settings.
    - Each script's verdict when every line in it was up to date. A script that did not change
      comes back from the ScriptCache as the same list of lines, so its verdict stands unless one
      of its lines' manifest entries was edited since, an id elsewhere now differs from one of its
      own only by case (a file name changes), or `watch` saw one of its files touched.

    Everything is forgotten when the config, a character, the engines or the manifest (read
    again: another process published) differ, and `watch` clears the memo when any file but a
    script changes (a sample, charvoice.lock, an approval or a recording shapes a plan unseen here).
    """

    def __init__(self) -> None:
        self._settings = ""
        self._known: dict[Line, tuple[SpeechRequest, str, str]] = {}
        self._paths: dict[str, Path] = {}  # asset path relative to the output folder -> absolute
        self._scripts: dict[int, _ScriptVerdict] = {}  # by id() of the script's list of lines
        # Lines up to date against that very entry, and whether their id clashed with another by case.
        self._lines: dict[Line, tuple[AudioEntry, bool, Job]] = {}
        self._manifest: Manifest | None = None
        self._mark = 0  # the manifest's edit mark when the verdicts were last brought up to date

    def clear(self) -> None:
        self._known.clear()
        self._paths.clear()
        self._scripts.clear()
        self._lines.clear()

    def asset_path(self, output_dir: Path, relative: str) -> Path:
        path = self._paths.get(relative)
        if path is None:
            path = self._paths[relative] = output_dir / relative
        return path

    def use(self, project: Project, engines: Engines, manifest: Manifest) -> None:
        kept = [engine.name for engine in engines.kept]
        settings = repr(
            (project.config, sorted(project.characters.items()), engines.primary.name, engines.offline.name, kept)
        )
        if settings != self._settings:
            self.clear()
            self._settings = settings
        if manifest is not self._manifest:
            self._scripts.clear()
        else:
            edited = manifest.edited_since(self._mark)
            if edited:
                self._drop(lambda verdict: not verdict.ids.isdisjoint(edited))
        self._manifest, self._mark = manifest, manifest.mark()

    def forget_files(self, paths: set[Path]) -> None:
        """Assets or timings touched by someone else: their lines are judged again."""
        if paths:
            self._drop(lambda verdict: any(not paths.isdisjoint(files_of(job)) for job in verdict.fresh))
            self._lines = {line: known for line, known in self._lines.items() if paths.isdisjoint(files_of(known[2]))}

    def _drop(self, stale: Callable[[_ScriptVerdict], bool]) -> None:
        self._scripts = {key: verdict for key, verdict in self._scripts.items() if not stale(verdict)}

    def get(self, line: Line) -> tuple[SpeechRequest, str, str] | None:
        return self._known.get(line)

    def put(self, line: Line, known: tuple[SpeechRequest, str, str]) -> None:
        self._known[line] = known

    def fresh_line(self, line: Line, entry: AudioEntry | None, colliding: set[str]) -> Job | None:
        """The line's job as last judged up to date, if its manifest entry is the very same
        (entries are replaced, never changed) and its file name would not change."""
        known = self._lines.get(line)
        if known is None or known[0] is not entry or known[1] != (line.id.lower() in colliding):
            return None
        return known[2]

    def keep_line(self, line: Line, entry: AudioEntry, collided: bool, job: Job) -> None:
        self._lines[line] = (entry, collided, job)

    def keep_built(self, jobs: Iterable[Job], manifest: Manifest, colliding: set[str]) -> None:
        """Lines a build just published are up to date against the entries it recorded (with
        their timings; one without is judged again), so the next save need not judge them."""
        for job in jobs:
            entry = manifest.entry(job.line.id, job.line.locale)
            if entry is not None and entry.timings:
                fresh = replace(job, reason="", cached=True, shared=False)
                self._lines[job.line] = (entry, job.line.id.lower() in colliding, fresh)

    def fresh_script(self, lines: list[Line], colliding: set[str]) -> list[Job] | None:
        """The script's up-to-date jobs as last judged, or None when it must be judged again."""
        verdict = self._scripts.get(id(lines))
        if verdict is None or verdict.lines is not lines or verdict.folded & colliding != verdict.colliding:
            return None
        return verdict.fresh

    def keep_script(self, lines: list[Line], fresh: list[Job], colliding: set[str]) -> None:
        folded = frozenset(line.id.lower() for line in lines)
        ids = frozenset(line.id for line in lines)
        self._scripts[id(lines)] = _ScriptVerdict(lines, fresh, ids, folded, folded & colliding)

    def keep_only(self, scripts: Iterable[list[Line]]) -> None:
        """Forget the verdicts of scripts that are gone or changed (their old lists of lines)."""
        current = {id(lines) for lines in scripts}
        self._scripts = {key: verdict for key, verdict in self._scripts.items() if key in current}
        if len(self._lines) > 2 * sum(len(verdict.lines) for verdict in self._scripts.values()) + 10_000:
            self._lines.clear()  # old versions of edited lines pile up; judging them again is cheap


def files_of(job: Job) -> tuple[Path, Path]:
    """The files a job writes: its asset and its timings."""
    return job.asset_path, job.asset_path.parent / timings_path(job.asset_path.name)


@dataclass(frozen=True)
class _ScriptVerdict:
    lines: list[Line]  # held, so its id() stays this script's while the verdict lives
    fresh: list[Job]
    ids: frozenset[str]
    folded: frozenset[str]  # the ids, lower-cased: file names must differ by more than case
    colliding: frozenset[str]  # those that clashed with another id when judged


class _Planner:
    """Judges lines one at a time for one plan: what to ask the engine, where the audio goes, and
    whether the published audio is up to date."""

    def __init__(
        self,
        project: Project,
        engines: Engines,
        manifest: Manifest,
        cache: AudioCache,
        force: bool,
        memo: PlanMemo | None,
    ) -> None:
        self.project, self.engines, self.manifest, self.cache = project, engines, manifest, cache
        self.force, self.memo = force, memo
        self.pins = _Pins(project)
        self.colliding = project.colliding  # of every line: a file name never depends on which lines are planned

    def judge(self, line: Line, plan: Plan) -> None:
        """Add `line` to the plan's todo or fresh list (a shadow line is voiced by the line it shadows)."""
        if line.audio_of is not None:
            return
        project, engines, memo, config = self.project, self.engines, self.memo, self.project.config
        entry = self.manifest.entry(line.id, line.locale)
        if memo is not None and not self.force:
            kept = memo.fresh_line(line, entry, self.colliding)
            if kept is not None:
                self._fresh(kept, plan)
                return
        known = memo.get(line) if memo is not None else None
        if known is None:
            request = speech_request(project, engines, line)
            known = (request, request.cache_key, asset_key(request.cache_key, project))
            if memo is not None:
                memo.put(line, known)
        request, request_key, request_asset_key = known
        collided = line.id.lower() in self.colliding
        stem = file_stem(line.id, collided)
        relative = f"{line.locale}/{line.character}/{stem}.{config.audio.format}"
        job = self.pins.pin(
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
        reason = _reason(job, entry, self.force)
        if reason and memo is not None:  # asked again: an engine learns whose voice it speaks with (Fish clones)
            job = replace(job, request=speech_request(project, engines, line))
        if reason and not self.force and job.pinned is None:
            job, reason = _kept_instead(project, engines, job, entry, reason)
        # Timings missing (built before they existed) or damaged: redone from the cache, no engine call.
        problem = "" if reason else timings_problem(entry, job.asset_path)
        if problem and (job.pinned is not None or self.cache.has(job.cache_key)):
            reason = problem
        if reason:  # only now is it worth asking the cache (fresh lines need nothing from it)
            plan.todo.append(
                replace(job, reason=reason, cached=job.pinned is not None or self.cache.has(job.cache_key))
            )
        else:
            assert entry is not None  # an up-to-date line has an entry
            if memo is not None:
                memo.keep_line(line, entry, collided, job)
            self._fresh(job, plan)

    def _fresh(self, job: Job, plan: Plan) -> None:
        plan.fresh.append(job)
        line_id = job.line.id
        if (
            self.manifest.lines[line_id].source != job.line.source
            and self.manifest.source_locale(line_id) == job.line.locale
        ):
            plan.moved.append(job)


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
    plan = Plan()
    planner = _Planner(project, engines, manifest, cache, force, memo)
    if memo is not None:
        memo.use(project, engines, manifest)
    if memo is None or lines is not None or force:
        for line in project.lines if lines is None else lines:
            planner.judge(line, plan)
    else:  # `watch`: scripts judged before and untouched since keep their verdict
        for script_lines in project.by_script.values():
            fresh = memo.fresh_script(script_lines, planner.colliding)
            if fresh is not None:
                plan.fresh.extend(fresh)
                continue
            todo, first = len(plan.todo), len(plan.fresh)
            for line in script_lines:
                planner.judge(line, plan)
            if len(plan.todo) == todo:
                memo.keep_script(script_lines, plan.fresh[first:], planner.colliding)
        memo.keep_only(project.by_script.values())
    planner.pins.close()
    _mark_shared(plan, cache)
    plan.orphans = _orphans(project, manifest, plan)
    return plan


def _orphans(project: Project, manifest: Manifest, plan: Plan) -> list[tuple[str, str]]:
    """(id, locale) entries of the manifest that no script has any more."""
    # Each planned (id, locale) is distinct: when they hold as many entries as the manifest has,
    # they hold them all (the usual save in a big project, at no cost proportional to it).
    held = len(plan.fresh) + sum(manifest.entry(job.line.id, job.line.locale) is not None for job in plan.todo)
    if held == manifest.audio_count():
        return []
    current = {(line.id, line.locale) for line in project.lines}
    return [(line_id, locale) for line_id, locale, _ in manifest.entries() if (line_id, locale) not in current]
