"""The typed entries of voice_manifest.json (manifest.py): a line's audio in one locale
(AudioEntry, with its review marks), a line with its audio per locale (LineEntry), their JSON
form both ways, and the type checks that name a damaged value's place when reading it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
        obj = as_object(data, where)
        marks = ReviewMarks(
            take=typed_value(obj, "take", int, where, optional=True),
            needs_approval=bool(typed_value(obj, "needs_approval", bool, where, optional=True)),
            text_changed_since_recording=bool(
                typed_value(obj, "text_changed_since_recording", bool, where, optional=True)
            ),
        )
        origin = typed_value(obj, "origin", str, where, optional=True) or "engine"
        if origin not in ORIGINS:
            raise Malformed(f"{where}.origin is {origin!r}, not one of {', '.join(ORIGINS)}")
        return cls(
            path=typed_value(obj, "path", str, where),
            text=typed_value(obj, "text", str, where),
            duration_s=float(typed_value(obj, "duration_s", (int, float), where)),
            key=typed_value(obj, "key", str, where),
            source_key=typed_value(obj, "source_key", str, where, optional=True) or "",
            lufs=typed_value(obj, "lufs", (int, float), where, optional=True),
            engine=typed_value(obj, "engine", str, where, optional=True) or "",
            timings=typed_value(obj, "timings", str, where, optional=True) or "",
            origin=origin,
            marks=marks,
            qa=typed_value(obj, "qa", dict, where, optional=True),
            notes=typed_value(obj, "notes", str, where, optional=True) or "",
            size=typed_value(obj, "size", int, where, optional=True),
            sha256=typed_value(obj, "sha256", str, where, optional=True) or "",
            timings_size=typed_value(obj, "timings_size", int, where, optional=True),
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
        obj = as_object(data, where)
        audio = as_object(obj.get("audio", {}), f"{where}.audio")
        fallback = as_object(obj.get("fallback", {}), f"{where}.fallback")
        if not all(isinstance(value, str) for value in fallback.values()):
            raise Malformed(f"{where}.fallback must map locales to locales")
        return cls(
            character=typed_value(obj, "character", str, where),
            source=typed_value(obj, "source", str, where),
            audio={locale: AudioEntry.from_json(value, f"{where}.audio.{locale}") for locale, value in audio.items()},
            fallback=dict(fallback),
        )


class Malformed(Exception):
    """A manifest value of the wrong type; the message names it."""


def as_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise Malformed(f"{where} must be an object, not {type(value).__name__}")
    return value


def typed_value(obj: dict[str, Any], key: str, kind: Any, where: str, *, optional: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if optional:
            return None
        raise Malformed(f"{where} has no {key!r}")
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise Malformed(f"{where}.{key} has the wrong type ({type(value).__name__})")
    return value
