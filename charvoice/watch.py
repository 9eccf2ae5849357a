"""`charvoice watch`: rebuild the lines writers change, as they save.

A watchdog observer collects changed paths into a set; once the project has been quiet for
the debounce interval, one rebuild handles them all. A rebuild re-reads the project
(unchanged scripts come from a ScriptCache, not the parser), plans, and builds only lines
whose keys changed. If more edits arrive while a rebuild runs, the rebuild stops starting
lines, discards lines still in flight (their audio stays cached) and the next rebuild starts
at once from the newest files, so an older take is never published over a newer one.

Nothing stops the watcher but Ctrl-C: a script with a syntax error is reported and the assets
stay as they are until it is fixed; an engine failure is reported and the unbuilt lines are
retried later with a growing delay.
"""

from __future__ import annotations

import contextlib
import fnmatch
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from charvoice.errors import CharvoiceError
from charvoice.pipeline.build import warm_up_audio
from charvoice.pipeline.workspace import Memory, Workspace
from charvoice.project.characters import SAMPLE_EXTENSIONS
from charvoice.project.config import find_root, load_config
from charvoice.project.formats import supported_extensions

# Files editors write next to the real one while saving.
IGNORED_NAMES = ("*.swp", "*.swx", "*.swo", "*~", ".#*", "#*#", "4913", "*.tmp", "*.bak", "*.orig", ".DS_Store")
RETRY_DELAYS = (2.0, 5.0, 10.0, 30.0, 60.0)
# What a rebuild may depend on; other files (an editor's temporary copy) are not worth naming.
SCRIPT_SUFFIXES = supported_extensions()
WATCHED_SUFFIXES = (*SCRIPT_SUFFIXES, ".toml", ".lock", *SAMPLE_EXTENSIONS)


@dataclass
class WatchEvent:
    """What the watcher tells its user: one per rebuild, error or state change."""

    kind: str  # ready | rebuild | error | stopped
    time: float
    files: list[str] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)
    from_cache: int = 0
    failed: list[dict] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)  # every file `clean` removed, relative to the project
    superseded: int = 0
    seconds: float = 0.0
    lines: int = 0
    revision: int = 0
    message: str = ""
    warnings: list[str] = field(default_factory=list)  # from the cache (a damaged entry, the shared cache away)

    def to_json(self) -> dict:
        return {
            key: value
            for key, value in self.__dict__.items()
            if value not in ([], "", 0, 0.0) or key in ("kind", "time")
        }


