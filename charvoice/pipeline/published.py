"""The record of files charvoice wrote into the output folder: the only files it may remove.

The output folder is often the Godot project's `res://voice`, a natural home for other audio
(sound effects, music, an actor's file). A file is charvoice's when the manifest names it now
or this record names it: every asset and timings path is added here before the file is
written, so a build killed half way still leaves a record of it. `clean` removes only these
(and the Godot `.import` sidecar of exactly these); a build never writes over a file that
exists and is neither.

The record sits beside the manifest (`.charvoice-published.json`, hidden, so Godot does not
import it) and travels with the assets when the output folder is committed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from charvoice.fsutil import atomic_write_text
from charvoice.pipeline.manifest import Manifest
from charvoice.pipeline.plan import Job, files_of

RECORD_NAME = ".charvoice-published.json"
FORMAT = "charvoice-published"


def record_path(output_dir: Path) -> Path:
    return output_dir / RECORD_NAME


def _safe(name: object) -> str | None:
    """A relative '/' path inside the output folder, or None (a damaged or hand-edited record
    never points `clean` outside the folder)."""
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name:
        return None
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or pure.name in ("", RECORD_NAME):
        return None
    return pure.as_posix()


def manifest_names(manifest: Manifest, skip: set[tuple[str, str]] | None = None) -> set[str]:
    """Every asset and timings path the manifest names, but for the (line id, locale) in `skip`."""
    names = set()
    for line_id, locale, audio in manifest.entries():
        if skip and (line_id, locale) in skip:
            continue
        for name in (audio.path, audio.timings):
            safe = _safe(name)
            if safe:
                names.add(safe)
    return names


@dataclass
class Published:
    output_dir: Path
    names: set[str] = field(default_factory=set)  # relative to output_dir, '/' separated

    @classmethod
    def load(cls, output_dir: Path, manifest: Manifest) -> Published:
        """The record, plus every path the manifest names now. A missing or unreadable record
        proves nothing more than the manifest does (a project from before the record)."""
        names = manifest_names(manifest)
        try:
            data = json.loads(record_path(output_dir).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("files"), list):
            names.update(safe for safe in map(_safe, data["files"]) if safe)
        return cls(output_dir, names)

    def name_of(self, path: Path) -> str:
        return Path(os.path.relpath(path, self.output_dir)).as_posix()

    def claim(self, groups: Iterable[tuple[Path, ...]]) -> list[int]:
        """Record each group of paths (one line's files) as charvoice's before they are written,
        and save the record. Returns the indexes of groups with a path that exists already and is
        not charvoice's: nothing of those is recorded, and they must not be written."""
        refused = []
        before = len(self.names)
        for index, paths in enumerate(groups):
            names = [_safe(self.name_of(path)) for path in paths]
            if any(name is None for name in names):
                refused.append(index)
                continue
            new = [(name, path) for name, path in zip(names, paths, strict=True) if name not in self.names]
            if any(os.path.lexists(path) for _, path in new):
                refused.append(index)
                continue
            self.names.update(name for name, _ in new if name)
        if len(self.names) != before:
            self.save()
        return refused

    def forget(self, names: Iterable[str]) -> None:
        self.names.difference_update(names)
        self.save()

    def save(self) -> None:
        data = {"format": FORMAT, "version": 1, "files": sorted(self.names)}
        text = json.dumps(data, ensure_ascii=False, indent=0) + "\n"
        atomic_write_text(record_path(self.output_dir), text, durable=True)


def claim_jobs(output_dir: Path, manifest: Manifest, jobs: list[Job]) -> list[Job]:
    """Record the files `jobs` will write; the jobs that would write over a file charvoice did
    not make (returned) must not run. The record is read only when some job writes a path its
    manifest entry does not name already (a new line, a renamed id, another format)."""
    named = []
    for job in jobs:
        entry = manifest.entry(job.line.id, job.line.locale)
        if entry is None or entry.path != job.manifest_path:
            named.append(job)
    if not named:
        return []
    published = Published.load(output_dir, manifest)
    return [named[index] for index in published.claim(files_of(job) for job in named)]


def import_sidecar(path: Path) -> Path:
    """The Godot editor's import settings for `path`."""
    return path.with_name(path.name + ".import")
