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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from charvoice.errors import InputError, Problem
from charvoice.fsutil import atomic_target
from charvoice.pipeline.runtime_index import RuntimeIndex

FORMAT = "charvoice-manifest"
VERSION = 1
ORIGINS = ("engine", "approved", "recorded")


@dataclass(frozen=True)
class ReviewMarks:
    """Where a line stands in review: an approved take, or text that moved on since approval/recording."""

    take: int | None = None
    needs_approval: bool = False
    text_changed_since_recording: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.take is not None:
            out["take"] = self.take
        if self.needs_approval:
            out["needs_approval"] = True
        if self.text_changed_since_recording:
            out["text_changed_since_recording"] = True
        return out


@dataclass(frozen=True)
class AudioEntry:
    """One published asset: a line in one locale."""

    path: str  # relative to the manifest, '/' separated
    text: str
    duration_s: float
    key: str  # the asset key: changes whenever the published audio changes
    source_key: str = ""  # cache key of the raw engine audio (or of the pinned take / recording)
    lufs: float | None = None
    engine: str = ""
    origin: str = "engine"  # engine | approved (a pinned take) | recorded (an actor's file)
    marks: ReviewMarks = field(default_factory=ReviewMarks)
    qa: dict[str, Any] | None = None  # charvoice qa's verdict (release/qa.py owns its layout)
    timings: str = ""  # word timings and mouth shapes beside the asset (pipeline/timings.py); "" = none
    notes: str = ""  # the writer's notes on the line (Dialogue Manager `##`, Yarn `//`, CSV column); "" = absent
    # The published file as written: `build` compares the size, `check` the hash, so a file
    # changed or damaged on disk (or left newer than its entry by a failed write) is noticed.
    size: int | None = None
    sha256: str = ""
    timings_size: int | None = None  # of the timings file: a damaged one is noticed as the asset is

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "text": self.text,
            "duration_s": self.duration_s,
            "lufs": self.lufs,
            "key": self.key,
            "source_key": self.source_key,
            "engine": self.engine,
            "origin": self.origin,
            **self.marks.to_json(),
        }
        if self.timings:
            out["timings"] = self.timings
            if self.timings_size is not None:
                out["timings_size"] = self.timings_size
        if self.notes:
            out["notes"] = self.notes
        if self.size is not None:
            out["size"] = self.size
        if self.sha256:
            out["sha256"] = self.sha256
        if self.qa is not None:
            out["qa"] = self.qa
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> AudioEntry:
        obj = _object(data, where)
        marks = ReviewMarks(
            take=_typed(obj, "take", int, where, optional=True),
            needs_approval=bool(_typed(obj, "needs_approval", bool, where, optional=True)),
            text_changed_since_recording=bool(_typed(obj, "text_changed_since_recording", bool, where, optional=True)),
        )
        origin = _typed(obj, "origin", str, where, optional=True) or "engine"
        if origin not in ORIGINS:
            raise _Malformed(f"{where}.origin is {origin!r}, not one of {', '.join(ORIGINS)}")
        return cls(
            path=_typed(obj, "path", str, where),
            text=_typed(obj, "text", str, where),
            duration_s=float(_typed(obj, "duration_s", (int, float), where)),
            key=_typed(obj, "key", str, where),
            source_key=_typed(obj, "source_key", str, where, optional=True) or "",
            lufs=_typed(obj, "lufs", (int, float), where, optional=True),
            engine=_typed(obj, "engine", str, where, optional=True) or "",
            timings=_typed(obj, "timings", str, where, optional=True) or "",
            origin=origin,
            marks=marks,
            qa=_typed(obj, "qa", dict, where, optional=True),
            notes=_typed(obj, "notes", str, where, optional=True) or "",
            size=_typed(obj, "size", int, where, optional=True),
            sha256=_typed(obj, "sha256", str, where, optional=True) or "",
            timings_size=_typed(obj, "timings_size", int, where, optional=True),
        )


@dataclass
class LineEntry:
    """A line id's entry: who says it, where it is written, and its audio per locale. Changed
    only through the Manifest's methods, which know what to write again."""

    character: str
    source: str  # "file:line", relative to the project root
    audio: dict[str, AudioEntry] = field(default_factory=dict)
    fallback: dict[str, str] = field(default_factory=dict)  # locale without text -> locale whose audio it plays

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "character": self.character,
            "source": self.source,
            # by locale, not by build order: the same scripts give the same bytes
            "audio": {locale: self.audio[locale].to_json() for locale in sorted(self.audio)},
        }
        if self.fallback:
            out["fallback"] = dict(self.fallback)
        return out

    @classmethod
    def from_json(cls, data: Any, where: str) -> LineEntry:
        obj = _object(data, where)
        audio = _object(obj.get("audio", {}), f"{where}.audio")
        fallback = _object(obj.get("fallback", {}), f"{where}.fallback")
        if not all(isinstance(value, str) for value in fallback.values()):
            raise _Malformed(f"{where}.fallback must map locales to locales")
        return cls(
            character=_typed(obj, "character", str, where),
            source=_typed(obj, "source", str, where),
            audio={locale: AudioEntry.from_json(value, f"{where}.audio.{locale}") for locale, value in audio.items()},
            fallback=dict(fallback),
        )


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
            characters = _object(data.get("characters", {}), "characters")
            return cls(
                path=path,
                default_locale=_typed(data, "default_locale", str, "manifest", optional=True) or "en",
                locales=[str(locale) for locale in _typed(data, "locales", list, "manifest", optional=True) or []],
                revision=_typed(data, "revision", int, "manifest", optional=True) or 0,
                last_changed=[str(i) for i in _typed(data, "changed", list, "manifest", optional=True) or []],
                characters={
                    cid: _typed(_object(value, f"characters.{cid}"), "name", str, f"characters.{cid}")
                    for cid, value in characters.items()
                },
                lines={
                    line_id: LineEntry.from_json(value, f"lines.{line_id}")
                    for line_id, value in _object(data.get("lines", {}), "lines").items()
                },
                silent={
                    line_id: {key: str(text) for key, text in _object(value, f"silent.{line_id}").items()}
                    for line_id, value in _object(data.get("silent", {}), "silent").items()
                },
            )
        except _Malformed as exc:
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


class _Malformed(Exception):
    """A manifest value of the wrong type; the message names it."""


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Malformed(f"{where} must be an object, not {type(value).__name__}")
    return value


def _typed(obj: dict[str, Any], key: str, kind: Any, where: str, *, optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if optional:
            return None
        raise _Malformed(f"{where} has no {key!r}")
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise _Malformed(f"{where}.{key} has the wrong type ({type(value).__name__})")
    return value


__all__ = ["AudioEntry", "LineEntry", "Manifest", "ReviewMarks"]
