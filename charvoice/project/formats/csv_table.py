"""CSV and TSV tables: one row per line.

Columns (named in a header row, any order, any case):
  `id` (or `keys`/`key`)        the line id; empty cells get a provisional id (see `charvoice tag`)
  `character` (or `speaker`)    who speaks it
  `text`                        the line, in the script's locale
  one column per locale         as in Godot translation CSVs (`keys,character,en,fr`): a header
                                that names one of `project.locales` holds that locale's text
  `direction` (or `tags`)       optional: tags such as `angry whispering`, spaces or commas
  `notes` (or `comment`)        optional: for the actors and the team, never spoken
Other columns are ignored. Blank rows and rows whose first cell starts with `#` are skipped, so
writers can comment. An empty locale cell means the line has no text in that locale yet.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from charvoice.errors import InputError, Problem
from charvoice.locales import normalize_locale
from charvoice.project.formats.common import (
    IdSite,
    ParseContext,
    ProvisionalIds,
    Scan,
    check_id,
    collapse,
    warn_untagged,
)
from charvoice.project.lines import Line

EXTENSIONS = (".csv", ".tsv")
ALIASES = {
    "keys": "id",
    "key": "id",
    "speaker": "character",
    "tags": "direction",
    "comment": "notes",
    "comments": "notes",
}
_LOCALE_LIKE = re.compile(r"[a-z]{2,3}(?:[_-][a-z0-9]{2,8})*", re.IGNORECASE)


def split_tags(cell: str) -> tuple[str, ...]:
    return tuple(tag.lstrip("#") for tag in re.split(r"[\s,;]+", cell.strip()) if tag.lstrip("#"))


@dataclass(frozen=True)
class Cell:
    value: str
    start: int  # offset of the value's first character (inside the quotes when quoted)
    end: int  # offset just past the cell (after a closing quote)


@dataclass(frozen=True)
class Record:
    line: int  # where the record starts
    start: int
    end: int  # before the line ending
    cells: list[Cell]


def read_records(text: str, delimiter: str, display: str) -> list[Record]:
    """RFC 4180 records with the offset of every cell; InputError names the line and column of a fault."""
    records: list[Record] = []
    i, line, n = 0, 1, len(text)
    line_start = 0
    while i < n:
        record_start, record_line = i, line
        cells: list[Cell] = []
        while True:
            if i < n and text[i] == '"':
                quote_at, quote_line, quote_col = i, line, i - line_start + 1
                i += 1
                value: list[str] = []
                while True:
                    if i >= n:
                        raise InputError(
                            [Problem(display, "quoted cell is never closed with '\"'", quote_line, quote_col)]
                        )
                    ch = text[i]
                    if ch == '"':
                        if i + 1 < n and text[i + 1] == '"':
                            value.append('"')
                            i += 2
                            continue
                        i += 1
                        break
                    if ch in "\r\n":
                        step = 2 if text.startswith("\r\n", i) else 1
                        value.append(text[i : i + step])
                        i += step
                        line += 1
                        line_start = i
                        continue
                    value.append(ch)
                    i += 1
                cells.append(Cell("".join(value), quote_at + 1, i))
                if i < n and text[i] not in f"{delimiter}\r\n":
                    raise InputError(
                        [
                            Problem(
                                display,
                                f'unexpected {text[i]!r} after a closing quote (double a quote inside a quoted cell: "")',
                                line,
                                i - line_start + 1,
                            )
                        ]
                    )
            else:
                start = i
                while i < n and text[i] not in f"{delimiter}\r\n":
                    i += 1
                cells.append(Cell(text[start:i], start, i))
            if i < n and text[i] == delimiter:
                i += 1
                continue
            break
        records.append(Record(record_line, record_start, i, cells))
        if i < n:
            i += 2 if text.startswith("\r\n", i) else 1
            line += 1
            line_start = i
    return records


def _columns(header: Record, context: ParseContext) -> tuple[dict[str, int], dict[str, int], list[str]]:
    """(named columns, locale columns by locale, warnings) from the header row."""
    named: dict[str, int] = {}
    by_locale: dict[str, int] = {}
    warnings: list[str] = []
    known = {normalize_locale(locale): locale for locale in context.locales}
    for index, cell in enumerate(header.cells):
        raw = cell.value.strip()
        name = ALIASES.get(raw.lower(), raw.lower())
        if name in ("id", "character", "text", "direction", "notes"):
            named.setdefault(name, index)
        elif normalize_locale(raw) in known:
            by_locale.setdefault(known[normalize_locale(raw)], index)
        elif _LOCALE_LIKE.fullmatch(raw) and raw.lower() not in ("id", "key", "notes"):
            warnings.append(
                f"{context.display}:{header.line}: column {raw!r} looks like a locale but is not in project.locales; ignored"
            )
    return named, by_locale, warnings


def scan(text: str, context: ParseContext) -> Scan:
    delimiter = "\t" if context.path.suffix.lower() == ".tsv" else ","
    result = Scan()
    records = read_records(text, delimiter, context.display)
    rows = [
        r for r in records if any(c.value.strip() for c in r.cells) and not r.cells[0].value.lstrip().startswith("#")
    ]
    if not rows:
        raise InputError([Problem(context.display, "no header row (expected columns id, character, text)", 1, 1)])
    header, rows = rows[0], rows[1:]
    named, by_locale, warnings = _columns(header, context)
    result.parsed.warnings.extend(warnings)
    if "text" in named:
        if context.locale in by_locale:
            column = by_locale[context.locale] + 1
            raise InputError(
                [
                    Problem(
                        context.display,
                        f"both a 'text' column and a {context.locale!r} column give the {context.locale} text; keep one",
                        header.line,
                        column,
                    )
                ]
            )
        by_locale = {context.locale: named["text"], **by_locale}
    missing = [name for name in ("character",) if name not in named] + ([] if by_locale else ["text"])
    if missing:
        found = ", ".join(c.value for c in header.cells)
        raise InputError(
            [
                Problem(
                    context.display, f"header row lacks column(s) {', '.join(missing)} (found: {found})", header.line, 1
                )
            ]
        )

    provisional = ProvisionalIds(context)
    id_column = named.get("id")
    for row in rows:

        def cell(name: str, row: Record = row) -> str:
            index = named.get(name)
            return row.cells[index].value.strip() if index is not None and index < len(row.cells) else ""

        texts = {
            locale: row.cells[index].value.strip()
            for locale, index in by_locale.items()
            if index < len(row.cells) and row.cells[index].value.strip()
        }
        line_id, character = cell("id"), cell("character")
        if not character:
            result.problems.append(
                Problem(context.display, "no character for this line", row.line, named["character"] + 1)
            )
            continue
        if not texts:
            column = min(by_locale.values()) + 1
            result.problems.append(
                Problem(context.display, f"line {line_id or '(no id)'} has empty text", row.line, column)
            )
            continue
        if line_id:
            if not check_id(line_id, context, row.line, (id_column or 0) + 1, result):  # an id implies an id column
                continue
        else:
            line_id = provisional.next("", character, next(iter(texts.values())))
            result.sites.append(_site(row, id_column, delimiter, line_id))
        for locale, spoken in texts.items():
            result.parsed.lines.append(
                Line(
                    id=line_id,
                    character=character,
                    text=collapse(spoken),
                    locale=locale,
                    file=context.display,
                    line_number=row.line,
                    direction=split_tags(cell("direction")),
                    notes=cell("notes"),
                    provisional=not cell("id"),
                )
            )
    if id_column is None and rows:
        # No id column yet: `tag` adds one in front of every row, the header included.
        result.sites.insert(0, IdSite(header.line, header.start, "id" + delimiter, ""))
    warn_untagged(result, context)
    return result


def _site(row: Record, id_column: int | None, delimiter: str, line_id: str) -> IdSite:
    if id_column is None:
        return IdSite(row.line, row.start, "{id}" + delimiter, line_id)
    if id_column < len(row.cells):
        return IdSite(row.line, row.cells[id_column].start, "{id}", line_id)
    return IdSite(row.line, row.end, delimiter * (id_column - len(row.cells) + 1) + "{id}", line_id)
