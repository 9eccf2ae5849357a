"""Dialogue formats: one module per format, each turning a script into Line objects.

A format module exposes `EXTENSIONS` (lower-case suffixes it reads), `scan(text, context) ->
Scan` (the lines, any problems with file, line and column, and where `charvoice tag` would
write missing ids; see common.py). `parse_file` below turns problems into one InputError.
Register new modules in FORMATS.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from types import ModuleType

from charvoice.errors import UTF16_HINT, InputError, Problem, looks_like_utf16
from charvoice.locales import same_locale
from charvoice.project.formats import csv_table, dialogue_manager, yarn
from charvoice.project.formats.common import ParseContext, Scan
from charvoice.project.lines import ParsedScript

FORMATS: tuple[ModuleType, ...] = (csv_table, yarn, dialogue_manager)

__all__ = [
    "FORMATS",
    "ParseContext",
    "format_for",
    "parse_file",
    "read_script",
    "scan_file",
    "script_locale",
    "supported_extensions",
]


def format_for(path: Path) -> ModuleType | None:
    suffix = path.suffix.lower()
    for module in FORMATS:
        if suffix in module.EXTENSIONS:
            return module
    return None


def supported_extensions() -> tuple[str, ...]:
    return tuple(ext for module in FORMATS for ext in module.EXTENSIONS)


def script_locale(path: Path, locales: tuple[str, ...], default: str) -> str:
    """The locale a script is written in: `intro.fr.yarn` is French when "fr" is a project locale."""
    parts = path.name.split(".")
    if len(parts) >= 3:
        for locale in locales:
            if same_locale(parts[-2], locale):
                return locale
    return default


def _module(context: ParseContext) -> ModuleType:
    module = format_for(context.path)
    if module is None:
        raise InputError(
            [Problem(context.display, f"unsupported script type (known: {', '.join(supported_extensions())})")]
        )
    return module


def read_script(context: ParseContext) -> tuple[bytes, str]:
    """(the byte-order mark, if any; the text with line endings untouched)."""
    try:
        raw = context.path.read_bytes()
    except OSError as exc:
        raise InputError([Problem(context.display, f"cannot read: {exc.strerror}")]) from None
    bom = codecs.BOM_UTF8 if raw.startswith(codecs.BOM_UTF8) else b""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or looks_like_utf16(raw):
        raise InputError([Problem(context.display, UTF16_HINT, 1, 1)])
    try:
        text = raw[len(bom) :].decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[len(bom) : len(bom) + exc.start]
        line_start = before.rfind(b"\n") + 1
        column = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        raise InputError(
            [Problem(context.display, "not UTF-8 text (save the file as UTF-8)", before.count(b"\n") + 1, column)]
        ) from None
    return bom, text


def scan_file(context: ParseContext) -> tuple[bytes, str, Scan]:
    module = _module(context)
    bom, text = read_script(context)
    result = module.scan(text, context)
    if result.problems:
        raise InputError(result.problems)
    return bom, text, result


def parse_file(context: ParseContext) -> ParsedScript:
    return scan_file(context)[2].parsed
