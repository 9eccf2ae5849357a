"""`charvoice godot ...`: parse options, call charvoice.godot.install, print. No logic lives here."""

from __future__ import annotations

from pathlib import Path

import click

from charvoice.godot.install import ADDON_DIR, install_addon, manifest_hint


@click.group()
def godot() -> None:
    """The Godot addon: install it into a Godot 4.2+ project, or package it for the Asset Library."""


@godot.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Also replace addon files you changed locally (your changes are lost).")
def install(path: Path, force: bool) -> None:
    """Copy the CharVoice addon into the Godot project at PATH (as addons/charvoice).

    Running it again updates the addon. Files you changed since the last install are never
    overwritten without --force.
    """
    report = install_addon(path, force=force)
    shown = lambda relative: (ADDON_DIR / relative).as_posix()  # noqa: E731
    for relative in report.created:
        click.echo(f"added    {shown(relative)}")
    for relative in report.updated:
        click.echo(f"updated  {shown(relative)}")
    for relative in report.overwritten:
        click.secho(f"replaced {shown(relative)} (your local change is gone)", fg="yellow")
    for relative in report.removed:
        click.echo(f"removed  {shown(relative)} (no longer part of the addon)")
    if "plugin.cfg" in report.created:
        click.echo(f"CharVoice addon {report.version} installed in {path.as_posix()}/{ADDON_DIR.as_posix()}.")
        click.echo("Next: enable it in Project > Project Settings > Plugins (this adds the CharVoice autoload).")
    elif report.changed:
        click.echo(f"CharVoice addon updated to {report.version} in {path.as_posix()}/{ADDON_DIR.as_posix()}.")
    else:
        click.echo(f"CharVoice addon {report.version} already up to date in {path.as_posix()}.")
    hint = manifest_hint(path)
    if hint:
        click.secho(f"Also: {hint}", fg="yellow")


@godot.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("dist"),
    show_default=True,
    help="Folder to write the zip into.",
)
def package(output: Path) -> None:
    """Write the addon as a zip for the Godot Asset Library: charvoice-godot-VERSION.zip.

    It holds addons/charvoice under one top-level folder, which the editor's installer skips.
    The addon's plugin.cfg version must be this charvoice's version.
    """
    from charvoice.godot.package import package_addon

    report = package_addon(output)
    click.echo(f"wrote {report.path.as_posix()} (addon {report.version}, {report.files} files)")
