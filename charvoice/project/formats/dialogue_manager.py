r"""Godot Dialogue Manager scripts (`.dialogue`), read as Dialogue Manager's compiler reads them.

`~ title`                     starts a section (its name goes into provisional ids)
`Name: text [ID:key]`         a line; without `Name:` the project's narrator speaks it. `[ID:` is
                              case-sensitive and the key is any text, kept verbatim (`[id:x]`,
                              `[TR:x]` are reported: the game cannot find a line by them)
`<tab>more text`              an indented line below a line of dialogue continues it (one line,
                              joined with a line break, as a written `\n` is)
`- text [ID:key] => title`    a response, spoken by the player character (`[project]
                              player_character`) unless it names a speaker (`- Coco: Meow?`)
`... => title`, `... =>< s`   a jump at the end of any line: not spoken
`## notes`                    the notes of the next line or response
`% Name: text`, `| Name: text`  random and concurrent lines, voiced like any other line (a
                              concurrent line must directly follow a line of dialogue)
`[#happy, #mood=sad]`         tags: direction; `[#speaker=Coco]` names who voices a line whose
                              speaker is a runtime value (`{{name}}: ...`)
`[[Hi|Hello|Hey]]`            random alternatives: one asset each, ids `key~0`, `key~1`, ...
`# comment`, `import`, `using`, `=> jump`, `do`/`set`/`$>` mutations and `if`/`elif`/
`else`/`while`/`match`/`when` are not lines. BBCode, `[wait=..]`, `[speed=..]`, `[next=..]`
and inline `[do ...]` are removed from the spoken text. Text that depends on the game's state
(`{{name}}`, inline `[if ...]...[/if]`) is listed as skipped, never voiced. An `[ID:]` used
again for the same text and speaker plays the first line's audio; for other text it is an
error, as in Dialogue Manager.
"""

from __future__ import annotations

import itertools
import re

from charvoice.errors import Problem
from charvoice.project.formats.common import (
    IdSite,
    ParseContext,
    PhysicalLine,
    ProvisionalIds,
    Scan,
    check_id,
    collapse,
    find_closing,
    physical_lines,
    skip,
    speaker_tag,
    warn_untagged,
)
from charvoice.project.formats.dm_compiler import check_jumps, split_speaker
from charvoice.project.formats.dm_version import Rules, rules_for
from charvoice.project.lines import Line

EXTENSIONS = (".dialogue",)
TAG_TEMPLATE = " [ID:{id}]"
MAX_ALTERNATIVES = 64
RUNTIME_CHOICE = "\x00"  # an alternative with a runtime value in it (no text holds a NUL)

_NOT_A_LINE = re.compile(r"(?:import|using|if|elif|while|match|when|do!?|set)\s|else\b|\$>>?|=><?|#")
_RANDOM = re.compile(r"%\d*(?:\s*\[if\s[^\]]*\])?\s*")
_JUMP = re.compile(r"\s=><?\s*\S.*$")
_TAIL_MARKUP = re.compile(r"\[#([^\]]*)\]|\[ID:([^\]]*)\]")
_MUTATION = re.compile(r"(?:do!?|set)\s|\$>")


class _Text:
    def __init__(self) -> None:
        self.pieces: list[str | list[str]] = []  # text, or the choices of a [[a|b]] group
        self.tags: list[str] = []
        self.key: str | None = None
        self.runtime = ""

    def variants(self) -> list[str]:
        """Every text the line can show; "{{" marks an alternative holding a runtime value."""
        groups = [piece if isinstance(piece, list) else [piece] for piece in self.pieces]
        return [collapse("".join(combo)) for combo in itertools.product(*groups)]


