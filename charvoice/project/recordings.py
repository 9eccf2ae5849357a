"""Actors' recordings that replace synthesis: `<recordings>/<id>.<ext>` for the default locale,
`<recordings>/<locale>/<id>.<ext>` for the others. The loader asks (a line with no words is voiced
when a recording is there) and so does the plan (a recording pins the line's audio)."""

from __future__ import annotations

from pathlib import Path

from charvoice.project.config import ProjectConfig

RECORDING_EXTENSIONS = (".wav", ".flac", ".ogg", ".mp3", ".m4a", ".opus")


def find_recordings(config: ProjectConfig) -> dict[tuple[str, str], Path]:
    """(line id, locale) -> the recording that replaces synthesis."""
    folder = config.recordings_dir
    found: dict[tuple[str, str], Path] = {}
    if folder is None or not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in RECORDING_EXTENSIONS:
            found[(path.stem, config.default_locale)] = path
    for locale in config.locales:
        locale_dir = folder / locale
        if locale_dir.is_dir():
            for path in sorted(locale_dir.iterdir()):
                if path.is_file() and path.suffix.lower() in RECORDING_EXTENSIONS:
                    found[(path.stem, locale)] = path
    return found