class _Collector(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write") or (event.is_directory and event.event_type == "modified"):
            return  # reads, and a folder's own timestamp changing when a file inside does
        # A move's source is a file gone from there ("moved"); its destination one that arrived.
        for path, kind in ((event.src_path, event.event_type), (getattr(event, "dest_path", ""), "arrived")):
            if path:
                self.watcher.notice(Path(path if isinstance(path, str) else path.decode()), event.is_directory, kind)


class Watcher:
    def __init__(
        self,
        start: Path,
        on_event: Callable[[WatchEvent], None],
        debounce: float = 0.3,
        engine: str | None = None,
        jobs: int | None = None,
        retry_delays: tuple[float, ...] = RETRY_DELAYS,
    ) -> None:
        self.root = find_root(start)
        self.on_event = on_event
        self.debounce = debounce
        self.engine = engine
        self.jobs = jobs
        self.retry_delays = retry_delays
        self.memory = Memory()
        self._changed: set[Path] = set()
        self._last_change = 0.0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._building = threading.Event()
        self._supersede = threading.Event()
        self._ignored_dirs: tuple[Path, ...] = (self.root / ".charvoice",)
        # Known before the first build, so its own writes are not taken for edits (a broken config
        # is reported by the first rebuild).
        self._output_dir: Path | None = None  # unknown while the config cannot be read
        with contextlib.suppress(CharvoiceError):
            self._output_dir = load_config(self.root).output_dir
            self._ignored_dirs += (self._output_dir,)
        self._touched_outputs: set[Path] = set()
        self._swept = False  # temporary files a killed build left: swept by the first rebuild only
        self._retry_at: float | None = None
        self._failures_in_a_row = 0

    # --- events from the observer thread ---------------------------------------------------

    def _output_file_touched(self, path: Path, is_directory: bool, kind: str) -> bool:
        """An asset or timings file changed, deleted or renamed away by someone else: the plan
        memo must not vouch for it. The build's own writes arrive as renames of hidden temporary
        files."""
        return (
            kind in ("created", "modified", "closed", "deleted", "moved")
            and not is_directory
            and not path.name.startswith(".")
            and self._output_dir is not None
            and self._output_dir in path.parents
        )

    def _ignored(self, path: Path, is_directory: bool) -> bool:
        if any(fnmatch.fnmatch(path.name, pattern) for pattern in IGNORED_NAMES):
            return True
        try:  # hidden folders (.git, .godot, .charvoice) are tools' business, not the writers'
            if any(part.startswith(".") for part in path.relative_to(self.root).parts):
                return True
        except ValueError:
            return True
        if not is_directory and path.suffix.lower() not in WATCHED_SUFFIXES:
            return True
        # Inside the output folder, or a folder on the way to it (made by the build).
        return any(path == folder or folder in path.parents or path in folder.parents for folder in self._ignored_dirs)

    def notice(self, path: Path, is_directory: bool = False, kind: str = "modified") -> None:
        if self._output_file_touched(path, is_directory, kind):
            with self._lock:
                self._touched_outputs.add(path)
            return
        if self._ignored(path, is_directory):
            return
        with self._lock:
            self._changed.add(path)
            self._last_change = time.monotonic()
        if self._building.is_set():
            self._supersede.set()
        self._wake.set()

    # --- the rebuild loop -----------------------------------------------------------------

    def _take_changes(self) -> set[Path]:
        with self._lock:
            changed, self._changed = self._changed, set()
            return changed

    def _quiet_for(self) -> float:
        with self._lock:
            return time.monotonic() - self._last_change

    def rebuild(self, changed: set[Path]) -> WatchEvent:
        """One rebuild; reports problems as an error event instead of raising."""
        started = time.monotonic()
        files = sorted(self._display(path) for path in changed)
        if any(path.suffix.lower() not in SCRIPT_SUFFIXES for path in changed):
            # Samples, the lock, approvals, recordings, characters: they shape plans and voices
            # unseen by the memo and the engines' own state.
            self.memory.plans.clear()
            self.memory.forget_engines()
        with self._lock:
            touched, self._touched_outputs = self._touched_outputs, set()
        self.memory.plans.forget_files(touched)
        try:
            workspace = Workspace.open(self.root, self.engine, memory=self.memory)
        except CharvoiceError as error:
            return WatchEvent("error", time.time(), files=files, message=error.format_message())
        self._output_dir = workspace.project.config.output_dir
        self._ignored_dirs = (self.root / ".charvoice", self._output_dir)
        try:
            self._supersede.clear()
            self._building.set()
            try:
                plan, report = workspace.build(
                    jobs=self.jobs or workspace.project.config.jobs, stop=self._supersede, sweep_temps=not self._swept
                )
                self._swept = True
            finally:
                self._building.clear()
            removed, removed_files = [], []
            if plan.orphans and not self._supersede.is_set():  # lines gone from the scripts: as `clean` would
                cleaned = workspace.clean(dry_run=False)
                removed = [f"{line_id} [{locale}]" for line_id, locale in cleaned.entries]
                removed_files = [workspace.project.config.relative(path) for path in cleaned.files]
        except CharvoiceError as error:  # a fatal engine error (bad key, no credit): report, retry later
            self.memory.forget_engines()  # a fatal error sticks to an engine; the retry starts afresh
            self._schedule_retry()
            return WatchEvent("error", time.time(), files=files, message=error.format_message())
        finally:
            workspace.close()
        failed = [
            {"id": f.job.line.id, "locale": f.job.line.locale, "source": f.job.line.source, "error": f.message}
            for f in report.failures
        ]
        if failed:
            self._schedule_retry()
        else:
            self._failures_in_a_row, self._retry_at = 0, None
        return WatchEvent(
            "rebuild",
            time.time(),
            files=files,
            regenerated=[result.job.line.id for result in report.built],
            from_cache=report.from_cache,
            failed=failed,
            removed=removed,
            removed_files=removed_files,
            superseded=len(report.not_started),
            seconds=round(time.monotonic() - started, 3),
            lines=report.total,
            revision=workspace.manifest.revision,
            warnings=list(workspace.cache.warnings),
        )

    def _safe_rebuild(self, changed: set[Path]) -> WatchEvent:
        """A bug or an unexpected OS error in one rebuild must not end the watcher."""
        try:
            return self.rebuild(changed)
        except Exception as error:
            self.memory.forget_engines()
            self._schedule_retry()
            return WatchEvent("error", time.time(), message=f"rebuild failed: {type(error).__name__}: {error}")

    def _schedule_retry(self) -> None:
        delay = self.retry_delays[min(self._failures_in_a_row, len(self.retry_delays) - 1)]
        self._failures_in_a_row += 1
        self._retry_at = time.monotonic() + delay

    def _display(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            return path.as_posix()

    def interrupt(self) -> None:
        """Ctrl-C: lines in flight are discarded rather than published."""
        self._supersede.set()
        self._wake.set()

    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set. Builds once at the start so the assets are current."""
        # numpy's import and the filter design: now, not on the writer's first save.
        with contextlib.suppress(CharvoiceError):
            warm_up_audio(load_config(self.root).audio.sample_rate)
        observer = Observer()
        observer.schedule(_Collector(self), str(self.root), recursive=True)
        observer.start()
        try:
            first = self._safe_rebuild(set())
            first.kind = "ready" if first.kind == "rebuild" else first.kind
            self.on_event(first)
            while not stop.is_set():
                self._wake.wait(timeout=0.1)
                self._wake.clear()
                retry_due = self._retry_at is not None and time.monotonic() >= self._retry_at
                with self._lock:
                    pending = bool(self._changed)
                if pending and self._quiet_for() < self.debounce:
                    continue  # still saving: wait for the burst to end
                if not pending and not retry_due:
                    continue
                self._retry_at = None
                self.on_event(self._safe_rebuild(self._take_changes()))
        finally:
            observer.stop()
            observer.join()
            self.memory.close()
            self.on_event(WatchEvent("stopped", time.time()))