def _read_text(content: str, start: int, end: int, line: int, context: ParseContext, scan: Scan) -> _Text | None:
    out = _Text()
    has_inline_if = "[/if]" in content[start:end]
    i = start
    while i < end:
        ch = content[i]
        if ch == "\\" and i + 1 < end:
            out.pieces.append("\n" if content[i + 1] == "n" else content[i + 1])  # `\n` is a line break
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
                scan.problems.append(
                    Problem(context.display, "random alternatives '[[' are never closed with ']]'", line, i + 1)
                )
                return None
            # A choice holding `{{...}}` is only known at run time: kept marked, never recorded.
            choices = [
                RUNTIME_CHOICE if "{{" in choice else collapse(_strip_markup(choice))
                for choice in content[i + 2 : close].split("|")
            ]
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
                out.tags.extend(
                    tag.strip().lstrip("#").strip() for tag in inner.split(",") if tag.strip().lstrip("#").strip()
                )
            elif content.startswith("[ID:", i):  # case-sensitive and verbatim, as in Dialogue Manager
                key = content[i + 4 : close]
                if out.key is not None:
                    scan.problems.append(Problem(context.display, "a line may have only one [ID:...]", line, i + 1))
                elif check_id(key, context, line, i + 5, scan):
                    out.key = key
            elif lower.startswith(("id:", "tr:")):
                where = f"{context.display}:{line}:{i + 1}"
                scan.parsed.warnings.append(
                    f"{where}: [{inner}] is not a line id in Dialogue Manager (it reads only [ID:...], in capitals); "
                    "the game cannot find the line by it"
                )
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


def _voice_tag(tag: str) -> str:
    """The file of a `[#voice=res://...]` tag (Dialogue Manager 3.9+ voice-overs), or ""."""
    name, _, value = tag.partition("=")
    return value.strip() if name.strip().lower() == "voice" and value.strip() else ""


