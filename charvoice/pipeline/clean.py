"""Remove what no script asks for any more: orphaned manifest entries and asset files."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.fsutil import remove_stale_temps
from charvoice.pipeline.manifest import Manifest
from charvoice.project.config import AUDIO_FORMATS
from charvoice.project.loader import Project
from charvoice.timings.format import SUFFIX as TIMINGS_SUFFIX


@dataclass
class CleanReport:
    entries: list[tuple[str, str]] = field(default_factory=list)  # (line id, locale) removed from the manifest
    files: list[Path] = field(default_factory=list)  # asset (and timings) files removed


def _asset_files(output: Path, locales: set[str]) -> list[Path]:
    """Files charvoice may have written: <output>/<locale>/<character>/<id>.<audio ext> and
    <id>.timings.json."""
    found = []
    for locale_dir in output.iterdir() if output.is_dir() else ():
        if not locale_dir.is_dir() or (locale_dir.name not in locales and not any(locale_dir.rglob("*.*"))):
            continue
        for path in locale_dir.glob("*/*"):
            ours = path.suffix.lstrip(".") in AUDIO_FORMATS or path.name.endswith(TIMINGS_SUFFIX)
            if ours and path.is_file() and not path.name.startswith("."):
                found.append(path)
    return sorted(found)


def clean(project: Project, manifest: Manifest, *, dry_run: bool) -> CleanReport:
    """Find (and unless `dry_run`, remove) orphans; call through Workspace.clean for the lock."""
    config = project.config
    current = {(line.id, line.locale) for line in project.lines}
    orphans = [(line_id, locale) for line_id, locale, _ in manifest.entries() if (line_id, locale) not in current]
    report = CleanReport(entries=orphans)
    gone = set(orphans)
    referenced = {
        os.path.normpath(config.output_dir / name)
        for line_id, locale, audio in manifest.entries()
        if (line_id, locale) not in gone
        for name in (audio.path, audio.timings)
        if name
    }
    locales = set(config.locales) | {locale for _, locale in report.entries}
    report.files = [
        path for path in _asset_files(config.output_dir, locales) if os.path.normpath(path) not in referenced
    ]
    if dry_run:
        return report
    for path in report.files:
        for victim in (path, path.with_name(path.name + ".import")):  # Godot's import sidecar
            with contextlib.suppress(FileNotFoundError):
                victim.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when now empty
    remove_stale_temps(config.output_dir)
    remove_stale_temps(config.cache_dir)
    if report.entries:  # only now: a dry run leaves the manifest (on disk and in memory) as it was
        for line_id, locale in report.entries:
            manifest.remove_entry(line_id, locale)
        manifest.publish([line_id for line_id, _ in report.entries])
    return report
