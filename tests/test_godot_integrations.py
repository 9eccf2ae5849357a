"""The dialogue-addon integrations pick the right voiced line, checked from Python by running their
static GDScript functions (the manifest-rules evaluator) on what the real tools produce.

Dialogue Manager keeps the bare `[ID:...]` key on a line with `[[A|B]]` alternatives and puts the
alternative it picked into `line.text`; charvoice voiced each alternative as `key~N` (parsed here
by charvoice's own Dialogue Manager reader). Yarn Spinner's shadow lines carry `shadow:<id>` in
their metadata and must play the audio of the line they shadow."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers_formats import scan
from test_godot_manifest_schema import _gd_constants
from test_godot_timings import TimingsSubset

REPO = Path(__file__).resolve().parent.parent
INTEGRATIONS = REPO / "plugin_godot/addons/charvoice/integrations"
DM_GD = INTEGRATIONS / "dialogue_manager_voice.gd"
YARN_GD = INTEGRATIONS / "yarn_spinner_voice.gd"

SCRIPT = """~ start
Nathan: [[Hi|Hello|Howdy]], [b]traveller[/b]! [ID:greet]
Nathan: [[Good|Fine]] weather  for [[ducks|geese]]. [ID:weather]
Nathan: Nothing random here. [ID:plain]
=> END
"""


@pytest.fixture(scope="module")
def dm() -> TimingsSubset:
    return TimingsSubset(DM_GD.read_text(encoding="utf-8"), _gd_constants(DM_GD))


@pytest.fixture(scope="module")
def voiced(tmp_path_factory) -> dict[str, str]:
    """id -> text of every line charvoice voices from SCRIPT, as its Dialogue Manager reader sees it."""
    path = tmp_path_factory.mktemp("dm") / "greet.dialogue"
    path.write_text(SCRIPT, encoding="utf-8")
    result = scan(path)
    assert not result.problems, result.problems
    return {line.id: line.text for line in result.parsed.lines}


def _alternatives(voiced: dict[str, str], key: str) -> dict[str, str]:
    return {line_id: text for line_id, text in voiced.items() if line_id.startswith(key + "~")}


def test_the_reader_voices_each_alternative_under_key_tilde_n(voiced):
    assert {"greet~0", "greet~1", "greet~2", "plain"} <= set(voiced)
    assert "greet" not in voiced  # the bare key Dialogue Manager reports has no audio of its own


@pytest.mark.parametrize(
    ("runtime_text", "expected"),
    [
        # line.text as Dialogue Manager shows it: the picked alternative, BBCode kept.
        ("Hi, [b]traveller[/b]!", "greet~0"),
        ("Hello, [b]traveller[/b]!", "greet~1"),
        ("Howdy, [b]traveller[/b]!", "greet~2"),
        ("Howdy,  [b]traveller[/b]! ", "greet~2"),  # spacing does not matter
        ("Greetings, traveller!", ""),  # not a voiced alternative: no voice, never a wrong one
    ],
)
def test_dialogue_manager_plays_the_alternative_it_picked(dm, voiced, runtime_text, expected):
    assert dm.call("pick_alternative", runtime_text, _alternatives(voiced, "greet")) == expected


def test_every_combination_of_two_alternative_groups_is_found(dm, voiced):
    alternatives = _alternatives(voiced, "weather")
    assert len(alternatives) == 4
    for line_id, text in alternatives.items():
        assert dm.call("pick_alternative", text, alternatives) == line_id


def test_plain_text_drops_bbcode_and_extra_spaces(dm):
    assert dm.call("plain_text", "  [wave amp=50]Hello[/wave]\tthere \n") == "Hello there"


@pytest.fixture(scope="module")
def yarn() -> TimingsSubset:
    return TimingsSubset(YARN_GD.read_text(encoding="utf-8"), _gd_constants(YARN_GD))


@pytest.mark.parametrize(
    ("text_id", "metadata", "expected"),
    [
        ("line:quay.tide", [], "line:quay.tide"),
        ("line:quay.tide-shadow", ["shadow:quay.tide"], "line:quay.tide"),  # the shadowed line's audio
        ("line:x", ["lastline", "shadow:line:quay.tide"], "line:quay.tide"),
        ("line:x", ["shadowy"], "line:x"),  # a tag that only starts like it
    ],
)
def test_yarn_shadow_lines_play_the_line_they_shadow(yarn, text_id, metadata, expected):
    assert yarn.call("voiced_text_id", text_id, metadata) == expected
