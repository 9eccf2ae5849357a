"""A line's direction as Fish Audio's cues: what is sent, per model family and `engine.fish.cues`.

The writer's direction is a line's tags (`#angry`, `[#mood=sad]`, a `direction` column) and a
Yarn trailing `// comment` (Yarn Spinner's VoiceOver sample writes `// tentative` there).
Sources: ../shared/fish-api/emotions.mdx and models-overview.mdx.

- S2 family (`[bracket]` cues, "free-form natural language ... not limited to a fixed set of
  tags"). `cues = "free"` (the default): every tag is sent, through `[direction]` when it maps
  there (a cue of "" silences it) and as written otherwise, and so is the comment; a
  `key:value` tag whose key is not a direction word (`camera:close`) is the game's, not sent.
  `cues = "mapped"`: only what `[direction]` maps (unknown tags are reported). `"off"`: none.
- S1 (`(parenthesis)` cues, "a fixed tag set"): only the tags the models overview lists; a
  mapped cue outside them is replaced by the nearest listed one or dropped, with one warning.

Placement (emotions.mdx, "Placement Rules"): sentence-level cues "work best at the beginning of
sentences", several combine as `[sad][whispering]`; a line's direction is sentence-level, so its
cues open the line. The cues are part of the text sent: billed and counted by the cost preview.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from charvoice.engines.fish.settings import fish_cue_style, fish_settings
from charvoice.project.config import ProjectConfig
from charvoice.project.lines import Line
from charvoice.project.speech_text import (
    _VALUE_KEYS,
    direction_table,
    render_direction,
    resolve_tag,
    unknown_tag_warning,
)

# models-overview.mdx, "S1 Voice Styles and Emotions": basic, advanced, tone markers, audio effects.
S1_TAGS = frozenset(
    (  # noqa: SIM905 (a word list reads better than 66 quoted strings)
        "angry,sad,excited,surprised,satisfied,delighted,scared,worried,upset,nervous,frustrated,depressed,"
        "empathetic,embarrassed,disgusted,moved,proud,relaxed,grateful,confident,interested,curious,confused,joyful,"
        "disdainful,unhappy,anxious,hysterical,indifferent,impatient,guilty,scornful,panicked,furious,reluctant,"
        "keen,disapproving,negative,denying,astonished,serious,sarcastic,conciliative,comforting,sincere,sneering,"
        "hesitating,yielding,painful,awkward,amused,"
        "in a hurry tone,shouting,screaming,whispering,soft tone,"
        "laughing,chuckling,sobbing,crying loudly,sighing,panting,groaning,crowd laughing,background laughter,"
        "audience laughing"
    ).split(",")
)
# Cues S1 does not list, with the listed tag nearest in meaning (none: the cue is dropped).
S1_SUBSTITUTES = {
    "happy": "joyful", "calm": "relaxed", "ashamed": "embarrassed", "bored": "indifferent",
    "compassionate": "empathetic", "sympathetic": "empathetic", "contemptuous": "scornful",
    "disappointed": "unhappy", "doubtful": "hesitating", "uncertain": "hesitating", "lonely": "sad",
    "regretful": "guilty", "pessimistic": "negative", "determined": "serious", "resigned": "reluctant",
    "optimistic": "confident", "hopeful": "keen",
}  # fmt: skip
MODES = ("free", "mapped", "off")


@dataclass(frozen=True)
class Cues:
    """What one line's direction becomes for the configured model."""

    sent: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()  # tags with no cue, not sent (mapped mode, or S1)
    changed: tuple[tuple[str, str], ...] = ()  # S1: (cue, the listed tag sent instead)
    dropped: tuple[str, ...] = ()  # S1: cues it does not list, not sent


def free_text(tag: str) -> str:
    """A tag as a free-form cue: `mood=sad` and `tone:dry` give their value, `_` is a space;
    brackets, which would end the cue, are removed."""
    text = tag.strip()
    key, sep, value = text.partition("=") if "=" in text else text.partition(":")
    if sep and key.strip().lower() in _VALUE_KEYS and value.strip():
        text = value
    return " ".join(re.sub(r"[\[\]()]", " ", text.replace("_", " ")).split())


def _metadata(tag: str) -> bool:
    """`camera:close`, `portrait=sad`: a key the game reads, not a direction (mood=, tone:... are)."""
    match = re.match(r"\s*([^:=\s]+)\s*[:=]", tag)
    return match is not None and match.group(1).lower() not in _VALUE_KEYS


def line_cues(direction: Iterable[str], note: str, mode: str, style: str, table: dict[str, str]) -> Cues:
    """What `direction` and `note` become in `mode` (engine.fish.cues) for a model whose cues
    are written in `style`, with the project's [direction] `table`."""
    if mode == "off":
        return Cues()
    free = style == "bracket" and mode == "free"
    sent: list[str] = []
    unknown: list[str] = []
    changed: list[tuple[str, str]] = []
    dropped: list[str] = []
    items = [(tag, False) for tag in direction] + ([(note, True)] if note else [])
    for tag, is_note in items:
        cue = resolve_tag(tag, table)
        if cue is None:  # not in [direction]
            if not free or (not is_note and _metadata(tag)):
                if not is_note:  # a comment that maps nothing is a note for the actor, not a tag
                    unknown.append(tag)
                continue
            cue = free_text(tag)
        if not cue:
            continue
        if style == "paren" and cue not in S1_TAGS:
            substitute = S1_SUBSTITUTES.get(cue)
            if substitute is None:
                dropped.append(cue)
                continue
            changed.append((cue, substitute))
            cue = substitute
        if cue not in sent:
            sent.append(cue)
    return Cues(tuple(sent), tuple(unknown), tuple(changed), tuple(dropped))


class FishDirection:
    """The Direction capability of the Fish engine (engines/capabilities.py): the settings and
    the [direction] table are read once, not for every line."""

    def __init__(self, config: ProjectConfig) -> None:
        fish = fish_settings(config)
        self.mode = fish.cues
        self.style = fish_cue_style(fish.model)
        self.table = direction_table(config)

    def cues(self, direction: Iterable[str], note: str) -> Cues:
        return line_cues(direction, note, self.mode, self.style, self.table)

    def with_cues(self, text: str, direction: tuple[str, ...], note: str) -> str:
        """The text sent for a line: its cues, in the model's syntax, open it."""
        return render_direction(text, list(self.cues(direction, note).sent), self.style)

    def warnings(self, lines: Iterable[Line]) -> list[str]:
        """One warning per tag that is not voiced, and one for the cues S1 does not list."""
        unknown: dict[str, list[str]] = {}
        s1: dict[str, list[str]] = {}
        for line in lines:
            cues = self.cues(line.direction, line.direction_note)
            for tag in cues.unknown:
                unknown.setdefault(tag.lower(), []).append(line.source)
            for cue, substitute in cues.changed:
                s1.setdefault(f"{cue} -> {substitute}", []).append(line.source)
            for cue in cues.dropped:
                s1.setdefault(f"{cue} (dropped)", []).append(line.source)
        warnings = [unknown_tag_warning(tag, sources) for tag, sources in unknown.items()]
        if s1:
            listed = "; ".join(f"{what} ({_lines(sources)}, first at {sources[0]})" for what, sources in s1.items())
            warnings.append(
                f"Fish S1 takes only the tags its model overview lists, and not these cues: {listed}. Map them in "
                "charvoice.toml [direction] to a listed tag, or use an S2 model (free-form cues)"
            )
        return warnings


def _lines(sources: list[str]) -> str:
    return "1 line" if len(sources) == 1 else f"{len(sources)} lines"
