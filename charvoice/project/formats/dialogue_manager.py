"""Godot Dialogue Manager scripts (`.dialogue`).

  `~ title`                     starts a section (its name goes into provisional ids)
  `Name: text [ID:key]`         a line; without `Name:` the project's narrator speaks it
  `- text [ID:key] => title`    a response, spoken by the player character (`[project]
                                player_character`); the `=> jump` and `[if ...]` are not spoken
  `% Name: text`, `| Name: text`  random and concurrent lines, voiced like any other line
  `[#happy, #mood=sad]`         tags: direction
  `[[Hi|Hello|Hey]]`            random alternatives: one asset each, ids `key~0`, `key~1`, ...
  `# comment`, `import`, `using`, `=> jump`, `do`/`set`/`$>` mutations and `if`/`elif`/
  `else`/`while`/`match`/`when` are not lines. BBCode, `[wait=..]`, `[speed=..]`, `[next=..]`
  and inline `[do ...]` are removed from the spoken text. Text that depends on the game's state
  (`{{name}}`, inline `[if ...]...[/if]`) is listed as skipped, never voiced.
"""

from __future__ import annotations

import itertools
import re

from charvoice.errors import Problem
from charvoice.project.formats.common import (
    IdSite,
    ParseContext,
    ProvisionalIds,
    Scan,
    check_id,
    collapse,
    find_closing,
    parser,
    physical_lines,
    skip,
    warn_untagged,
)
from charvoice.project.lines import Line

EXTENSIONS = (".dialogue",)
TAG_TEMPLATE = " [ID:{id}]"
MAX_ALTERNATIVES = 64

_NOT_A_LINE = re.compile(r"(?:import|using|if|elif|while|match|when|do!?|set)\s|else\b|\$>>?|=><?|#")
_RANDOM = re.compile(r"%\d*(?:\s*\[if\s[^\]]*\])?\s*")
_SPEAKER = re.compile(r"([^:\[\]{}#\s][^:\[\]{}#]{0,63}?)\s*:(?=\s|$)")
_RUNTIME_SPEAKER = re.compile(r"\{\{.*?\}\}\s*:(?=\s|$)")
_JUMP = re.compile(r"\s=><?\s*\S.*$")
_MUTATION = re.compile(r"(?:do!?|set)\s|\$>")


class _Text:
    def __init__(self) -> None:
        self.pieces: list[str | list[str]] = []  # text, or the choices of a [[a|b]] group
        self.tags: list[str] = []
        self.key: str | None = None
        self.runtime = ""

    def variants(self) -> list[str]:
        groups = [piece if isinstance(piece, list) else [piece] for piece in self.pieces]
        return [collapse("".join(combo)) for combo in itertools.product(*groups)]


def _read_text(content: str, start: int, end: int, line: int, context: ParseContext, scan: Scan) -> _Text | None:
    out = _Text()
    has_inline_if = "[/if]" in content[start:end]
    i = start
    while i < end:
        ch = content[i]
        if ch == "\\" and i + 1 < end:
            out.pieces.append(content[i + 1])
            i += 2
            continue
        if content.startswith("{{", i):
            close = content.find("}}", i, end)
            if close < 0:
                scan.problems.append(Problem(context.display, "'{{' is never closed with '}}'", line, i + 1))
                return None
            out.runtime = out.runtime or f"text depends on a runtime value {content[i : close + 2]}"
            i = close + 2
            continue
        if content.startswith("[[", i):
            close = content.find("]]", i, end)
            if close < 0:
                scan.problems.append(Problem(context.display, "random alternatives '[[' are never closed with ']]'", line, i + 1))
                return None
            choices = [collapse(_strip_markup(choice)) for choice in content[i + 2 : close].split("|")]
            out.pieces.append(choices)
            i = close + 2
            continue
        if ch == "[":
            close = find_closing(content[:end], i, "[", "]")
            if close < 0:
                scan.problems.append(Problem(context.display, "'[' is never closed with ']'", line, i + 1))
                return None
            inner = content[i + 1 : close].strip()
            lower = inner.lower()
            if inner.startswith("#"):
                out.tags.extend(tag.strip().lstrip("#").strip() for tag in inner.split(",") if tag.strip().lstrip("#").strip())
            elif lower.startswith(("id:", "tr:")):
                key = inner[3:].strip()
                if out.key is not None:
                    scan.problems.append(Problem(context.display, "a line may have only one [ID:...]", line, i + 1))
                elif check_id(key, context, line, i + 5, scan):
                    out.key = key
            elif has_inline_if and (lower.startswith(("if ", "elif ", "/if")) or lower == "else"):
                out.runtime = out.runtime or "text is chosen at runtime by an inline [if ...]"
            elif lower == "img" or lower.startswith("img "):
                after = content.find("[/img]", close, end)
                close = after + len("[/img]") - 1 if after >= 0 else close
            i = close + 1  # BBCode, [wait], [speed], [next], inline [do ...] and conditions: not spoken
            continue
        out.pieces.append(ch)
        i += 1
    return out


