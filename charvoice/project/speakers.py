"""How the speaker names scripts write map to characters (`[speakers]` in charvoice.toml).

Games name speakers in ways that are not character names: `Mira.Smile:` (a portrait
expression after the name), `[b]Sally[/b]:` (markup around it), `{$catName}:` (a variable the
game fills in at run time). One project-wide rule covers them:

    [speakers]
    pattern = "{character}.{expression}"        # `Mira.Smile` -> mira, direction "smile"
    aliases = { "[b]Sally[/b]" = "sally" }      # a name as written -> character id or name
    runtime = { "$catName" = "cat" }            # a runtime speaker -> character id or name

A name is looked up as written first (alias, then a character's id or name), then through the
pattern. `pattern = ""` turns the pattern off.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from charvoice.errors import Problem
from charvoice.project.schema import Field, MapOf, Table, TomlFile

if TYPE_CHECKING:  # config imports this module
    from charvoice.project.characters import Character, CharacterIndex
    from charvoice.project.config import ProjectConfig

DEFAULT_PATTERN = "{character}.{expression}"
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
SPEAKERS_SCHEMA = Table(
    {"pattern": Field(str, DEFAULT_PATTERN), "aliases": MapOf(Field(str)), "runtime": MapOf(Field(str))}
)


def compile_pattern(pattern: str) -> tuple[re.Pattern[str] | None, str]:
    """(the regex of a `{character}.{expression}` pattern, or None; why it is invalid, or "")."""
    if not pattern:
        return None, ""
    names = _PLACEHOLDER.findall(pattern)
    unknown = [name for name in names if name not in ("character", "expression")]
    if unknown:
        return None, f"speakers.pattern knows {{character}} and {{expression}}, not {{{unknown[0]}}}"
    if names.count("character") != 1 or names.count("expression") > 1:
        return None, "speakers.pattern must hold {character} once (and {expression} at most once)"
    regex = ""
    last = 0
    for match in _PLACEHOLDER.finditer(pattern):
        regex += re.escape(pattern[last : match.start()])
        regex += "(?P<character>.+?)" if match.group(1) == "character" else "(?P<expression>.+?)"
        last = match.end()
    regex += re.escape(pattern[last:])
    return re.compile(regex), ""


def runtime_key(expression: str) -> str:
    """`{$catName}` (Yarn) -> `$catName`, `{{ name }}` (Dialogue Manager) -> `name`; a name with
    text around the value (`Captain {{name}}`) is kept as written."""
    match = re.fullmatch(r"\s*\{\{?([^{}]*)\}\}?\s*", expression)
    return match.group(1).strip() if match else expression.strip()


@dataclass(frozen=True)
class SpeakerRules:
    pattern: str = DEFAULT_PATTERN
    aliases: dict[str, str] = field(default_factory=dict)  # lower-cased written name -> character
    runtime: dict[str, str] = field(default_factory=dict)  # runtime_key -> character
    lines: dict[str, int] = field(default_factory=dict)  # "aliases"/"runtime" -> its line in charvoice.toml

    def split(self, name: str) -> tuple[str, str]:
        """(the character part of `name`, the expression) by the pattern; (name, "") when it does not match."""
        regex, _ = compile_pattern(self.pattern)
        match = regex.fullmatch(name.strip()) if regex else None
        if match is None:
            return name, ""
        expression = match.groupdict().get("expression") or ""
        return match.group("character").strip(), expression.strip()

    def alias(self, name: str) -> str | None:
        return self.aliases.get(name.strip().lower())

    def for_runtime(self, expression: str) -> str | None:
        return self.runtime.get(runtime_key(expression))


def speaker_rules(doc: TomlFile, values: dict, problems: list[Problem]) -> SpeakerRules:
    """The validated `[speakers]` table (whether each character exists is checked with the characters)."""
    _, why = compile_pattern(values["pattern"])
    if why:
        problems.append(doc.problem(("speakers",), "pattern", why))
    for key in ("aliases", "runtime"):
        for name, character in values[key].items():
            if not name.strip() or not character.strip():
                problems.append(doc.problem(("speakers",), key, f"speakers.{key}: {name!r} = {character!r} is empty"))
    return SpeakerRules(
        pattern="" if why else values["pattern"],
        aliases={name.strip().lower(): character.strip() for name, character in values["aliases"].items()},
        runtime={runtime_key(name): character.strip() for name, character in values["runtime"].items()},
        lines={key: doc.line_of(("speakers",), key) or 0 for key in ("aliases", "runtime")},
    )


def find_speaker(name: str, index: CharacterIndex, rules: SpeakerRules) -> tuple[Character | None, str]:
    """(the character a written speaker name means, the expression the pattern found in it)."""
    alias = rules.alias(name)
    found = index.find(alias if alias is not None else name)
    if found is not None or alias is not None:
        return found, ""
    base, expression = rules.split(name)
    if not expression and base == name:
        return None, ""
    alias = rules.alias(base)
    return index.find(alias if alias is not None else base), expression


def check_speaker_targets(config: ProjectConfig, index: CharacterIndex) -> list[Problem]:
    """Every alias and runtime entry names a character that exists."""
    problems = []
    for key, table in (("aliases", config.speakers.aliases), ("runtime", config.speakers.runtime)):
        for name, character in table.items():
            if index.find(character) is None:
                folder = config.relative(config.characters_dir)
                message = f"speakers.{key}: {name!r} names character {character!r}, which has no file in {folder}/"
                message += index.suggestion(character)
                problems.append(Problem("charvoice.toml", message, config.speakers.lines.get(key) or None))
    return problems


def unmapped_warning(names: list[str]) -> list[str]:
    """One warning counting the lines whose runtime speaker no `[speakers] runtime` entry maps."""
    if not names:
        return []
    counts = Counter(names)
    shown = ", ".join(f"{name} ({count})" for name, count in counts.most_common(8))
    return [
        f"{len(names)} line(s) have a speaker known only at run time and are not voiced: {shown}; "
        f'map them in charvoice.toml: [speakers] runtime = {{ "{runtime_key(counts.most_common(1)[0][0])}" = "<character>" }}'
    ]


def has_words(text: str) -> bool:
    """Whether a line says anything: `...`, `…`, `???`, `—`, `"..."` do not."""
    return any(ch.isalnum() for ch in text)
