"""Options and output helpers shared by the command modules (cli.py, voices_cli.py)."""

from __future__ import annotations

import json
from pathlib import Path

import click

project_option = click.option(
    "-p", "--project", "project_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
    help="Project folder (default: the nearest folder with charvoice.toml, from here upwards).",
)  # fmt: skip
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")


def emit_json(data: dict) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))
