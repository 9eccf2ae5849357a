"""The command line: parse options, call the core, print the results. No logic lives here."""

from __future__ import annotations

import click

from charvoice.cli.build import build, check, clean, watch
from charvoice.cli.common import Group
from charvoice.cli.godot import godot as godot_group
from charvoice.cli.project import init, tag
from charvoice.cli.release import approve, export_script, qa, review, take
from charvoice.cli.voices import voices as voices_group


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="charvoice", prog_name="charvoice")  # from the package metadata
def cli() -> None:
    """Give game characters voices and keep their dialogue audio in step with the scripts."""


cli.add_command(init)
cli.add_command(tag)
cli.add_command(take)
cli.add_command(approve)
cli.add_command(qa)
cli.add_command(export_script)
cli.add_command(review)
cli.add_command(build)
cli.add_command(check)
cli.add_command(clean)
cli.add_command(watch)
cli.add_command(voices_group)
cli.add_command(godot_group)


def main() -> None:
    cli(prog_name="charvoice")
