"""How the Godot addon reads a line's timings file (`*.timings.json`, issue 13): the reference
for `runtime/charvoice_timings.gd`, a test oracle only (charvoice itself writes these files). Both run one table of cases
(game/test/data/timings_cases.json), so the subtitle reveal and the mouth shape a game shows at
a given moment are the ones charvoice means.

A file: {"format": "charvoice-timings", "version": 1, "source": "engine"|"asr"|"estimate",
"duration_s": float, "words": [[start_s, end_s, char_from, char_to, word], ...],
"mouth": [[time_s, shape], ...]}; shapes are Rhubarb's A-H and X, each held until the next.
Malformed entries are dropped, not fatal: a line still plays and shows its text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

FORMAT = "charvoice-timings"
VERSION = 1
SHAPES = ("X", "A", "B", "C", "D", "E", "F", "G", "H")
REST_SHAPE = "X"

Word = tuple[float, float, int, int, str]
Cue = tuple[float, str]


class TimingsError(ValueError):
    """The text is not a usable charvoice timings file."""


@dataclass(frozen=True)
class Timings:
    source: str
    duration_s: float
    words: list[Word] = field(default_factory=list)
    mouth: list[Cue] = field(default_factory=list)

    def characters_at(self, time_s: float) -> int:
        return reveal_count(self.words, time_s)

    def shape_at(self, time_s: float) -> str:
        if self.duration_s > 0 and time_s >= self.duration_s:
            return REST_SHAPE
        return mouth_at(self.mouth, time_s)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def clean_words(value: object) -> list[Word]:
    """Entries [start, end, from, to, word] with start <= end and 0 <= from <= to, by start."""
    result: list[Word] = []
    if not isinstance(value, list):
        return result
    for entry in value:
        if not isinstance(entry, list) or len(entry) < 5:
            continue
        start, end, first, after, word = entry[:5]
        if not all(_number(v) for v in (start, end, first, after)) or not isinstance(word, str):
            continue
        if start < 0 or end < start or int(first) < 0 or int(after) < int(first):
            continue
        result.append((float(start), float(end), int(first), int(after), word))
    return sorted(result, key=lambda w: (w[0], w[2]))  # equal starts: text order


def clean_mouth(value: object) -> list[Cue]:
    """Entries [time, shape] with a known shape, by time (file order among equal times)."""
    result: list[tuple[float, int, str]] = []
    if not isinstance(value, list):
        return []
    for index, entry in enumerate(value):
        if isinstance(entry, list) and len(entry) >= 2 and _number(entry[0]) and entry[1] in SHAPES:
            result.append((float(entry[0]), index, entry[1]))
    return [(time, shape) for time, _, shape in sorted(result)]  # equal times: the later cue wins


def started_words(words: list[Word], time_s: float) -> int:
    count = 0
    for word in words:
        if word[0] > time_s:
            break
        count += 1
    return count


def reveal_count(words: list[Word], time_s: float) -> int:
    """Characters of the text shown at `time_s`: the furthest end of the words started so far."""
    shown = 0
    for word in words:
        if word[0] > time_s:
            break
        shown = max(shown, word[3])
    return shown


def mouth_at(cues: list[Cue], time_s: float) -> str:
    shape = REST_SHAPE
    for cue in cues:
        if cue[0] > time_s:
            break
        shape = cue[1]
    return shape


def parse_timings(text: str, path: str = "") -> Timings:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TimingsError(f"{path} is not valid JSON (line {error.lineno}: {error.msg})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TimingsError(f"{path} is not a charvoice timings file")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int | float) or int(version) != VERSION:
        raise TimingsError(f"{path} has timings version {version}; this addon reads version {VERSION}")
    duration = data.get("duration_s")
    return Timings(
        source=str(data.get("source", "")),
        duration_s=float(duration) if isinstance(duration, int | float) else 0.0,
        words=clean_words(data.get("words")),
        mouth=clean_mouth(data.get("mouth")),
    )