def _strip_markup(text: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", text)


def scan(text: str, context: ParseContext) -> Scan:
    result = Scan()
    provisional = ProvisionalIds(context)
    title = ""
    for physical in physical_lines(text):
        content, number = physical.content, physical.number
        i = len(content) - len(content.lstrip())
        body = content[i:]
        if not body.strip():
            continue
        if body.startswith("~"):
            title = body[1:].strip()
            if not title:
                result.problems.append(Problem(context.display, "a title line needs a name: '~ name'", number, i + 1))
            continue
        if _NOT_A_LINE.match(body):
            continue
        is_response = body.startswith("-") and (len(body) == 1 or body[1].isspace())
        if is_response:
            i += 1
        elif body.startswith("%"):
            i += _RANDOM.match(body).end()
            if i >= len(content) or content.startswith("=>", i) or _MUTATION.match(content, i):
                continue  # a random block (lines below it) or a random jump or mutation
        elif body.startswith("|") and (len(body) == 1 or body[1].isspace()):
            i += 1
        elif body.startswith("\\"):
            i += 1  # `\if ...`: a line that starts with a keyword
        while i < len(content) and content[i] in " \t":
            i += 1
        if i >= len(content):
            continue
        end = len(content)
        if is_response:
            jump = _JUMP.search(content, i)
            if jump:
                end = jump.start()
        insert_at = physical.start + len(content[:end].rstrip())

        if _RUNTIME_SPEAKER.match(content, i):
            result.parsed.skipped.append(skip(context, number, "speaker depends on a runtime value"))
            continue
        speaker = ""
        match = None if is_response else _SPEAKER.match(content, i)
        if match:
            speaker = match.group(1).strip()
            i = match.end()
        parts = _read_text(content, i, end, number, context, result)
        if parts is None:
            continue
        character = speaker or (context.player_character if is_response else context.narrator)
        variants = parts.variants()
        if not any(variants):
            if not parts.runtime:
                result.parsed.skipped.append(skip(context, number, "no text to speak"))
            continue
        key = parts.key
        if key is None:
            key = provisional.next(title, character, " | ".join(variants))
            result.sites.append(IdSite(number, insert_at, TAG_TEMPLATE, key))
        if parts.runtime:
            result.parsed.skipped.append(skip(context, number, f"{parts.runtime}; not voiced"))
            continue
        if len(variants) > MAX_ALTERNATIVES:
            result.problems.append(Problem(context.display, f"{len(variants)} combinations of random alternatives; at most {MAX_ALTERNATIVES} can be voiced", number, i + 1))
            continue
        random = any(isinstance(piece, list) for piece in parts.pieces)
        for index, spoken in enumerate(variants):
            if not spoken:
                continue  # an empty alternative is silence: nothing to record
            result.parsed.lines.append(
                Line(
                    id=f"{key}~{index}" if random else key,
                    character=character,
                    text=spoken,
                    locale=context.locale,
                    file=context.display,
                    line_number=number,
                    direction=tuple(parts.tags),
                    provisional=parts.key is None,
                )
            )
    warn_untagged(result, context)
    return result


parse = parser(scan)
