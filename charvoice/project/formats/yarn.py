r"""Yarn Spinner 2 scripts (`.yarn`), read as Yarn Spinner's lexer and tagger read them.

A file holds nodes: header lines (`title: Start`, `tags: ...`), `---`, the body, `===`.
In a body:
  `Name: text #line:id #tag`   a line; without `Name:` the project's narrator speaks it. The id
                               is any hashtag text, kept verbatim
  `-> text #line:id`           an option, spoken by the player character (`[project]
                               player_character`) unless it names a speaker (`-> Name: text`)
  `=> text #line:id`           a line-group item (Yarn Spinner 3), voiced like a line
  `<<command>>`                commands (if/else/set/jump/...), and trailing `<<if ...>>`
                               conditions on lines and options: not spoken
  `// comment`                 a comment wherever `//` is written (escape: `\/\/`); after a
                               line it is the line's note, and a cue when it maps through
                               `[direction]`; after a title it is no part of the node's name
  `#shadow:id`                 the line reuses the audio of line `id` (no asset of its own)
  `#speaker:Name`              who voices the line (for `{$speaker}: text`, a runtime speaker)
After the first `#` only hashtags, `<<conditions>>` and a comment may follow: other text is an
error, as in Yarn Spinner. Markup (`[b]..[/b]`, `[wave]`, `[pause/]`) and rich-text tags
(`<b>`, `<color=\#fff>`, `<shake=.01>`) are removed, `\` escapes are honoured, other hashtags
become direction. A line whose text depends on the game's state (`{$gold}`, `[select]`,
`[plural]`) cannot be recorded in advance: it is listed as skipped (and still tagged).
Indentation never matters.
"""

from __future__ import annotations

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
    physical_lines,
    skip,
    speaker_tag,
    warn_untagged,
)
from charvoice.project.lines import Line, line_id_problem

EXTENSIONS = (".yarn",)
TAG_TEMPLATE = " #line:{id}"

_HEADER = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*:(.*)$")
_ESCAPABLE = "\\<>{}#/[]:"  # what the lexer lets follow a backslash (TEXT_ESCAPED_CHARACTER, \[ \] \:)
_OPEN_TAG = re.compile(r"<([A-Za-z][\w-]*)[^<>]*>|\[([A-Za-z][\w-]*)[^\]]*\]")
_COMMENT = re.compile(r"//")
# A rich-text tag such as <b>, </i>, <color=\#fff>, <shake=.01>, <size=120%> (a bare '#' would start a hashtag):
# TextMesh Pro's tags and Text Animator's effects. Anything else (`<o>`, `<3`) is text, as the game shows it.
_RICH_TEXT = re.compile(r"</?([A-Za-z][\w-]*)(?:[= ](?:[^<>#\\\n]|\\.)*)?>")
RICH_TAGS = frozenset(
    (  # noqa: SIM905 (a word list reads better than 52 quoted strings)
        "align allcaps alpha b br color colour cspace font font-weight gradient i indent line-height line-indent link "
        "lowercase margin mark mspace nobr noparse page pos rotate s size smallcaps space sprite strikethrough style "
        "sub sup u uppercase voffset width shake wave wiggle bounce rot swing fade rainb incr dangle pend slide"
    ).split()
)
_YARN1_OPTION = re.compile(r"\s*\[\[[^\]|]*\|[^\]]*\]\]")
_HASHTAG = re.compile(r"(?:(?!//)[^\s#$<])+")
_RUNTIME_MARKUP = ("select", "plural", "ordinal")
_IGNORED_TAGS = ("lastline",)


class _Text:
    """One line's text, split into what is spoken, its hashtags and where an id tag would go."""

    def __init__(self) -> None:
        self.spoken: list[str] = []
        self.raw_end = 0  # end of text + hashtags, before trailing space and comments
        self.tags: list[tuple[str, int]] = []  # (tag without '#', 0-based column)
        self.runtime = ""  # why the text is only known at run time
        self.comment = ""  # a trailing `// comment`: the writer's note for the actor


