"""A whole project in memory: config, characters and every line of every script, validated."""

from __future__ import annotations

import glob
from dataclasses import dataclass, field, replace
from pathlib import Path

from charvoice.errors import InputError, Problem
from charvoice.project.characters import Character, CharacterIndex, load_characters
from charvoice.project.config import ProjectConfig, find_root, load_config
from charvoice.project.formats import (
    ParseContext,
    parse_file,
    script_locale,
    supported_extensions,
)
from charvoice.project.lines import Line, ParsedScript, line_id_problem
from charvoice.project.speech_text import unknown_direction_warnings


@dataclass
class Project:
    config: ProjectConfig
    characters: dict[str, Character]
    lines: list[Line]
    scripts: list[Path]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    # line id -> {locale with no text of its own: the locale whose audio plays instead}
    fallbacks: dict[str, dict[str, str]] = field(default_factory=dict)
    # Warnings that matter only to commands that voice lines (a direction tag with no cue).
    voicing_warnings: list[str] = field(default_factory=list)

    def lines_from(self, script: Path) -> list[Line]:
        display = self.config.relative(script)
        return [line for line in self.lines if line.file == display]


def find_scripts(config: ProjectConfig, warnings: list[str] | None = None) -> list[Path]:
    """Every script under the configured dialogue folders and globs, in a stable order; an
    entry that yields no script is a warning (a typo in a glob would otherwise voice nothing)."""
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
            message = f"dialogue entry {entry!r} is not a folder, file or glob that exists"
            problems.append(Problem("charvoice.toml", message, config.dialogue_line))
            continue
        if not matches and warnings is not None:
            where = f"charvoice.toml:{config.dialogue_line}" if config.dialogue_line else "charvoice.toml"
            kinds = " ".join(sorted(extensions))
            warnings.append(f"{where}: dialogue entry {entry!r} matches no script ({kinds})")
        for path in matches:
            if not path.name.startswith("."):  # editor swap and temp files
                found[path.resolve()] = None
    if problems:
        raise InputError(problems)
    return list(found)


def script_context(config: ProjectConfig, script: Path) -> ParseContext:
    """How a script is read: its locale (`intro.fr.yarn` is French), who speaks choices and narration."""
    locale = script_locale(script, config.locales, config.default_locale)
    return ParseContext(
        script, config.relative(script), locale, config.player_character, config.narrator, config.locales
    )


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


def load_project(
    start: Path | None = None, root: Path | None = None, scripts_cache: ScriptCache | None = None
) -> Project:
    """Read and validate everything; InputError lists every problem found across all files."""
    root = root or find_root(start or Path.cwd())
    config = load_config(root)
    characters = load_characters(config)
    index = CharacterIndex(characters)
    warnings: list[str] = []
    scripts = find_scripts(config, warnings)

    problems: list[Problem] = []
    lines: list[Line] = []
    skipped: list[str] = []
    for script in scripts:
        context = script_context(config, script)
        try:
            parsed = scripts_cache.parse(context) if scripts_cache else parse_file(context)
        except InputError as error:
            problems.extend(error.problems)
            continue
        warnings.extend(parsed.warnings)
        skipped.extend(parsed.skipped)
        for line in parsed.lines:
            character = index.find(line.character)
            file, number = line.file, line.line_number
            if character is None:
                who = {
                    config.player_character: " (player choices are spoken by project.player_character)",
                    config.narrator: " (lines that name no speaker are spoken by project.narrator)",
                }
                problems.append(
                    Problem(
                        file,
                        f"unknown character {line.character!r}{index.suggestion(line.character)}{who.get(line.character, '')}",
                        number,
                    )
                )
                continue
            lines.append(replace(line, character=character.id))

    seen: dict[tuple[str, str], Line] = {}
    for line in lines:
        file, number = line.file, line.line_number
        bad = line_id_problem(line.id)
        if bad:
            problems.append(Problem(file, bad, number))
            continue
        if line.audio_of is not None:
            continue  # a shadow line: checked below against the line it shadows
        key = (line.id, line.locale)  # exact: Yarn Spinner and Dialogue Manager tell ids apart by case
        other = seen.get(key)
        if other is not None:
            problems.append(Problem(file, f"duplicate line id {line.id!r}: also at {other.source}", number))
            continue
        seen[key] = line
    for line in lines:
        if line.audio_of is None:
            continue
        file, number = line.file, line.line_number
        source = seen.get((line.audio_of, line.locale))
        if source is None and not any(key[0] == line.audio_of for key in seen):
            problems.append(
                Problem(file, f"shadow line refers to line {line.audio_of!r}, which no script defines", number)
            )
        elif source is not None and source.text != line.text:
            warnings.append(
                f"{line.source}: shadow line's text differs from line {source.id!r} at {source.source}; it plays that line's audio"
            )
    if problems:
        raise InputError(problems)
    fallbacks, locale_warnings = _locale_coverage(lines, config)
    warnings.extend(locale_warnings)
    voicing = unknown_direction_warnings(lines, config)
    return Project(config, characters, lines, scripts, warnings, skipped, fallbacks, voicing)


def _locale_coverage(lines: list[Line], config: ProjectConfig) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Which lines lack a locale (they fall back to the default locale's audio), as warnings."""
    default = config.default_locale
    present: dict[str, set[str]] = {}
    first: dict[str, Line] = {}
    for line in lines:
        if line.audio_of is None:
            present.setdefault(line.id, set()).add(line.locale)
            if line.locale == default or line.id not in first:
                first[line.id] = line
    fallbacks: dict[str, dict[str, str]] = {}
    warnings: list[str] = []
    for locale in config.locales:
        if locale == default:
            continue
        missing = [line_id for line_id, locales in present.items() if default in locales and locale not in locales]
        for line_id in missing:
            fallbacks.setdefault(line_id, {})[locale] = default
        if missing:
            warnings.append(
                f"{len(missing)} line(s) have no {locale!r} text and will play the {default!r} audio: {_listing(missing, first)}"
            )
    orphans = [line_id for line_id, locales in present.items() if default not in locales]
    if orphans:
        warnings.append(
            f"{len(orphans)} translated line(s) have no {default!r} original (is the id right?): {_listing(orphans, first)}"
        )
    return fallbacks, warnings


def _listing(line_ids: list[str], lines: dict[str, Line], shown: int = 5) -> str:
    text = ", ".join(f"{line_id} ({lines[line_id].source})" for line_id in line_ids[:shown])
    return text + (f" and {len(line_ids) - shown} more" if len(line_ids) > shown else "")
