"""voice_manifest.json: the engine-neutral index of every published line, read by the game.

Layout (version 1):
  {"format": "charvoice-manifest", "version": 1, "revision": 7, "changed": ["intro.greet"],
   "default_locale": "en", "locales": ["en"], "characters": {"aria": {"name": "Aria"}},
   "lines": {"intro.greet": {"character": "aria", "source": "dialogue/intro.csv:2",
     "audio": {"en": {"path": "en/aria/intro.greet.ogg", "text": "Hello.", "duration_s": 1.42,
                      "lufs": -18.0, "key": "…", "source_key": "…", "engine": "offline"}}}}}

A line with no text in some locale carries `"fallback": {"fr": "en"}`: the game plays the
`en` audio for `fr`. `path` is relative to the manifest. `key` is the asset key (engine audio + processing),
`source_key` the cache key of the raw engine audio. `charvoice qa` adds a `qa` object to
an audio entry (charvoice/qa.py: flags and measurements, tied to the asset key it checked); a
rebuild replaces the entry, so a verdict never outlives the audio it was about.
`revision` grows by one with every publish and `changed` lists the line ids that publish
touched, so a running game can reload just those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from charvoice.errors import InputError, Problem
from charvoice.fsutil import atomic_write_text

FORMAT = "charvoice-manifest"
VERSION = 1


@dataclass
class Manifest:
    path: Path
    default_locale: str = "en"
    locales: list[str] = field(default_factory=list)
    revision: int = 0
    characters: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path, display: str) -> "Manifest":
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError([Problem(display, f"not valid JSON: {exc.msg} (delete it and run `charvoice build` to recreate it)", exc.lineno, exc.colno)]) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError([Problem(display, f"not a charvoice manifest (no \"format\": \"{FORMAT}\")")])
        if data.get("version") != VERSION:
            raise InputError([Problem(display, f"manifest version {data.get('version')!r} is not supported (this charvoice writes version {VERSION})")])
        return cls(
            path=path,
            default_locale=data.get("default_locale", "en"),
            locales=list(data.get("locales", [])),
            revision=int(data.get("revision", 0)),
            characters=dict(data.get("characters", {})),
            lines=dict(data.get("lines", {})),
        )

    def entry(self, line_id: str, locale: str) -> dict[str, Any] | None:
        return self.lines.get(line_id, {}).get("audio", {}).get(locale)

    def set_entry(self, line_id: str, character: str, source: str, locale: str, audio: dict[str, Any], **extra: Any) -> None:
        line = self.lines.setdefault(line_id, {"character": character, "source": source, "audio": {}})
        line.update(character=character, source=source, **extra)
        line["audio"][locale] = audio

    def set_fallbacks(self, fallbacks: dict[str, dict[str, str]]) -> list[str]:
        """Mark the locales each line borrows from another locale; the ids whose mark changed."""
        changed = []
        for line_id, line in self.lines.items():
            wanted = fallbacks.get(line_id)
            if line.get("fallback") != wanted:
                if wanted:
                    line["fallback"] = dict(wanted)
                else:
                    line.pop("fallback", None)
                changed.append(line_id)
        return changed

    def remove_entry(self, line_id: str, locale: str) -> None:
        line = self.lines.get(line_id)
        if line is None:
            return
        line["audio"].pop(locale, None)
        if not line["audio"]:
            del self.lines[line_id]

    def to_json(self, changed: list[str]) -> str:
        """Indented at the top, one line per voice line below: readable, diff-friendly, and fast
        (json's indenting encoder is pure Python; one compact dump per line uses the C one)."""
        head = {
            "format": FORMAT,
            "version": VERSION,
            "revision": self.revision,
            "changed": sorted(set(changed)),
            "default_locale": self.default_locale,
            "locales": self.locales,
            "characters": dict(sorted(self.characters.items())),
        }
        parts = [f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in head.items()]
        lines = [f"  {json.dumps(line_id, ensure_ascii=False)}: {json.dumps(entry, ensure_ascii=False, separators=(',', ':'))}" for line_id, entry in sorted(self.lines.items())]
        body = "{\n" + ",\n".join(lines) + "\n }" if lines else "{}"
        return "{\n" + ",\n".join([*parts, f' "lines": {body}']) + "\n}\n"

    def publish(self, changed: list[str]) -> None:
        """Write atomically as the next revision."""
        self.revision += 1
        atomic_write_text(self.path, self.to_json(changed))
