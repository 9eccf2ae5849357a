"""Execute a plan: synthesise (or take from the cache), process, encode and publish each line.

Two stages: `jobs` request workers fetch each line's raw audio (the engine, the cache, or a
pinned take) and hand it to a processing pool (one worker per core) that decodes, normalises
and encodes it, so requests stay in flight while the CPU works. Each finished line is complete
on disk before it is recorded: raw audio in the cache, then the asset, then (at most a second later, and at the
end) the manifest, each written atomically. A build killed at any point therefore loses at
most the lines in flight; the next build takes everything else from the cache or the manifest.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from charvoice.engines import Engines
from charvoice.engines.base import EngineTimings, Notify, SpeechRequest
from charvoice.engines.capabilities import Engine
from charvoice.errors import AudioError, CharvoiceError, EngineError, FatalEngineError, FileSystemError, Interrupted
from charvoice.fsutil import file_digest
from charvoice.pipeline import timings
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.interrupt import WAKE_SECONDS, sigint_as_request
from charvoice.pipeline.manifest import AudioEntry, Manifest
from charvoice.pipeline.plan import Job, Plan
from charvoice.pipeline.timings import PublishedTimings
from charvoice.project.config import AudioSettings
from charvoice.project.lines import Line
from charvoice.project.loader import Project

MANIFEST_FLUSH_SECONDS = 1.0
# Audio processing is numpy and libsndfile, which release the GIL for the heavy parts: one
# thread per core keeps the cores busy without starving the request threads.
PROCESS_WORKERS = max(1, os.cpu_count() or 1)


@dataclass
class LineResult:
    job: Job
    synthesized: bool
    duration_s: float
    lufs: float
    size: int | None = None  # of the published file
    sha256: str = ""
    timings: PublishedTimings = field(default_factory=PublishedTimings)


@dataclass
class Failure:
    job: Job
    message: str


@dataclass
class BuildReport:
    engine: str
    total: int
    up_to_date: int
    built: list[LineResult] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    not_started: list[Job] = field(default_factory=list)  # left when a fatal error or a stop ended the build early
    seconds: float = 0.0

    @property
    def synthesized(self) -> int:
        return sum(1 for result in self.built if result.synthesized)

    @property
    def from_cache(self) -> int:
        return sum(1 for result in self.built if not result.synthesized)


class Superseded(Exception):
    """The build was stopped (a newer edit arrived) before this line was published."""


@dataclass(frozen=True)
class Voiced:
    """What `voice_to_file` made: the published file's length and loudness, and whether it cost a call."""

    synthesized: bool
    duration_s: float
    lufs: float
    size: int
    sha256: str
    # For the word timings (pipeline/timings.py): the published samples, the timings that came
    # with the raw audio (from the engine, or kept with it in the cache), and the raw audio.
    processed: Any = field(default=None, repr=False)
    engine_timings: EngineTimings | None = field(default=None, repr=False)
    raw: bytes | Path | None = field(default=None, repr=False)


def warm_up_audio(sample_rate: int) -> None:
    """Import numpy and design the filters on a thread of their own, while the first requests
    are out, so the first line to process does not wait for them."""

    def warm() -> None:
        from charvoice import audio

        audio.warm_up(sample_rate)

    threading.Thread(target=warm, name="charvoice-warm-up", daemon=True).start()


@dataclass(frozen=True)
class Fetched:
    """The request stage's result: raw audio (bytes, or a pinned file) with the timings that
    came with it, and whether an engine call made it."""

    raw: bytes | Path
    timings: EngineTimings | None = None
    synthesized: bool = False


def fetch_raw(request: SpeechRequest, engine: Engine, cache: AudioCache, pinned: Path | None = None) -> Fetched:
    """The request stage: the raw audio from `pinned` (a take or a recording), the cache, or the engine."""
    if pinned is not None:  # an approved take or an actor's recording: no engine call
        return Fetched(pinned)
    hit = cache.get_timed(request.cache_key)
    if hit is not None:
        return Fetched(hit.audio, hit.timings)
    made = engine.synthesize(request)
    return Fetched(made.audio, made.timings, synthesized=True)


