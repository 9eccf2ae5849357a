"""`charvoice voices ...`: parse options, call charvoice.engines.fish.voices, print. No logic lives here."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from charvoice.cli.common import emit_json, json_option, project_option
from charvoice.errors import CharvoiceError, EngineError

if TYPE_CHECKING:
    from charvoice.engines.fish.voices import VoicesProject


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _warn(message: str) -> None:
    click.secho(f"warning: {message}", err=True, fg="yellow")


def open_workspace(project_dir: Path | None, *, require_key: bool = True) -> VoicesProject:
    from charvoice.engines.fish.voices import (
        VoicesProject,  # httpx loads only for the voices commands
    )

    return VoicesProject.open(project_dir, require_key=require_key)


@contextmanager
def _engine_errors() -> Iterator[None]:
    """A request that failed after its retries: one message, never a traceback."""
    try:
        yield
    except EngineError as error:
        raise CharvoiceError(str(error)) from None


@click.group()
def voices() -> None:
    """Voice models on Fish Audio, cloned from the characters' samples (see charvoice.lock)."""


@voices.command()
@project_option
@click.option(
    "--verify",
    is_flag=True,
    help="Ask the server whether every locked model still exists; clone the missing ones again.",
)
@click.option("--prune", is_flag=True, help="Delete a model from the account once a re-clone has replaced it.")
@json_option
def sync(project_dir: Path | None, verify: bool, prune: bool, as_json: bool) -> None:
    """Clone what is missing or changed; an unchanged project makes no API call."""
    project = open_workspace(project_dir)
    try:
        with _engine_errors():
            results, problems = project.sync(
                _echo if not as_json else lambda m: None, _warn, verify=verify, prune=prune
            )
    finally:
        project.close()
    if as_json:
        emit_json(
            {
                "voices": [
                    {
                        "character": r.character,
                        "action": r.action,
                        "id": r.entry.model_id,
                        "state": r.entry.state,
                        "notes": r.notes,
                    }
                    for r in results
                ],
                "errors": problems,
            }
        )
    else:
        for result in results:
            replaced = f" (replaces {result.replaced.model_id})" if result.replaced else ""
            click.echo(
                f"{result.character:<20} {result.action:<10} {result.entry.model_id} {result.entry.state}{replaced}"
            )
            for note in result.notes:
                click.echo(f"{'':<20} {note}")
        if not results and not problems:
            click.echo('No character clones a voice from samples (clone = "persistent"): nothing to sync.')
    if problems:
        raise CharvoiceError("\n".join(problems))


@voices.command(name="list")
@project_option
@json_option
def list_(project_dir: Path | None, as_json: bool) -> None:
    """The characters' voices (source, lock, server state) and the models on your Fish Audio
    account. Without FISH_API_KEY the server state is "unknown"."""
    project = open_workspace(project_dir, require_key=False)
    try:
        with _engine_errors():
            data = project.list_voices()
        asked = not project.server_unavailable()
    finally:
        project.close()
    if as_json:
        emit_json(data)
    else:
        _print_list(data)
    if data["server_error"] and asked:
        raise click.exceptions.Exit(1)  # the server was asked and did not answer: say so to scripts too


def _print_list(data: dict) -> None:
    for row in data["voices"]:
        click.echo(
            f"{row['character']:<16} {row['source']:<17} {row['id'] or '-':<34} lock: {row['lock_state']:<14} server: {row['server_state']}"
        )
    if data["server_error"]:
        _warn(f"server state unknown: {data['server_error']}")
        return
    if data["voices"]:
        click.echo("")
    for model in data["models"]:
        click.echo(
            f"{model['id']:<34} {model['state']:<9} {model['visibility']:<8} {model['character'] or '-':<16} {model['title']}"
        )
    if not data["models"]:
        click.echo("No voice models on this account.")
    for item in data["not_on_account"]:
        click.echo(
            f"{item['character']}: model {item['id']} is not one of this account's models (someone else's, or deleted)"
        )


@voices.command()
@click.argument("character")
@project_option
@json_option
def show(character: str, project_dir: Path | None, as_json: bool) -> None:
    """A character's voice: source, samples, lock entry and the model on the server."""
    project = open_workspace(project_dir, require_key=False)
    try:
        with _engine_errors():
            info = project.show(character)
    finally:
        project.close()
    if as_json:
        emit_json(info)
        return
    click.echo(f"{info['name']} ({info['character']}, {info['file']}): {info['source']} voice")
    for sample in info["samples"]:
        click.echo(f"  sample {sample['file']}  sha256 {sample['sha256'][:12]}")
    if info["lock"]:
        lock = info["lock"]
        click.echo(f"  locked model {lock['model_id']} ({lock['state']}, created {lock['created']})")
    model = info.get("model")
    if model and "error" in model:
        click.echo(f"  model {model['_id']}: {model['error']}")
    elif model:
        click.echo(
            f"  on the server: {model['_id']} {model['state']}, {model['visibility']}, title "
            f"{model['title']!r}, used {model.get('task_count', 0)} times"
        )
    for warning in info["warnings"]:
        _warn(warning)


@voices.command()
@click.argument("character")
@project_option
@click.option("--title", default=None, help="New title.")
@click.option(
    "--visibility",
    type=click.Choice(["private", "unlist", "public"]),
    default=None,
    help="Who can see and use the model.",
)
@click.option("--tags", default=None, help="Comma-separated tags (replaces the current ones).")
@click.option("--description", default=None, help="New description.")
def update(
    character: str,
    project_dir: Path | None,
    title: str | None,
    visibility: str | None,
    tags: str | None,
    description: str | None,
) -> None:
    """Change a model's title, visibility, tags or description.

    With no option, applies the [voice] title, visibility, tags and description of the
    character's TOML file.
    """
    tag_list = [tag.strip() for tag in tags.split(",") if tag.strip()] if tags is not None else None
    project = open_workspace(project_dir)
    try:
        with _engine_errors():
            result = project.update(
                character, title=title, visibility=visibility, tags=tag_list, description=description
            )
    finally:
        project.close()
    changed = ", ".join(f"{key}={value!r}" for key, value in result["changed"].items())
    click.echo(f"updated {result['id']} ({result['character']}): {changed}")


@voices.command()
@click.argument("character")
@project_option
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete(character: str, project_dir: Path | None, yes: bool) -> None:
    """Delete a character's cloned model from your account and from charvoice.lock."""
    project = open_workspace(project_dir)
    try:
        character_id, model_id = project.delete_target(character)
        if not yes and not click.confirm(
            f"Delete voice model {model_id} of {character_id} from your Fish Audio account? This cannot be undone",
            default=False,
        ):
            click.echo("Nothing deleted.")
            return
        with _engine_errors():
            project.delete(character_id, model_id)
    finally:
        project.close()
    click.echo(
        f"deleted {model_id} ({character_id}); the next `charvoice voices sync` clones it again if its samples remain"
    )
