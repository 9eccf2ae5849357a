"""The exact text an engine is asked to speak: the line's text after the pronunciation lexicon."""

from __future__ import annotations

import re
from functools import lru_cache

from charvoice.characters import Character
from charvoice.config import ProjectConfig


def _match_case(found: str, replacement: str) -> str:
    if found.isupper() and len(found) > 1:
        return replacement.upper()
    if found[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


@lru_cache(maxsize=256)
def _compile(entries: tuple[tuple[str, str], ...]) -> tuple[re.Pattern[str], dict[str, str]] | None:
    if not entries:
        return None
    table = {word.lower(): spoken for word, spoken in entries}
    # Longest first so "Xal'thar Prime" wins over "Xal'thar".
    words = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(word) for word in words) + r")(?!\w)", re.IGNORECASE)
    return pattern, table


def apply_lexicon(text: str, lexicon: dict[str, str]) -> str:
    """Rewrite whole words (case-insensitively), keeping the capitalisation the writer used."""
    compiled = _compile(tuple(sorted(lexicon.items())))
    if compiled is None:
        return text
    pattern, table = compiled
    return pattern.sub(lambda match: _match_case(match.group(0), table[match.group(0).lower()]), text)


def prepare(text: str, character: Character, config: ProjectConfig) -> str:
    """The text to send for a line: project lexicon, then the character's (which wins)."""
    lexicon = {**config.lexicon, **character.lexicon}
    return apply_lexicon(text, lexicon)
