"""What `charvoice init` finds in a game folder: its dialogue scripts and who speaks in them.

Every `.yarn` and `.dialogue` file outside hidden folders, Godot's `.godot/` and `addons/` (the
dialogue addons' own examples); CSV/TSV tables only where the user names them. Each script is
read by the same parser `build` uses, so the speakers found are the ones `build` will look up.
"""

from __future__ import annotations

import glob
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.errors import InputError
from charvoice.project.formats import ParseContext, parse_file, script_locale, supported_extensions
from charvoice.project.formats.dm_version import dialogue_manager_version
from charvoice.project.lines import id_problem
from charvoice.project.speakers import SpeakerRules

SCRIPT_EXTENSIONS = (".yarn", ".dialogue")  # found by themselves; tables only when named
_SKIP_DIRS = {"addons", "node_modules", "build", "export", "Library", "Temp", "obj", "bin"}
_MARKUP = re.compile(r"\[[^\]]*\]|<[^>]*>")
_UNSAFE = re.compile(r"[^a-z0-9_-]+")


@dataclass
class Found:
    scripts: list[Path] = field(default_factory=list)  # relative to the folder
    entries: list[str] = field(default_factory=list)  # project.dialogue: folders' globs, or what was named
    lines: int = 0  # lines of dialogue read (voiced or not)
    speakers: dict[str, str] = field(default_factory=dict)  # character name -> id, first seen first
    aliases: dict[str, str] = field(default_factory=dict)  # a name as written -> character id
    runtime: Counter[str] = field(default_factory=Counter)  # runtime speaker -> lines
    problems: list[str] = field(default_factory=list)  # scripts that do not parse yet
    used: set[str] = field(default_factory=set)  # every character id a line is spoken by


def _walk(folder: Path, skip: set[Path]) -> list[Path]:
    found: list[Path] = []
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path in skip:
            continue
        if path.is_dir() and not path.is_symlink():
            if path.name not in _SKIP_DIRS:
                found.extend(_walk(path, skip))
        elif path.is_file() and path.suffix.lower() in SCRIPT_EXTENSIONS:
            found.append(path)
    return found


def _entries(folder: Path, scripts: list[Path]) -> list[str]:
    """One `<folder>/**/*.<ext>` glob per top-most folder holding scripts (`*.<ext>` at the root)."""
    by_dir: dict[Path, set[str]] = {}
    for script in scripts:
        by_dir.setdefault(script.parent.relative_to(folder), set()).add(script.suffix.lower())
    tops: dict[Path, set[str]] = {}
    for directory in sorted(by_dir, key=lambda d: len(d.parts)):
        top = next((t for t in tops if t != Path(".") and (t == directory or t in directory.parents)), directory)
        tops.setdefault(top, set()).update(by_dir[directory])
    entries = []
    for top, extensions in tops.items():
        for ext in sorted(extensions):
            entries.append(f"*{ext}" if top == Path(".") else f"{top.as_posix()}/**/*{ext}")
    return entries


def character_id(name: str, taken: set[str]) -> str:
    """A file name for a speaker: `Old Man` -> `old_man` (a numbered one when it is taken or unusable)."""
    base = _UNSAFE.sub("_", name.lower()).strip("_")[:60]
    if not base or id_problem(base) is not None:
        base = "speaker"
    candidate, number = base, 2
    while candidate in taken:
        candidate = f"{base}_{number}"
        number += 1
    return candidate


def discover(folder: Path, named: list[str], skip: set[Path], player: str, narrator: str, rules: SpeakerRules) -> Found:
    """Scripts (found, or `named` entries), their line count and speakers, as `build` will read them."""
    found = Found()
    if named:
        scripts: list[Path] = []
        for entry in named:
            target = folder / entry
            if target.is_dir():
                scripts.extend(p for p in sorted(target.rglob("*")) if p.suffix.lower() in supported_extensions())
            elif target.is_file():
                scripts.append(target)
            else:  # a glob, as project.dialogue takes them
                matches = sorted(glob.glob(str(target), recursive=True))
                scripts.extend(Path(p) for p in matches if Path(p).suffix.lower() in supported_extensions())
        found.entries = list(named)
    else:
        scripts = _walk(folder, skip)
        found.entries = _entries(folder, scripts)
    version = dialogue_manager_version(folder)
    taken = {player, narrator}
    known = {player.lower(): player, narrator.lower(): narrator}
    for script in scripts:
        display = script.relative_to(folder).as_posix()
        found.scripts.append(script.relative_to(folder))
        locale = script_locale(script, ("en",), "en")
        context = ParseContext(script.resolve(), display, locale, player, narrator, ("en",), version)
        try:
            parsed = parse_file(context)
        except InputError as error:
            found.problems.append(f"{display}: {len(error.problems)} problem(s), first: {error.problems[0]}")
            continue
        found.lines += len(parsed.lines) + len(parsed.skipped)
        for line in parsed.lines:
            if line.runtime_speaker:
                found.runtime[line.runtime_speaker] += 1
                continue
            written = line.character
            base, _ = rules.split(written)
            name = " ".join(_MARKUP.sub("", base).split()) or base
            key = name.lower()
            if key not in known:
                identifier = character_id(name, taken)
                taken.add(identifier)
                known[key] = identifier
                found.speakers[name] = identifier
            found.used.add(known[key])
            if name != base:
                found.aliases[base] = known[key]  # `[b]Sally[/b]` -> sally
    return found