def _strip_markup(text: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", text)


def _indent(content: str, rules: Rules | None = None) -> int:
    """Indentation width (a tab counts as four spaces, as the Dialogue Manager editor converts
    them). Before 4.0 the compiler counts leading tabs only: a space-indented line is not nested."""
    if rules is not None and rules.tabs_only:
        return len(content) - len(content.lstrip("\t"))
    body = content.lstrip(" \t")
    return len(content[: len(content) - len(body)].expandtabs(4))


def _is_dialogue(body: str) -> bool:
    """Whether a stripped, non-empty line is dialogue (not a title, comment, response or statement)."""
    if body.startswith(("~", "#")) or _NOT_A_LINE.match(body):
        return False
    if body.startswith("-") and (len(body) == 1 or body[1].isspace()):
        return False
    return not (body.startswith("%") and not body[_RANDOM.match(body).end() :].strip())  # type: ignore[union-attr]


def _continuation(
    lines: list[PhysicalLine], index: int, context: ParseContext, result: Scan, rules: Rules
) -> list[PhysicalLine]:
    """The indented lines that continue the dialogue line at `index` (Dialogue Manager joins them
    with a line break); any other statement indented under a line of dialogue is an error there.
    Comments take the indentation of the line after them, so a `## note` indented under a line
    belongs to the next line. 2.x joins any deeper line that is not a response."""
    parent = _indent(lines[index].content, rules)
    found: list[PhysicalLine] = []
    level = -1
    for physical in lines[index + 1 :]:
        body = physical.content.strip()
        if not body or body.startswith("#"):
            continue  # blank lines and comments between the pieces
        width = _indent(physical.content, rules)
        if width <= parent:
            break
        if rules.join_named:
            if body.startswith("- "):
                break
            found.append(physical)
            continue
        if level < 0:
            level = width
        column = len(physical.content) - len(physical.content.lstrip()) + 1
        if width != level or not _is_dialogue(body):
            what = "only more dialogue may be indented under a line of dialogue (it continues that line)"
            result.problems.append(Problem(context.display, what, physical.number, column))
            break
        found.append(physical)
    return found


def scan(text: str, context: ParseContext) -> Scan:
    result = Scan()
    provisional = ProvisionalIds(context)
    rules = rules_for(context.dialogue_manager)
    title = ""
    titles: set[str] = set()
    notes: list[str] = []  # `## notes` waiting for the next line of dialogue or response
    lines = physical_lines(text)
    consumed: set[int] = set()  # continuation lines, already part of the line above them
    keys: dict[str, tuple[list[str], str, int]] = {}  # [ID:] -> (its text, speaker, the line it is on)
    origin = (-1, -1)  # (index of the last physical line of the latest dialogue, its indent): `| ` lines need one
    for index, physical in enumerate(lines):
        if index in consumed:
            continue
        content, number = physical.content, physical.number
        i = len(content) - len(content.lstrip())
        body = content[i:]
        if not body.strip():
            continue
        if body.startswith("##"):
            notes.append(body[2:].replace("##", "").strip())
            continue
        if body.startswith("~"):
            title = body[1:].strip()
            titles.add(title)
            if not title:
                result.problems.append(Problem(context.display, "a title line needs a name: '~ name'", number, i + 1))
            continue
        if _NOT_A_LINE.match(body):
            continue
        is_response = body.startswith("-") and (len(body) == 1 or body[1].isspace())
        if is_response:
            i += 1
        elif body.startswith("%"):
            i += _RANDOM.match(body).end()  # type: ignore[union-attr]
            if i >= len(content) or content.startswith("=>", i) or _MUTATION.match(content, i):
                continue  # a random block (lines below it) or a random jump or mutation
        elif body.startswith("|") and (len(body) == 1 or body[1].isspace()):
            if origin != (index - 1, _indent(content, rules)):  # as Dialogue Manager: directly below a line of dialogue
                result.problems.append(
                    Problem(
                        context.display,
                        "a concurrent line ('| ...') must directly follow the line of dialogue it goes with",
                        number,
                        i + 1,
                    )
                )
                continue
            i += 1
        elif body.startswith("\\"):
            i += 1  # `\if ...`: a line that starts with a keyword
        while i < len(content) and content[i] in " \t":
            i += 1
        if i >= len(content):
            continue
        pieces = [] if is_response else _continuation(lines, index, context, result, rules)
        consumed.update(piece.number - 1 for piece in pieces)  # physical line n is lines[n - 1]
        if not is_response:
            origin = ((pieces[-1].number - 1) if pieces else index, _indent(content, rules))
        end = _text_end(content, i, number, context, result, last=not pieces)
        insert_at = physical.start + len(content[:end].rstrip())

        line_notes, notes = "\n".join(notes), []
        speaker, i, speaker_tags = split_speaker(content, i, end, rules)
        runtime_speaker = speaker if "{{" in speaker else ""
        speaker = "" if runtime_speaker else speaker
        parts = _read_text(content, i, end, number, context, result)
        if parts is None:
            continue
        parts.tags[:0] = speaker_tags
        _after_jump(content, end, parts, number, context, result)
        for position, child in enumerate(pieces):
            more = _read_child(child, context, result, last=position == len(pieces) - 1, rules=rules)
            if more is None:
                parts = None
                break
            parts.pieces.append("\n")
            parts.pieces.extend(more.pieces)
            parts.tags.extend(more.tags)
            parts.runtime = parts.runtime or more.runtime
        if parts is None:
            continue
        named = speaker_tag(parts.tags)
        character = named or speaker or (context.player_character if is_response else context.narrator)
        variants = parts.variants()
        key = parts.key
        if key is None:  # `tag` gives every line an [ID:], voiced or not, as Dialogue Manager gives each a key
            key = provisional.next(title, character, " | ".join(variants))
            result.sites.append(IdSite(number, insert_at, TAG_TEMPLATE, key))
        if not any(variants) or parts.runtime:
            why = f"{parts.runtime}; not voiced" if parts.runtime else "no text to speak"
            result.parsed.skipped.append(skip(context, number, why))
            continue
        if len(variants) > MAX_ALTERNATIVES:
            result.problems.append(
                Problem(
                    context.display,
                    f"{len(variants)} combinations of random alternatives; at most {MAX_ALTERNATIVES} can be voiced",
                    number,
                    i + 1,
                )
            )
            continue
        random = any(isinstance(piece, list) for piece in parts.pieces)
        audio_of = None
        if parts.key is not None and parts.key in keys:  # before 3.10 a key may come again for the same text
            first_text, first_character, first_line = keys[parts.key]
            if rules.duplicate_any:
                what = (
                    f"[ID:{parts.key}] is already used at line {first_line} (Dialogue Manager reports a duplicate ID)"
                )
                result.problems.append(Problem(context.display, what, number, content.find("[ID:") + 1))
                continue
            if first_text != variants or random or first_character != character:
                whose = (
                    "other text (Dialogue Manager reports a duplicate ID)"
                    if first_text != variants
                    else "another character (the game finds one audio per id)"
                )
                what = f"[ID:{parts.key}] is already used at line {first_line} for {whose}"
                result.problems.append(Problem(context.display, what, number, content.find("[ID:") + 1))
                continue
            audio_of = parts.key  # the same line again: it plays the first one's audio
            key = f"{parts.key}~shadow{1 + sum(1 for line in result.parsed.lines if line.audio_of)}"
        elif parts.key is not None:
            keys[parts.key] = (variants, character, number)
        for variant, spoken in enumerate(variants):
            if not spoken:
                continue  # an empty alternative is silence: nothing to record
            if RUNTIME_CHOICE in spoken:
                why = f"alternative {variant + 1} of [ID:{key}] holds a runtime value {{{{...}}}}; not voiced (runtime text)"
                result.parsed.skipped.append(skip(context, number, why))
                continue
            result.parsed.lines.append(
                Line(
                    id=f"{key}~{variant}" if random else key,
                    character=character,
                    text=spoken,
                    locale=context.locale,
                    file=context.display,
                    line_number=number,
                    direction=tuple(tag for tag in parts.tags if not speaker_tag([tag]) and not _voice_tag(tag)),
                    notes=line_notes,
                    provisional=parts.key is None,
                    audio_of=audio_of,
                    runtime_speaker="" if named else runtime_speaker,
                    voice_file=next((_voice_tag(tag) for tag in parts.tags if _voice_tag(tag)), ""),
                )
            )
    check_jumps(lines, titles, context, result)
    warn_untagged(result, context)
    return result


def _text_end(content: str, start: int, number: int, context: ParseContext, result: Scan, last: bool) -> int:
    """Where a line's text ends: before a trailing `=> title` or `=>< snippet` jump."""
    jump = _JUMP.search(content, start)
    if jump is None:
        return len(content)
    if not last:
        result.problems.append(
            Problem(context.display, "a jump in multi-line dialogue goes on its last line", number, jump.start() + 2)
        )
    return jump.start()


def _after_jump(content: str, end: int, parts: _Text, number: int, context: ParseContext, result: Scan) -> None:
    """Dialogue Manager reads [ID:...] and [#tags] before it cuts the jump: they may follow it."""
    for match in _TAIL_MARKUP.finditer(content, end):
        if match.group(1) is not None:
            parts.tags.extend(
                tag.strip().lstrip("#").strip() for tag in match.group(1).split(",") if tag.strip().lstrip("#").strip()
            )
        elif parts.key is not None:
            result.problems.append(
                Problem(context.display, "a line may have only one [ID:...]", number, match.start() + 1)
            )
        elif check_id(match.group(2), context, number, match.start() + 5, result):
            parts.key = match.group(2)


def _read_child(physical: PhysicalLine, context: ParseContext, result: Scan, last: bool, rules: Rules) -> _Text | None:
    """One continuation line: text only. Since 3.6 Dialogue Manager refuses a speaker or an
    [ID:] there; before, it joins the line as written (a `Name:` in it is text)."""
    content, number = physical.content, physical.number
    i = len(content) - len(content.lstrip())
    if content.startswith("\\", i):
        i += 1
    end = _text_end(content, i, number, context, result, last)
    if rules.nested_error and split_speaker(content, i, end, rules)[0]:
        result.problems.append(
            Problem(
                context.display,
                "a continuation line cannot name a speaker (it belongs to the line above)",
                number,
                i + 1,
            )
        )
        return None
    parts = _read_text(content, i, end, number, context, result)
    if parts is not None and parts.key is not None:
        if not rules.nested_error:
            parts.key = None  # the joined line keeps the first line's id
            return parts
        result.problems.append(
            Problem(
                context.display,
                "put the [ID:...] on the first line of multi-line dialogue",
                number,
                content.index("[ID:") + 1,
            )
        )
        return None
    return parts
