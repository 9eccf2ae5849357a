"""The addon's reading of a line's timings file (issue 13) agrees with charvoice's: the same table
of cases (game/test/data/timings_cases.json) runs against the Python reference
(charvoice/godot/timings.py), against the GDScript functions of runtime/charvoice_timings.gd (run
by the manifest-rules evaluator) and, in Godot, against the GUT test
game/test/test_charvoice_timings.gd. A sample timings file written here is read as a game would
read it."""

from __future__ import annotations

import json
from pathlib import Path

import addon_rules
import addon_timings as timings
import pytest
from lark import Token, Tree
from test_godot_manifest_rules import GDScriptSubset, _Break, _Continue
from test_godot_manifest_schema import _gd_constants as _gd_constants_of

REPO = Path(__file__).resolve().parent.parent
CASES = json.loads((REPO / "game/test/data/timings_cases.json").read_text(encoding="utf-8"))
TIMINGS_GD = REPO / "plugin_godot/addons/charvoice/runtime/charvoice_timings.gd"
MANIFEST_GD = REPO / "plugin_godot/addons/charvoice/runtime/charvoice_manifest.gd"


def _cases(kind: str):
    return [pytest.param(case, id=f"{kind}-{n}") for n, case in enumerate(CASES[kind])]


def _words(case) -> list:
    return [tuple(word) for word in case["words"]]


# --- the table itself states the documented rules ------------------------------------------


def test_the_table_holds_the_documented_rules():
    cleaned = CASES["clean_words"][0]["expected"]
    assert [w[4] for w in cleaned] == ["Hello", "world", "again"]  # sorted; malformed entries dropped
    mouth = CASES["clean_mouth"][0]["expected"]
    assert ["Q"] not in [[c[1]] for c in mouth]  # an unknown shape is dropped
    at = {case["time"]: case["expected"] for case in CASES["mouth_at"]}
    assert at[-0.1] == "X" and at[0.25] == "C"  # rest before the track; the later of two equal cues wins
    reveal = {case["time"]: case["expected"] for case in CASES["reveal_count"]}
    assert reveal[0.0] == 0 and reveal[0.1] == 5 and reveal[0.61] == 12 and reveal[5.0] == 18


# --- the Python reference ------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases("clean_words"))
def test_python_clean_words(case):
    assert [list(w) for w in timings.clean_words(case["input"])] == case["expected"]


@pytest.mark.parametrize("case", _cases("clean_mouth"))
def test_python_clean_mouth(case):
    assert [list(c) for c in timings.clean_mouth(case["input"])] == case["expected"]


