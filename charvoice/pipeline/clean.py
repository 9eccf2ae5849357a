"""Remove what no script asks for any more: orphaned manifest entries and the files charvoice
wrote for them (only files the manifest or the record of published files names: see
pipeline/published.py; a file charvoice did not write is never touched)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.fsutil import remove_stale_temps
from charvoice.pipeline.manifest import Manifest
from charvoice.pipeline.published import Published, import_sidecar, manifest_names
from charvoice.project.loader import Project


@dataclass
class CleanReport:
    entries: list[tuple[str, str]] = field(default_factory=list)  # (line id, locale) removed from the manifest
    files: list[Path] = field(default_factory=list)  # every file removed: assets, timings, their .import


def clean(project: Project, manifest: Manifest, *, dry_run: bool) -> CleanReport:
    """Find (and unless `dry_run`, remove) orphans; call through Workspace.clean for the lock."""
    output = project.config.output_dir
    current = {(line.id, line.locale) for line in project.lines}
    orphans = [(line_id, locale) for line_id, locale, _ in manifest.entries() if (line_id, locale) not in current]
    published = Published.load(output, manifest)
    still_named = manifest_names(manifest, skip=set(orphans))
    unneeded = sorted(published.names - still_named)
    report = CleanReport(entries=orphans)
    for name in unneeded:
        path = output / name
        if path.is_file() and not path.is_symlink():
            report.files.append(path)
            if import_sidecar(path).is_file():
                report.files.append(import_sidecar(path))
    if dry_run:
        return report
    for path in report.files:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # only when now empty
    remove_stale_temps(output)
    remove_stale_temps(project.config.cache_dir)
    if report.entries:  # only now: a dry run leaves the manifest (on disk and in memory) as it was
        for line_id, locale in report.entries:
            manifest.remove_entry(line_id, locale)
        manifest.publish([line_id for line_id, _ in report.entries])
    if unneeded:
        published.forget(unneeded)  # after the manifest: a kill between the two leaves them provable
    return report
