"""`take`, `approve`, `qa`, `export-script` and `review`: the release tools' commands."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from charvoice.cli.common import emit_json, engine_option, json_option, open_workspace, project_option, say_waiting

if TYPE_CHECKING:  # imported where used: a no-op build or check should load nothing it does not need
    from charvoice.pipeline.workspace import Workspace
    from charvoice.release.qa import QAReport
    from charvoice.release.status import LineStatus


@click.command()
@click.argument("line_id")
@project_option
@click.option("-n", "--count", type=click.IntRange(1, 20), default=3, show_default=True, help="How many new takes.")
@click.option("--locale", default=None, help="Locale of the line (default: the project's default locale).")
@engine_option()
def take(line_id: str, project_dir: Path | None, count: int, locale: str | None, engine: str | None) -> None:
    """Make new takes of LINE_ID to audition; `charvoice approve` pins one."""
    from charvoice.release.takes import find_line, make_takes

    workspace = open_workspace(project_dir, engine, voices=True)
    try:
        line = find_line(workspace, line_id, locale)
        for result in make_takes(workspace, line, count):
            how = "synthesised" if result.synthesized else "from cache"
            click.echo(
                f"take {result.number}  {workspace.project.config.relative(result.path)}  {result.duration_s:.2f} s  ({how})"
            )
    finally:
        workspace.close()
    click.echo(f"Listen, then: charvoice approve {line.id} --take N")


@click.command()
@click.argument("line_id")
@project_option
@click.option(
    "--take",
    "take_number",
    type=click.IntRange(0, None),
    default=None,
    help="Take to approve (default: the one published now).",
)
@click.option("--locale", default=None, help="Locale of the line (default: the project's default locale).")
@engine_option()
def approve(
    line_id: str, project_dir: Path | None, take_number: int | None, locale: str | None, engine: str | None
) -> None:
    """Approve a take of LINE_ID: it ships until the line's text changes.

    Settings changes (model, temperature) no longer regenerate it; audio processing is still
    re-applied. The take's audio goes to the approved/ folder: commit it with
    charvoice.approvals.toml so every machine ships the same take.
    """
    from charvoice.release.takes import approve as approve_take
    from charvoice.release.takes import find_line

    workspace = open_workspace(project_dir, engine, voices=True)
    try:
        line = find_line(workspace, line_id, locale)
        number, path = approve_take(workspace, line, take_number)
        _, report = workspace.build([line], jobs=1, on_wait=say_waiting)
    finally:
        workspace.close()
    click.echo(f"approved take {number} of {line.id} [{line.locale}]: {workspace.project.config.relative(path)}")
    if report.failures:
        for failure in report.failures:
            click.secho(f"failed to publish: {failure.message}", err=True, fg="red")
        sys.exit(1)


@click.command()
@click.argument("targets", nargs=-1)
@project_option
@click.option(
    "--asr/--no-asr",
    default=None,
    help="Run the speech-to-text round trip, or not (default: qa.asr; auto = when the engine is Fish).",
)
@engine_option()
@click.option(
    "-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Assets checked at once (default: engine.jobs)."
)
@json_option
def qa(
    targets: tuple[str, ...],
    project_dir: Path | None,
    asr: bool | None,
    engine: str | None,
    jobs: int | None,
    as_json: bool,
) -> None:
    """Check every published asset: clipping, loudness, silence at the ends, a duration that
    fits the text and, with Fish Audio, a speech-to-text round trip against the line's text.

    TARGETS limit it to line ids or script files. The results go into the manifest (`qa` in
    each audio entry; `charvoice check --qa` and `charvoice review` show them). Exit 1 when
    any line is flagged (or could not be transcribed).
    """
    from charvoice.release.qa import run_qa

    workspace = open_workspace(project_dir, engine, quiet=as_json)
    try:
        lines = workspace.select(targets)
        only = None if lines is None else {(line.id, line.locale) for line in lines}
        report = run_qa(
            workspace, asr=None if asr is None else ("on" if asr else "off"), only=only, on_wait=say_waiting, jobs=jobs
        )
    finally:
        workspace.close()
    if as_json:
        emit_json(report.to_json())
    else:
        _print_qa(report)
    if report.flagged or report.asr_errors:
        sys.exit(1)


def _print_qa(report: QAReport) -> None:
    def number(value: float | None, digits: int = 1) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    width = max([24, *(len(result.label) for result in report.results)])
    click.echo(
        f"{'line':<{width}}  {'LUFS':>6}  {'peak':>6}  {'start':>5}  {'end':>5}  {'chars/s':>7}  {'WER':>5}  result"
    )
    for result in report.results:
        values = result.values
        wer = "-" if result.wer is None else f"{result.wer:.0%}"
        verdict = ", ".join(flag.code for flag in result.flags) or ("ok" if not result.asr_error else "ASR failed")
        row = (
            f"{result.label:<{width}}  {number(values.get('lufs')):>6}  {number(values.get('true_peak_db')):>6}  "
            f"{number(values.get('leading_silence_s'), 2):>5}  {number(values.get('trailing_silence_s'), 2):>5}  "
            f"{number(values.get('chars_per_second')):>7}  {wer:>5}  {verdict}"
        )
        click.secho(row, fg="red" if result.flags else None)
        for flag in result.flags:
            click.echo(f"{'':<{width}}  {result.source}: {flag.message}")
        if result.asr_error:
            click.secho(f"{'':<{width}}  speech-to-text failed: {result.asr_note}", fg="yellow")
    asr = f"ASR round trip: {report.asr_calls} transcribed" if report.asr else "ASR round trip: not run"
    if report.asr_note:
        asr += f" ({report.asr_note})"
    summary = f"{len(report.results)} assets checked, {len(report.flagged)} flagged. {asr}."
    click.secho(summary, fg="red" if report.flagged else None)


def _split(values: tuple[str, ...]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def _statuses_for(
    workspace: Workspace, characters: tuple[str, ...], statuses: tuple[str, ...], locales: tuple[str, ...]
) -> tuple[list[LineStatus], dict[str, str]]:
    from charvoice.errors import CharvoiceError
    from charvoice.release.export import select
    from charvoice.release.status import KEYWORDS, line_statuses

    keywords = _split(statuses)
    unknown = sorted(keywords - set(KEYWORDS))
    if unknown:
        raise click.BadParameter(f"{', '.join(unknown)} (choose from {', '.join(KEYWORDS)})", param_hint="--status")
    project = workspace.project
    names: dict[str, str] = {cid: character.name for cid, character in project.characters.items()}
    wanted = _split(characters)
    known = {cid.lower() for cid in names} | {name.lower() for name in names.values()}
    missing = sorted(c for c in wanted if c.lower() not in known)
    if missing:
        raise CharvoiceError(
            f"unknown character {', '.join(map(repr, missing))} (characters: {', '.join(sorted(names))})"
        )
    chosen = select(line_statuses(workspace), wanted or None, keywords or None, _split(locales) or None, names)
    return chosen, names


@click.command("export-script")
@project_option
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the CSV to this file (atomically) instead of standard output.",
)
@click.option(
    "--character", "characters", multiple=True, help="Only these characters (id or name; repeat or comma-separate)."
)
@click.option(
    "--status",
    "statuses",
    multiple=True,
    help="Only lines with these statuses: fresh, stale, missing, scratch, qa, unchecked, needs-approval, approved, recorded, text-changed.",
)
@click.option("--locale", "locales", multiple=True, help="Only these locales.")
@engine_option("it decides what is stale")
def export_script(
    project_dir: Path | None,
    output: Path | None,
    characters: tuple[str, ...],
    statuses: tuple[str, ...],
    locales: tuple[str, ...],
    engine: str | None,
) -> None:
    """Write the recording script a voice director works from, as CSV: id, character, text,
    direction, notes, source, status, locale, one row per line and locale in script order."""
    from charvoice.release.export import to_csv, write

    workspace = open_workspace(project_dir, engine)  # warnings go to stderr: the CSV on stdout stays clean
    try:
        chosen, names = _statuses_for(workspace, characters, statuses, locales)
    finally:
        workspace.close()
    text = to_csv(chosen, names)
    if output is None:
        click.echo(text, nl=False)
        return
    write(text, output)
    click.echo(f"wrote {len(chosen)} lines to {output.as_posix()}", err=True)


@click.command()
@project_option
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the page (default: review.html beside the manifest).",
)
@engine_option("it decides what is stale")
def review(project_dir: Path | None, output: Path | None, engine: str | None) -> None:
    """Write a static HTML page to listen through every line (by character and scene), with
    waveforms, status and QA flags, filters and search. Open it from disk: no server needed."""
    from charvoice.release.review import write_review
    from charvoice.release.status import line_statuses

    workspace = open_workspace(project_dir, engine)
    try:
        statuses = line_statuses(workspace)
        target = write_review(workspace, statuses, output, jobs=workspace.project.config.jobs)
    finally:
        workspace.close()
    click.echo(
        f"wrote {workspace.project.config.relative(target)} ({len(statuses)} lines); open {target.resolve().as_uri()}"
    )
