"""CSV and TSV tables: one row per line, columns `id`, `character`, `text`.

Optional columns: `direction` (tags separated by spaces or commas) and `notes`. Column names
are case-insensitive; `keys` (the first column of a Godot translation CSV) is read as `id`.
Blank rows and rows whose first cell starts with `#` are skipped, so writers can comment.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re

from charvoice.errors import InputError, Problem
from charvoice.lines import Line, ParsedScript

EXTENSIONS = (".csv", ".tsv")
REQUIRED_COLUMNS = ("id", "character", "text")
ALIASES = {"keys": "id", "key": "id", "speaker": "character"}


def split_tags(cell: str) -> tuple[str, ...]:
    return tuple(tag.lstrip("#") for tag in re.split(r"[\s,;]+", cell.strip()) if tag.lstrip("#"))


def provisional_id(display: str, character: str, text: str) -> str:
    digest = hashlib.sha256(f"{display}\0{character}\0{text}".encode()).hexdigest()[:10]
    return f"line-{digest}"


def parse(text: str, context) -> ParsedScript:
    delimiter = "\t" if context.path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    result = ParsedScript()
    problems: list[Problem] = []

    header: dict[str, int] | None = None
    row_start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InputError([Problem(context.display, f"malformed {delimiter == ',' and 'CSV' or 'TSV'}: {exc}", reader.line_num)]) from None
        line_number, row_start = row_start, reader.line_num + 1
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if header is None:
            names = [ALIASES.get(cell.strip().lower(), cell.strip().lower()) for cell in row]
            missing = [name for name in REQUIRED_COLUMNS if name not in names]
            if missing:
                raise InputError([Problem(context.display, f"header row lacks column(s) {', '.join(missing)} (found: {', '.join(row)})", line_number, 1)])
            header = {name: index for index, name in reversed(list(enumerate(names)))}
            continue

        def cell(name: str) -> str:
            index = header.get(name)
            return row[index].strip() if index is not None and index < len(row) else ""

        line_id, character, spoken = cell("id"), cell("character"), cell("text")
        column = (header.get("text") or 0) + 1
        if not character:
            problems.append(Problem(context.display, "no character for this line", line_number, (header["character"]) + 1))
            continue
        if not spoken:
            problems.append(Problem(context.display, f"line {line_id or '(no id)'} has empty text", line_number, column))
            continue
        provisional = not line_id
        if provisional:
            line_id = provisional_id(context.display, character, spoken)
            result.warnings.append(f"{context.display}:{line_number}: line has no id; using provisional id {line_id} (run `charvoice tag`)")
        result.lines.append(
            Line(
                id=line_id,
                character=character,
                text=spoken,
                locale=context.locale,
                source=f"{context.display}:{line_number}",
                direction=split_tags(cell("direction")),
                notes=cell("notes"),
                provisional=provisional,
            )
        )
    if header is None:
        problems.append(Problem(context.display, "no header row (expected columns id, character, text)", 1, 1))
    if problems:
        raise InputError(problems)
    return result
