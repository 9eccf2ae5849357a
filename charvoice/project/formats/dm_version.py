"""Which Dialogue Manager a Godot project ships, and which of its compiler's rules apply.

A game pins its Dialogue Manager (`addons/dialogue_manager/plugin.cfg`, `version="3.9.1"`), and
scripts are read the way that version's compiler reads them (the differences that change what
is spoken or who speaks it; dialogue_manager.py). Without a plugin.cfg: the newest rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_PLUGIN_VERSION = re.compile(r'^\s*version\s*=\s*"?\s*v?(\d+(?:\.\d+)*)', re.MULTILINE)


def dialogue_manager_version(godot_project: Path) -> tuple[int, ...] | None:
    """The version in the game's addons/dialogue_manager/plugin.cfg, or None."""
    try:
        text = (godot_project / "addons" / "dialogue_manager" / "plugin.cfg").read_text(
            encoding="utf-8", errors="replace"
        )
    except OSError:
        return None
    match = _PLUGIN_VERSION.search(text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


@dataclass(frozen=True)
class Rules:
    """What differs between Dialogue Manager versions (compiler/compilation.gd at each tag)."""

    tabs_only: bool  # before 3.10.2: indentation is leading tabs (a space-indented line is not nested)
    join_named: bool  # 2.x: an indented line joins the line above even with `Name:` in it
    split_any_colon: bool  # 2.x: the speaker ends at the first ':' (3.x+: at ': ')
    nested_error: bool  # 3.6+: a speaker or [ID:] on a nested line is an error (before: joined as text)
    duplicate_any: bool  # 3.10+: any [ID:] seen before is a duplicate (before: only for other text)


def rules_for(version: tuple[int, ...] | None) -> Rules:
    v = version or (99,)
    return Rules(
        tabs_only=v < (3, 10, 2),
        join_named=v < (3,),
        split_any_colon=v < (3,),
        nested_error=v >= (3, 6),
        duplicate_any=v >= (3, 10),
    )