def _read_text(content: str, start: int, line: int, context: ParseContext, scan: Scan) -> _Text | None:
    """Read a line's text from `content[start:]` as Yarn Spinner's lexer does; None (after
    recording a Problem) if malformed."""
    out = _Text()
    i = start
    while i < len(content):
        ch = content[i]
        if content.startswith("//", i):  # a comment starts wherever `//` is written (escape it: \/\/)
            out.comment = content[i + 2 :].strip()
            break
        if ch == "\\" and i + 1 < len(content):
            if content[i + 1] not in _ESCAPABLE:
                what = f"'\\{content[i + 1]}' is not an escape Yarn Spinner knows (only \\ followed by one of {_ESCAPABLE})"
                scan.problems.append(Problem(context.display, what, line, i + 1))
                return None
            out.spoken.append(content[i + 1])
            i += 2
            continue
        if ch == "#" or content.startswith("<<", i):
            return _read_tail(content, i, start, line, context, scan, out)  # hashtags, line conditions
        if ch == "{":
            end = content.find("}", i)
            if end < 0:
                scan.problems.append(Problem(context.display, "'{' is never closed with '}'", line, i + 1))
                return None
            out.runtime = out.runtime or f"text depends on a runtime value {content[i : end + 1]}"
            out.spoken.append(content[i : end + 1])
            i = end + 1
            continue
        if ch == "<":
            rich = _RICH_TEXT.match(content, i)
            if rich and rich.group(1).lower() in RICH_TAGS:  # styling the game shows, never speech
                i = rich.end()
                continue
        if ch == "[":
            end = find_closing(content, i, "[", "]")
            if end < 0:
                scan.problems.append(
                    Problem(
                        context.display,
                        "markup '[' is never closed with ']' (write \\[ for a literal bracket)",
                        line,
                        i + 1,
                    )
                )
                return None
            inner = content[i + 1 : end].strip()
            name = inner.lstrip("/").split(" ", 1)[0].split("=", 1)[0].rstrip("/").strip().lower()
            if name == "nomarkup" and not inner.startswith("/"):
                close = content.find("[/nomarkup]", end)
                stop = close if close >= 0 else len(content)
                out.spoken.append(content[end + 1 : stop])
                i = stop + len("[/nomarkup]") if close >= 0 else stop
                continue
            if name in _RUNTIME_MARKUP or "{" in inner:
                out.runtime = out.runtime or f"text depends on a runtime value [{inner}]"
            i = end + 1
            continue
        out.spoken.append(ch)
        i += 1
    out.raw_end = len(content[:i].rstrip())
    return out


