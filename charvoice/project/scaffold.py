"""`charvoice init`: a project in an existing game folder that voices the game's own dialogue,
never overwriting a file.

It points `dialogue` at the game's scripts (discover.py), writes a character file with a
scratch voice for every speaker they name (and the player and narrator), and, in a Godot
project, the `.gdignore` files the addon's README asks for. Only a folder without scripts gets
the example script.
"""

from __future__ import annotations

import glob
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from charvoice.errors import CharvoiceError
from charvoice.project.discover import Found, discover
from charvoice.project.speakers import SpeakerRules, runtime_key

PLAYER, NARRATOR = "player", "narrator"
_TABLES = (".csv", ".tsv")


@dataclass
class InitReport:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there, left alone
    skipped: list[Path] = field(default_factory=list)  # examples not added beside the team's own files
    existing_project: bool = False  # the folder already had charvoice.toml: nothing was added
    found: Found | None = None  # the game's scripts and speakers (None: no scripts, the example was added)
    characters: Path = Path("characters")  # where the character files went


def _holds_user_files(folder: Path, relative: Path) -> bool:
    """An example goes only into an empty characters/ or dialogue/ folder: next to a team's own
    characters and scripts it would be voiced (or clash with their narrator)."""
    return (
        relative.parent != Path(".") and folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())
    )


def _characters_folder(folder: Path) -> Path:
    """`characters/`, unless the game already uses that name for its own files (scenes, sprites):
    then `charvoice/characters/`, so nothing of the game's is mixed with voices or hidden from Godot."""
    target = folder / "characters"
    if not target.exists() or (
        target.is_dir() and all(p.suffix == ".toml" or p.name.startswith(".") for p in target.iterdir())
    ):
        return Path("characters")
    return Path("charvoice/characters")


def _template(name: str) -> str:
    return resources.files("charvoice.templates").joinpath(name).read_text(encoding="utf-8")


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string


def _speaker_tables(found: Found | None) -> str:
    rows = []
    if found and found.aliases:
        pairs = ", ".join(f"{_toml_string(name)} = {_toml_string(cid)}" for name, cid in found.aliases.items())
        rows.append(f"aliases = {{ {pairs} }}  # a name as the scripts write it -> character")
    else:
        rows.append('# aliases = { "[b]Sally[/b]" = "sally" }  # a name as the scripts write it -> character')
    if found and found.runtime:
        shown = ", ".join(f"{_toml_string(runtime_key(name))} = {_toml_string(NARRATOR)}" for name in found.runtime)
        rows.append(f"# runtime = {{ {shown} }}  # who voices a speaker known only at run time")
    else:
        rows.append('# runtime = { "$catName" = "cat" }  # who voices a speaker known only at run time')
    return "\n".join(rows) + "\n"


def _character(name: str, identifier: str) -> str:
    return _template("character.toml").replace("{name}", _toml_string(name)).replace("{id}", identifier)


def init_project(folder: Path, output: str | None = None, dialogue: list[str] | None = None) -> InitReport:
    if not folder.is_dir():
        raise CharvoiceError(f"{folder} is not a folder (charvoice init works in an existing game folder)")
    report = InitReport()
    if (folder / "charvoice.toml").exists():
        # Already a project: an example character or script would be voiced with its real lines.
        report.kept.append(Path("charvoice.toml"))
        report.existing_project = True
        return report
    godot = (folder / "project.godot").is_file()
    output = output or ("voice" if godot else "game/voice")
    characters = _characters_folder(folder)
    report.characters = characters
    for entry in dialogue or []:
        if not (folder / entry).exists() and not glob.glob(str(folder / entry), recursive=True):
            raise CharvoiceError(f"--dialogue {entry!r}: no such file or folder in {folder}")
    found = discover(folder, dialogue or [], {folder / output}, PLAYER, NARRATOR, SpeakerRules())
    files: dict[Path, str] = {}
    if found.scripts:
        report.found = found
        entries = found.entries
    else:
        entries = ["dialogue"]
        files[Path("dialogue/example.csv")] = _template("example.csv")
    files = {
        Path("charvoice.toml"): _template("charvoice.toml")
        .replace("{dialogue}", json.dumps(entries, ensure_ascii=False))
        .replace("{output}", output)
        .replace("{godot_project}", "." if godot else "")
        .replace("{speaker_tables}", _speaker_tables(report.found))
        .replace("{characters}", characters.as_posix()),
        characters / "narrator.toml": _template("narrator.toml"),
        characters / f"{PLAYER}.toml": _character("Player", PLAYER),
        **{characters / f"{cid}.toml": _character(name, cid) for name, cid in found.speakers.items()},
        **files,
    }
    if godot:
        files.update({folder_ / ".gdignore": "" for folder_ in _ignored_folders(folder, characters, found, files)})
    for relative, text in files.items():
        target = folder / relative
        if target.exists():
            report.kept.append(relative)
            continue
        if relative.suffix == ".csv" and _holds_user_files(target.parent, relative):
            report.skipped.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:  # "x": never replace a file
            handle.write(text)
        report.created.append(relative)
    return report


def _ignored_folders(folder: Path, characters: Path, found: Found, files: dict[Path, str]) -> list[Path]:
    """Folders Godot must not import (the addon README): characters/ (voice samples) and folders
    that hold only CSV/TSV scripts (Godot reads every .csv as a translation table)."""
    tables = {path.parent for path in [*found.scripts, *files] if path.suffix.lower() in _TABLES}
    keep = {path.parent for path in found.scripts if path.suffix.lower() not in _TABLES}
    only_tables = {
        table
        for table in tables - keep - {Path("."), characters}
        if not (folder / table).is_dir()  # the example's folder, about to be made
        or all(p.suffix.lower() in _TABLES or p.name.startswith(".") for p in (folder / table).iterdir())
    }
    return [characters, *sorted(only_tables)]  # a folder with other files too stays visible: Godot needs them
