"""Godot Dialogue Manager scripts: the exact lines a real script and our own corpus give, and every error's place."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from helpers_formats import DATA, L, assert_rejected, corpus, make_project, scan


def test_visual_novel_example_from_dialogue_manager():
    result = scan(corpus("dialogue_manager/dialogue_for_visual_novel.dialogue"), player="player")
    src = "dialogue/dialogue_for_visual_novel.dialogue:"
    assert result.parsed.lines == [
        L("tf885328afb", "Nathan", "Hi, I'm Nathan and this is Coco.", src + "6"),
        L("t4c11347656", "Coco", "Meow.", src + "9"),
        L("tba678dd331", "Nathan", "Here are some response options.", src + "10"),
        # Responses are spoken by the project's player character; `=> start` is a jump, not speech.
        L("tec2831274f", "player", "First one", src + "11"),
        L("ted9b57f70f", "Nathan", "You picked the first one.", src + "12"),
        L("te9670331c2", "player", "Second one", src + "13"),
        L("t14bc171a9f", "Nathan", "You picked the second one.", src + "14"),
        L("ta04a1307f6", "player", "Start again", src + "15"),
        L("t3211e3adf8", "player", "End the conversation", src + "16"),
        L("t643e01443b", "Nathan", "I hope this example is helpful.", src + "17"),
        L("tb75d1c7a40", "Coco", "Meow.", src + "20"),
    ]
    # Every [ID:] in the file (11: 7 spoken lines, 4 responses); the `do ...` mutations are not lines.
    assert result.parsed.warnings == [] and result.parsed.skipped == [] and result.sites == []


def test_our_market_scene():
    result = scan(DATA / "dialogue_manager/market.dialogue")
    src = "dialogue/market.dialogue:"
    assert result.parsed.lines == [
        L("market.coco_fresh", "Coco", "Fresh fish! Fresh fish!", src + "7", "happy"),
        # [[a|b|c]]: one asset per alternative.
        L("market.nathan_greet~0", "Nathan", "Hi, Coco.", src + "8"),
        L("market.nathan_greet~1", "Nathan", "Hello, Coco.", src + "8"),
        L("market.nathan_greet~2", "Nathan", "Good morning, Coco.", src + "8"),
        L("market.coco_catch", "Coco", "Today's catch is huge! Look!", src + "9", "mood=excited", "shouting"),
        L("market.nathan_coupon", "Nathan", "I have a coupon.", src + "12"),
        L("market.market_start.b43107", "Coco", "For you, a discount.", src + "14", provisional=True),
        L("market.coco_no_haggle", "Coco", "No haggling.", src + "16"),
        L("market.resp_two", "wren", "I'll take two.", src + "17"),
        L("market.coco_excellent", "Coco", "Excellent choice.", src + "19"),
        L("market.resp_expensive", "wren", "Too expensive!", src + "20"),
        L("market.market_start.f20c7b", "wren", "Maybe later", src + "21", provisional=True),
        L("market.coco_soon", "Coco", "Come back soon!", src + "22"),
        L("market.coco_forget", "Coco", "Don't forget us!", src + "23"),
        # `{{MarketState.owner}}: ...`: who speaks is known at run time ([speakers] runtime maps it)
        replace(
            L("market.owner_line", "narrator", "I run this place.", src + "24"), runtime_speaker="{{MarketState.owner}}"
        ),
        L("market.nathan_cher", "Nathan", "Ça coûte trop cher…", src + "28", "whisper"),
        L("market.nathan_expensive_zh", "Nathan", "太贵了！", src + "29"),
        L("market.market_leave.ad3e43", "narrator", "The gulls scream overhead.", src + "30", provisional=True),
    ]
    assert result.parsed.skipped == [
        src + "10: text depends on a runtime value {{MarketState.price}}; not voiced",
        src + "25: text is chosen at runtime by an inline [if ...]; not voiced",
    ]
    assert result.parsed.warnings == [
        "dialogue/market.dialogue: 3 lines have no id (line 14, 21, 30); using provisional ids until `charvoice tag` writes them"
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("~ start\nNathan: Hello {{name [ID:a]\n", "bad.dialogue:2:15", "'{{' is never closed"),
        (
            "~ start\n\tNathan: [[Hi|Hello, Coco. [ID:a]\n",
            "bad.dialogue:2:10",
            "random alternatives '[[' are never closed",
        ),
        ("~ start\nNathan: [b Hello\n", "bad.dialogue:2:9", "'[' is never closed"),
        ("~ start\nNathan: Hello [ID:a\x1bb]\n", "bad.dialogue:2:19", "line id 'a\\x1bb' contains a control character"),
        ("~ start\nNathan: Hello [ID:a] [ID:b]\n", "bad.dialogue:2:22", "a line may have only one [ID:...]"),
        ("~\nNathan: Hello\n", "bad.dialogue:1:1", "a title line needs a name"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, text, where, message):
    project = make_project(tmp_path / "p", {"bad.dialogue": text})
    assert_rejected(project, f"dialogue/{where}: {message}")


def _pin_dialogue_manager(project, version: str) -> None:
    project.write("addons/dialogue_manager/plugin.cfg", f'[plugin]\nname="Dialogue Manager"\nversion="{version}"\n')


def test_duplicate_ids_name_both_places(tmp_path):
    text = "~ start\nNathan: One. [ID:same]\nCoco: Two. [ID:same]\n"
    project = make_project(tmp_path / "p", {"a.dialogue": text})
    _pin_dialogue_manager(project, "3.9.1")
    assert_rejected(
        project,
        "dialogue/a.dialogue:3:12: [ID:same] is already used at line 2 for other text (Dialogue Manager reports a duplicate ID)",
    )
    project = make_project(
        tmp_path / "q",
        {"a.dialogue": "~ start\nNathan: One. [ID:same]\n", "b.dialogue": "~ start\nNathan: One. [ID:same]\n"},
    )
    assert_rejected(
        project, "dialogue/b.dialogue:2: duplicate line id 'same': also at dialogue/a.dialogue:2"
    )  # one audio per id in the game


def test_an_id_repeated_with_the_same_text_plays_the_same_audio(tmp_path):
    """Dialogue Manager before 3.10 accepts a key again for the same text; 3.10 and 4.x report any duplicate ID."""
    text = "~ start\nCoco: Meow. [ID:meow]\nNathan: Hm.\nCoco: Meow. [ID:meow]\n"
    project = make_project(tmp_path / "p", {"a.dialogue": text})
    assert_rejected(project, "dialogue/a.dialogue:4:13: [ID:meow] is already used at line 2")
    _pin_dialogue_manager(project, "3.9.1")
    result = project.run("build")
    assert result.exit_code == 0, result.output
    manifest = json.loads(project.manifest.read_text(encoding="utf-8"))
    assert "meow" in manifest["lines"] and not any(key.startswith("meow~") for key in manifest["lines"])
    assert len(list(project.output.glob("en/coco/*.ogg"))) == 1  # one asset (and its word timings)
    assert len(list(project.output.glob("en/coco/*"))) == 2


def test_each_random_alternative_is_its_own_asset(tmp_path, engine_calls):
    project = make_project(tmp_path / "p", {"a.dialogue": "~ start\nCoco: [[Hi|Hello]] there. [ID:greet]\n"})
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(engine_calls) == ["Hello there.", "Hi there."]
    manifest = json.loads(project.manifest.read_text())
    assert {line_id: entry["audio"]["en"]["text"] for line_id, entry in manifest["lines"].items()} == {
        "greet~0": "Hi there.",
        "greet~1": "Hello there.",
    }


# --- what Dialogue Manager itself delivers (its compiler and tests: see test_formats_corpus.py) ---


def _lines(tmp_path, text: str, player: str = "player"):
    path = tmp_path / "scene.dialogue"
    path.write_text(text, encoding="utf-8")
    return scan(path, player=player)


def test_indented_lines_continue_the_line_above(tmp_path):
    result = _lines(
        tmp_path,
        "~ start\nNathan: This is the first line. [ID:first]\n\tThis is the second line.\n\n\tAnd a third. => END\nCoco: Meow. [ID:meow]\n",
    )
    src = "dialogue/scene.dialogue:"
    assert result.parsed.lines == [
        L("first", "Nathan", "This is the first line. This is the second line. And a third.", src + "2"),
        L("meow", "Coco", "Meow.", src + "6"),
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (
            "~ start\nNathan: One. [ID:a]\n\tdo something()\n",
            "bad.dialogue:3:2",
            "only more dialogue may be indented under a line of dialogue",
        ),
        (
            "~ start\nNathan: One. [ID:a]\n\tCoco: Two.\n",
            "bad.dialogue:3:2",
            "a continuation line cannot name a speaker",
        ),
        ("~ start\nNathan: One.\n\tTwo. [ID:a]\n", "bad.dialogue:3:7", "put the [ID:...] on the first line"),
        (
            "~ start\nNathan: One. [ID:a] => END\n\tTwo.\n",
            "bad.dialogue:2:21",
            "a jump in multi-line dialogue goes on its last line",
        ),
    ],
)
def test_continuation_lines_follow_dialogue_manager_rules(tmp_path, text, where, message):
    project = make_project(tmp_path / "p", {"bad.dialogue": text})
    assert_rejected(project, f"dialogue/{where}: {message}")


def test_jumps_are_not_speech_and_responses_may_name_a_speaker(tmp_path):
    text = "~ start\nNathan: Hello there. => start [ID:hello]\nNathan: Back soon. =>< other [ID:soon]\n- Coco: Meow? => END [ID:meow]\n- Fine. [ID:fine]\n~ other\nNathan: Other.\n"
    lines = _lines(tmp_path, text).parsed.lines
    assert [(line.id, line.character, line.text) for line in lines[:4]] == [
        ("hello", "Nathan", "Hello there."),
        ("soon", "Nathan", "Back soon."),
        ("meow", "Coco", "Meow?"),  # a response that names a speaker: Coco says it, not the player
        ("fine", "player", "Fine."),
    ]


def test_escaped_n_is_a_line_break_not_a_letter(tmp_path):
    [line] = _lines(tmp_path, "~ start\nNathan: One.\\nTwo. [ID:a]\n").parsed.lines
    assert line.text == "One. Two."


def test_doc_comments_are_the_notes_of_the_next_line_or_response(tmp_path):
    text = "~ start\n## Dialogue comment\nNathan: Some Dialogue [ID:a]\n## Multi\n## Line\ndo x()\nNathan: More [ID:b]\n## Response comment\n- Response 1 [ID:c]\nNathan: None. [ID:d]\n"
    assert [(line.id, line.notes) for line in _lines(tmp_path, text).parsed.lines] == [
        ("a", "Dialogue comment"),
        ("b", "Multi\nLine"),
        ("c", "Response comment"),
        ("d", ""),
    ]


def test_concurrent_lines_are_voiced_by_their_speakers(tmp_path):
    text = "~ start\nNathan: I'm saying this. [ID:a]\n| Coco: While I'm saying this. [ID:b]\n"
    assert [(line.id, line.character, line.text) for line in _lines(tmp_path, text).parsed.lines] == [
        ("a", "Nathan", "I'm saying this."),
        ("b", "Coco", "While I'm saying this."),
    ]


def test_only_capital_id_is_an_id(tmp_path):
    result = _lines(tmp_path, "~ start\nNathan: Lower. [id:x]\nNathan: Other. [TR:y]\n")
    assert [line.provisional for line in result.parsed.lines] == [True, True]
    assert [line.text for line in result.parsed.lines] == ["Lower.", "Other."]
    assert result.parsed.warnings[:2] == [
        "dialogue/scene.dialogue:2:16: [id:x] is not a line id in Dialogue Manager (it reads only [ID:...], in capitals); the game cannot find the line by it",
        "dialogue/scene.dialogue:3:16: [TR:y] is not a line id in Dialogue Manager (it reads only [ID:...], in capitals); the game cannot find the line by it",
    ]
    assert len(result.sites) == 2  # `charvoice tag` gives them real ids


def test_interpolation_only_lines_are_listed_as_skipped(tmp_path):
    result = _lines(tmp_path, "~ start\nNathan: {{greeting}} [ID:a]\n{{line_text}}\n")
    assert result.parsed.lines == []
    assert result.parsed.skipped == [
        "dialogue/scene.dialogue:2: text depends on a runtime value {{greeting}}; not voiced",
        "dialogue/scene.dialogue:3: text depends on a runtime value {{line_text}}; not voiced",
    ]


def test_a_speaker_tag_voices_a_line_whose_speaker_is_a_runtime_value(tmp_path):
    result = _lines(tmp_path, "~ start\n{{who}}: Good morning. [#speaker=Coco, #happy] [ID:a]\n")
    assert result.parsed.lines == [L("a", "Coco", "Good morning.", "dialogue/scene.dialogue:2", "happy")]


def test_notes_reach_the_manifest_and_the_recording_script(tmp_path):
    import csv
    import io

    project = make_project(
        tmp_path,
        {
            "scene.dialogue": "~ start\n## Whisper it: the guards are near.\nNathan: =_= Run. [ID:run]\nCoco: Meow. [ID:meow]\n"
        },
    )
    assert project.run("build").exit_code == 0
    lines = json.loads(project.manifest.read_text(encoding="utf-8"))["lines"]
    assert lines["run"]["audio"]["en"]["notes"] == "Whisper it: the guards are near."
    assert "notes" not in lines["meow"]["audio"]["en"]
    result = project.run("export-script")
    assert result.exit_code == 0, result.output
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff")))}
    assert rows["run"]["notes"] == "Whisper it: the guards are near."
    assert rows["run"]["text"] == "\u200b=_= Run."  # guarded, with nothing visible added
    assert project.run("review").exit_code == 0
    page = (project.output / "review.html").read_text(encoding="utf-8")
    assert "Whisper it: the guards are near." in page
