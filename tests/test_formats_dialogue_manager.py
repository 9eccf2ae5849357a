"""Godot Dialogue Manager scripts: the exact lines a real script and our own corpus give, and every error's place."""

from __future__ import annotations

import json

import pytest
from helpers_formats import corpus, DATA, L, assert_rejected, make_project, scan


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
        L("market.nathan_cher", "Nathan", "Ça coûte trop cher…", src + "28", "whisper"),
        L("market.nathan_expensive_zh", "Nathan", "太贵了！", src + "29"),
        L("market.market_leave.ad3e43", "narrator", "The gulls scream overhead.", src + "30", provisional=True),
    ]
    assert result.parsed.skipped == [
        src + "10: text depends on a runtime value {{MarketState.price}}; not voiced",
        src + "24: speaker depends on a runtime value",
        src + "25: text is chosen at runtime by an inline [if ...]; not voiced",
    ]
    assert result.parsed.warnings == ["dialogue/market.dialogue: 3 lines have no id (line 14, 21, 30); using provisional ids until `charvoice tag` writes them"]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("~ start\nNathan: Hello {{name [ID:a]\n", "bad.dialogue:2:15", "'{{' is never closed"),
        ("~ start\n\tNathan: [[Hi|Hello, Coco. [ID:a]\n", "bad.dialogue:2:10", "random alternatives '[[' are never closed"),
        ("~ start\nNathan: [b Hello\n", "bad.dialogue:2:9", "'[' is never closed"),
        ("~ start\nNathan: Hello [ID:a b]\n", "bad.dialogue:2:19", "line id 'a b'"),
        ("~ start\nNathan: Hello [ID:a] [ID:b]\n", "bad.dialogue:2:22", "a line may have only one [ID:...]"),
        ("~\nNathan: Hello\n", "bad.dialogue:1:1", "a title line needs a name"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, text, where, message):
    project = make_project(tmp_path / "p", {"bad.dialogue": text})
    assert_rejected(project, f"dialogue/{where}: {message}")


def test_duplicate_ids_name_both_places(tmp_path):
    text = "~ start\nNathan: One. [ID:same]\nCoco: Two. [ID:same]\n"
    project = make_project(tmp_path / "p", {"a.dialogue": text})
    assert_rejected(project, "dialogue/a.dialogue:3: duplicate line id 'same': also at dialogue/a.dialogue:2")


def test_each_random_alternative_is_its_own_asset(tmp_path, engine_calls):
    project = make_project(tmp_path / "p", {"a.dialogue": "~ start\nCoco: [[Hi|Hello]] there. [ID:greet]\n"})
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(engine_calls) == ["Hello there.", "Hi there."]
    manifest = json.loads(project.manifest.read_text())
    assert {line_id: entry["audio"]["en"]["text"] for line_id, entry in manifest["lines"].items()} == {"greet~0": "Hi there.", "greet~1": "Hello there."}
