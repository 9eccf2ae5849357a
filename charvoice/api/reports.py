"""What the Python API returns: typed reports whose `to_json()` is exactly what the matching
command prints with `--json` (`build --dry-run`, `build`, `check`, `clean`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from charvoice.pipeline.cost import CostPreview
    from charvoice.pipeline.plan import Job, Plan
    from charvoice.release.gate import GateReport


@dataclass(frozen=True)
class LineToBuild:
    """A line whose audio is missing or stale, and why."""

    id: str
    locale: str
    character: str
    source: str  # file:line
    reason: str
    cached: bool  # its raw audio is in the cache (or pinned): building it costs no engine call

    @classmethod
    def of(cls, job: Job) -> LineToBuild:
        line = job.line
        return cls(line.id, line.locale, line.character, line.source, job.reason, job.cached)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "locale": self.locale, "character": self.character, "source": self.source,
            "reason": self.reason, "cached": self.cached,
        }  # fmt: skip


def lines_to_build(plan: Plan) -> list[LineToBuild]:
    return [LineToBuild.of(job) for job in plan.todo]


@dataclass(frozen=True)
class FailedLine:
    id: str
    locale: str
    source: str
    error: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "locale": self.locale, "source": self.source, "error": self.error}


@dataclass
class PlanReport:
    """What a build would do and cost (`build --dry-run --json`), building nothing."""

    engine: str
    total: int
    up_to_date: int
    to_build: list[LineToBuild]
    to_synthesize: int  # engine calls: one per distinct request
    cost: CostPreview
    credit: dict[str, Any] = field(default_factory=dict)  # the account's credit, where the engine bills one
    shared_cache: int | None = None  # lines the team's shared cache already holds (None: no shared cache)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # lines not voiced, and why (no words, runtime text, ...)
    plan: Plan | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        held = {"shared_cache": self.shared_cache} if self.shared_cache is not None else {}
        return {
            "engine": self.engine,
            "total": self.total,
            "up_to_date": self.up_to_date,
            "to_build": [line.to_json() for line in self.to_build],
            "to_synthesize": self.to_synthesize,
            **held,
            "cost": self.cost.as_dict(),
            "credit": self.credit,
            "warnings": self.warnings,
            "skipped": self.skipped,
        }


@dataclass
class BuildResult:
    """What a build did (`build --json`). `ok` is False when some lines failed (exit status 1)."""

    engine: str
    total: int
    up_to_date: int
    built: int
    synthesized: int  # engine calls made
    from_cache: int
    failed: list[FailedLine]
    orphans: list[tuple[str, str]]  # (id, locale) in the manifest that no script has any more
    warnings: list[str]
    skipped: list[str]
    seconds: float
    manifest: str  # relative to the project root
    cache: dict[str, int] = field(default_factory=dict)  # damaged entries, shared-cache hits and uploads
    billed_retries: int = 0  # retries after an answer the service may have billed (a damaged or cut-off one)

    @property
    def ok(self) -> bool:
        return not self.failed

    def to_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "total": self.total,
            "up_to_date": self.up_to_date,
            "built": self.built,
            "synthesized": self.synthesized,
            "from_cache": self.from_cache,
            **self.cache,
            "failed": [line.to_json() for line in self.failed],
            "orphans": [{"id": line_id, "locale": locale} for line_id, locale in self.orphans],
            "warnings": self.warnings,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "billed_retries": self.billed_retries,
            "manifest": self.manifest,
        }


@dataclass
class CheckResult:
    """Whether every line's audio is current and passes the checks asked for (`check --json`)."""

    ok: bool
    total: int
    up_to_date: int
    stale: list[LineToBuild]
    gate: dict[str, Any]  # the release gate's report (as `check --report` writes it)
    report: GateReport | None = field(default=None, repr=False, compare=False)  # None: remembered verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "total": self.total,
            "up_to_date": self.up_to_date,
            "stale": [line.to_json() for line in self.stale],
            "gate": self.gate,
        }


@dataclass
class CleanResult:
    """Manifest entries and files of lines no script has any more: removed, or (dry run) found."""

    dry_run: bool
    entries: list[tuple[str, str]]  # (id, locale)
    files: list[str]  # relative to the project root

    def to_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "entries": [{"id": line_id, "locale": locale} for line_id, locale in self.entries],
            "files": self.files,
        }