def silent_entries(lines: list[Line]) -> dict[str, dict[str, str]]:
    """The manifest's `silent` map: lines with no words, and lines whose own [#voice] file plays."""
    entries = {}
    for line in lines:
        entry = {"character": line.character, "source": line.source, "why": "no words"}
        if line.voice_file:  # Dialogue Manager's balloon plays it: the addon must not play a second voice
            entry |= {"why": "voice tag", "voice": line.voice_file}
        entries[line.id] = entry
    return entries


def publish_raw(
    fetched: Fetched,
    request: SpeechRequest,
    engine: Engine,
    cache: AudioCache,
    settings: AudioSettings,
    target: Path,
    *,
    pinned: Path | None = None,
    before_publish: Callable[[], None] = lambda: None,
    expect_duration_s: float | None = None,
    asset_key: str = "",
    durable: bool = False,
) -> Voiced:
    """The processing stage: processed; cached once it decoded; encoded atomically.
    `before_publish` may raise to keep the audio in the cache but publish nothing (a newer edit
    arrived). `expect_duration_s`: how long this same sound (same asset key) came out before;
    cached audio far shorter than that is a damaged entry, so the engine is asked again rather
    than a truncated file published over a good one."""
    from charvoice import audio  # numpy loads only when there is audio to process

    processed = audio.process(fetched.raw, settings)
    damaged = expect_duration_s and processed.duration_s < expect_duration_s / 2
    if not fetched.synthesized and pinned is None and damaged:
        made = engine.synthesize(request)
        fetched = Fetched(made.audio, made.timings, synthesized=True)
        processed = audio.process(fetched.raw, settings)
    if fetched.synthesized and isinstance(fetched.raw, bytes):  # only audio that decoded is worth keeping
        cache.put(request.cache_key, fetched.raw, fetched.timings)
    before_publish()
    audio.encode(processed, target, settings, asset_key or request.cache_key, durable=durable)  # key: the Ogg stream
    size, sha256 = file_digest(target)  # recorded in the manifest: `check` notices a damaged file
    return Voiced(
        fetched.synthesized, round(processed.duration_s, 3), processed.lufs, size, sha256,
        processed, fetched.timings, fetched.raw,
    )  # fmt: skip


def voice_to_file(
    request: SpeechRequest,
    engine: Engine,
    cache: AudioCache,
    settings: AudioSettings,
    target: Path,
    *,
    pinned: Path | None = None,
    before_publish: Callable[[], None] = lambda: None,
    expect_duration_s: float | None = None,
) -> Voiced:
    """One line's audio at `target`: both stages, one after the other."""
    return publish_raw(
        fetch_raw(request, engine, cache, pinned), request, engine, cache, settings, target,
        pinned=pinned, before_publish=before_publish, expect_duration_s=expect_duration_s,
    )  # fmt: skip


def _fetch(job: Job, engines: Engines, project: Project, cache: AudioCache) -> Fetched:
    if job.pinned is not None and not job.pinned.is_file():
        relative = project.config.relative(job.pinned)
        raise EngineError(f"{job.origin} audio {relative} is missing (restore it, or approve another take)")
    engine = engines.for_character(project.characters[job.line.character])
    return fetch_raw(job.request, engine, cache, job.pinned)


def _process(
    job: Job,
    fetched: Fetched,
    engines: Engines,
    project: Project,
    cache: AudioCache,
    stop: threading.Event,
    expect: float | None,
) -> LineResult:
    def before_publish() -> None:
        if stop.is_set():  # the script changed meanwhile: keep the audio in the cache, publish nothing
            raise Superseded

    engine = engines.for_character(project.characters[job.line.character])
    voiced = publish_raw(
        fetched, job.request, engine, cache, project.config.audio, job.asset_path,
        pinned=job.pinned, before_publish=before_publish, expect_duration_s=expect, asset_key=job.asset_key,
        durable=project.config.fsync_assets,
    )  # fmt: skip
    published = timings.publish(job, project, engines, cache, voiced.processed, voiced.engine_timings, voiced.raw)
    return LineResult(job, voiced.synthesized, voiced.duration_s, voiced.lufs, voiced.size, voiced.sha256, published)


