"""A whole project in memory: config, characters and every line of every script, validated."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field, replace
from pathlib import Path

from charvoice.characters import Character, CharacterIndex, load_characters
from charvoice.config import ProjectConfig, find_root, load_config
from charvoice.errors import InputError, Problem
from charvoice.formats import ParseContext, parse_file, supported_extensions
from charvoice.lines import Line, ParsedScript, id_problem


@dataclass
class Project:
    config: ProjectConfig
    characters: dict[str, Character]
    lines: list[Line]
    scripts: list[Path]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def lines_from(self, script: Path) -> list[Line]:
        display = self.config.relative(script)
        return [line for line in self.lines if line.file == display]


def find_scripts(config: ProjectConfig) -> list[Path]:
    """Every script under the configured dialogue folders and globs, in a stable order."""
    extensions = supported_extensions()
    found: dict[Path, None] = {}
    problems: list[Problem] = []
    for entry in config.dialogue:
        target = config.root / entry
        if target.is_dir():
            matches = [p for p in sorted(target.rglob("*")) if p.is_file() and p.suffix.lower() in extensions]
        elif target.is_file():
            matches = [target]
        elif any(ch in entry for ch in "*?["):
            matches = [Path(p) for p in sorted(glob.glob(str(target), recursive=True)) if Path(p).is_file()]
        else:
            problems.append(Problem("charvoice.toml", f"dialogue entry {entry!r} is not a folder, file or glob that exists"))
            continue
        for path in matches:
            if not path.name.startswith("."):  # editor swap and temp files
                found[path.resolve()] = None
    if problems:
        raise InputError(problems)
    return list(found)


class ScriptCache:
    """Parsed scripts by path and content, so `watch` re-parses only the scripts that changed."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[Path, str], tuple[bytes, ParsedScript]] = {}

    def parse(self, context: ParseContext) -> ParsedScript:
        key = (context.path, context.locale)
        try:
            content = context.path.read_bytes()
        except OSError:
            return parse_file(context)  # which reports the problem with the file's name
        hit = self._parsed.get(key)
        if hit is not None and hit[0] == content:
            return hit[1]
        parsed = parse_file(context)
        self._parsed[key] = (content, parsed)
        return parsed


def load_project(start: Path | None = None, root: Path | None = None, scripts_cache: ScriptCache | None = None) -> Project:
    """Read and validate everything; InputError lists every problem found across all files."""
    root = root or find_root(start or Path.cwd())
    config = load_config(root)
    characters = load_characters(config)
    index = CharacterIndex(characters)
    scripts = find_scripts(config)

    problems: list[Problem] = []
    lines: list[Line] = []
    warnings: list[str] = []
    skipped: list[str] = []
    for script in scripts:
        context = ParseContext(script, config.relative(script), config.default_locale, config.player_character)
        try:
            parsed = scripts_cache.parse(context) if scripts_cache else parse_file(context)
        except InputError as error:
            problems.extend(error.problems)
            continue
        warnings.extend(parsed.warnings)
        skipped.extend(parsed.skipped)
        for line in parsed.lines:
            character = index.find(line.character)
            file, _, number = line.source.rpartition(":")
            if character is None:
                problems.append(Problem(file, f"unknown character {line.character!r}{index.suggestion(line.character)}", int(number)))
                continue
            lines.append(replace(line, character=character.id))

    seen: dict[tuple[str, str], Line] = {}
    for line in lines:
        file, _, number = line.source.rpartition(":")
        bad = id_problem(line.id, "line id")
        if bad:
            problems.append(Problem(file, bad, int(number)))
            continue
        key = (line.id.lower(), line.locale)
        other = seen.get(key)
        if other is not None and line.audio_of is None:
            same = "" if other.id == line.id else f" (as {other.id!r}; ids must differ in more than case)"
            problems.append(Problem(file, f"duplicate line id {line.id!r}: also at {other.source}{same}", int(number)))
            continue
        seen[key] = line
    if problems:
        raise InputError(problems)
    return Project(config, characters, lines, scripts, warnings, skipped)