def implicit_speaker(content: str, start: int, end: int) -> tuple[str, int]:
    """(the speaker, where the text starts) by Yarn Spinner's implicit-character rule: everything
    before the first unescaped `:` of the line's text (LineParser, `^((?:[^:\\\\]|\\\\.)*):\\s*`), however
    long. ("", start) when there is none. One deliberate difference: a colon inside styling that
    opens before it and closes after it (`<b>ENDING 4/5: ...</b>`) is narration, not a name
    (the game would show a broken name and an unknown character would stop the build)."""
    i = start
    while i < end:
        ch = content[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "#" or content.startswith("<<", i):
            return "", start  # the text ends at the first hashtag or condition
        if ch == "{":
            close = content.find("}", i, end)
            i = close + 1 if close > 0 else end
            continue
        if ch == ":":
            break
        i += 1
    else:
        return "", start
    name = content[start:i].strip()
    for tag in _OPEN_TAG.finditer(name):
        tag_name = tag.group(1) or tag.group(2)
        closer = f"</{tag_name}>" if tag.group(1) else f"[/{tag_name}]"
        if closer.lower() not in name.lower() and closer.lower() in content[i:end].lower():
            return "", start
    if not name:
        return "", start
    i += 1
    while i < len(content) and content[i] in " \t":
        i += 1
    return name, i


def _read_tail(
    content: str, i: int, start: int, line: int, context: ParseContext, scan: Scan, out: _Text
) -> _Text | None:
    """After the first `#` or `<<`, Yarn Spinner allows only hashtags, `<<conditions>>` and a comment."""
    out.raw_end = len(content[:i].rstrip())
    while i < len(content):
        if content[i] in " \t":
            i += 1
            continue
        if content.startswith("//", i):
            out.comment = content[i + 2 :].strip()
            break
        if content.startswith("<<", i):
            end = content.find(">>", i)
            if end < 0:
                scan.problems.append(Problem(context.display, "'<<' is never closed with '>>'", line, i + 1))
                return None
            i = out.raw_end = end + 2  # a condition on the line or option: decides whether it runs, not what it says
            continue
        if content[i] == "#":
            tag = _HASHTAG.match(content, i + 1)
            if tag and tag.group(0):
                out.tags.append((tag.group(0), i))
                i = out.raw_end = tag.end()
                continue
            i += 1
            continue
        last_hash = content.rfind("#", start, i)
        opened = content.rfind("<", start, last_hash) > content.rfind(">", start, last_hash)
        hint = "write \\# inside <...> styling, as in <color=\\#fff>" if opened else "write \\# for a literal '#'"
        where = content[last_hash:i].strip()
        scan.problems.append(
            Problem(
                context.display,
                f"text after the hashtag {where!r}: Yarn Spinner reads '#' as the start of the line's tags ({hint})",
                line,
                i + 1,
            )
        )
        return None
    return out


def scan(text: str, context: ParseContext) -> Scan:
    result = Scan()
    provisional = ProvisionalIds(context)
    node = ""  # the current node's title
    headers: dict[str, str] | None = None  # while reading a node's headers
    node_line = 0
    in_body = False
    blocks: list[tuple[str, int, int]] = []  # open <<if>>/<<once>> blocks: (keyword, line, column)

    for physical in physical_lines(text):
        number, content = physical.number, physical.content
        stripped = content.strip()
        if in_body:
            if stripped == "===":
                for keyword, line, column in blocks:
                    what = f"<<{keyword}>> is never closed with <<end{keyword}>> before the end of node {node!r}"
                    result.problems.append(Problem(context.display, what, line, column))
                blocks.clear()
                in_body = False
                node = ""
                continue
            if not stripped or stripped.startswith("//") or stripped.startswith("<<"):
                if stripped.startswith("<<") and ">>" not in stripped:
                    result.problems.append(
                        Problem(context.display, "'<<' is never closed with '>>'", number, content.index("<<") + 1)
                    )
                elif stripped.startswith("<<"):
                    _command(content, number, blocks, context, result)
                continue
            _body_line(physical.start, content, number, node, context, result, provisional)
            continue
        if not stripped or stripped.startswith("//"):
            continue
        if headers is None:
            if stripped.startswith("#"):  # file-level hashtags
                continue
            match = _HEADER.fullmatch(content)
            if not match:
                result.problems.append(
                    Problem(
                        context.display,
                        "expected a node header such as 'title: Start' (a node starts with headers, then ---)",
                        number,
                        len(content) - len(content.lstrip()) + 1,
                    )
                )
                continue
            headers, node_line = {}, number
        if stripped == "---":
            title = headers.get("title", "")
            if not title:
                result.problems.append(Problem(context.display, "node has no 'title:' header before ---", number, 1))
            node, headers, in_body = title, None, True
            continue
        match = _HEADER.fullmatch(content)
        if not match:
            column = len(content) - len(content.lstrip()) + 1
            result.problems.append(
                Problem(
                    context.display, "expected a header ('key: value') or --- to start the node's body", number, column
                )
            )
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key == "title":  # a title is one identifier: a `// comment` after it is no part of the name
            value = value.split("//", 1)[0]
        headers[key] = value.strip()

    if in_body:
        result.problems.append(Problem(context.display, f"node {node!r} is never closed with ===", node_line or 1, 1))
    elif headers is not None:
        result.problems.append(Problem(context.display, "node headers are not followed by ---", node_line or 1, 1))
    warn_untagged(result, context)
    return result


_BLOCK = re.compile(r"<<\s*(if|elseif|else|endif|once|endonce)\b(.*?)>>")
_SET = re.compile(r"<<\s*set\b(.*?)>>")


def _command(content: str, number: int, blocks: list, context: ParseContext, result: Scan) -> None:
    """Block structure and `<<set>>` as the compiler checks them: every <<if>> (<<once>>) closed
    by its <<endif>> (<<endonce>>) in the same node, no stray <<elseif>>/<<else>>/<<endif>>, and
    a <<set>> that sets a variable to something."""
    column = content.index("<<") + 1
    block = _BLOCK.match(content, column - 1)
    if block:
        keyword = block.group(1)
        if keyword in ("if", "once"):
            blocks.append((keyword, number, column))
        elif keyword in ("elseif", "else"):  # <<once>> ... <<else>> ... <<endonce>> too (Yarn Spinner 3)
            if not blocks or (blocks[-1][0] != "if" and keyword == "elseif"):
                what = f"<<{keyword}>> without an <<if>> before it"
                result.problems.append(Problem(context.display, what, number, column))
        elif not blocks or blocks[-1][0] != keyword[3:]:
            what = f"<<{keyword}>> without an <<{keyword[3:]}>> before it"
            result.problems.append(Problem(context.display, what, number, column))
        else:
            blocks.pop()
        return
    setter = _SET.match(content, column - 1)
    if setter and not re.fullmatch(r"\s*\$\w+\s*(?:to|=|\+=|-=|\*=|/=|%=)\s*\S.*", setter.group(1)):
        what = "<<set>> needs a variable and a value: <<set $name to value>>"
        result.problems.append(Problem(context.display, what, number, column))


def _body_line(
    offset: int, content: str, number: int, node: str, context: ParseContext, result: Scan, provisional: ProvisionalIds
) -> None:
    """Read one line or option of a node's body."""
    i = len(content) - len(content.lstrip())
    is_option = content.startswith("->", i)
    if is_option or content.startswith("=>", i):
        i += 2
        while i < len(content) and content[i] in " \t":
            i += 1
    speaker = ""
    comment = _COMMENT.search(content, i)
    code_end = comment.start() if comment else len(content)
    written, i = implicit_speaker(content, i, code_end)
    runtime_speaker = written if "{" in written else ""  # `{$speaker}: text`: the runtime decides who speaks
    speaker = "" if runtime_speaker else written
    parts = _read_text(content, i, number, context, result)
    if parts is None:
        return
    spoken = collapse("".join(parts.spoken))

    line_id = audio_of = None
    direction: list[str] = []
    for tag, column in parts.tags:
        key, _, value = tag.partition(":")
        if key == "line" and value:
            if line_id is not None:
                result.problems.append(
                    Problem(context.display, "a line may have only one #line: tag", number, column + 1)
                )
            elif check_id(value, context, number, column + 1 + len("#line:"), result):
                line_id = value
        elif key == "shadow" and value:
            bad = line_id_problem(value)
            if bad:
                result.problems.append(Problem(context.display, bad, number, column + 1 + len("#shadow:")))
                return
            audio_of = value
        elif tag.lower() not in _IGNORED_TAGS and not speaker_tag([tag]):
            direction.append(tag)
    if audio_of and line_id:
        result.problems.append(
            Problem(context.display, "a shadow line (#shadow:) cannot have its own #line: id", number, 1)
        )
        return
    named = speaker_tag([tag for tag, _ in parts.tags])  # `#speaker:Mae` names who voices the line
    character = named or speaker or (context.player_character if is_option else context.narrator)

    is_provisional = audio_of is None and line_id is None
    if is_provisional:  # `tag` gives every line an id, voiced or not, as Yarn Spinner's tagger does
        line_id = provisional.next(node, character, spoken)
        result.sites.append(IdSite(number, offset + parts.raw_end, TAG_TEMPLATE, line_id))
    if parts.runtime or not spoken:
        why = f"{parts.runtime}; not voiced" if parts.runtime else "no text to speak"
        if not spoken and _YARN1_OPTION.match(content):
            why = "a Yarn Spinner 1 option [[text|Node]], which Yarn Spinner 2 reads as markup: upgrade the script"
        result.parsed.skipped.append(skip(context, number, why))
        return
    if audio_of:  # an id of its own, never used for audio: `<source>~shadow<n>` (n-th shadow line in the file)
        line_id = f"{audio_of}~shadow{1 + sum(1 for line in result.parsed.lines if line.audio_of)}"
    assert line_id is not None  # an explicit, provisional or shadow id by now
    result.parsed.lines.append(
        Line(
            id=line_id,
            character=character,
            text=spoken,
            locale=context.locale,
            file=context.display,
            line_number=number,
            direction=tuple(direction),
            notes=parts.comment,
            provisional=is_provisional,
            audio_of=audio_of,
            direction_note=parts.comment,
            runtime_speaker="" if named else runtime_speaker,
        )
    )
