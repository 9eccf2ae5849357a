"""Options and output helpers shared by the command modules (main.py, voices.py)."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from charvoice.errors import FileSystemError, InputError, Interrupted

if TYPE_CHECKING:  # imported where used: a no-op build or check should load nothing it does not need
    from charvoice.engines.base import Notify
    from charvoice.pipeline.plan import Plan
    from charvoice.pipeline.workspace import Workspace

project_option = click.option(
    "-p", "--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder (default: the nearest folder with charvoice.toml, from here upwards).",
)  # fmt: skip


def engine_option(why: str = "") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--engine`, as every command that opens the engines takes it (`why`: what it decides there)."""
    return click.option(
        "--engine",
        metavar="NAME",
        default=None,
        help=f"Override engine.name: auto, fish or offline{f' ({why})' if why else ''}.",
    )


_json_flag = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


def emit_json(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def error_json(error: click.ClickException) -> dict[str, Any]:
    """A failed command as JSON: every problem with its file, line and column (null where the
    failure has no place in a file, such as a full disk or a refused API key)."""
    if isinstance(error, InputError):
        problems = [{"file": p.file, "line": p.line, "column": p.column, "message": p.message} for p in error.problems]
    else:
        problems = [{"file": None, "line": None, "column": None, "message": error.format_message()}]
    return {"ok": False, "exit_code": error.exit_code, "error": error.format_message(), "problems": problems}


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--json`, and with it a failure is a JSON object on standard output too (so
    `build --json > build.json` never leaves an empty file); the exit status is unchanged."""

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return command(*args, **kwargs)
            except OSError as error:
                raise FileSystemError.of(error, doing="") from None
        except click.ClickException as error:
            if not kwargs.get("as_json"):
                raise
            emit_json(error_json(error))
            error.show()
            sys.exit(error.exit_code)

    return _json_flag(run)


class Group(click.Group):
    """A command group whose commands never end in a traceback for a refused read or write
    (a read-only project, a full disk): one message naming the path and the cause."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError as error:
            raise FileSystemError.of(error, doing="") from None
        except KeyboardInterrupt:  # Ctrl-C: 130 as a shell reports it (`build` says what it kept)
            raise Interrupted(None) from None


def open_workspace(
    project_dir: Path | None, engine: str | None = None, quiet: bool = False, voices: bool = False
) -> Workspace:
    """The workspace, with its warnings printed once. Which engine voices new lines, and
    direction tags with no cue, concern only commands that voice lines (`voices`)."""
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(project_dir, engine)
    if not quiet:
        project = workspace.project
        warnings = [*project.warnings, *(project.voicing_warnings if voices else [])]
        for warning in dict.fromkeys(warnings):
            click.secho(f"warning: {warning}", err=True, fg="yellow")
        for skipped in dict.fromkeys(project.skipped):
            click.secho(f"not voiced: {skipped}", err=True, fg="yellow")
        if voices and workspace.engines.notice:
            click.secho(workspace.engines.notice, err=True, fg="cyan")
    workspace.cache.warn = lambda message: click.secho(f"warning: {message}", err=True, fg="yellow")
    return workspace


def say_waiting() -> None:
    click.secho(
        "Another charvoice process is writing to this project; waiting for it to finish...", err=True, fg="yellow"
    )


def stale_rows(plan: Plan) -> list[dict]:
    return [
        {
            "id": job.line.id,
            "locale": job.line.locale,
            "character": job.line.character,
            "source": job.line.source,
            "reason": job.reason,
            "cached": job.cached,
        }
        for job in plan.todo
    ]


def notifier(show: bool) -> Notify:
    """What engines say while they prepare: progress only on a terminal, warnings always."""
    from charvoice.engines.base import Notify

    echo = (lambda message: click.echo(message, err=True)) if show else (lambda message: None)
    return Notify(echo=echo, warn=lambda message: click.secho(f"warning: {message}", err=True, fg="yellow"))
