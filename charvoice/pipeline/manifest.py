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

Manifest reads, edits and publishes the file; its typed entries (AudioEntry, LineEntry,
ReviewMarks) live in manifest_entries.py and are importable from here too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from charvoice.errors import InputError, Problem
from charvoice.fsutil import atomic_target
from charvoice.pipeline.manifest_entries import (
    AudioEntry,
    LineEntry,
    Malformed,
    ReviewMarks,
    as_object,
    typed_value,
)
from charvoice.pipeline.runtime_index import RuntimeIndex

FORMAT = "charvoice-manifest"
VERSION = 1


@dataclass
class Manifest:
    path: Path
    default_locale: str = "en"
    locales: list[str] = field(default_factory=list)
    revision: int = 0
    characters: dict[str, str] = field(default_factory=dict)  # character id -> display name
    lines: dict[str, LineEntry] = field(default_factory=dict)  # read freely; change through the methods below
    # Lines the game shows with no voice on purpose (no words: `...`): id -> {character, source, why}.
    # The addon lets them finish at once instead of warning that the line is missing.
    silent: dict[str, dict[str, str]] = field(default_factory=dict)
    last_changed: list[str] = field(default_factory=list, compare=False)  # `changed` of the revision published last
    # What makes a publish cost what changed, not the whole file (`watch` keeps one Manifest):
    # each line's JSON as last written, in id order, and every edit's line id in turn.
    _order: list[str] | None = field(default=None, init=False, repr=False, compare=False)  # None: ids added or gone
    _json: list[bytes] = field(default_factory=list, init=False, repr=False, compare=False)  # in _order's order
    _position: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _unwritten: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    # line id -> the edit count when it was last edited, latest last: one item per line, however
    # long `watch` keeps this manifest
    _edits: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _edit_count: int = field(default=0, init=False, repr=False, compare=False)
    _audio_count: int = field(default=0, init=False, repr=False, compare=False)
    _with_fallback: set[str] = field(default_factory=set, init=False, repr=False, compare=False)
    # fsync before the rename and after it: a power cut never leaves an empty or zero-filled
    # manifest (bench/fsync.py: a few ms a publish, at most one a second)
    durable: bool = field(default=True, repr=False, compare=False)
    _runtime: RuntimeIndex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._audio_count = sum(map(len, (line.audio for line in self.lines.values())))
        self._with_fallback = {line_id for line_id, line in self.lines.items() if line.fallback}

    @classmethod
    def load(cls, path: Path, display: str) -> Manifest:
        if not path.is_file():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise InputError([Problem(display, f"not UTF-8 text {_RECREATE}")]) from None
        except json.JSONDecodeError as exc:
            raise InputError(
                [Problem(display, f"not valid JSON: {exc.msg} {_RECREATE}", exc.lineno, exc.colno)]
            ) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError([Problem(display, f'not a charvoice manifest (no "format": "{FORMAT}")')])
        if data.get("version") != VERSION:
            raise InputError(
                [
                    Problem(
                        display,
                        f"manifest version {data.get('version')!r} is not supported "
                        f"(this charvoice writes version {VERSION})",
                    )
                ]
            )
        try:
            characters = as_object(data.get("characters", {}), "characters")
            return cls(
                path=path,
                default_locale=typed_value(data, "default_locale", str, "manifest", optional=True) or "en",
                locales=[str(locale) for locale in typed_value(data, "locales", list, "manifest", optional=True) or []],
                revision=typed_value(data, "revision", int, "manifest", optional=True) or 0,
                last_changed=[str(i) for i in typed_value(data, "changed", list, "manifest", optional=True) or []],
                characters={
                    cid: typed_value(as_object(value, f"characters.{cid}"), "name", str, f"characters.{cid}")
                    for cid, value in characters.items()
                },
                lines={
                    line_id: LineEntry.from_json(value, f"lines.{line_id}")
                    for line_id, value in as_object(data.get("lines", {}), "lines").items()
                },
                silent={
                    line_id: {key: str(text) for key, text in as_object(value, f"silent.{line_id}").items()}
                    for line_id, value in as_object(data.get("silent", {}), "silent").items()
                },
            )
        except Malformed as exc:
            # A damaged manifest is never silently replaced: its revision would go back and a
            # running game would miss the next publish.
            raise InputError([Problem(display, f"{exc} {_RECREATE}")]) from None

    def entry(self, line_id: str, locale: str) -> AudioEntry | None:
        line = self.lines.get(line_id)
        return None if line is None else line.audio.get(locale)

    def _edited(self, line_id: str) -> None:
        self._unwritten.add(line_id)
        self._edit_count += 1
        self._edits.pop(line_id, None)  # to the end
        self._edits[line_id] = self._edit_count

    def mark(self) -> int:
        """A point in this manifest's history of edits (see `edited_since`)."""
        return self._edit_count

    def edited_since(self, mark: int) -> set[str]:
        """The ids of lines whose entry was set, changed or removed since `mark`."""
        edited = set()
        for line_id in reversed(self._edits):
            if self._edits[line_id] <= mark:
                break
            edited.add(line_id)
        return edited

    def source_locale(self, line_id: str) -> str | None:
        """The locale whose `file:line` a line's entry shows: the default locale's when it has
        audio in it, else the first locale by name. One rule, so the same scripts give the same
        manifest whatever order lines were built in (a rebuilt translation never moves it)."""
        line = self.lines.get(line_id)
        if line is None or not line.audio:
            return None
        return self.default_locale if self.default_locale in line.audio else min(line.audio)

    def set_entry(self, line_id: str, character: str, source: str, locale: str, audio: AudioEntry) -> None:
        line = self.lines.get(line_id)
        if line is None:
            line = self.lines[line_id] = LineEntry(character, source)
            self._order = None
        self._audio_count += locale not in line.audio
        line.audio[locale] = audio
        line.character = character
        if self.source_locale(line_id) == locale:
            line.source = source
        self._edited(line_id)

    def set_source(self, line_id: str, source: str, locale: str | None = None) -> bool:
        """A moved or renamed script: the same audio, a new `file:line` (taken only from the
        line's `source_locale`, when `locale` is given). Whether it changed."""
        line = self.lines.get(line_id)
        if line is None or line.source == source or (locale is not None and locale != self.source_locale(line_id)):
            return False
        line.source = source
        self._edited(line_id)
        return True

    def set_qa(self, line_id: str, locale: str, verdict: dict[str, Any]) -> bool:
        """`charvoice qa`'s verdict on an entry. Whether it changed."""
        entry = self.entry(line_id, locale)
        if entry is None or entry.qa == verdict:
            return False
        self.lines[line_id].audio[locale] = replace(entry, qa=verdict)
        self._edited(line_id)
        return True

    def set_fallbacks(self, fallbacks: dict[str, dict[str, str]]) -> list[str]:
        """Mark the locales each line borrows from another locale; the ids whose mark changed."""
        changed = []
        for line_id in sorted(self._with_fallback | fallbacks.keys()):  # the lines that have or want one
            line = self.lines.get(line_id)
            if line is None:
                continue
            wanted = fallbacks.get(line_id) or {}
            if line.fallback != wanted:
                line.fallback = dict(wanted)
                changed.append(line_id)
                self._edited(line_id)
            if line.fallback:
                self._with_fallback.add(line_id)
            else:
                self._with_fallback.discard(line_id)
        return changed

    def set_silent(self, silent: dict[str, dict[str, str]]) -> list[str]:
        """Replace the lines marked silent; the ids whose mark changed."""
        changed = sorted(key for key in silent.keys() | self.silent.keys() if silent.get(key) != self.silent.get(key))
        self.silent = dict(silent)
        return changed

    def remove_entry(self, line_id: str, locale: str) -> None:
        line = self.lines.get(line_id)
        if line is None:
            return
        self._audio_count -= line.audio.pop(locale, None) is not None
        self._edited(line_id)
        if not line.audio:
            del self.lines[line_id]
            self._with_fallback.discard(line_id)
            self._order = None

    def audio_count(self) -> int:
        """How many (line, locale) entries there are."""
        return self._audio_count

    def entries(self) -> list[tuple[str, str, AudioEntry]]:
        """Every (line id, locale, audio entry), sorted."""
        return [
            (line_id, locale, audio)
            for line_id, line in sorted(self.lines.items())
            for locale, audio in sorted(line.audio.items())
        ]

    def publish(self, changed: list[str]) -> None:
        """Write atomically as the next revision, then its runtime form (runtime_index.py)."""
        previous = self.revision
        self.revision += 1
        self.last_changed = sorted(set(changed))
        dirty = set(self._unwritten)
        with atomic_target(self.path, durable=self.durable) as temp, open(temp, "wb") as handle:
            handle.writelines(self._chunks(changed))
        self._write_runtime(previous, changed, dirty)

    def ensure_runtime(self) -> bool:
        """Write the runtime form of this revision when it is missing or older (a manifest from
        an older charvoice, or a publish that failed half-way). Whether it wrote."""
        if self.runtime.current(self.revision):
            return False
        self._write_runtime(self.revision, self.last_changed, None)
        return True

    @property
    def runtime(self) -> RuntimeIndex:
        if self._runtime is None:
            self._runtime = RuntimeIndex(self.path)
        return self._runtime

    def _write_runtime(self, previous: int, changed: list[str], dirty: set[str] | None) -> None:
        self.runtime.write(
            self.lines,
            revision=self.revision,
            previous_revision=previous,
            default_locale=self.default_locale,
            characters=self.characters,
            changed=changed,
            dirty=dirty,
            silent=self.silent,
        )

    def _chunks(self, changed: list[str]) -> list[bytes]:
        """Indented at the top, one line per voice line below: readable, diff-friendly, and fast
        (json's indenting encoder is pure Python; one compact dump per line uses the C one, and
        only lines edited since the last publish are encoded again)."""
        head = {
            "format": FORMAT,
            "version": VERSION,
            "revision": self.revision,
            "changed": sorted(set(changed)),
            "default_locale": self.default_locale,
            "locales": self.locales,
            "characters": {cid: {"name": name} for cid, name in sorted(self.characters.items())},
        }
        if self.silent:
            head["silent"] = dict(sorted(self.silent.items()))
        parts = ",\n".join(
            f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}" for key, value in head.items()
        )
        if not self.lines:
            return [f'{{\n{parts},\n "lines": {{}}\n}}\n'.encode()]
        return [f'{{\n{parts},\n "lines": {{\n'.encode(), b",\n".join(self._lines_json()), b"\n }\n}\n"]

    def _lines_json(self) -> list[bytes]:
        """One `"id": {...}` line per voice line, in id order."""
        if self._order is None:
            self._order = sorted(self.lines)
            self._position = {line_id: index for index, line_id in enumerate(self._order)}
            self._json = [self._line_json(line_id) for line_id in self._order]
        else:
            for line_id in self._unwritten:
                if line_id in self.lines:
                    self._json[self._position[line_id]] = self._line_json(line_id)
        self._unwritten.clear()
        return self._json

    def _line_json(self, line_id: str) -> bytes:
        entry = json.dumps(self.lines[line_id].to_json(), ensure_ascii=False, separators=(",", ":"))
        return f"  {json.dumps(line_id, ensure_ascii=False)}: {entry}".encode()


_RECREATE = "(delete it and run `charvoice build` to recreate it)"


__all__ = ["AudioEntry", "LineEntry", "Manifest", "ReviewMarks"]
