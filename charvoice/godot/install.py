"""Godot: install the CharVoice addon into a Godot project, and tell where it finds the manifest.

The addon's source of truth is `plugin_godot/addons/charvoice/` in the repository. A wheel
carries a copy as package data in `charvoice/godot_addon/` (pyproject.toml maps it there at build
time); a source checkout or editable install reads the repository folder directly.

`install_addon` copies it to `<project>/addons/charvoice/` and records what it wrote in a
hidden file there (Godot ignores dot files), so the next install can tell files you changed
from files it shipped: it updates its own files and refuses to overwrite yours without force.

The rules the addon reads the manifest by live in the GDScript; their Python reference, which the
tests run against it on one table of cases, is tests/addon_rules.py.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.errors import CharvoiceError
from charvoice.fsutil import atomic_write_bytes, atomic_write_text

ADDON_NAME = "charvoice"
ADDON_DIR = Path("addons") / ADDON_NAME
RECORD_NAME = ".charvoice-install.json"
DEFAULT_MANIFEST_PATH = "res://voice/voice_manifest.json"  # the addon's manifest_path default
MANIFEST_SETTING = "charvoice/general/manifest_path"

# Never shipped: editor byproducts (Godot 4.4 writes .uid files next to scripts), caches.
_SKIPPED_SUFFIXES = (".uid", ".import", ".pyc", ".tmp")


@dataclass
class InstallReport:
    target: Path
    version: str = ""
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # shipped before, gone from this version
    overwritten: list[str] = field(default_factory=list)  # local changes replaced (force)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed or self.overwritten)


def addon_source() -> Path:
    """The addon folder this charvoice ships: package data in a wheel, the repository otherwise."""
    package = Path(__file__).resolve().parents[1]
    for folder in (package / "godot_addon", package.parent / "plugin_godot" / "addons" / ADDON_NAME):
        if (folder / "plugin.cfg").is_file():
            return folder
    raise CharvoiceError("the Godot addon is missing from this charvoice installation (reinstall charvoice)")


def shipped_files(source: Path | None = None) -> dict[str, bytes]:
    """Relative posix path -> content of every file of the addon."""
    source = source or addon_source()
    files: dict[str, bytes] = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if not path.is_file() or any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
            continue
        if path.name.endswith(_SKIPPED_SUFFIXES):
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def addon_version(files: dict[str, bytes]) -> str:
    match = re.search(r'^version="([^"]*)"', files.get("plugin.cfg", b"").decode("utf-8", "replace"), re.MULTILINE)
    return match.group(1) if match else ""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_record(target: Path) -> dict[str, str]:
    try:
        data = json.loads((target / RECORD_NAME).read_text(encoding="utf-8"))
        files = data.get("files", {})
        return {str(k): str(v) for k, v in files.items()} if isinstance(files, dict) else {}
    except (OSError, ValueError, AttributeError):
        return {}


def install_addon(project: Path, force: bool = False, source: Path | None = None) -> InstallReport:
    """Copy the addon into `project`/addons/charvoice. Files changed since the last install (or
    present without one) are local changes: refused, with nothing written, unless `force`."""
    if not (project / "project.godot").is_file():
        raise CharvoiceError(f"{project.as_posix()} is not a Godot project (it has no project.godot)")
    files = shipped_files(source)
    target = project / ADDON_DIR
    record = _read_record(target)
    report = InstallReport(target=target, version=addon_version(files))
    writes: dict[str, bytes] = {}
    removals: list[str] = []
    conflicts: list[str] = []

    for relative, data in files.items():
        destination = target / relative
        if not destination.is_file():
            if destination.exists():
                raise CharvoiceError(
                    f"{destination.as_posix()} is in the way (not a file): move it away and install again"
                )
            report.created.append(relative)
            writes[relative] = data
            continue
        current = _sha256(destination.read_bytes())
        if current == _sha256(data):
            report.unchanged.append(relative)
        elif record.get(relative) == current:
            report.updated.append(relative)
            writes[relative] = data
        else:
            conflicts.append(relative)
            writes[relative] = data
    for relative, recorded in sorted(record.items()):
        destination = target / relative
        if relative in files or not destination.is_file():
            continue
        if _sha256(destination.read_bytes()) != recorded:
            conflicts.append(relative)
        removals.append(relative)

    if conflicts and not force:
        shown = "\n".join(f"  {(ADDON_DIR / relative).as_posix()}" for relative in conflicts)
        raise CharvoiceError(
            f"{len(conflicts)} addon file(s) in {project.as_posix()} differ from what charvoice installed "
            f"(changed locally?):\n{shown}\nNothing was written. Keep a copy of your changes, then run again with --force to replace them."
        )
    report.overwritten = [relative for relative in conflicts if relative in files]
    for relative, data in writes.items():
        atomic_write_bytes(target / relative, data)
    for relative in removals:
        (target / relative).unlink()
        report.removed.append(relative)
    record_text = json.dumps(
        {
            "note": "Written by `charvoice godot install`: the files it installed and their sha256, to tell your changes from its own.",
            "version": report.version,
            "files": {relative: _sha256(data) for relative, data in files.items()},
        },
        indent=1,
    )
    atomic_write_text(target / RECORD_NAME, record_text + "\n")
    return report


def res_path(project: Path, file: Path) -> str | None:
    """`file` as a res:// path of the Godot project in `project`, or None when it lies outside."""
    try:
        relative = file.resolve().relative_to(project.resolve())
    except ValueError:
        return None
    return "res://" + relative.as_posix() if relative.parts else "res://"


def manifest_hint(project: Path) -> str | None:
    """What to set so the addon finds the manifest of the charvoice project that feeds the Godot
    project in `project` (found from there upwards), or None when the defaults already fit."""
    from charvoice.project.config import (  # only needed for this hint
        find_root,
        load_config,
    )

    try:
        config = load_config(find_root(project))
    except CharvoiceError:
        return None
    if config.godot_project is not None and config.godot_project.resolve() != project.resolve():
        return None  # that charvoice project feeds another Godot project
    manifest = res_path(project, config.manifest_path)
    if manifest is None:
        return (
            f"charvoice.toml writes the voice to {config.relative(config.output_dir)}, outside this Godot project: "
            "set [project] output to a folder inside it (such as voice under the Godot project)"
        )
    if manifest != DEFAULT_MANIFEST_PATH:
        return f"set the project setting {MANIFEST_SETTING} to {manifest} (Project Settings > General > CharVoice)"
    return None
