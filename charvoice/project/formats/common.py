"""What every format module shares: physical lines, derived ids and the places `tag` writes ids.

A format module's `scan(text, context)` returns a `Scan`: the parsed lines (what `build` voices)
plus, for every line that has no id yet, an `IdSite`: where in the text `charvoice tag` inserts
one and what it inserts. The id a site would receive is also the line's provisional id, so a
line keeps the same id (and its audio) when it is tagged.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.errors import Problem
from charvoice.locales import same_locale
from charvoice.project.lines import ParsedScript, line_id_problem

_EOL = re.compile(r"\r\n|\r|\n")
_UNSAFE = re.compile(r"[^a-z0-9_-]+")


@dataclass(frozen=True)
class ParseContext:
    """What a parser needs to know beyond the text itself."""

    path: Path  # absolute
    display: str  # relative to the project root, forward slashes
    locale: str  # the locale the script is written in
    player_character: str  # who speaks options/responses
    narrator: str = "narrator"  # who speaks lines that name no speaker
    locales: tuple[str, ...] = ()  # every locale of the project (CSV locale columns)
    dialogue_manager: tuple[int, ...] | None = None  # the game's Dialogue Manager version (None: newest)
    # Where two folders hold a script of the same name: its folder-qualified stem (loader.id_stems).
    qualified_stem: str = ""

    @property
    def id_stem(self) -> str:
        """The file name without extension or locale suffix: `intro.fr.yarn` -> `intro`."""
        if self.qualified_stem:
            return self.qualified_stem
        return self.base_stem

    @property
    def base_stem(self) -> str:
        stem = self.path.name.rsplit(".", 1)[0]
        base, _, suffix = stem.rpartition(".")
        if base and same_locale(suffix, self.locale):
            return base
        return stem


@dataclass(frozen=True)
class PhysicalLine:
    number: int  # 1-based
    start: int  # offset of the first character in the text
    content: str  # without the line ending


@dataclass(frozen=True)
class IdSite:
    """Where `charvoice tag` writes the id of one untagged line."""

    line: int
    offset: int  # in the decoded text (after any BOM)
    template: str  # what is inserted, with `{id}` for the id
    provisional: str  # the id the line uses until it is tagged


@dataclass
class Scan:
    parsed: ParsedScript = field(default_factory=ParsedScript)
    sites: list[IdSite] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # every explicit id in the file, lower case
    problems: list[Problem] = field(default_factory=list)


def physical_lines(text: str) -> list[PhysicalLine]:
    """The lines of `text` as an editor numbers them (LF, CRLF or CR endings, kept out of content)."""
    lines: list[PhysicalLine] = []
    start = 0
    number = 1
    for match in _EOL.finditer(text):
        lines.append(PhysicalLine(number, start, text[start : match.start()]))
        start = match.end()
        number += 1
    if start < len(text):
        lines.append(PhysicalLine(number, start, text[start:]))
    return lines


def collapse(text: str) -> str:
    """Spoken text: runs of whitespace become one space, none at either end."""
    return " ".join(text.split())


def _slug(value: str) -> str:
    return _UNSAFE.sub("_", value.lower()).strip("_")


def derive_id(context: ParseContext, scope: str, character: str, text: str, occurrence: int, salt: int = 0) -> str:
    """A readable id for an untagged line: `<file>.<node>.<6 hex>` (`<file>.<6 hex>` outside nodes).

    The hex part is drawn from the line's text once; `charvoice tag` writes the id into the
    script, after which editing the text never changes it.
    """
    seed = f"{context.id_stem}\0{scope}\0{character}\0{collapse(text)}\0{occurrence}\0{salt}"
    suffix = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:6]
    parts = [part for part in (_slug(context.id_stem)[:60], _slug(scope)[:50]) if part]
    return ".".join([*parts, suffix])


class ProvisionalIds:
    """Hands out provisional ids; identical untagged lines in one scope get different ones."""

    def __init__(self, context: ParseContext) -> None:
        self.context = context
        self.seen: dict[tuple[str, str, str], int] = {}

    def next(self, scope: str, character: str, text: str) -> str:
        key = (scope, character, collapse(text))
        occurrence = self.seen.get(key, 0)
        self.seen[key] = occurrence + 1
        return derive_id(self.context, scope, character, text, occurrence)


def check_id(value: str, context: ParseContext, line: int, column: int, scan: Scan) -> bool:
    """Record an explicit id; a bad one becomes a Problem at its line and column."""
    bad = line_id_problem(value)
    if bad:
        scan.problems.append(Problem(context.display, bad, line, column))
        return False
    scan.ids.add(value.lower())
    return True


def warn_untagged(scan: Scan, context: ParseContext) -> None:
    """One warning for the file listing the lines that use a provisional id."""
    numbers = sorted({line.line_number for line in scan.parsed.lines if line.provisional})
    if not numbers:
        return
    shown = ", ".join(str(n) for n in numbers[:10]) + (f" and {len(numbers) - 10} more" if len(numbers) > 10 else "")
    what = "line has" if len(numbers) == 1 else f"{len(numbers)} lines have"
    scan.parsed.warnings.append(
        f"{context.display}: {what} no id (line {shown}); using provisional ids until `charvoice tag` writes them"
    )


SPEAKER_TAG = re.compile(r"speaker\s*[:=]\s*(\S.*)", re.IGNORECASE)


def speaker_tag(tags: list[str]) -> str:
    """The character a `#speaker:name` (Yarn) or `[#speaker=name]` (Dialogue Manager) tag names, or "".

    It voices a line whose speaker is only known at run time (`{$speaker}: ...`), and overrides
    the written speaker of any other line."""
    for tag in tags:
        match = SPEAKER_TAG.fullmatch(tag.strip())
        if match:
            return match.group(1).strip()
    return ""


def skip(context: ParseContext, line: int, why: str) -> str:
    return f"{context.display}:{line}: {why}"


def find_closing(text: str, start: int, opener: str, closer: str) -> int:
    """Index of the `closer` matching the `opener` at `start` (nesting and quotes respected), or -1."""
    depth = 0
    quote = ""
    i = start
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch == '"':
            quote = ch
        elif text.startswith(opener, i):
            depth += 1
            i += len(opener)
            continue
        elif text.startswith(closer, i):
            depth -= 1
            if depth == 0:
                return i
            i += len(closer)
            continue
        i += 1
    return -1
