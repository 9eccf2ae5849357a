"""The Line: what every dialogue format produces, and the rules an id must follow."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ID_PATTERN = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
# Names Windows will not create as files, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def id_problem(value: str, what: str = "id") -> str | None:
    """Why `value` cannot be a line or character id (it becomes a file name), or None if it can."""
    if not value:
        return f"empty {what}"
    if not ID_PATTERN.fullmatch(value):
        return f"{what} {value[:140]!r} may only use letters, digits, '_', '.', '-' (1 to 128 of them)"
    if ".." in value or value.startswith(".") or value.endswith("."):
        return f"{what} {value!r} may not start or end with '.' or contain '..'"
    if value.split(".")[0].lower() in _RESERVED:
        return f"{what} {value!r} is a reserved file name on Windows"
    return None


@dataclass(frozen=True)
class Line:
    """One spoken line in one locale.

    `file` is the script's path relative to the project root (with '/'), `line_number` 1-based. `direction` holds the writer's tags
    (emotion, delivery) in order. A `provisional` id was made up by charvoice because the
    script has none yet; `charvoice tag` writes a permanent one. `audio_of` names another
    line whose audio this line reuses (Yarn shadow lines): it gets no asset of its own.
    """

    id: str
    character: str
    text: str
    locale: str
    file: str
    line_number: int
    direction: tuple[str, ...] = ()
    notes: str = ""
    provisional: bool = False
    audio_of: str | None = None

    @property
    def source(self) -> str:
        """`file:line`, as editors and compilers print a place."""
        return f"{self.file}:{self.line_number}"


@dataclass
class ParsedScript:
    """What a format parser returns for one file."""

    lines: list[Line] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "file:line: why" for lines that cannot be voiced
