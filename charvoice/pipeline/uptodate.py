"""A remembered "everything is up to date", so a no-op `build` or `check` costs file stamps, not a plan.

When a full plan finds nothing to build, the verdict is saved in .charvoice/up-to-date.json
with a fingerprint of everything the plan read. The next `build` or `check` recomputes the
fingerprint from file stamps alone (no parsing, no hashing of lines, no numpy) and, when it
matches, reports the remembered verdict. Anything else means a full plan, as before.

The fingerprint is deliberately wider than what planning strictly needs, so it cannot go stale:
  - every file under the project root (path, size, mtime, inode), hidden folders and the
    output folder aside: scripts, characters and their samples, charvoice.toml (lexicon,
    audio and engine settings), charvoice.lock, approvals, recordings, approved takes;
  - every file and folder under each configured dialogue folder, hidden ones included;
  - the manifest's stamp, and every file of each folder that holds assets (a missing asset,
    or one whose size no longer matches the manifest, must be rebuilt);
  - the engine asked for (--engine), whether FISH_API_KEY is set (it decides which engine
    voices new lines), and charvoice's own source files (a new version may plan differently).
Stamps only prove a file unchanged when it was not written in the last moments before they
were taken (a same-size edit within the filesystem's timestamp tick looks identical), so no
verdict is saved while any stamped file is younger than RACY_SECONDS, as git does.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from charvoice.fsutil import atomic_write_text
from charvoice.project.config import ProjectConfig, api_key

STATE_NAME = "up-to-date.json"
GATE_NAME = "up-to-date-gate.json"
VERSION = 2
RACY_SECONDS = 2.0
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass
class Verdict:
    """What `build` and `check` report for an up-to-date project."""

    engine: str
    total: int
    notice: str = ""
    warnings: list[str] = field(default_factory=list)
    voicing_warnings: list[str] = field(default_factory=list)  # shown by `build` only
    skipped: list[str] = field(default_factory=list)
    orphans: list[tuple[str, str]] = field(default_factory=list)
    gate: dict[str, Any] = field(default_factory=dict)  # check's gate report (no extra checks asked)


@dataclass
class _Stamps:
    digest: str
    youngest_ns: int


def _walk(folder: Path, rows: list[str], skip: tuple[Path, ...], hidden: bool, youngest: list[int]) -> None:
    """Stamp every file below `folder` (os.scandir: one stat per file, none per folder entry)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError:
        rows.append(f"unreadable {folder}")
        return
    for entry in entries:
        if not hidden and entry.name.startswith("."):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if path in skip or entry.name == "__pycache__":
                continue
            rows.append(f"dir {entry.path}")
            _walk(path, rows, skip, hidden, youngest)
        else:
            try:
                stat = entry.stat()
            except OSError:
                rows.append(f"gone {entry.path}")
                continue
            _row(entry.path, stat, rows, youngest)


def _stamp(path: Path, rows: list[str], youngest: list[int]) -> None:
    try:
        stat = path.stat()
    except OSError:
        rows.append(f"missing {path}")
        return
    _row(str(path), stat, rows, youngest)


def _row(path: str, stat: os.stat_result, rows: list[str], youngest: list[int]) -> None:
    """One file's stamp, and the youngest modification time seen (racy files are not trusted)."""
    rows.append(f"{path} {stat.st_size} {stat.st_mtime_ns} {stat.st_ino}")
    youngest[0] = max(youngest[0], stat.st_mtime_ns)


def _dialogue_folders(config: ProjectConfig) -> list[Path]:
    folders = []
    for entry in config.dialogue:
        parts = Path(entry).parts
        fixed = [
            part for part in parts[: next((i for i, p in enumerate(parts) if any(c in p for c in "*?[")), len(parts))]
        ]
        target = config.root.joinpath(*fixed) if fixed else config.root
        folders.append(target if target.is_dir() else target.parent)
    return folders


def _stamps(config: ProjectConfig, engine: str | None, asset_folders: list[str]) -> _Stamps:
    rows = [f"version {VERSION}", f"engine {engine}", f"key {bool(api_key())}"]
    youngest = [0]
    root = config.root.resolve()
    output = config.output_dir.resolve()
    _walk(root, rows, (output,), False, youngest)
    for folder in _dialogue_folders(config):
        rows.append(f"dialogue {folder}")
        _walk(folder.resolve(), rows, (output,), True, youngest)
    package = [0]
    _walk(_PACKAGE, rows, (), False, package)  # charvoice's own code: its age does not matter
    _stamp(config.manifest_path, rows, youngest)
    for name in asset_folders:  # each asset: the plan compares its size with the manifest's
        folder = config.output_dir / name
        _stamp(folder, rows, youngest)
        _walk(folder, rows, (), True, youngest)
    return _Stamps(hashlib.sha256("\n".join(rows).encode("utf-8", "surrogateescape")).hexdigest(), youngest[0])


def _state_path(config: ProjectConfig) -> Path:
    return config.state_dir / STATE_NAME


def _gate_path(config: ProjectConfig) -> Path:
    return config.state_dir / GATE_NAME  # one case per line: read by `check` only


def remembered(config: ProjectConfig, engine: str | None, gate: bool = False) -> Verdict | None:
    """The saved verdict (with check's gate report if `gate`), if nothing it depends on has
    changed since; else None."""
    try:
        data = json.loads(_state_path(config).read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            return None
        stamps = _stamps(config, engine, list(data["asset_folders"]))
        if stamps.digest != data["digest"]:
            return None
        verdict = data["verdict"]
        verdict["orphans"] = [tuple(pair) for pair in verdict.get("orphans", [])]
        if gate:
            saved = json.loads(_gate_path(config).read_text(encoding="utf-8"))
            if saved.get("digest") != stamps.digest:
                return None
            verdict["gate"] = saved["gate"]
        return Verdict(**verdict)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(config: ProjectConfig, engine: str | None, verdict: Verdict, asset_folders: set[str]) -> bool:
    """Save the verdict of a full plan that found nothing to build (see the module docstring)."""
    folders = sorted(asset_folders)
    stamps = _stamps(config, engine, folders)
    if time.time_ns() - stamps.youngest_ns < RACY_SECONDS * 1e9:
        forget(config)
        return False
    fields = asdict(verdict)
    gate = fields.pop("gate")
    data = {"version": VERSION, "digest": stamps.digest, "asset_folders": folders, "verdict": fields}
    try:
        if gate:
            atomic_write_text(
                _gate_path(config), json.dumps({"digest": stamps.digest, "gate": gate}, ensure_ascii=False)
            )
        atomic_write_text(_state_path(config), json.dumps(data, ensure_ascii=False))
    except OSError:
        return False  # only a shortcut: the next run plans in full
    return True


def forget(config: ProjectConfig) -> None:
    with contextlib.suppress(OSError):
        _state_path(config).unlink()