def record(manifest: Manifest, result: LineResult) -> None:
    job = result.job
    manifest.set_entry(
        job.line.id,
        job.line.character,
        job.line.source,
        job.line.locale,
        AudioEntry(
            path=job.manifest_path,
            text=job.line.text,
            duration_s=result.duration_s,
            lufs=result.lufs,
            key=job.asset_key,
            source_key=job.cache_key,
            engine="recording" if job.origin == "recorded" else job.request.engine,
            origin=job.origin,
            marks=job.marks,
            timings=result.timings.path,
            timings_size=result.timings.size,
            notes=job.line.notes,  # the writer's (Dialogue Manager `##`, Yarn `//`)
            size=result.size,
            sha256=result.sha256,
        ),
    )


def _group(leader: Job, followers: dict[str, list[Job]]) -> list[Job]:
    """The leader and the lines waiting for its audio (none for a pinned take or recording)."""
    return [leader] if leader.pinned is not None else [leader, *followers.get(leader.cache_key, [])]


def _expected(manifest: Manifest, job: Job) -> float | None:
    """How long this line's sound (same asset key) came out last time, if it was built before."""
    before = manifest.entry(job.line.id, job.line.locale)
    return before.duration_s if before is not None and before.key == job.asset_key else None


def run_build(
    project: Project,
    plan: Plan,
    engines: Engines,
    manifest: Manifest,
    cache: AudioCache,
    *,
    jobs: int,
    on_progress: Callable[[LineResult | Failure], None] = lambda result: None,
    stop: threading.Event | None = None,
    notify: Notify | None = None,
) -> BuildReport:
    """Build every job of the plan; `stop` (set by `watch` when a newer edit arrives) ends the
    build early: no new line starts and lines still in flight are not published."""
    stop = stop or threading.Event()
    started = time.monotonic()
    report = BuildReport(engine=engines.primary.name, total=plan.total, up_to_date=len(plan.fresh))
    manifest.default_locale = project.config.default_locale
    manifest.locales = list(project.config.locales)
    manifest.characters = {cid: c.name for cid, c in sorted(project.characters.items())}
    changed: list[str] = []
    last_flush = time.monotonic()
    # Engines get ready before any line is sent: samples checked, voices cloned (a failure here
    # stops the build with nothing paid for).
    if plan.todo:
        warm_up_audio(project.config.audio.sample_rate)
    to_send = [job.request for job in plan.to_synthesize]
    for engine in {id(engine): engine for engine in (engines.primary, engines.offline)}.values():
        engine.prepare([request for request in to_send if request.engine == engine.name], jobs, notify or Notify())
    for job in plan.moved:  # a moved or renamed script: same audio, new source
        if manifest.set_source(job.line.id, job.line.source, job.line.locale):
            changed.append(job.line.id)

    def publish(ids: list[str]) -> None:
        try:
            manifest.publish(ids)
        except OSError as error:
            # Lines in flight publish nothing more; assets already written under older entries
            # differ from them in size and hash, which `build` and `check` both notice.
            stop.set()
            raise FileSystemError.of(error, project.config.relative) from None

    def flush() -> None:
        nonlocal last_flush, changed
        if changed:
            publish(changed)
            changed = []
        last_flush = time.monotonic()

    # Identical requests in flight are synthesised once: the first line of each cache key fetches,
    # the others take its audio (and so its timings) when it arrives.
    followers: dict[str, list[Job]] = {}
    leaders: list[Job] = []
    for job in plan.todo:
        if job.pinned is None and job.cache_key in followers:
            followers[job.cache_key].append(job)
            continue
        if job.pinned is None:
            followers[job.cache_key] = []
        leaders.append(job)
    pending = list(reversed(leaders))  # pop() takes them in script order
    fetching: dict[Future, tuple[Job, float | None]] = {}
    processing: dict[Future, Job] = {}
    fatal: CharvoiceError | None = None  # dooms every line left: a refused key, a full disk
    interrupted = False
    # Enough processing queued to keep every core busy, no more: raw audio is cached only once
    # it decodes, so a killed build loses at most the lines in these two stages.
    backlog = jobs + PROCESS_WORKERS

    def failed(job: Job, error: Exception) -> None:
        nonlocal fatal
        if isinstance(error, FatalEngineError):
            fatal = fatal or error
            report.not_started.append(job)
            return
        if isinstance(error, Superseded):
            report.not_started.append(job)
            return
        if isinstance(error, OSError) and FileSystemError.dooms_the_rest(error):
            fatal = fatal or FileSystemError.of(error, project.config.relative)
            report.not_started.append(job)
            return
        if isinstance(error, OSError):
            message = FileSystemError.of(error, project.config.relative).message
        elif isinstance(error, (EngineError, AudioError, CharvoiceError)):
            message = str(error)
        else:  # one line's surprise never takes the build down
            message = f"{type(error).__name__}: {error}"
        failure = Failure(job, message)
        report.failures.append(failure)
        on_progress(failure)

    def interrupt() -> None:  # Ctrl-C, seen between two steps of the loop below (pipeline/interrupt.py)
        nonlocal interrupted
        interrupted = True
        stop.set()

    guard = contextlib.ExitStack()  # through the last manifest write, not just the loop
    guard.enter_context(sigint_as_request(interrupt))
    with (
        guard,
        ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="charvoice-request") as requests,
        ThreadPoolExecutor(max_workers=PROCESS_WORKERS, thread_name_prefix="charvoice-process") as processors,
    ):
        while pending or fetching or processing:
            if fatal is not None or stop.is_set():
                for job in reversed(pending):
                    report.not_started.extend(_group(job, followers))
                pending.clear()
            while pending and len(fetching) < jobs and len(fetching) + len(processing) < backlog:
                job = pending.pop()
                fetching[requests.submit(_fetch, job, engines, project, cache)] = (job, _expected(manifest, job))
            if not fetching and not processing:
                break
            try:
                done, _ = wait([*fetching, *processing], timeout=WAKE_SECONDS, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                # Ctrl-C: start nothing new; lines in flight publish nothing more (their audio
                # stays cached), and what finished is recorded below, so no asset outruns the manifest.
                interrupted = True
                stop.set()
                done, _ = wait([*fetching, *processing])
            for future in done:
                if future in fetching:
                    leader, expect = fetching.pop(future)
                    try:
                        fetched = future.result()
                    except Exception as error:
                        for job in _group(leader, followers):  # the same request fails the same way
                            failed(job, error)
                        continue
                    for job in _group(leader, followers):  # only the leader's audio was paid for
                        if job is not leader:
                            expect = _expected(manifest, job)
                        paid = fetched if job is leader else replace(fetched, synthesized=False)
                        work = (job, paid, engines, project, cache, stop, expect)
                        processing[processors.submit(_process, *work)] = job
                    continue
                job = processing.pop(future)
                try:
                    result = future.result()
                except Exception as error:
                    failed(job, error)
                    continue
                record(manifest, result)
                changed.append(job.line.id)
                report.built.append(result)
                on_progress(result)
            if time.monotonic() - last_flush >= MANIFEST_FLUSH_SECONDS:
                flush()
        changed.extend(manifest.set_fallbacks(project.fallbacks))
        changed.extend(manifest.set_silent(silent_entries(project.silent)))
        flush()
        if not manifest.path.exists():  # an empty or all-fresh project still gets a manifest for the game
            publish([])
        else:
            try:  # a manifest from an older charvoice gets its runtime form without a new revision
                manifest.ensure_runtime()
            except OSError as error:
                raise FileSystemError.of(error, project.config.relative) from None
    report.seconds = time.monotonic() - started
    if interrupted:
        raise Interrupted(len(report.built), len(report.not_started))
    if fatal is not None:
        left = len(report.not_started)
        kept = f"{left} line(s) were not built; {len(report.built)} finished and were kept"
        kind = FileSystemError if isinstance(fatal, FileSystemError) else FatalEngineError
        raise kind(f"{fatal.format_message()}\n{kept}")
    return report
