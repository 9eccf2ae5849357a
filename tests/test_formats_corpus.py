"""The whole shared corpus, compared with what Yarn Spinner and Dialogue Manager themselves deliver.

Yarn Spinner: each `X.testplan` of the compiler's test cases lists what the runtime shows for
`X.yarn` (`line:`/`option:`, with hashtags). Every entry must be a line charvoice voices (same
speaker, same text once markup is removed, same `#line:` id) or a line charvoice lists as
skipped because its text is only known at run time. Dialogue Manager: the expectations below
are the assertions of the named upstream test function (tests/test_*.gd), written out here as
charvoice's view of them. In both, every line of every file is voiced, skipped with its
reason, or the file is reported as an error where the real tool reports one.

Differences on purpose (charvoice's view, not a bug):
- markup ([b], <shake=.01>, <color=\\#fff>) is styling, not speech, and is removed from the text;
- text that depends on a runtime value ({$x}, {1+1}, [select]/[plural]/[ordinal]) is skipped,
  even when the value is a constant: charvoice records audio before the game runs;
- multi-line Dialogue Manager text is spoken as one line: the line break becomes a space.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SHARED
from helpers_formats import assert_rejected, corpus, make_project, scan

from charvoice.errors import InputError
from charvoice.project.formats.common import Scan, collapse
from charvoice.project.formats.yarn import RICH_TAGS

PLAYER, NARRATOR = "player", "narrator"
_ENTRY = re.compile(r"^(line|option): `(.*)`(.*)$", re.MULTILINE)
_RICH = re.compile(r"</?([A-Za-z][\w-]*)(?:[= ][^<>]*)?>")


def _yarn_cases() -> list[str]:
    folder = SHARED / "corpus/yarn/testcases"  # listed at collection; corpus() skips each case when absent
    return sorted(path.stem for path in folder.glob("*.testplan")) or ["(corpus absent)"]


def _voiced(result: Scan) -> dict[str, list[str]]:
    """What a player would see for each voiced line, keyed `Speaker: text` as a testplan writes it -> ids."""
    seen: dict[str, list[str]] = {}
    for line in result.parsed.lines:
        shown = line.text if line.character in (PLAYER, NARRATOR) else f"{line.character}: {line.text}"
        seen.setdefault(shown, []).append(line.audio_of or line.id)
    return seen


def _runtime_patterns(path: Path, result: Scan) -> list[re.Pattern[str]]:
    """For each line skipped because of a runtime value, a pattern of what the runtime may show."""
    source = path.read_text(encoding="utf-8").splitlines()
    patterns = []
    for entry in result.parsed.skipped:
        if "runtime value" not in entry:
            continue
        number = int(entry.split(":")[1])
        text = re.split(r"\s#|\s*//|<<", source[number - 1].strip().removeprefix("->").strip(), maxsplit=1)[0]
        pieces = re.split(r"(\{[^}]*\}|\[(?:select|plural|ordinal)\b[^\]]*\])", text)
        patterns.append(
            re.compile("".join(".*" if index % 2 else re.escape(piece) for index, piece in enumerate(pieces)))
        )
    return patterns


def _shown(text: str) -> str:
    """A testplan entry as charvoice speaks it: rich-text styling removed, whitespace collapsed."""
    return collapse(_RICH.sub(lambda match: "" if match.group(1).lower() in RICH_TAGS else match.group(0), text))


@pytest.mark.parametrize("name", _yarn_cases())
def test_yarn_spinner_test_plans(name):
    path = corpus(f"yarn/testcases/{name}.yarn")
    result = scan(path, player=PLAYER)
    voiced, patterns = _voiced(result), _runtime_patterns(path, result)
    missing = []
    for kind, text, tags in _ENTRY.findall(path.with_suffix(".testplan").read_text(encoding="utf-8")):
        shown = _shown(text)
        line_id = re.search(r"#(?:line|shadow):(\S+)", tags)
        if shown in voiced:
            assert line_id is None or line_id.group(1) in voiced[shown], (
                f"{kind} {text!r}: id {line_id.group(1)} not in {voiced[shown]}"
            )
        elif not any(pattern.fullmatch(text) for pattern in patterns):
            missing.append(f"{kind}: {text}")
    assert missing == [], f"{name}: shown by Yarn Spinner, neither voiced nor skipped by charvoice"
    # Every line statement of the file is accounted for: an explicit id, a site where `tag` writes one, or a shadow.
    source = path.read_text(encoding="utf-8")
    explicit = sum(len(re.findall(r"#line:\S", line.split("//")[0])) for line in source.splitlines())
    shadows = sum(1 for line in result.parsed.lines if line.audio_of)
    assert len(result.parsed.lines) + len(result.parsed.skipped) == explicit + len(result.sites) + shadows


# The counts are each file's line and option statements, counted by hand from the source.
YARN_COUNTS = {  # name: (voiced, skipped)
    "Detours": (7, 4),  # 4 lines print visited_count(...)
    "Escaping": (29, 2),  # 2 lines interpolate {0}
    "FormatFunctions": (0, 16),  # every line is a [select]/[plural]/[ordinal]: skipped, not silently dropped
    "InlineExpressions": (0, 11),
    "Lines": (6, 0),
    "Smileys": (67, 0),  # `<o>` is a smiley, not markup
    "SpaceSally": (13, 3),  # 3 Yarn Spinner 1 [[option|Node]] lines, which Yarn Spinner 2 reads as markup
}


@pytest.mark.parametrize(("name", "counts"), YARN_COUNTS.items())
def test_yarn_files_voice_or_list_every_line(name, counts):
    result = scan(corpus(f"yarn/testcases/{name}.yarn"), player=PLAYER)
    assert (len(result.parsed.lines), len(result.parsed.skipped)) == counts, result.parsed.skipped
    assert all(re.fullmatch(rf"dialogue/{name}\.yarn:\d+: \S.+", entry) for entry in result.parsed.skipped), (
        "file:line: reason"
    )


def test_yarn_lines_testcase_line_by_line():
    result = scan(corpus("yarn/testcases/Lines.yarn"), player=PLAYER)
    assert [(line.character, line.text, line.direction, line.notes) for line in result.parsed.lines] == [
        (NARRATOR, "This is a line of dialogue.", (), ""),
        ("Mae", "HA HA HA HA HA NO I'M FINE.", (), ""),  # <shake=.01> is Text Animator styling
        ("Mae", "Testing comments after lines", (), "comment"),
        ("Mae", "Testing comments after hashtags", ("hashtag",), "comment"),
        ("Mae", "Testing comments after line conditions", (), "comment"),
        ("Mae", "Testing comments after hashtags with no whitespace", ("hashtag",), "comment"),
    ]


def test_duplicate_line_tags_fail_as_in_yarn_spinner(tmp_path):
    project = make_project(tmp_path, {"DuplicateLineTags.yarn": corpus("yarn/testcases/DuplicateLineTags.yarn")})
    assert_rejected(
        project,
        "dialogue/DuplicateLineTags.yarn:10: duplicate line id 'line1': also at dialogue/DuplicateLineTags.yarn:4",
    )


def test_headers_testcase_keeps_comments_out_of_node_names():
    result = scan(corpus("yarn/testcases/Headers.yarn"), player=PLAYER)
    assert len(result.parsed.lines) == 8 and result.parsed.skipped == []
    assert all(re.fullmatch(r"headers\.[a-z_]+\.[0-9a-f]{6}", line.id) for line in result.parsed.lines), [
        line.id for line in result.parsed.lines
    ]


# --- Dialogue Manager: the assertions of its own tests (INDEX.txt names each test function) ---

DM = {  # file: [(character, text, translation key or None, notes)] as Dialogue Manager's test asserts them
    "basic_dialogue_42": [
        ("Nathan", "This is dialogue with a name.", None, ""),
        (NARRATOR, "This is dialogue without a name", None, ""),
    ],
    "basic_dialogue_64": [("Nathan", "Hello", "HELLO", "")],  # SOMETHING has an inline [if]: skipped below
    "basic_dialogue_76": [
        ("Nathan", "This is dialogue with a name.", None, ""),
        ("Coco", "Meow.", None, ""),
        (NARRATOR, "This is dialogue without a name.", None, ""),
    ],
    "basic_dialogue_99": [("Nathan", "This is the first line. This is the second line.", None, "")],
    "basic_dialogue_107": [
        ("Nathan", "This is the first line. This is the third line with a gap line above it.", None, "")
    ],
    "basic_dialogue_126": [("Nathan", "First line Second line Third line", "FIRST", "")],
    "basic_dialogue_176": [("Nathan", "This is some dialogue", None, "")],
    "basic_dialogue_322": [
        ("Nathan", "First line", "FIRST", ""),
        ("Nathan", "Second line", "SECOND", ""),
        ("Nathan", "Third line", "THIRD", ""),
    ],
    "notes_5": [
        ("Nathan", "Some Dialogue", None, "Dialogue comment"),
        ("Nathan", "More dialogue", None, "Multi\nLine\nComment"),
        (PLAYER, "Response 1", None, "Response comment"),
        (PLAYER, "Response 2", None, "Another response\ncomment"),
    ],
    "responses_5": [
        ("Nathan", "Here are some options.", None, ""),
        (PLAYER, "Simple", None, ""),
        (PLAYER, "Nested", None, ""),
        ("Nathan", "Nested dialogue.", None, ""),
        (PLAYER, "Jump", None, ""),  # `=> start` is a jump
        (PLAYER, "Condition", None, ""),  # `[if 25 > 10 /]` is a condition
        ("Nathan", "Line after.", None, ""),
    ],
    "responses_61": [
        ("Nathan", "Here are some responses.", "HERE", ""),
        (PLAYER, "First", "FIRST", ""),
        (PLAYER, "Second", "SECOND", ""),
        (PLAYER, "Third", "THIRD", ""),
    ],
    "simultaneous_dialogue_5": [
        ("Nathan", "I'm saying this.", None, ""),
        ("Coco", "While I'm saying this.", None, ""),
        ("Lilly", "And I'm saying this simultaneously too.", None, ""),
        ("Nathan", "Then I say this.", None, ""),
    ],
    "extracting_markers_13": [(NARRATOR, "This is some blue text.", None, "")],
    "extracting_markers_19": [("Nathan", "Hey! WAIT!", None, "")],
    "extracting_markers_94": [("Nathan", "This is a [special] thing", None, "")],
    "jumps_5": [
        ("Nathan", "Responses?", None, ""),
        (PLAYER, "Simple", None, ""),
        (PLAYER, "Snippet", None, ""),
        ("Nathan", "Snippet.", None, ""),
    ],
    "state_76": [
        (NARRATOR, "if this is dialogue.", None, ""),
        (NARRATOR, "elif this too.", None, ""),
        (NARRATOR, "else and this one.", None, ""),
    ],
}
DM_SKIPPED = {  # file: the reasons charvoice gives for lines whose text or speaker only the running game knows
    "basic_dialogue_64": ["text is chosen at runtime by an inline [if ...]"],
    "basic_dialogue_137": ["text depends on a runtime value {{character_name}}"],
    "basic_dialogue_149": [
        "text depends on a runtime value {{StateForTests.character_name}}",
        "text depends on a runtime value {{StateForTests.character_name}}",
    ],
}
DM_ERRORS = {  # file: the error Dialogue Manager's test expects, as charvoice reports it
    "basic_dialogue_116": "dialogue/basic_dialogue_116.dialogue:5:2: only more dialogue may be indented under a line of dialogue",  # ERR_INVALID_INDENTATION, line 5
    "simultaneous_dialogue_21": "dialogue/simultaneous_dialogue_21.dialogue:3:1: a concurrent line ('| ...') must directly follow",  # ERR_CONCURRENT_LINE_WITHOUT_ORIGIN
}


@pytest.mark.parametrize("name", sorted(DM))
def test_dialogue_manager_tests_say_what_it_produces(name):
    result = scan(corpus(f"dialogue_manager/tests/{name}.dialogue"), player=PLAYER)
    got = [
        (line.character, line.text, None if line.provisional else line.id, line.notes) for line in result.parsed.lines
    ]
    assert got == DM[name]
    for reason, entry in zip(DM_SKIPPED.get(name, []), result.parsed.skipped, strict=True):
        assert reason in entry


@pytest.mark.parametrize("name", sorted(DM_SKIPPED))
def test_dialogue_manager_runtime_lines_are_listed_with_their_reason(name):
    result = scan(corpus(f"dialogue_manager/tests/{name}.dialogue"), player=PLAYER)
    assert len(result.parsed.skipped) == len(DM_SKIPPED[name])
    for reason, entry in zip(DM_SKIPPED[name], result.parsed.skipped, strict=True):
        assert reason in entry


@pytest.mark.parametrize("name", sorted(DM_ERRORS))
def test_dialogue_manager_errors_are_errors(name):
    with pytest.raises(InputError) as error:
        scan(corpus(f"dialogue_manager/tests/{name}.dialogue"), player=PLAYER)
    assert DM_ERRORS[name] in str(error.value)


def _dm_files() -> list[str]:
    folder = SHARED / "corpus/dialogue_manager"
    return sorted(str(path.relative_to(folder)) for path in folder.glob("**/*.dialogue")) or ["(corpus absent)"]


def _dm_statement_count(text: str) -> int:
    """Dialogue and response lines as Dialogue Manager's get_line_type sorts them, less continuation lines."""
    count, previous_dialogue_indent = 0, None
    for raw in text.splitlines():
        body = re.sub(r"^%[\d.]*( \[if .+? /\])? ", "", raw.strip() + " ").strip()
        indent = len(raw) - len(raw.lstrip())
        keywords = (
            "import ",
            "using ",
            "#",
            "~ ",
            "if ",
            "elif",
            "else",
            "while ",
            "match ",
            "when ",
            "do ",
            "do! ",
            "set ",
            "$> ",
            "$>> ",
            "=> ",
            "=>< ",
        )
        if not raw.strip():
            continue  # a blank line: the next indented line may still continue the dialogue above
        if not body or body.startswith(keywords):
            previous_dialogue_indent = None
            continue
        if previous_dialogue_indent is not None and indent > previous_dialogue_indent and not body.startswith("- "):
            continue  # continues the dialogue line above
        count += 1
        previous_dialogue_indent = None if body.startswith("- ") else indent
    return count


