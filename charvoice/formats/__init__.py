"""Dialogue formats: one module per format, each turning a script into Line objects.

A format module exposes `EXTENSIONS` (lower-case suffixes it reads) and
`parse(text, context) -> ParsedScript`, raising InputError with file, line and column for
anything it cannot read. Register new modules in FORMATS.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from charvoice.errors import InputError, Problem
from charvoice.formats import csv_table
from charvoice.lines import ParsedScript

FORMATS: tuple[ModuleType, ...] = (csv_table,)


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs to know beyond the text itself."""

    path: Path  # absolute
    display: str  # relative to the project root, forward slashes
    locale: str  # the locale the script is written in
    player_character: str  # who speaks options/responses


def format_for(path: Path) -> ModuleType | None:
    suffix = path.suffix.lower()
    for module in FORMATS:
        if suffix in module.EXTENSIONS:
            return module
    return None


def supported_extensions() -> tuple[str, ...]:
    return tuple(ext for module in FORMATS for ext in module.EXTENSIONS)


def parse_file(context: ParseContext) -> ParsedScript:
    module = format_for(context.path)
    if module is None:
        raise InputError([Problem(context.display, f"unsupported script type (known: {', '.join(supported_extensions())})")])
    try:
        raw = context.path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(context.display, f"cannot read: {exc.strerror}")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Problem(context.display, "not UTF-8 text", line)]) from None
    return module.parse(text, context)
