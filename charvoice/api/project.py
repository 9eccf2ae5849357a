"""`charvoice.open_project`: a charvoice project driven from Python (a game's build system, an
editor tool, a CI step), with the same behaviour as the commands: the same no-op fast path,
cost preview, lock, reports and errors (CharvoiceError and its subclasses; a build whose lines
partly failed returns a report with `ok` False instead of raising).

    with charvoice.open_project("path/to/game") as project:
        print(project.plan().to_json())
        result = project.build()
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from charvoice.api import operations
from charvoice.api.operations import GateChecks
from charvoice.api.reports import BuildResult, CheckResult, CleanResult, PlanReport
from charvoice.project.config import find_root

if TYPE_CHECKING:
    from charvoice.pipeline.build import Failure, LineResult
    from charvoice.pipeline.workspace import Workspace
    from charvoice.watch import WatchEvent


class VoiceProject:
    """One project, opened by `open_project`. The project is read (and the engines made) on
    first use and read again by each call, so edits between calls are seen."""

    def __init__(self, root: Path, engine: str | None = None, warn: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.engine = engine  # None: engine.name from charvoice.toml
        self.warn = warn or (lambda message: None)  # cache warnings (a damaged entry, the shared cache away)
        self._workspace: Workspace | None = None

    def _open(self) -> Workspace:
        from charvoice.pipeline.workspace import Workspace

        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None
        workspace = Workspace.open(self.root, self.engine)
        workspace.cache.warn = self.warn
        self._workspace = workspace
        return workspace

    def plan(self, targets: tuple[str, ...] = (), *, force: bool = False) -> PlanReport:
        """What `build` would do and cost (lines to build and why, engine calls, price, credit);
        builds and sends nothing. `targets`: line ids or script paths (default: every line)."""
        workspace = self._open()
        return operations.preview(workspace, operations.select(workspace, targets), force)

    def build(
        self,
        targets: tuple[str, ...] = (),
        *,
        force: bool = False,
        jobs: int | None = None,
        over_credit: bool = False,
        on_progress: Callable[[LineResult | Failure], None] = lambda result: None,
    ) -> BuildResult:
        """Voice every line that is new or changed, then write the manifest. Nothing changed
        since the last build: answered from the saved verdict without reading the scripts."""
        started = time.monotonic()
        whole = not targets and not force
        verdict = operations.remembered(self.root, self.engine) if whole else None
        if verdict is not None:
            return operations.remembered_build(verdict, self.root, time.monotonic() - started)
        workspace = self._open()
        lines = operations.select(workspace, targets)
        _, result = operations.build(
            workspace, lines, jobs=jobs, force=force, over_credit=over_credit, whole=whole, engine=self.engine,
            on_progress=on_progress,
        )  # fmt: skip
        return result

    def check(
        self,
        *,
        require_engine: str | None = None,
        require_qa: bool = False,
        missing_locales: bool = False,
        require_approval: bool = False,
    ) -> CheckResult:
        """Whether every line's audio is current (and passes the checks asked for); synthesises nothing."""
        checks = GateChecks(require_engine, require_qa, missing_locales, require_approval)
        if not checks.any:
            verdict = operations.remembered(self.root, self.engine, need_gate=True)
            if verdict is not None:
                return operations.remembered_check(verdict)
        return operations.check(self._open(), checks, self.engine)

    def clean(self, *, dry_run: bool = False) -> CleanResult:
        """Remove (or, `dry_run`, list) manifest entries and files of lines no script has any more."""
        return operations.clean(self._open(), dry_run)

    def watch(self, *, debounce: float = 0.3, jobs: int | None = None) -> Iterator[WatchEvent]:
        """Rebuild changed lines as files are saved, yielding one event per rebuild, error or
        state change (the first is "ready", after a build that makes the assets current).
        Stops when the loop leaves the generator (break, or close())."""
        from charvoice.watch import Watcher

        events: queue.Queue[WatchEvent | None] = queue.Queue()
        watcher = Watcher(self.root, events.put, debounce, self.engine, jobs)
        stop = threading.Event()

        def run() -> None:
            try:
                watcher.run(stop)
            finally:
                events.put(None)

        thread = threading.Thread(target=run, name="charvoice-watch", daemon=True)
        thread.start()
        try:
            while (event := events.get()) is not None:
                yield event
        finally:
            stop.set()
            watcher.interrupt()
            thread.join()

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()
            self._workspace = None

    def __enter__(self) -> VoiceProject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def open_project(
    path: str | Path | None = None, *, engine: str | None = None, warn: Callable[[str], None] | None = None
) -> Iterator[VoiceProject]:
    """The charvoice project at `path` (or the nearest folder above it with charvoice.toml;
    default: the current folder). `engine` overrides engine.name ("auto", "fish", "offline");
    `warn` receives one-line warnings about the cache. Raises ProjectNotFound (a CharvoiceError)
    when there is none."""
    project = VoiceProject(find_root(Path(path) if path is not None else Path.cwd()), engine, warn)
    try:
        yield project
    finally:
        project.close()
