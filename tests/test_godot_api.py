"""Every engine class, method, property, signal and constant the addon's GDScript uses exists in
Godot 4.3, the lowest version the addon supports. No Godot binary runs here, so the check is
static: tests/godot_api_scan.py reads the scripts (typed variables, `Class.member`, call chains,
bare calls of inherited methods and global functions, bare constants, members named by
StringName in call()/set()/get()/connect()) and looks each name up in a fact sheet taken from
Godot's class reference, tests/data/godot_4_3_api.json (its "_how_made" says how). A wrong name
fails here, as it would fail to compile or run in the engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from godot_api_scan import FACTS, Checker

REPO = Path(__file__).resolve().parent.parent
ADDON = REPO / "plugin_godot/addons/charvoice"
ROOTS = {"res://addons/charvoice/": ADDON, "res://": REPO / "game"}
AUTOLOADS = {"CharVoice": ADDON / "runtime/charvoice.gd"}


def _scripts() -> list[Path]:
    return sorted(ADDON.rglob("*.gd")) + sorted((REPO / "game").glob("*.gd"))


@pytest.fixture(scope="module")
def checked() -> Checker:
    checker = Checker(_scripts(), ROOTS, AUTOLOADS)
    checker.check_all()
    return checker


def test_every_engine_name_the_addon_uses_is_in_godot_4_3(checked):
    assert not checked.problems, "names Godot 4.3 does not have (or the fact sheet lacks):\n" + "\n".join(
        checked.problems
    )


def test_the_check_reaches_the_whole_addon(checked):
    """The scan really follows the code: the names that matter most are seen as used."""
    seen = {f"{cls}.{name}" for cls, names in checked.used.items() for name in names}
    assert {
        "AudioStreamPlayer.play",
        "AudioStreamPlayer.stop",
        "AudioStreamPlayer.get_playback_position",
        "Node.tree_exiting",
        "Node.NOTIFICATION_TRANSLATION_CHANGED",
        "SceneTree.create_timer",
        "SceneTreeTimer.timeout",
        "EditorFileSystem.reimport_files",
        "EditorFileSystem.resources_reimported",
        "EditorExportPlugin.add_file",
        "JSON.get_error_line",
        "AudioServer.set_bus_volume_db",
        "OS.has_feature",
        "@GlobalScope.push_warning",
    } <= seen


def test_the_fact_sheet_holds_only_what_the_addon_uses(checked):
    """A small table: each member listed is used somewhere (a class may stand alone as a type
    or as a link in an inheritance chain)."""
    facts = json.loads(FACTS.read_text(encoding="utf-8"))
    unused = []
    for cls, info in facts["classes"].items():
        used = checked.used.get(cls, set())
        for name in [*info["methods"], *info["properties"], *info["signals"], *info["constants"]]:
            if name not in used:
                unused.append(f"{cls}.{name}")
    used_globals = checked.used.get("@GlobalScope", set())
    unused += [
        f"@GlobalScope.{name}"
        for name in [*facts["globals"]["functions"], *facts["globals"]["constants"]]
        if name not in used_globals
    ]
    assert not unused, "drop these from tests/data/godot_4_3_api.json (nothing uses them): " + ", ".join(unused)


def _problems(tmp_path: Path, source: str) -> list[str]:
    script = tmp_path / "probe.gd"
    script.write_text(source, encoding="utf-8")
    checker = Checker([script, *_scripts()], ROOTS, AUTOLOADS)
    checker.check_script(checker.scripts[script.resolve()])
    return checker.problems


GOOD = (
    "extends Node\n"
    "## A probe.\n"
    "\n"
    'const BUSES := {"names": ["Voice"]}\n'
    "var _player: AudioStreamPlayer\n"
    "\n"
    "\n"
    "func _ready() -> void:\n"
    "\t_player = AudioStreamPlayer.new()\n"
    "\tadd_child(_player)\n"
    "\t_player.play()\n"
    "\tvar seconds := _player.get_playback_position() + AudioServer.get_time_since_last_mix()\n"
    "\tget_tree().create_timer(seconds).timeout.connect(_player.stop)\n"
    '\tif OS.has_feature("editor"):\n'
    "\t\tpush_warning(CharVoice.get_locale())\n"
    "\n"
    "\n"
    "func _notification(what: int) -> void:\n"
    "\tif what == NOTIFICATION_TRANSLATION_CHANGED:\n"
    '\t\t_player.call(&"stop")\n'
)


def test_a_correct_probe_passes(tmp_path):
    assert _problems(tmp_path, GOOD) == []


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("_player.get_playback_position()", "_player.get_playback_positon()"),  # a typo
        ("AudioServer.get_time_since_last_mix()", "AudioServer.get_time_since_mix()"),
        ("create_timer(seconds).timeout", "create_timer(seconds).timout"),  # signal of a call's result
        ("NOTIFICATION_TRANSLATION_CHANGED", "NOTIFICATION_LOCALE_CHANGED"),  # a constant that is not there
        ("add_child(_player)", "add_child_node(_player)"),  # an inherited method that is not there
        ('_player.call(&"stop")', '_player.call(&"halt")'),  # a member named by StringName
        ("CharVoice.get_locale()", "CharVoice.get_language()"),  # the autoload's own API
        ("AudioStreamPlayer.new()", "AudioPlayer.new()"),  # a class that is not there
        ("_player.play()", "_player.idle_frame.connect(_ready)"),  # Godot 3's signal name
        # Godot 4.6 refuses a packed array constructor in a constant, even nested (4.3 took that)
        ('{"names": ["Voice"]}', '{"names": PackedStringArray(["Voice"])}'),
    ],
)
def test_a_wrong_name_fails(tmp_path, good, bad):
    source = GOOD.replace(good, bad)
    assert source != GOOD
    assert _problems(tmp_path, source), f"{bad} should not pass"
