"""`init` and `tag`: start a project, write ids into its scripts."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from charvoice.cli.common import project_option
from charvoice.project.config import find_root


@click.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option(
    "--output", help="Where assets go, relative to FOLDER (default: voice/ in a Godot project, else game/voice)."
)
@click.option(
    "--dialogue",
    "dialogue",
    multiple=True,
    help="A folder, file or glob of scripts, relative to FOLDER (repeatable; CSV/TSV tables are read only when named"
    " here). Default: every .yarn and .dialogue file of the game.",
)
def init(folder: Path, output: str | None, dialogue: tuple[str, ...]) -> None:
    """Start a project in FOLDER: charvoice.toml pointing at the game's scripts, a character
    (scratch voice) for every speaker they name; an example script where there are none.

    Existing files are never overwritten.
    """
    from charvoice.project.scaffold import init_project

    report = init_project(folder, output, list(dialogue))
    for path in report.created:
        click.echo(f"created  {path.as_posix()}")
    for path in report.kept:
        click.echo(f"kept     {path.as_posix()} (already there)")
    for path in report.skipped:
        click.echo(f"skipped  {path.as_posix()} ({path.parent.as_posix()}/ already holds your files)")
    if report.existing_project:
        click.echo("This folder is already a charvoice project: nothing added (no example lines to voice).")
    found = report.found
    if found is not None:
        scripts, speakers = len(found.scripts), len(found.used)
        click.echo(
            f"Found {scripts:,} script{'s' * (scripts != 1)}, {found.lines:,} line{'s' * (found.lines != 1)}, "
            f"{speakers:,} speaker{'s' * (speakers != 1)} (dialogue = {', '.join(found.entries)})"
        )
        for problem in found.problems:
            click.secho(f"warning: {problem} (`charvoice build` lists them all)", err=True, fg="yellow")
        if found.runtime:
            shown = ", ".join(f"{name} ({count})" for name, count in found.runtime.most_common(5))
            click.echo(
                f"{sum(found.runtime.values()):,} line(s) name their speaker only at run time: {shown}. They are not "
                "voiced until charvoice.toml maps them: [speakers] runtime"
            )
    if report.created:
        click.echo(
            f"Every character has a scratch voice: see {report.characters.as_posix()}/*.toml for how to give each a"
            " real one."
        )
        click.echo("Next: charvoice build   (add .charvoice/ to your .gitignore: it is the local audio cache)")


@click.command()
@click.argument("scripts", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@project_option
@click.option("--dry-run", is_flag=True, help="List the ids that would be written; change no file.")
@click.option("--check", "check_only", is_flag=True, help="Change no file; exit 1 when any line has no id (for CI).")
def tag(scripts: tuple[Path, ...], project_dir: Path | None, dry_run: bool, check_only: bool) -> None:
    """Write an id into every line that has none, in place (all scripts, or SCRIPTS).

    Yarn gets `#line:<id>`, Dialogue Manager `[ID:<id>]`, CSV/TSV the id cell. Ids never change
    afterwards, even when the text does; nothing else in the files changes.
    """
    from charvoice.project.tagging import tag_project

    report = tag_project(find_root(project_dir or Path.cwd()), list(scripts) or None, dry_run=dry_run or check_only)
    for script in report.files:
        for number, line_id in script.added:
            click.echo(f"{script.display}:{number}: {line_id}")
    if not report.count:
        click.echo("Every line has an id.")
    else:
        verb = "tagged" if not (dry_run or check_only) else "would tag"
        click.echo(f"{verb} {report.count} line(s) in {len(report.files)} script(s)")
    if check_only and report.count:
        sys.exit(1)
