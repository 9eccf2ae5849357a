"""The Line: what every dialogue format produces, the rules an id must follow, and the file
name a line's audio gets.

A line id is kept exactly as the script writes it (the game looks lines up by that string), so
it may be anything the dialogue tool accepts: Unicode, `/`, `:`, spaces in Dialogue Manager
keys, ids differing only in case. Character ids name files and folders directly and keep the
strict ID_PATTERN. A line's audio file name is derived from its id by `file_stem` (hashed when
another id of the project differs from it only by case: Project.colliding).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

ID_PATTERN = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
# Any text without control characters (a line break would end the line in every format).
LINE_ID_PATTERN = re.compile(r"[^\x00-\x1f\x7f]{1,512}")
_STEM_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
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


def line_id_problem(value: str) -> str | None:
    """Why `value` cannot be a line id, or None: only empty ids and control characters are refused."""
    if not value.strip():
        return "empty line id"
    if not LINE_ID_PATTERN.fullmatch(value):
        return f"line id {value[:140]!r} contains a control character or is longer than 512 characters"
    return None


def file_stem(line_id: str, clashes: bool = False) -> str:
    """The audio file name (no extension) for a line id: the id itself when it is a safe file name,
    else a readable ASCII slug plus 8 hex of the id's hash (`intro/greet` -> `intro_greet-1a2b3c4d`).
    `clashes` forces the hash: another id differs from this one only in case."""
    if not clashes and id_problem(line_id) is None:
        return line_id
    ascii_text = unicodedata.normalize("NFKD", line_id).encode("ascii", "ignore").decode("ascii")
    slug = _STEM_UNSAFE.sub("_", ascii_text).strip("_")[:60] or "line"
    return f"{slug}-{hashlib.sha256(line_id.encode('utf-8')).hexdigest()[:8]}"


@dataclass(frozen=True)
class Line:
    """One spoken line in one locale.

    `file` is the script's path relative to the project root (with '/'), `line_number` 1-based. `direction` holds the writer's tags
    (emotion, delivery) in order. A `provisional` id was made up by charvoice because the
    script has none yet; `charvoice tag` writes a permanent one. `audio_of` names another
    line whose audio this line reuses (Yarn shadow lines): it gets no asset of its own.
    `notes` are for the actor and the team (Dialogue Manager `##`, Yarn `//`, a CSV column).
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
    direction_note: str = ""  # a Yarn trailing `// comment`: a cue too when it names a [direction] entry
    runtime_speaker: str = ""  # `{$cat}` / `{{name}}`: who speaks is known at run time ([speakers] runtime)
    voice_file: str = ""  # Dialogue Manager's `[#voice=res://...]`: the game plays this file, not charvoice's

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
