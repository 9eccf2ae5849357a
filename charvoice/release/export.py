"""`charvoice export-script`: the recording script a voice director works from, as CSV.

One row per line and locale, in script order: id, character (display name), text, direction
(the writer's tags), notes, source (file:line), status (see charvoice/status.py), locale and
sent (the exact text the engine is asked to speak: direction cues and lexicon included).
Cells that a spreadsheet would run as a formula start with an invisible zero-width space.
RFC 4180 CSV with a header row, UTF-8 with a byte-order mark so spreadsheet programs show
accents right, CRLF line ends. A file is written atomically.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from charvoice.fsutil import atomic_write_bytes
from charvoice.release.status import LineStatus

COLUMNS = ("id", "character", "text", "direction", "notes", "source", "status", "locale", "sent")


def select(
    statuses: list[LineStatus],
    characters: set[str] | None = None,
    keywords: set[str] | None = None,
    locales: set[str] | None = None,
    names: dict[str, str] | None = None,
) -> list[LineStatus]:
    """Statuses of the given characters (ids or names, any case), keywords and locales."""
    names = names or {}
    wanted = {c.lower() for c in characters} if characters else None
    chosen = []
    for status in statuses:
        line = status.line
        if (
            wanted is not None
            and line.character.lower() not in wanted
            and names.get(line.character, "").lower() not in wanted
        ):
            continue
        if locales and line.locale not in locales:
            continue
        if not status.matches(keywords or set()):
            continue
        chosen.append(status)
    return chosen


# Starts a cell that a spreadsheet would otherwise run as a formula. Invisible (unlike the usual
# leading quote, which Excel hides but LibreOffice, Numbers and every text viewer show the actor),
# and any character other than = + - @ is enough to make the cell plain text.
FORMULA_GUARD = "\u200b"  # ZERO WIDTH SPACE


def _cell(value: str) -> str:
    """Scripts are user input: a cell a spreadsheet would run as a formula (`=_=`, `=HYPERLINK(...)`)
    starts with an invisible FORMULA_GUARD, so it shows as written and never runs."""
    if value[:1] in ("=", "+", "@", "\t", "\r") or (value[:1] == "-" and value[1:2] in tuple("0123456789(=+-@")):
        return FORMULA_GUARD + value
    return value


def to_csv(statuses: list[LineStatus], names: dict[str, str]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for status in statuses:
        line = status.line
        row = (
            line.id,
            names.get(line.character, line.character),
            line.text,
            " ".join(line.direction),
            line.notes,
            line.source,
            status.label,
            line.locale,
            status.job.request.text,
        )
        writer.writerow([_cell(str(value)) for value in row])
    return buffer.getvalue()


def write(text: str, target: Path | None) -> None:
    """To `target` atomically (with a BOM for spreadsheets), or None: the caller prints it."""
    if target is not None:
        atomic_write_bytes(target, b"\xef\xbb\xbf" + text.encode("utf-8"))
