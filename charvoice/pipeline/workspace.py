"""Everything a command works on, opened once: project, engines, manifest and cache."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from charvoice.engines import Engines, select_engines
from charvoice.engines.base import Notify
from charvoice.errors import CharvoiceError, FileSystemError
from charvoice.fsutil import ProjectLock, probe_writable, remove_stale_temps
from charvoice.pipeline.approvals import Approvals
from charvoice.pipeline.build import BuildReport, Failure, LineResult, run_build
from charvoice.pipeline.cache import AudioCache
from charvoice.pipeline.clean import CleanReport, clean
from charvoice.pipeline.manifest import Manifest
from charvoice.pipeline.plan import Job, Plan, PlanMemo, files_of, make_plan
from charvoice.pipeline.published import claim_jobs
from charvoice.pipeline.remote_cache import open_remote
from charvoice.project.config import ProjectConfig, api_key
from charvoice.project.lines import Line
from charvoice.project.loader import Project, ScriptCache, load_project

OnWait = Callable[[], object] | None  # called once when another process holds the project lock


class ManifestCache:
    """The manifest as this process last published it, for `watch`: a save does not re-read
    and re-parse the whole file while its stamp (size, mtime, inode: every write is an atomic
    rename) shows nobody else wrote it. Untrusted from the moment a build starts changing it
    until that build has published, so a build that fails half way is never reused."""

    def __init__(self) -> None:
        self._manifest: Manifest | None = None
        self._stamp: tuple[int, int, int] | None = None

    @staticmethod
    def _stamp_of(path: Path) -> tuple[int, int, int] | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        return (stat.st_size, stat.st_mtime_ns, stat.st_ino)

    def load(self, config: ProjectConfig) -> Manifest:
        stamp = self._stamp_of(config.manifest_path)
        if self._manifest is not None and stamp is not None and stamp == self._stamp:
            return self._manifest
        manifest = Manifest.load(config.manifest_path, config.relative(config.manifest_path))
        self._manifest, self._stamp = manifest, stamp
        return manifest

    def changing(self) -> None:
        self._manifest = None

    def published(self, manifest: Manifest) -> None:
        self._manifest, self._stamp = manifest, self._stamp_of(manifest.path)


class Memory:
    """What `watch` keeps from one rebuild to the next, so a save costs what it changed: parsed
    scripts, the plan's verdicts, the manifest as published, and the engines (their HTTP
    connections stay open, so a save does not wait for a new TLS handshake)."""

    def __init__(self) -> None:
        self.scripts = ScriptCache()
        self.plans = PlanMemo()
        self.manifests = ManifestCache()
        self._engines: tuple[tuple[ProjectConfig, str | None, str | None], Engines] | None = None

    def engines(self, config: ProjectConfig, engine: str | None) -> Engines:
        wanted = (config, engine, api_key())
        if self._engines is not None and self._engines[0] == wanted:
            return self._engines[1]
        self.forget_engines()
        engines = select_engines(config, engine)
        self._engines = (wanted, engines)
        return engines

    def forget_engines(self) -> None:
        """After a fatal engine error (a refused key, an outage): the next rebuild starts afresh."""
        if self._engines is not None:
            self._engines[1].close()
            self._engines = None

    def holds(self, engines: Engines) -> bool:
        return self._engines is not None and self._engines[1] is engines

    def close(self) -> None:
        self.forget_engines()


def _load_manifest(config: ProjectConfig, memory: Memory | None) -> Manifest:
    if memory is not None:
        return memory.manifests.load(config)
    return Manifest.load(config.manifest_path, config.relative(config.manifest_path))


@dataclass
class Workspace:
    project: Project
    engines: Engines
    manifest: Manifest
    cache: AudioCache
    engine_name: str | None = None  # as asked for at open (None: engine.name)
    memory: Memory | None = None  # kept by `watch` between rebuilds

    @classmethod
    def open(cls, start: Path | None = None, engine: str | None = None, memory: Memory | None = None) -> Workspace:
        project = load_project(start, scripts_cache=memory.scripts if memory else None)
        config = project.config
        Approvals.load(config)  # a damaged approvals file stops every command before anything is written
        engines = memory.engines(config, engine) if memory else select_engines(config, engine)
        try:
            manifest = _load_manifest(config, memory)
            engines.check_project(project)  # last: it may record samples that decoded
            rule = engines.direction()
            if rule is not None:  # the engine's own rule says which tags it will not voice
                project.voicing_warnings = rule.warnings(project.directed)
        except BaseException:
            if memory is None:
                engines.close()
            raise
        return cls(
            project=project,
            engines=engines,
            manifest=manifest,
            cache=AudioCache(config.cache_dir, open_remote(config.cache.remote, config.cache.endpoint, config.root)),
            engine_name=engine,
            memory=memory,
        )

    def reload_manifest(self) -> None:
        self.manifest = _load_manifest(self.project.config, self.memory)

    @contextlib.contextmanager
    def _locked(self, on_wait: OnWait = None) -> Iterator[bool]:
        """Hold the project lock, with the manifest as it is now. If another process published
        since this workspace read the project, it may have built newer scripts: read them again
        (and yield True), so older text is never published over newer audio, nor a line this
        workspace never saw cleaned away."""
        with self.lock(on_wait):
            known = self.manifest.revision
            self.reload_manifest()
            reopened = self.manifest.revision != known
            if reopened:
                fresh = Workspace.open(self.project.config.root, self.engine_name, self.memory)
                if fresh.engines is not self.engines:
                    self.close()
                fresh.cache.warn = self.cache.warn  # the CLI's warning printer
                self.project, self.engines, self.manifest, self.cache = (
                    fresh.project,
                    fresh.engines,
                    fresh.manifest,
                    fresh.cache,
                )
            yield reopened

    def clean(self, dry_run: bool, on_wait: OnWait = None) -> CleanReport:
        """Remove orphaned entries and assets, holding the lock (dry runs need no lock)."""
        if dry_run:
            return clean(self.project, self.manifest, dry_run=True)
        with self._locked(on_wait):
            if self.memory is not None:
                self.memory.manifests.changing()
            report = clean(self.project, self.manifest, dry_run=False)
            if self.memory is not None:
                self.memory.manifests.published(self.manifest)
            return report

    def lock(self, on_wait: OnWait = None) -> ProjectLock:
        return ProjectLock(self.project.config.state_dir / "lock", on_wait)

    def plan(self, lines: list[Line] | None = None, force: bool = False) -> Plan:
        return make_plan(
            self.project,
            self.engines,
            self.manifest,
            self.cache,
            lines=lines,
            force=force,
            memo=self.memory.plans if self.memory else None,
        )

    def build(
        self,
        lines: list[Line] | None = None,
        *,
        jobs: int,
        force: bool = False,
        on_start: Callable[[Plan], None] = lambda plan: None,
        on_progress: Callable[[LineResult | Failure], None] = lambda result: None,
        on_wait: OnWait = None,
        stop: threading.Event | None = None,
        notify: Notify | None = None,
        sweep_temps: bool = True,
    ) -> tuple[Plan, BuildReport]:
        """Plan and build while holding the project lock.

        The plan is made after the lock is taken, from the manifest as it is then (and the
        scripts, read again if another process published meanwhile): a build that waited for
        another one builds only what that one left to do, and never older text over newer.
        """
        with self._locked(on_wait) as reopened:
            config = self.project.config
            # Temporary files of a killed build are dead: nobody else writes while we hold the lock.
            # (`watch` sweeps once, at its start: the walk costs a stat per asset.)
            if sweep_temps:
                remove_stale_temps(config.output_dir)
                remove_stale_temps(config.cache_dir)
            for folder in (config.output_dir, config.cache_dir):  # a read-only or full folder fails now, not per line
                try:
                    probe_writable(folder)
                except OSError as error:
                    raise FileSystemError.of(error, config.relative) from None
            if reopened and lines is not None:  # the same lines, as the project reads now
                chosen = {(line.id, line.locale) for line in lines}
                lines = [line for line in self.project.lines if (line.id, line.locale) in chosen]
            plan = self.plan(lines, force=force)
            on_start(plan)
            try:  # before any file is written: the record of what charvoice publishes
                refused = claim_jobs(config.output_dir, self.manifest, plan.todo)
            except OSError as error:
                raise FileSystemError.of(error, config.relative) from None
            if self.memory is not None:
                self.memory.manifests.changing()
            report = run_build(
                self.project,
                _without(plan, refused),
                self.engines,
                self.manifest,
                self.cache,
                jobs=jobs,
                on_progress=on_progress,
                stop=stop,
                notify=notify,
            )
            for job in refused:
                failure = Failure(job, _not_ours(config, job))
                report.failures.append(failure)
                report.total += 1
                on_progress(failure)
            if self.memory is not None:
                self.memory.manifests.published(self.manifest)
                built = [result.job for result in report.built]
                self.memory.plans.keep_built(built, self.manifest, self.project.colliding)
            self._note_recordings(report)
            return plan, report

    def _note_recordings(self, report: BuildReport) -> None:
        """Remember which text each newly published recording was made for."""
        recorded = [result.job for result in report.built if result.job.origin == "recorded"]
        if not recorded:
            return
        approvals = Approvals.load(self.project.config)
        if any(
            [
                approvals.note_recording(job.line.id, job.line.locale, job.recording_sha, job.line.text)
                for job in recorded
            ]
        ):
            approvals.save()

    def select(self, targets: tuple[str, ...], cwd: Path | None = None) -> list[Line] | None:
        """The lines named by ids or script paths (None when no target is given: every line)."""
        if not targets:
            return None
        cwd = cwd or Path.cwd()
        by_id: dict[str, list[Line]] = {}
        for line in self.project.lines:
            by_id.setdefault(line.id.lower(), []).append(line)
        chosen: dict[tuple[str, str], Line] = {}
        for target in targets:
            exact = [line for line in self.project.lines if line.id == target]  # `Greet` and `greet` are two lines
            lines = exact or by_id.get(target.lower())
            if lines is None:
                path = next((p for p in (cwd / target, self.project.config.root / target) if p.is_file()), None)
                if path is None:
                    raise CharvoiceError(f"{target!r} is neither a line id nor a script of this project")
                lines = self.project.lines_from(path.resolve())
                if not lines and path.resolve() not in self.project.scripts:
                    raise CharvoiceError(
                        f"{target} is not one of the project's scripts (see project.dialogue in charvoice.toml)"
                    )
            for line in lines:
                chosen[(line.id, line.locale)] = line
        return list(chosen.values())

    def close(self) -> None:
        if self.memory is None or not self.memory.holds(self.engines):
            self.engines.close()


def _without(plan: Plan, jobs: list[Job]) -> Plan:
    gone = {id(job) for job in jobs}
    return replace(plan, todo=[job for job in plan.todo if id(job) not in gone]) if gone else plan


def _not_ours(config: ProjectConfig, job: Job) -> str:
    taken = next((path for path in files_of(job) if path.exists() or path.is_symlink()), job.asset_path)
    return (
        f"{config.relative(taken)} exists and charvoice did not write it: move that file away, "
        "or give the line another id; charvoice never writes over a file it did not make"
    )
