"""The timings file written beside each asset, `<asset stem>.timings.json`, on the published
asset's timeline (after trimming and padding):

  {"format": "charvoice-timings", "version": 1, "source": "engine", "duration_s": 1.42,
   "words": [[0.10, 0.42, 0, 5, "Hello"], ...],   start_s, end_s, char_from, char_to, word
   "mouth": [[0.00, "X"], [0.10, "B"], ...]}       shape from that time until the next

`char_from`/`char_to` index the manifest entry's `text`. Sources: "engine" (the synthesiser's
own events), "asr" (speech to text with timestamps), "estimate" (words spread by length).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charvoice.fsutil import atomic_write_bytes

FORMAT = "charvoice-timings"
VERSION = 1
SOURCES = ("engine", "asr", "estimate")
SUFFIX = ".timings.json"


@dataclass(frozen=True)
class Word:
    start_s: float
    end_s: float
    char_from: int
    char_to: int
    text: str

    def to_json(self) -> list[Any]:
        return [round(self.start_s, 3), round(self.end_s, 3), self.char_from, self.char_to, self.text]


@dataclass
class LineTimings:
    source: str
    duration_s: float
    words: list[Word] = field(default_factory=list)
    mouth: list[tuple[float, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "source": self.source,
            "duration_s": round(self.duration_s, 3),
            "words": [word.to_json() for word in self.words],
            "mouth": [[round(time, 3), shape] for time, shape in self.mouth],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, data: Any) -> LineTimings:
        """Parse a timings file's content; ValueError names what is wrong."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f'not a timings file (no "format": "{FORMAT}")')
        if data.get("version") != VERSION:
            raise ValueError(f"timings version {data.get('version')!r} is not supported")
        try:
            words = [Word(float(w[0]), float(w[1]), int(w[2]), int(w[3]), str(w[4])) for w in data["words"]]
            mouth = [(float(m[0]), str(m[1])) for m in data["mouth"]]
            return cls(str(data["source"]), float(data["duration_s"]), words, mouth)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed timings: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> LineTimings:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def timings_path(asset_path: str) -> str:
    """`en/aria/intro.greet.ogg` -> `en/aria/intro.greet.timings.json` (same folder, same stem)."""
    stem, dot, _ = asset_path.rpartition(".")
    return (stem if dot else asset_path) + SUFFIX


def write(target: Path, timings: LineTimings) -> int:
    """Write the timings file atomically; its size in bytes."""
    data = timings.dumps().encode("utf-8")
    atomic_write_bytes(target, data)
    return len(data)