@pytest.mark.parametrize("case", _cases("reveal_count"))
def test_python_reveal_count(case):
    assert timings.reveal_count(_words(case), case["time"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("started_words"))
def test_python_started_words(case):
    assert timings.started_words(_words(case), case["time"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("mouth_at"))
def test_python_mouth_at(case):
    assert timings.mouth_at([tuple(c) for c in case["mouth"]], case["time"]) == case["expected"]


# --- the GDScript, evaluated ---------------------------------------------------------------


class TimingsSubset(GDScriptSubset):
    """The manifest-rules evaluator plus what the timings and integration functions use: typed
    for loops, `+=`, `+` in a conditional expression, maxi(), and the script's own constants."""

    def __init__(self, source: str, constants: dict) -> None:
        super().__init__(source)
        self.constants = constants

    def _statement(self, node: Tree, scope: dict) -> None:
        if node.data == "for_stmt_typed":
            name, _type, iterable, *body = node.children
            for value in list(self._eval(iterable, scope)):
                scope[str(name)] = value
                try:
                    self._block(body, scope)
                except _Continue:
                    continue
                except _Break:
                    break
            return
        super()._statement(node, scope)

    def _eval(self, node, scope):
        if isinstance(node, Token) and node.type == "NAME" and str(node) not in scope and str(node) in self.constants:
            return self.constants[str(node)]
        if isinstance(node, Tree) and node.data == "standalone_call" and str(node.children[0]) == "maxi":
            return max(int(self._eval(arg, scope)) for arg in node.children[1:])
        if isinstance(node, Tree) and node.data == "asless_arith_expr":  # `a + b` inside `x if c else a + b`
            result = self._eval(node.children[0], scope)
            for operator, operand in zip(node.children[1::2], node.children[2::2], strict=True):
                value = self._eval(operand, scope)
                result = result + value if str(operator) == "+" else result - value
            return result
        if isinstance(node, Tree) and node.data == "assnmnt_expr" and str(node.children[1]) == "+=":
            target, _operator, value = node.children
            scope[str(target)] = scope[str(target)] + self._eval(value, scope)
            return None
        return super()._eval(node, scope)


@pytest.fixture(scope="module")
def gdscript() -> TimingsSubset:
    return TimingsSubset(TIMINGS_GD.read_text(encoding="utf-8"), _gd_constants_of(TIMINGS_GD))


@pytest.mark.parametrize("case", _cases("reveal_count"))
def test_gdscript_reveal_count(gdscript, case):
    assert gdscript.call("reveal_count", case["words"], case["time"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("started_words"))
def test_gdscript_started_words(gdscript, case):
    assert gdscript.call("started_words", case["words"], case["time"]) == case["expected"]


@pytest.mark.parametrize("case", _cases("mouth_at"))
def test_gdscript_mouth_at(gdscript, case):
    assert gdscript.call("mouth_at", case["mouth"], case["time"]) == case["expected"]


def test_gdscript_constants_match_the_reference():
    constants = _gd_constants_of(TIMINGS_GD)
    assert constants["FORMAT"] == timings.FORMAT and constants["VERSION"] == timings.VERSION
    assert constants["REST_SHAPE"] == timings.REST_SHAPE
    source = TIMINGS_GD.read_text(encoding="utf-8")
    assert 'const SHAPES: Array[String] = ["X", "A", "B", "C", "D", "E", "F", "G", "H"]' in source
    assert list(timings.SHAPES) == ["X", "A", "B", "C", "D", "E", "F", "G", "H"]
    assert _gd_constants_of(MANIFEST_GD)["KEY_TIMINGS"] == "timings"


# --- a sample file, as a game reads it -----------------------------------------------------

SAMPLE = {
    "format": "charvoice-timings",
    "version": 1,
    "source": "engine",
    "duration_s": 1.42,
    "words": [[0.10, 0.42, 0, 5, "Hello"], [0.55, 1.30, 7, 12, "there"]],
    "mouth": [[0.00, "X"], [0.10, "B"], [0.30, "E"], [0.55, "D"], [1.30, "X"]],
}


def test_a_sample_file_reads_as_a_game_shows_it(tmp_path):
    path = tmp_path / "en/aria/intro.greet.timings.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(SAMPLE), encoding="utf-8")
    line = timings.parse_timings(path.read_text(encoding="utf-8"), str(path))
    text = "Hello, there!"
    assert line.source == "engine" and line.duration_s == pytest.approx(1.42)
    assert text[: line.characters_at(0.05)] == ""
    assert text[: line.characters_at(0.2)] == "Hello"
    assert text[: line.characters_at(0.6)] == "Hello, there"
    assert [line.shape_at(t) for t in (0.0, 0.2, 0.4, 0.6, 1.35, 1.5)] == ["X", "B", "E", "D", "X", "X"]
    # Referenced from the manifest like `path`: relative to the manifest's folder.
    manifest = "res://voice/voice_manifest.json"
    assert (
        addon_rules.resolve_audio_path(manifest, "en/aria/intro.greet.timings.json")
        == "res://voice/en/aria/intro.greet.timings.json"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON (line 1"),
        ('{"format": "charvoice-manifest", "version": 1}', "is not a charvoice timings file"),
        ('{"format": "charvoice-timings", "version": 2}', "has timings version 2"),
        ('{"format": "charvoice-timings", "version": true}', "has timings version True"),
    ],
)
def test_a_bad_file_is_refused_with_its_path(text, message):
    with pytest.raises(timings.TimingsError) as caught:
        timings.parse_timings(text, "voice/en/x.timings.json")
    assert "voice/en/x.timings.json" in str(caught.value) and message in str(caught.value)


def test_malformed_entries_are_dropped_not_fatal():
    data = dict(SAMPLE, words=[[0.1, 0.2, 0, 2, "ok"], ["x"], None], mouth=[[0.0, "Z"], [0.1, "A"]])
    line = timings.parse_timings(json.dumps(data))
    assert line.words == [(0.1, 0.2, 0, 2, "ok")] and line.mouth == [(0.1, "A")]
