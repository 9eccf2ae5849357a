"""What a person has signed off: approved takes and actors' recordings.

`charvoice.approvals.toml` (committed, written with tomli-w, atomically):

    [approved."intro.greet".en]
    take = 2
    text_sha256 = "…"        # the text that was approved
    source_key = "…"         # cache key of the approved raw audio
    file = "approved/en/intro.greet.wav"
    approved_at = 2026-11-24T02:10:00Z

    [recorded."intro.greet".en]
    sha256 = "…"             # the recording's bytes when first published
    text_sha256 = "…"        # the line's text at that time

An approved line keeps its take through model and parameter changes (its raw audio is copied
into the committed `approved/` folder, so a fresh CI machine ships exactly that take); only
the audio processing is re-applied. When its text changes it is voiced again and marked
"needs approval". A recording dropped into `recordings/` (`<locale>/<id>.<ext>`, or
`<id>.<ext>` for the default locale; named like the line's audio file when the id cannot be a
file name, e.g. `intro_greet-1a2b3c4d.wav` for `intro/greet`) replaces synthesis; when the script's text moves on it is
flagged "text changed since recording".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import tomli_w

from charvoice.errors import InputError, Problem
from charvoice.fsutil import atomic_write_text, file_sha256, text_sha256
from charvoice.project.config import ProjectConfig
from charvoice.project.schema import Field, MapOf, Table, TomlFile, validate

APPROVALS_NAME = "charvoice.approvals.toml"


@dataclass(frozen=True)
class ApprovedTake:
    take: int
    text_sha256: str  # the text that was approved
    source_key: str  # cache key of the approved raw audio
    file: str  # the committed copy, relative to the project root
    approved_at: datetime | None = None


@dataclass(frozen=True)
class RecordingNote:
    sha256: str  # the recording's bytes when first published
    text_sha256: str  # the line's text at that time


_APPROVED = Table(
    {
        "take": Field(int, minimum=0),
        "text_sha256": Field(str),
        "source_key": Field(str),
        "file": Field(str),
        "approved_at": Field(datetime, default=None),
    }
)
_RECORDED = Table({"sha256": Field(str), "text_sha256": Field(str)})
SCHEMA = Table({"approved": MapOf(MapOf(_APPROVED)), "recorded": MapOf(MapOf(_RECORDED))})


@dataclass
class Approvals:
    path: Path
    approved: dict[str, dict[str, ApprovedTake]] = field(default_factory=dict)  # id -> locale -> take
    recorded: dict[str, dict[str, RecordingNote]] = field(default_factory=dict)

    @classmethod
    def load(cls, config: ProjectConfig) -> Approvals:
        path = config.root / APPROVALS_NAME
        if not path.is_file():
            return cls(path)
        problems: list[Problem] = []
        doc = TomlFile.load(path, APPROVALS_NAME, problems)
        values = validate(doc, SCHEMA, problems) if doc is not None else {}
        if problems:
            raise InputError(problems)
        return cls(
            path,
            {lid: {loc: ApprovedTake(**entry) for loc, entry in by.items()} for lid, by in values["approved"].items()},
            {lid: {loc: RecordingNote(**entry) for loc, entry in by.items()} for lid, by in values["recorded"].items()},
        )

    def approval(self, line_id: str, locale: str) -> ApprovedTake | None:
        return self.approved.get(line_id, {}).get(locale)

    def save(self) -> None:
        data: dict[str, Any] = {}
        if self.approved:
            data["approved"] = {
                lid: {loc: {k: v for k, v in asdict(take).items() if v is not None} for loc, take in by.items()}
                for lid, by in self.approved.items()
            }
        if self.recorded:
            data["recorded"] = {
                lid: {loc: asdict(note) for loc, note in by.items()} for lid, by in self.recorded.items()
            }
        header = "# Approved takes and recordings (charvoice approve / build). Commit this file.\n"
        atomic_write_text(self.path, header + tomli_w.dumps(data), durable=True)

    def approve(self, line_id: str, locale: str, take: int, text: str, source_key: str, file: str) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        self.approved.setdefault(line_id, {})[locale] = ApprovedTake(take, text_sha256(text), source_key, file, now)

    def note_recording(self, line_id: str, locale: str, sha256: str, text: str) -> bool:
        """Remember the text a recording was made for (on its first publish); True if changed."""
        note = self.recorded.get(line_id, {}).get(locale)
        if note is not None and note.sha256 == sha256:
            return False
        self.recorded.setdefault(line_id, {})[locale] = RecordingNote(sha256, text_sha256(text))
        return True

    def recording_text_changed(self, line_id: str, locale: str, sha256: str, text: str) -> bool:
        note = self.recorded.get(line_id, {}).get(locale)
        return note is not None and note.sha256 == sha256 and note.text_sha256 != text_sha256(text)


class FileHashes:
    """sha256 of files, remembered by size and mtime so unchanged recordings are not re-read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._known: dict[str, list] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self._known = {}
        self._dirty = False

    def sha256(self, file: Path) -> str:
        stat = file.stat()
        key = str(file)
        known = self._known.get(key)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            return known[2]
        digest = file_sha256(file)
        self._known[key] = [stat.st_size, stat.st_mtime_ns, digest]
        self._dirty = True
        return digest

    def save(self) -> None:
        if self._dirty:
            atomic_write_text(self.path, json.dumps(self._known))
            self._dirty = False
