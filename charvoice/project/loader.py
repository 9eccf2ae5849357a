"""A whole project in memory: config, characters and every line of every script, validated."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from charvoice.errors import InputError, Problem
from charvoice.project import links
from charvoice.project.characters import Character, CharacterIndex, load_characters
from charvoice.project.config import ProjectConfig, find_root, load_config
from charvoice.project.formats import (
    ParseContext,
    parse_file,
    script_locale,
    supported_extensions,
)
from charvoice.project.id_index import IdIndex
from charvoice.project.lines import Line, ParsedScript, line_id_problem
from charvoice.project.recordings import find_recordings
from charvoice.project.speakers import check_speaker_targets, find_speaker, has_words, unmapped_warning
from charvoice.project.speech_text import direction_table, resolve_tag, unknown_direction_warnings
from charvoice.project.voice_files import VoiceFiles
from charvoice.text_words import speakable


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
    # Each script's lines, in `lines` order; `watch` gets the same list back for a script that
    # did not change, so the plan can skip it.
    by_script: dict[Path, list[Line]] = field(default_factory=dict)
    # Lower-cased ids shared by two or more ids: their audio files take a hashed name.
    colliding: set[str] = field(default_factory=set)
    # Lines charvoice plays nothing for: no words (`...`, `???`), or voiced by their own [#voice]
    # file; the manifest marks them silent.
    silent: list[Line] = field(default_factory=list)
    # Lines with direction tags or a note: an engine with its own rule for direction warns about them.
    directed: list[Line] = field(default_factory=list)

    def lines_from(self, script: Path) -> list[Line]:
        display = self.config.relative(script)
        return [line for line in self.lines if line.file == display]


def find_scripts(config: ProjectConfig, warnings: list[str] | None = None) -> list[Path]:
    """Every script under the configured dialogue folders and globs, in a stable order; an
    entry that yields no script is a warning (a typo in a glob would otherwise voice nothing)."""
    extensions = supported_extensions()
    found: dict[Path, None] = {}
    problems: list[Problem] = []
    root = config.root.resolve()
    for entry in config.dialogue:
        named = Path(os.path.normpath(config.root / entry))
        target = (config.root / entry).resolve()  # once: resolving each script costs a stat per folder
        if _inside(named, root) and not _inside(target, root) and os.path.lexists(named):
            links.followed(named, root, problems)  # the entry itself links out of the project
            continue
        if target.is_dir():
            matches = list(links.walk(target, root, extensions, problems))
        elif target.is_file():
            matches = [target]
        elif any(ch in entry for ch in "*?["):
            matches = []
            for name in sorted(glob.glob(str(named), recursive=True)):
                path = Path(name)
                if path.name.startswith("."):
                    continue
                if _inside(path, root) and (path.is_symlink() or not _inside(path.resolve(), root)):
                    resolved = links.followed(path, root, problems)  # a link: followed inside, refused out
                    if resolved is None:
                        continue
                    path = resolved
                if path.is_file():
                    matches.append(path)
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
                found[path.resolve() if path.is_symlink() else path] = None
    if problems:
        raise InputError(problems)
    return list(found)


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def script_context(config: ProjectConfig, script: Path, stem: str = "") -> ParseContext:
    """How a script is read: its locale (`intro.fr.yarn` is French), who speaks choices and
    narration, and the stem of its provisional ids (`stem`, from id_stems)."""
    locale = script_locale(script, config.locales, config.default_locale)
    return ParseContext(
        script,
        config.relative(script),
        locale,
        config.player_character,
        config.narrator,
        config.locales,
        config.dialogue_manager,
        stem,
    )


def id_stems(config: ProjectConfig, scripts: list[Path]) -> dict[Path, str]:
    """Scripts whose file name another folder's script shares (`act1/intro.dialogue`,
    `act2/intro.dialogue`) -> a folder-qualified stem (`act1/intro`), so their untagged lines
    get different provisional ids; `build` and `tag` both use it. Translations beside the
    original (`intro.fr.yarn`) share its stem, as they share its ids."""
    folders: dict[str, set[Path]] = {}
    stems: dict[Path, str] = {}
    for script in scripts:
        stem = script_context(config, script).base_stem.lower()
        folders.setdefault(stem, set()).add(script.parent)
        stems[script] = stem
    qualified = {}
    for script, stem in stems.items():
        if len(folders[stem]) > 1:  # qualified by the folders below the ones they share
            folder = script.parent.relative_to(Path(os.path.commonpath(folders[stem]))).as_posix()
            base = script_context(config, script).base_stem
            qualified[script] = f"{folder}/{base}" if folder != "." else base
    return qualified


@dataclass
class ScriptLines:
    """One script read: its lines with speakers resolved to character ids, what is wrong in it,
    and the sets the project-wide checks combine (so those cost a set union, not a loop)."""

    lines: list[Line]
    problems: list[Problem]
    warnings: list[str]
    skipped: list[str]
    locales: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    keys: frozenset[tuple[str, str]] = frozenset()  # (id, locale) of the lines with audio of their own
    simple: bool = True  # no shadow lines, and no key twice
    directed: tuple[Line, ...] = ()  # the lines with direction tags or a direction note
    unmapped: tuple[str, ...] = ()  # the runtime speaker of each line no [speakers] runtime entry maps
    silent: tuple[Line, ...] = ()  # lines charvoice plays nothing for: no words, or their own [#voice] file


def read_script(context: ParseContext, characters: CharacterIndex, config: ProjectConfig) -> ScriptLines:
    """Parse one script and resolve its speakers; InputError when it cannot be parsed at all."""
    return _resolve(parse_file(context), characters, config)


def _resolve(parsed: ParsedScript, index: CharacterIndex, config: ProjectConfig) -> ScriptLines:
    problems: list[Problem] = []
    lines: list[Line] = []
    skipped = list(parsed.skipped)
    unmapped: list[str] = []
    silent: list[Line] = []
    for line in parsed.lines:
        if line.runtime_speaker:
            named = config.speakers.for_runtime(line.runtime_speaker)
            if named is None:
                unmapped.append(line.runtime_speaker)
                why = f"speaker {line.runtime_speaker} is known only at run time (map it in [speakers] runtime)"
                skipped.append(f"{line.source}: {why}")
                continue
            line = replace(line, character=named, runtime_speaker="")
        character, expression = find_speaker(line.character, index, config.speakers)
        if character is None:
            who = {
                config.player_character: " (player choices are spoken by project.player_character)",
                config.narrator: " (lines that name no speaker are spoken by project.narrator)",
            }
            message = f"unknown character {line.character!r}{index.suggestion(line.character)}"
            problems.append(Problem(line.file, message + who.get(line.character, ""), line.line_number))
            continue
        bad = line_id_problem(line.id)
        if bad:
            problems.append(Problem(line.file, bad, line.line_number))
            continue
        if expression:  # `Mira.Smile:` -> mira, with "smile" as the line's direction
            line = replace(line, direction=(expression.lower(), *line.direction))
        line = line if line.character == character.id else replace(line, character=character.id)
        if line.voice_file:  # Dialogue Manager plays the line's own file ([#voice=...]): nothing to synthesise
            if _voice_files(config).resolve(line.voice_file) is None:
                message = f"[#voice={line.voice_file}]: no such file in the Godot project (moved or deleted?)"
                problems.append(Problem(line.file, message, line.line_number))
                continue
            silent.append(line)
            skipped.append(f"{line.source}: recorded ({line.voice_file}, Dialogue Manager plays it); not synthesised")
            continue
        if line.audio_of is None and not has_words(speakable(line.text)) and not _voiced_on_purpose(line, config):
            silent.append(line)
            skipped.append(f"{line.source}: no words ({line.text!r}); not voiced, the game shows it silently")
            continue
        lines.append(line)
    ids = frozenset(line.id for line in lines)
    voiced = [(line.id, line.locale) for line in lines if line.audio_of is None]
    keys = frozenset(voiced)
    return ScriptLines(
        lines,
        problems,
        parsed.warnings,
        skipped,
        locales=frozenset(line.locale for line in lines),
        ids=ids,
        keys=keys,
        simple=len(keys) == len(voiced) == len(lines),
        directed=tuple(line for line in lines if line.direction or line.direction_note),
        unmapped=tuple(unmapped),
        silent=tuple(silent),
    )


_VOICE_FILES: dict[Path, VoiceFiles] = {}


def _voice_files(config: ProjectConfig) -> VoiceFiles:
    root = config.godot_project or config.root
    found = _VOICE_FILES.get(root)
    if found is None:
        found = _VOICE_FILES[root] = VoiceFiles(root)
    return found


def _voiced_on_purpose(line: Line, config: ProjectConfig) -> bool:
    """A line with no words is voiced when an actor's recording is there for it, or when the
    project's engine is Fish (it takes cues) and the line's direction maps to a cue (`... #sigh`)."""
    if config.engine == "fish":
        table = direction_table(config)
        if any(resolve_tag(tag, table) for tag in (*line.direction, line.direction_note) if tag):
            return True
    return (line.id, line.locale) in find_recordings(config)


class ScriptCache:
    """Scripts read before, by path and content, so `watch` re-reads only the scripts that changed.
    A script that did not change comes back as the same ScriptLines object (same `lines` list):
    the id index and the plan memo recognise it by identity. Resolved speakers depend on the
    characters and the config, so a change to either resolves every script again (parsing
    stays cached)."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[Path, str], tuple[bytes, ParsedScript]] = {}
        self._read: dict[tuple[Path, str], ScriptLines] = {}
        self._contexts: dict[Path, ParseContext] = {}
        self._settings: tuple[ProjectConfig, dict[str, Character]] | None = None
        self.ids = IdIndex()

    def read(self, script: Path, characters: CharacterIndex, config: ProjectConfig, stem: str = "") -> ScriptLines:
        if self._settings != (config, characters.characters):
            self._read.clear()
            self._contexts.clear()
            self._settings = (config, characters.characters)
        context = self._contexts.get(script)
        if context is None or context.qualified_stem != stem:
            if context is not None:  # another script of the same name came or went: other provisional ids
                self._parsed.pop((context.path, context.locale), None)
                self._read.pop((context.path, context.locale), None)
            context = self._contexts[script] = script_context(config, script, stem)
        key = (context.path, context.locale)
        try:
            content = context.path.read_bytes()
        except OSError:
            return read_script(context, characters, config)  # which reports the problem
        hit = self._parsed.get(key)
        if hit is None or hit[0] != content:
            self._parsed[key] = hit = (content, parse_file(context))
            self._read.pop(key, None)
        known = self._read.get(key)
        if known is None:
            known = self._read[key] = _resolve(hit[1], characters, config)
        return known


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

    problems: list[Problem] = check_speaker_targets(config, index)
    stems = id_stems(config, scripts)
    reads: dict[Path, ScriptLines] = {}
    for script in scripts:
        try:
            read = (
                scripts_cache.read(script, index, config, stems.get(script, ""))
                if scripts_cache
                else read_script(script_context(config, script, stems.get(script, "")), index, config)
            )
        except InputError as error:
            problems.extend(error.problems)
            continue
        reads[script] = read
        problems.extend(read.problems)
    lines = [line for read in reads.values() for line in read.lines]
    warnings.extend(warning for read in reads.values() for warning in read.warnings)
    skipped = [entry for read in reads.values() for entry in read.skipped]
    warnings.extend(unmapped_warning([name for read in reads.values() for name in read.unmapped]))
    ids = scripts_cache.ids if scripts_cache else IdIndex()
    ids.update(reads)
    if ids.shared_keys or not all(read.simple for read in reads.values()):
        _check_ids_across_scripts(lines, problems, warnings)  # a twice-used id, or shadow lines to check
    if problems:
        raise InputError(problems)
    locales = set().union(*(read.locales for read in reads.values()))
    if locales <= {config.default_locale} and len(config.locales) <= 1:
        fallbacks: dict[str, dict[str, str]] = {}  # one language: nothing to fall back on, nothing orphaned
    else:
        fallbacks, locale_warnings = _locale_coverage(lines, config)
        warnings.extend(locale_warnings)
    directed = [line for read in reads.values() for line in read.directed]
    voicing = unknown_direction_warnings(directed, config)
    by_script = {script: read.lines for script, read in reads.items()}
    silent = [line for read in reads.values() for line in read.silent]
    return Project(
        config, characters, lines, scripts, warnings, skipped, fallbacks, voicing, by_script, ids.colliding, silent,
        directed,
    )  # fmt: skip


def _check_ids_across_scripts(lines: list[Line], problems: list[Problem], warnings: list[str]) -> None:
    """Each (id, locale) once in the whole project; each shadow line names a line that exists."""
    seen: dict[tuple[str, str], Line] = {}
    shadows: list[tuple[str, Line]] = []  # (the id of the line it shadows, the shadow line)
    for line in lines:
        if line.audio_of is not None:
            shadows.append((line.audio_of, line))
            continue
        key = (line.id, line.locale)  # exact: Yarn Spinner and Dialogue Manager tell ids apart by case
        other = seen.setdefault(key, line)
        if other is not line:
            problems.append(
                Problem(line.file, f"duplicate line id {line.id!r}: also at {other.source}", line.line_number)
            )
    for shadowed, line in shadows:
        source = seen.get((shadowed, line.locale))
        if source is None and not any(key[0] == shadowed for key in seen):
            problems.append(
                Problem(
                    line.file,
                    f"shadow line refers to line {shadowed!r}, which no script defines",
                    line.line_number,
                )
            )
        elif source is not None and source.text != line.text:
            warnings.append(
                f"{line.source}: shadow line's text differs from line {source.id!r} at {source.source}; it plays that line's audio"
            )


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