@pytest.mark.parametrize("relative", _dm_files())
def test_every_dialogue_manager_line_is_voiced_skipped_or_an_error(relative):
    path = corpus(f"dialogue_manager/{relative}")
    if path.stem in DM_ERRORS:
        pytest.skip("an error in Dialogue Manager too: test_dialogue_manager_errors_are_errors")
    result = scan(path, player=PLAYER)
    sources = {line.source for line in result.parsed.lines}  # [[a|b]] alternatives: several lines, one source
    assert len(sources) + len(result.parsed.skipped) == _dm_statement_count(path.read_text(encoding="utf-8"))
    explicit = len(re.findall(r"\[ID:", path.read_text(encoding="utf-8")))
    assert len(sources) + len(result.parsed.skipped) == explicit + len(result.sites), (
        "every line has an [ID:] or a place for one"
    )


def test_visual_novel_example_has_its_eleven_ids():
    result = scan(corpus("dialogue_manager/dialogue_for_visual_novel.dialogue"), player=PLAYER)
    assert len(result.parsed.lines) == 11 and not any(line.provisional for line in result.parsed.lines)
    assert [line.character for line in result.parsed.lines].count(PLAYER) == 4
    assert {line.character for line in result.parsed.lines} == {"Nathan", "Coco", PLAYER}
