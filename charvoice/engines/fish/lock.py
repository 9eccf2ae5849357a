"""charvoice.lock: for every persistent clone, the Fish Audio model made from a character's
samples (its id, the sha256 of each sample and transcript, its state, when it was created),
and the transcripts of instant clones' samples. TOML, written atomically, committed like any
lock file; sync (voices.py) reads and writes it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from charvoice.engines.base import canonical_json
from charvoice.errors import InputError, Problem
from charvoice.fsutil import atomic_write_text, text_sha256
from charvoice.project.config import ProjectConfig
from charvoice.project.schema import TomlFile

LOCK_NAME = "charvoice.lock"
LOCK_VERSION = 1
LOCK_HEADER = (
    "# charvoice.lock: the Fish Audio voice models cloned from the characters' samples.\n"
    "# Written by `charvoice voices sync` (and `charvoice build`). Commit it: it is what stops\n"
    "# the same samples from being cloned twice.\n\n"
)

# --- charvoice.lock ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LockEntry:
    """One persistent clone: which model, made from exactly which samples and transcripts."""

    model_id: str
    state: str
    created: str
    server: str
    samples: list[str]  # paths relative to the project root, for the people reading the file
    sample_sha256: list[str]
    text_sha256: list[str]
    enhance_audio_quality: bool
    title: str = ""
    visibility: str = "private"
    description: str = ""
    tags: list[str] = field(default_factory=list)
    cover_sha256: str = ""  # the cover picture of a public model

    @property
    def marker(self) -> str:
        """The tag that finds this model again after a create whose answer was lost. Public
        models do without it: everyone sees their tags (they are found by title and time)."""
        if self.visibility == "public":
            return ""
        return (
            "charvoice-"
            + text_sha256(canonical_json([self.sample_sha256, self.text_sha256, self.enhance_audio_quality]))[:16]
        )

    def server_tags(self) -> list[str]:
        """The tags the model carries on the server: the character's, plus the marker."""
        return [*self.tags, self.marker] if self.marker else list(self.tags)

    def same_voice(self, other: LockEntry) -> bool:
        """Would a model made from `other`'s samples be this model? (file names do not matter)"""
        return (self.sample_sha256, self.text_sha256, self.enhance_audio_quality, self.server) == (
            other.sample_sha256, other.text_sha256, other.enhance_audio_quality, other.server,
        )  # fmt: skip

    def metadata(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "visibility": self.visibility,
            "description": self.description,
            "tags": list(self.tags),
            "cover_sha256": self.cover_sha256,
        }

    @classmethod
    def from_toml(cls, data: Any) -> LockEntry:
        if not isinstance(data, dict):
            raise ValueError("not a table")
        kinds = {
            "model_id": str, "state": str, "created": str, "server": str, "samples": list, "sample_sha256": list,
            "text_sha256": list, "enhance_audio_quality": bool, "title": str, "visibility": str, "description": str, "tags": list,
            "cover_sha256": str,
        }  # fmt: skip
        for key, kind in kinds.items():
            if key in data and not isinstance(data[key], kind):
                raise ValueError(f"{key} must be a {kind.__name__}")
        missing = [key for key in ("model_id", "state", "sample_sha256") if key not in data]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        return cls(
            model_id=data["model_id"], state=data["state"], created=data.get("created", ""), server=data.get("server", ""),
            samples=list(data.get("samples", [])), sample_sha256=list(data["sample_sha256"]),
            text_sha256=list(data.get("text_sha256", [])), enhance_audio_quality=data.get("enhance_audio_quality", True),
            title=data.get("title", ""), visibility=data.get("visibility", "private"),
            description=data.get("description", ""), tags=list(data.get("tags", [])), cover_sha256=data.get("cover_sha256", ""),
        )  # fmt: skip


@dataclass(frozen=True)
class LockedTranscript:
    """What an instant clone's sample says, heard once by speech to text (keyed by its sha256)."""

    sample: str  # the path, for people reading the lock
    text: str
    language: str = ""


@dataclass
class VoiceLock:
    path: Path
    entries: dict[str, LockEntry] = field(default_factory=dict)
    transcripts: dict[str, LockedTranscript] = field(default_factory=dict)

    @classmethod
    def load(cls, config: ProjectConfig) -> VoiceLock:
        path = config.root / LOCK_NAME
        if not path.exists():
            return cls(path)
        problems: list[Problem] = []
        doc = TomlFile.load(path, LOCK_NAME, problems)
        if doc is None:
            raise InputError(problems)
        if doc.data.get("version", LOCK_VERSION) != LOCK_VERSION:
            raise InputError(
                [
                    doc.problem(
                        (),
                        "version",
                        f"lock version {doc.data.get('version')!r} is not supported (this charvoice writes {LOCK_VERSION})",
                    )
                ]
            )
        voices = doc.data.get("voices", {})
        if not isinstance(voices, dict):
            raise InputError([doc.problem((), "voices", "voices must be a table of characters")])
        entries = {}
        for character_id, raw in voices.items():
            try:
                entries[character_id] = LockEntry.from_toml(raw)
            except ValueError as exc:
                problems.append(
                    doc.problem(
                        ("voices", character_id),
                        None,
                        f"voices.{character_id} is not a valid entry ({exc}); delete that table and run `charvoice voices sync`",
                    )
                )
        transcripts: dict[str, LockedTranscript] = {}
        raw_transcripts = doc.data.get("transcripts", {})
        for sha, raw in (raw_transcripts if isinstance(raw_transcripts, dict) else {}).items():
            if not (
                isinstance(raw, dict) and isinstance(raw.get("text"), str) and isinstance(raw.get("sample", ""), str)
            ):
                problems.append(
                    doc.problem(
                        ("transcripts", sha),
                        None,
                        f"transcripts.{sha} must have a text; delete that table to transcribe the sample again",
                    )
                )
                continue
            transcripts[sha] = LockedTranscript(raw.get("sample", ""), raw["text"], str(raw.get("language", "")))
        if problems:
            raise InputError(problems)
        return cls(path, entries, transcripts)

    def save(self) -> None:
        data: dict[str, Any] = {
            "version": LOCK_VERSION,
            "voices": {cid: asdict(entry) for cid, entry in sorted(self.entries.items())},
        }
        if self.transcripts:
            data["transcripts"] = {sha: asdict(item) for sha, item in sorted(self.transcripts.items())}
        atomic_write_text(self.path, LOCK_HEADER + tomli_w.dumps(data))
