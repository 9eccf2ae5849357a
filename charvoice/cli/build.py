"""`build`, `check`, `clean` and `watch`: the pipeline's commands and how they report."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from charvoice.cli.common import (
    emit_json,
    engine_option,
    json_option,
    notifier,
    open_workspace,
    project_option,
    say_waiting,
)
from charvoice.cli.progress import Progress
from charvoice.errors import Interrupted

if TYPE_CHECKING:  # imported where used: a no-op build or check should load nothing it does not need
    from charvoice.api.reports import BuildResult, PlanReport
    from charvoice.pipeline.build import Failure, LineResult
    from charvoice.pipeline.plan import Plan
    from charvoice.pipeline.uptodate import Verdict
    from charvoice.pipeline.workspace import Workspace
    from charvoice.project.lines import Line
    from charvoice.watch import WatchEvent


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _parse_shard(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    index, _, count = value.partition("/")
    if not (index.isdigit() and count.isdigit() and 1 <= int(index) <= int(count) <= 10000):
        raise click.BadParameter(f"{value!r} is not I/N with 1 <= I <= N (e.g. 2/4)")
    return int(index), int(count)


@click.command()
@click.argument("targets", nargs=-1)
@project_option
@click.option("--dry-run", is_flag=True, help="List what would be built and why; build nothing.")
@click.option(
    "--force", is_flag=True, help="Rebuild every selected line, even when up to date (the cache is still used)."
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Lines in flight at once (default: engine.jobs)."
)
@engine_option()
@click.option(
    "--shard",
    metavar="I/N",
    callback=_parse_shard,
    default=None,
    help="Build only shard I of N (a stable share of the lines): one job of a CI matrix warming the shared cache.",
)
@click.option(
    "--over-credit", is_flag=True, help="Go on when the cost preview exceeds the Fish Audio account's credit."
)
@json_option
def build(
    targets: tuple[str, ...], project_dir: Path | None, dry_run: bool, force: bool, jobs: int | None,
    engine: str | None, shard: tuple[int, int] | None, over_credit: bool, as_json: bool,
) -> None:  # fmt: skip
    """Voice every line that is new or changed, then write the manifest.

    TARGETS limit the build to line ids or script files.
    """
    from charvoice.api import operations

    started = time.monotonic()
    whole = not targets and not dry_run and not force and shard is None
    verdict = operations.remembered(project_dir, engine) if whole else None
    if verdict is not None:
        result = operations.remembered_build(verdict, project_dir, time.monotonic() - started)
        if not as_json:
            _print_warnings(verdict, voices=True)
        _print_build(result, as_json)
        return
    workspace = open_workspace(project_dir, engine, quiet=as_json, voices=True)
    try:
        lines = operations.select(workspace, targets, shard)
        if shard is not None and workspace.cache.remote is None:
            click.secho(
                "warning: --shard without [cache] remote: no other build can use this shard's audio",
                err=True,
                fg="yellow",
            )
        if dry_run:
            _print_dry_run(operations.preview(workspace, lines, force), workspace, as_json)
            return
        result = _build_with_progress(workspace, lines, force, jobs, over_credit, whole, engine, show=not as_json)
    except KeyboardInterrupt:  # before any line started (planning, cloning a voice)
        raise Interrupted() from None
    finally:
        workspace.close()
    _print_build(result, as_json, _shared_note(workspace))
    if not result.ok:
        sys.exit(1)


def _print_warnings(verdict: Verdict, voices: bool) -> None:
    """As open_workspace prints them (voicing warnings and the engine notice only for commands that voice)."""
    for warning in dict.fromkeys([*verdict.warnings, *(verdict.voicing_warnings if voices else [])]):
        click.secho(f"warning: {warning}", err=True, fg="yellow")
    for skipped in verdict.skipped:
        click.secho(f"not voiced: {skipped}", err=True, fg="yellow")
    if voices and verdict.notice:
        click.secho(verdict.notice, err=True, fg="cyan")


def _build_with_progress(
    workspace: Workspace, lines: list[Line] | None, force: bool, jobs: int | None, over_credit: bool,
    whole: bool, engine: str | None, show: bool,
) -> BuildResult:  # fmt: skip
    from charvoice.api import operations
    from charvoice.pipeline.build import Failure

    bar: Progress | None = None
    failures: list[Failure] = []

    def start(plan: Plan) -> None:
        nonlocal bar
        if show and plan.todo:
            bar = Progress(len(plan.todo), failures)

    def advance(result: LineResult | Failure) -> None:
        if isinstance(result, Failure):
            failures.append(result)
        if bar is not None:
            bar.update(result, isinstance(result, Failure))

    try:
        _, result = operations.build(
            workspace, lines, jobs=jobs, force=force, over_credit=over_credit, whole=whole, engine=engine,
            on_start=start, on_progress=advance, on_wait=say_waiting, notify=notifier(show),
        )  # fmt: skip
        return result
    finally:
        if bar is not None:
            bar.close()


def _print_dry_run(report: PlanReport, workspace: Workspace, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    todo = report.plan.todo if report.plan is not None else []
    for job in todo:
        how = "shared" if job.shared else "from cache" if job.cached else "synthesise"
        click.echo(f"{job.label:<40} {how:<11} {job.reason:<34} {job.line.source}")
    synthesise = report.to_synthesize
    click.echo(
        f"{len(todo)} to build ({synthesise} to synthesise, {len(todo) - synthesise} from cache), {report.up_to_date} up to date."
    )
    remote = workspace.cache.remote
    if remote is not None:
        click.echo(
            f"The shared cache {remote.description} already holds {report.shared_cache} of the lines to build (they cost nothing)."
        )
    cost = report.cost
    for row in cost.text():
        click.echo(row)
    credit = report.credit
    if credit and credit["usd"] is None:
        click.echo(f"Account credit: unknown ({credit['unknown_because']})")
    elif credit:
        short = (
            ""
            if credit["enough"]
            else f"; short by ${cost.price(cost.bytes) - credit['usd']:.2f}: `build` stops unless --over-credit"
        )
        click.echo(f"Account credit: ${credit['usd']:.2f}{short}")


def _shared_note(workspace: Workspace) -> str:
    remote = workspace.cache.remote
    return (
        ""
        if remote is None
        else f", {workspace.cache.remote_hits} of them from the shared cache, {remote.uploaded} uploaded"
    )


def _print_build(result: BuildResult, as_json: bool, shared_note: str = "") -> None:
    if as_json:
        emit_json(result.to_json())
        return
    if not result.built and not result.failed:
        click.echo(f"{_count(result.up_to_date, 'line')} up to date.")
    else:
        click.echo(
            f"Built {_count(result.built, 'line')} in {result.seconds:.1f} s "
            f"({result.synthesized} synthesised, {result.from_cache} from cache{shared_note}); {result.up_to_date} up to date."
        )
    for failure in result.failed:
        click.secho(f"failed: {failure.source} {failure.id} [{failure.locale}]: {failure.error}", err=True, fg="red")
    if result.billed_retries:
        retries = "retry" if result.billed_retries == 1 else "retries"
        click.secho(
            f"{result.billed_retries} {retries} after a damaged or cut-off answer may have been billed again.",
            fg="yellow",
        )
    if result.orphans:
        click.secho(
            f"{len(result.orphans)} manifest entries belong to lines no script has any more: run `charvoice clean`.",
            fg="yellow",
        )


@click.command()
@project_option
@engine_option()
@click.option(
    "--require-engine",
    type=click.Choice(["fish", "offline"]),
    default=None,
    help="Also fail on lines another engine voiced (scratch voices, with fish).",
)
@click.option(
    "--qa",
    "require_qa",
    is_flag=True,
    help="Also fail on lines `charvoice qa` flagged or has not checked since their audio changed.",
)
@click.option(
    "--missing-locales",
    is_flag=True,
    help="Also fail on lines with no text in some locale (they play another locale's audio).",
)
@click.option(
    "--require-approval",
    is_flag=True,
    help="Also fail on lines that need approval (text changed since a take was approved).",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write a JUnit XML report: one test case per line and locale.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the same results as JSON.",
)
@json_option
def check(
    project_dir: Path | None,
    engine: str | None,
    require_engine: str | None,
    require_qa: bool,
    missing_locales: bool,
    require_approval: bool,
    junit_path: Path | None,
    report_path: Path | None,
    as_json: bool,
) -> None:
    """Exit 1 when any line's audio is missing or stale, or fails a check asked for (synthesises
    nothing; for CI). Exit 0 means the assets match the scripts and pass every gate given."""
    from charvoice.api import operations

    checks = operations.GateChecks(require_engine, require_qa, missing_locales, require_approval)
    plain = not (checks.any or junit_path or report_path)
    verdict = (
        operations.remembered(project_dir, engine, need_gate=as_json) if plain else None
    )  # text needs no gate report
    if verdict is not None:
        if as_json:
            emit_json(operations.remembered_check(verdict).to_json())
        else:
            _print_warnings(verdict, voices=False)
            click.echo(f"All {verdict.total} lines up to date.")
        return

    workspace = open_workspace(project_dir, engine, quiet=as_json)
    result = operations.check(workspace, checks, engine)
    gate = result.report
    assert gate is not None  # a check that planned always has its gate report
    plan = gate.plan
    if junit_path is not None:
        gate.write_junit(junit_path)
    if report_path is not None:
        gate.write_json(report_path)
    if as_json:
        emit_json(result.to_json())
    else:
        for job in plan.todo:
            click.echo(f"{job.line.source}: {job.label}: {job.reason}")
        failures = gate.gate_failures
        for case, problem in failures:
            click.echo(f"{case.source}: {case.label}: {problem.message}")
        if plan.todo:
            click.secho(f"{len(plan.todo)} of {plan.total} lines need building: run `charvoice build`.", fg="red")
        if failures:
            count = len({id(case) for case, _ in failures})
            names = ", ".join(gate.gates) or ", ".join(dict.fromkeys(problem.check for _, problem in failures))
            click.secho(f"{count} line(s) fail the release checks ({names}).", fg="red")
        if gate.ok:
            passed = f"; every line passes {', '.join(gate.gates)}" if gate.gates else ""
            click.echo(f"All {plan.total} lines up to date{passed}.")
    if not gate.ok:
        sys.exit(1)


@click.command()
@project_option
@click.option("--dry-run", is_flag=True, help="List what would be removed; remove nothing.")
@json_option
def clean(project_dir: Path | None, dry_run: bool, as_json: bool) -> None:
    """Remove assets and manifest entries of lines no script has any more."""
    from charvoice.api import operations

    workspace = open_workspace(project_dir, quiet=as_json)
    try:
        result = operations.clean(workspace, dry_run, on_wait=say_waiting)
    finally:
        workspace.close()
    if as_json:
        emit_json(result.to_json())
        return
    verb = "would remove" if dry_run else "removed"
    for line_id, locale in result.entries:
        click.echo(f"{verb} manifest entry {line_id} [{locale}]")
    for path in result.files:
        click.echo(f"{verb} {path}")
    if not result.entries and not result.files:
        click.echo("Nothing to clean.")


@click.command()
@project_option
@click.option(
    "--debounce",
    type=click.FloatRange(0.05, 10.0),
    default=0.3,
    show_default=True,
    help="Seconds of quiet after a save before rebuilding.",
)
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Lines in flight at once (default: engine.jobs)."
)
@engine_option()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per event.")
def watch(project_dir: Path | None, debounce: float, jobs: int | None, engine: str | None, as_json: bool) -> None:
    """Rebuild changed lines whenever a script, character or charvoice.toml is saved.

    Runs until Ctrl-C. Errors are reported and the watcher keeps going.
    """
    import signal
    import threading

    from charvoice.errors import CharvoiceError
    from charvoice.watch import Watcher

    if not as_json:  # once, at the start: which voice new lines get, and tags with no cue
        with contextlib.suppress(CharvoiceError):  # the watcher reports them itself, and keeps watching
            open_workspace(project_dir, engine, voices=True).close()

    watcher = Watcher(
        project_dir or Path.cwd(), _print_watch_event_json if as_json else _print_watch_event, debounce, engine, jobs
    )
    stop = threading.Event()

    def interrupted(*_args: object) -> None:
        stop.set()
        watcher.interrupt()

    # Ctrl-C and a polite kill both end the watcher between writes, leaving no temporary file.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    watcher.run(stop)


def _print_watch_event_json(event: WatchEvent) -> None:
    click.echo(json.dumps({"event": event.kind, **event.to_json()}, ensure_ascii=False), nl=True)
    sys.stdout.flush()


def _print_watch_event(event: WatchEvent) -> None:
    import time as _time

    stamp = _time.strftime("%H:%M:%S", _time.localtime(event.time))
    files = ", ".join(event.files[:3]) + (f" (+{len(event.files) - 3})" if len(event.files) > 3 else "")
    if event.kind == "ready":
        built = f", {len(event.regenerated)} built" if event.regenerated else ""
        click.echo(f"{stamp}  watching {event.lines} lines{built}; Ctrl-C to stop")
    elif event.kind == "rebuild":
        count = len(event.regenerated)
        parts = [f"{count} {'line' if count == 1 else 'lines'} regenerated in {event.seconds:.1f} s"]
        if event.removed:
            parts.append(f"{len(event.removed)} removed")
        click.echo(f"{stamp}  {files or 'project'}  " + ", ".join(parts))
        for removed in event.removed_files:
            click.echo(f"{stamp}  removed {removed}")
        for failure in event.failed:
            click.secho(
                f"{stamp}  failed: {failure['source']} {failure['id']}: {failure['error']} (will retry)", fg="red"
            )
    elif event.kind == "error":
        click.secho(f"{stamp}  {event.message}", fg="red")
    elif event.kind == "stopped":
        click.echo(f"{stamp}  stopped")
    for warning in event.warnings:
        click.secho(f"{stamp}  warning: {warning}", fg="yellow")
