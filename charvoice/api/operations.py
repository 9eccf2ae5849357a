"""The logic behind `build`, `build --dry-run`, `check` and `clean`, on an open Workspace: the
no-op fast path (a remembered up-to-date verdict), the cost and credit preview, and the reports.
The CLI and the Python API (project.py) both call these; neither prints here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from charvoice.api.reports import BuildResult, CheckResult, CleanResult, FailedLine, PlanReport, lines_to_build
from charvoice.errors import CharvoiceError
from charvoice.project.config import find_root

if TYPE_CHECKING:
    from charvoice.engines.base import Notify
    from charvoice.pipeline.build import BuildReport, Failure, LineResult
    from charvoice.pipeline.plan import Plan
    from charvoice.pipeline.uptodate import Verdict
    from charvoice.pipeline.workspace import OnWait, Workspace
    from charvoice.project.lines import Line


@dataclass(frozen=True)
class GateChecks:
    """The release checks `check` may add to "every line up to date" (see release/gate.py)."""

    require_engine: str | None = None  # fail lines another engine voiced
    require_qa: bool = False  # fail lines QA flagged or has not checked since their audio changed
    missing_locales: bool = False  # fail lines with no text in some locale
    require_approval: bool = False  # fail lines whose text changed since a take was approved

    @property
    def any(self) -> bool:
        return bool(self.require_engine or self.require_qa or self.missing_locales or self.require_approval)


# --- the no-op fast path ------------------------------------------------------------------------


def remembered(project_dir: Path | None, engine: str | None, need_gate: bool = False) -> Verdict | None:
    """The saved up-to-date verdict when nothing changed since (see pipeline/uptodate.py)."""
    from charvoice.pipeline.uptodate import remembered as saved
    from charvoice.project.config import load_config

    try:
        config = load_config(find_root(project_dir or Path.cwd()))
    except CharvoiceError:
        return None  # the full path reports it
    verdict = saved(config, engine, gate=need_gate)
    return None if verdict is None or (need_gate and not verdict.gate) else verdict


def remember(workspace: Workspace, engine: str | None, plan: Plan, gate: dict | None) -> None:
    from charvoice.pipeline.uptodate import Verdict, remember

    project = workspace.project
    verdict = Verdict(
        engine=workspace.engines.primary.name,
        total=plan.total,
        notice=workspace.engines.notice,
        warnings=list(dict.fromkeys(project.warnings)),
        voicing_warnings=list(dict.fromkeys(project.voicing_warnings)),
        skipped=list(dict.fromkeys(project.skipped)),
        orphans=list(plan.orphans),
        gate=gate or {},
    )
    folders = {job.manifest_path.rpartition("/")[0] for job in plan.fresh}
    root = project.config.root.resolve()
    samples = [sample for character in project.characters.values() for sample in character.voice.samples]
    if all(root in sample.resolve().parents for sample in samples):  # samples elsewhere are not stamped
        remember(project.config, engine, verdict, folders)


def remembered_build(verdict: Verdict, project_dir: Path | None, seconds: float) -> BuildResult:
    from charvoice.project.config import load_config

    config = load_config(find_root(project_dir or Path.cwd()))
    return BuildResult(
        engine=verdict.engine, total=verdict.total, up_to_date=verdict.total, built=0, synthesized=0, from_cache=0,
        failed=[], orphans=list(verdict.orphans), warnings=verdict.warnings, skipped=verdict.skipped,
        seconds=seconds, manifest=config.relative(config.manifest_path),
    )  # fmt: skip


def remembered_check(verdict: Verdict) -> CheckResult:
    return CheckResult(True, verdict.total, verdict.total, [], verdict.gate)


# --- plan, build, check, clean --------------------------------------------------------------------


def select(
    workspace: Workspace, targets: tuple[str, ...] = (), shard: tuple[int, int] | None = None
) -> list[Line] | None:
    """The lines named by ids or script paths (None: every line), within shard I of N if given."""
    lines = workspace.select(targets)
    if shard is not None:
        from charvoice.pipeline.plan import in_shard

        lines = [line for line in (workspace.project.lines if lines is None else lines) if in_shard(line, *shard)]
    return lines


def preflight(workspace: Workspace) -> None:
    """One cheap request to the shared cache before anything is paid for: a misspelled bucket,
    missing credentials or an unmounted share stop here (CharvoiceError), not after synthesis."""
    if workspace.cache.remote is not None:
        workspace.cache.remote.preflight()


def preview(workspace: Workspace, lines: list[Line] | None = None, force: bool = False) -> PlanReport:
    """What a build would do and cost, building and sending nothing."""
    from charvoice.pipeline.cost import preview as cost_of

    preflight(workspace)
    plan = workspace.plan(lines, force=force)
    cost = cost_of(plan, workspace.project, workspace.engines)
    billing = workspace.engines.billing()
    price = cost.price(cost.bytes)
    credit: dict = {}
    if billing is not None and billing.billed and price > 0:  # nothing to pay for: no need to ask
        usd, why = billing.account_credit()
        credit = {"usd": usd, "enough": None if usd is None else price <= usd, "unknown_because": why}
    return PlanReport(
        engine=workspace.engines.primary.name,
        total=plan.total,
        up_to_date=len(plan.fresh),
        to_build=lines_to_build(plan),
        to_synthesize=len(plan.to_synthesize),
        cost=cost,
        credit=credit,
        shared_cache=sum(job.shared for job in plan.todo) if workspace.cache.remote is not None else None,
        warnings=[*workspace.project.warnings, *workspace.project.voicing_warnings],
        skipped=list(workspace.project.skipped),
        plan=plan,
    )


def build(
    workspace: Workspace,
    lines: list[Line] | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    over_credit: bool = False,
    whole: bool = False,
    engine: str | None = None,
    on_start: Callable[[Plan], None] = lambda plan: None,
    on_progress: Callable[[LineResult | Failure], None] = lambda result: None,
    on_wait: OnWait = None,
    notify: Notify | None = None,
) -> tuple[Plan, BuildResult]:
    """Build, holding the project lock. A `whole` project build (every line, no force) that found
    nothing to do saves its verdict (for `engine` as asked for), so the next one answers at once."""
    preflight(workspace)
    billing = workspace.engines.billing()
    if over_credit and billing is not None:
        billing.allow_overspend()
    plan, report = workspace.build(
        lines,
        jobs=jobs or workspace.project.config.jobs,
        force=force,
        on_start=on_start,
        on_progress=on_progress,
        on_wait=on_wait,
        notify=notify,
    )
    if whole and not plan.todo and not report.built and not report.failures:
        remember(workspace, engine, plan, gate=None)
    return plan, build_result(workspace, plan, report)


def build_result(workspace: Workspace, plan: Plan, report: BuildReport) -> BuildResult:
    cache = workspace.cache
    counts = {"damaged_cache_entries": cache.discarded + (cache.remote.refused if cache.remote else 0)}
    if cache.remote is not None:
        counts |= {"from_shared_cache": cache.remote_hits, "uploaded": cache.remote.uploaded}
    project = workspace.project
    return BuildResult(
        engine=report.engine,
        total=report.total,
        up_to_date=report.up_to_date,
        built=len(report.built),
        synthesized=report.synthesized,
        from_cache=report.from_cache,
        failed=[FailedLine(f.job.line.id, f.job.line.locale, f.job.line.source, f.message) for f in report.failures],
        orphans=list(plan.orphans),
        warnings=[*project.warnings, *project.voicing_warnings],
        skipped=project.skipped,
        seconds=report.seconds,
        manifest=project.config.relative(workspace.manifest.path),
        cache=counts,
        billed_retries=billing.billed_retries if (billing := workspace.engines.billing()) is not None else 0,
    )


def check(workspace: Workspace, checks: GateChecks = GateChecks(), engine: str | None = None) -> CheckResult:
    """Every line's audio current, and passing the checks asked for; a plain check that passes
    saves its verdict (`engine` as asked for), so the next one answers without planning."""
    from charvoice.release.gate import GateOptions, run_gate

    plan = workspace.plan()
    options = GateOptions(checks.require_engine, checks.require_qa, checks.missing_locales, checks.require_approval)
    gate = run_gate(workspace, options, plan)
    if not checks.any and gate.ok and not plan.todo:
        remember(workspace, engine, plan, gate=gate.to_json())
    return CheckResult(gate.ok, plan.total, len(plan.fresh), lines_to_build(plan), gate.to_json(), gate)


def clean(workspace: Workspace, dry_run: bool = False, on_wait: OnWait = None) -> CleanResult:
    report = workspace.clean(dry_run, on_wait=on_wait)
    relative = workspace.project.config.relative
    return CleanResult(dry_run, list(report.entries), [relative(path) for path in report.files])
