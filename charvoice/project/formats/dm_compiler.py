"""Rules of Dialogue Manager's compiler that decide who speaks and where a line goes, mirrored
from its source (addons/dialogue_manager/compiler/compilation.gd, and components/parser.gd in 2.x)."""

from __future__ import annotations

import re

from charvoice.errors import Problem
from charvoice.project.formats.common import ParseContext, PhysicalLine, Scan
from charvoice.project.formats.dm_version import Rules

# Tags, ids (with the space before one, which the compiler drops with it) and escapes: never where a speaker ends.
_MASKED = re.compile(r"\[#.*?\]| ?\[ID:.*?\]|\\.")
_TAGS = re.compile(r"\[#(.*?)\]")
_JUMP_TARGET = re.compile(r"(?:^|\s)=><?\s*(.*?)\s*$")
_ID_OR_TAGS = re.compile(r"\[#([^\]]*)\]|\[ID:([^\]]*)\]")


def split_speaker(content: str, start: int, end: int, rules: Rules) -> tuple[str, int, list[str]]:
    """(the speaker as written, where the text starts, tags written before the split), as the
    compiler splits: at the first `": "` (2.x: the first `:`) outside tags, ids and escapes
    (`\\:` is a colon in the text). ("", start, []) when the line names no speaker."""
    masked = _MASKED.sub(lambda m: "\x00" * len(m.group()), content[:end])
    separator = ":" if rules.split_any_colon else ": "
    position = masked.find(separator, start)
    if position < 0:
        return "", start, []
    before = content[start:position]
    tags = [tag.strip().lstrip("#").strip() for m in _TAGS.finditer(before) for tag in m.group(1).split(",")]
    speaker = _MASKED.sub("", before).strip()
    if not speaker:
        return "", start, []
    return speaker, position + len(separator), [tag for tag in tags if tag]


def check_jumps(lines: list[PhysicalLine], titles: set[str], context: ParseContext, result: Scan) -> None:
    """A jump to a title no `~ title` defines is an error, as in the compiler (imported titles
    `file/title` and computed jumps `=> {{...}}` are left to the game)."""
    for physical in lines:
        body = physical.content.strip()
        if body.startswith("#") or body.startswith("~"):
            continue
        match = _JUMP_TARGET.search(_ID_OR_TAGS.sub("", physical.content))
        if match is None:
            continue
        target = match.group(1).strip()
        if not target or target in ("END", "END!") or target in titles or "/" in target or "{{" in target:
            continue
        column = physical.content.find("=>") + 1
        what = f"jump to {target!r}: no '~ {target}' title in this file"
        result.problems.append(Problem(context.display, what, physical.number, column))
