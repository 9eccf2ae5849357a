"""The exact text an engine is asked to speak: the line's text without emoji and other symbols
(text_words.speakable; they stay in the subtitles), after the pronunciation lexicon, with the
writer's direction rendered as the engine model's cue syntax.

Lexicon: `[lexicon]` in charvoice.toml and in a character's file (the character's wins) rewrites
whole words before synthesis. An all-lower-case entry (`gorp = "gorrp"`) matches the word in
any capitalisation; an entry with capitals (`US = "U.S."`) matches only as written or in
capitals, so it never rewrites "us". The replacement takes the capitalisation the writer used
(`Kerrowan` -> `Kerro-wan`, `KERROWAN` -> `KERRO-WAN`). Words in scripts written without spaces
(Chinese, Japanese) are matched anywhere.

Direction: a line's tags (`#angry`, `[#whispering]`, a `direction` column) are looked up in
`[direction]` (tag -> cue; the defaults below, plus the project's table, which wins; a cue of
"" silences a tag). `mood=sad`, `tone:sarcastic` and `emotion:angry` look up their value.
Cues are written in the engine's style (its capabilities' `cue_style`): `(cue)` at the start of
the line for Fish S1, `[cue]` for the S2 family (docs.fish.audio, "Emotion Control"), none for the
offline scratch voice. An engine may have its own rule for which cues go (its capabilities'
`direction`: Fish sends free-form cues on S2 models). Tags that are not voiced are reported once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig
from charvoice.project.lines import Line
from charvoice.text_words import speakable

# Tag -> cue, in the words Fish Audio's emotion and tone markers use.
DEFAULT_DIRECTION: dict[str, str] = {
    **{
        emotion: emotion
        for emotion in [
            "happy",
            "sad",
            "angry",
            "excited",
            "calm",
            "nervous",
            "confident",
            "surprised",
            "satisfied",
            "delighted",
            "scared",
            "worried",
            "upset",
            "frustrated",
            "depressed",
            "empathetic",
            "embarrassed",
            "disgusted",
            "moved",
            "proud",
            "relaxed",
            "grateful",
            "curious",
            "sarcastic",
            "disdainful",
            "unhappy",
            "anxious",
            "hysterical",
            "indifferent",
            "uncertain",
            "doubtful",
            "confused",
            "disappointed",
            "regretful",
            "guilty",
            "ashamed",
            "jealous",
            "envious",
            "hopeful",
            "optimistic",
            "pessimistic",
            "nostalgic",
            "lonely",
            "bored",
            "contemptuous",
            "sympathetic",
            "compassionate",
            "determined",
            "resigned",
            "shouting",
            "screaming",
            "whispering",
            "laughing",
            "chuckling",
            "sobbing",
            "sighing",
            "groaning",
            "panting",
            "gasping",
            "yawning",
        ]
    },
    "whisper": "whispering",
    "whispered": "whispering",
    "shout": "shouting",
    "shouted": "shouting",
    "yelling": "shouting",
    "yell": "shouting",
    "scream": "screaming",
    "soft": "soft tone",
    "gentle": "soft tone",
    "hurried": "in a hurry tone",
    "hurry": "in a hurry tone",
    "crying": "crying loudly",
    "cheerful": "happy",
    "joyful": "delighted",
    "warm": "empathetic",
    "annoyed": "frustrated",
    "irritated": "frustrated",
    "furious": "angry",
    "afraid": "scared",
    "fearful": "scared",
    "terrified": "scared",
    "shocked": "surprised",
    "suspicious": "doubtful",
    "tired": "resigned",
    "laugh": "laughing",
    "sigh": "sighing",
    "sob": "sobbing",
    "neutral": "",
}
_VALUE_KEYS = ("mood", "tone", "emotion", "emote", "direction", "style", "voice")


def direction_table(config: ProjectConfig) -> dict[str, str]:
    return {**DEFAULT_DIRECTION, **config.direction}


def resolve_tag(tag: str, table: dict[str, str]) -> str | None:
    """The cue for one tag ("" for a known tag with no cue), or None when the tag is unknown."""
    name = tag.strip().lower()
    if name in table:
        return table[name]
    key, sep, value = re.split(r"([:=])", name, maxsplit=1) if re.search(r"[:=]", name) else (name, "", "")
    if sep and key.strip() in _VALUE_KEYS and value.strip() in table:
        return table[value.strip()]
    return None


def render_direction(text: str, cues: list[str], style: str) -> str:
    if not cues or not style:
        return text
    open_, close = ("[", "]") if style == "bracket" else ("(", ")")
    return "".join(f"{open_}{cue}{close}" for cue in cues) + " " + text


def unknown_direction_warnings(lines: Iterable[Line], config: ProjectConfig) -> list[str]:
    """One warning per tag [direction] does not map: how many lines use it and where the first
    one is. An engine with a rule of its own (Fish) replaces these (Workspace.open)."""
    table = direction_table(config)
    found: dict[str, list[str]] = {}
    for line in lines:
        for tag in line.direction:
            if resolve_tag(tag, table) is None:
                found.setdefault(tag.lower(), []).append(line.source)
    return [unknown_tag_warning(tag, sources) for tag, sources in found.items()]


def unknown_tag_warning(tag: str, sources: list[str]) -> str:
    """The warning for a direction tag no cue voices, used at `sources` (file:line, in order)."""
    count = "1 line" if len(sources) == 1 else f"{len(sources)} lines"
    return (
        f"direction tag {tag!r} ({count}, first at {sources[0]}) has no cue and is not voiced; "
        f'map it in charvoice.toml: [direction] {tag.split(":")[0].split("=")[0]} = "angry" (or "" to silence it)'
    )


def _is_unspaced(ch: str) -> bool:
    """Han, kana, hangul: scripts without spaces between words, where \\b means nothing."""
    code = ord(ch)
    return (
        0x2E80 <= code <= 0x9FFF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFF00 <= code <= 0xFFEF
        or 0x20000 <= code <= 0x3FFFF
    )


def _match_case(found: str, replacement: str) -> str:
    if found.isupper() and len(found) > 1:
        return replacement.upper()
    if found[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


@lru_cache(maxsize=256)
def _compile(entries: tuple[tuple[str, str], ...]) -> re.Pattern[str] | None:
    if not entries:
        return None
    alternatives = []
    # Longest first so "Xal'thar Prime" wins over "Xal'thar".
    for word, _ in sorted(entries, key=lambda entry: len(entry[0]), reverse=True):
        before = "" if _is_unspaced(word[0]) else r"(?<!\w)"
        after = "" if _is_unspaced(word[-1]) else r"(?!\w)"
        alternatives.append(before + re.escape(word) + after)
    return re.compile("|".join(f"({alternative})" for alternative in alternatives), re.IGNORECASE)


def _entry_for(found: str, lexicon: dict[str, str]) -> str | None:
    """The lexicon key `found` stands for, honouring how each key is capitalised."""
    if found in lexicon:
        return found
    for word in lexicon:
        if word.lower() == found.lower() and (word.islower() or found == word.upper()):
            return word
    return None


def apply_lexicon(text: str, lexicon: dict[str, str]) -> str:
    """Rewrite whole words, case-aware (see the module doc), keeping the writer's capitalisation."""
    pattern = _compile(tuple(sorted(lexicon.items())))
    if pattern is None:
        return text

    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        word = _entry_for(found, lexicon)
        return found if word is None else _match_case(found, lexicon[word])

    return pattern.sub(replace, text)


def prepare(
    text: str,
    character: Character,
    config: ProjectConfig,
    *,
    direction: tuple[str, ...] = (),
    style: str = "",
    note: str = "",
    write_cues: Callable[[str, tuple[str, ...], str], str] | None = None,
) -> str:
    """The text to send for a line: project lexicon, then the character's (which wins), then
    the direction cues. An engine with its own rule for direction passes it as `write_cues`
    (Fish: free-form cues on S2 models, S1's tag set); otherwise the tags map through
    `[direction]` and are written in `style` ("paren": `(cue)`, "bracket": `[cue]`, "": none),
    and `note` (a Yarn `// tentative` comment) adds a cue only when the whole note maps."""
    spoken = apply_lexicon(speakable(text), {**config.lexicon, **character.lexicon})  # emoji stay in subtitles
    if write_cues is not None:
        return write_cues(spoken, direction, note) if direction or note else spoken
    table = direction_table(config)
    if note and resolve_tag(note, table):
        direction = (*direction, note)
    if not style or not direction:
        return spoken
    cues: list[str] = []
    for tag in direction:
        cue = resolve_tag(tag, table)
        if cue and cue not in cues:
            cues.append(cue)
    return render_direction(spoken, cues, style)
