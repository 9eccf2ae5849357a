"""The demo Godot project in game/ is wired to the addon and to the demo dialogue: autoload and
plugin registered, every res:// path it names exists once the addon is installed, the lines it
plays exist, and its export presets carry the manifest."""

from __future__ import annotations

import configparser
import csv
import fnmatch
import json
import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from charvoice.cli import cli
from charvoice.godot import install as godot
from charvoice.project.config import load_config

REPO = Path(__file__).resolve().parent.parent
GAME = REPO / "game"
ADDON = REPO / "plugin_godot/addons/charvoice"
RES_ADDON = "res://addons/charvoice/"


def _godot_config(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # keys are case-sensitive paths
    text = path.read_text(encoding="utf-8")
    parser.read_string("[top]\n" + text)  # project.godot starts with section-less keys
    return parser


def _unquote(value: str) -> str:
    return value.strip().strip('"')


def _res_paths(text: str) -> set[str]:
    return set(re.findall(r'res://[^"\s)]+', text))


def test_project_enables_the_plugin_and_registers_the_autoload():
    project = _godot_config(GAME / "project.godot")
    autoload = _unquote(project["autoload"]["CharVoice"])
    assert autoload == "*" + RES_ADDON + "runtime/charvoice.gd"  # "*": a singleton, as the plugin registers it
    assert (ADDON / "runtime/charvoice.gd").is_file()
    plugin_gd = (ADDON / "plugin.gd").read_text(encoding="utf-8")
    assert 'AUTOLOAD_NAME := "CharVoice"' in plugin_gd and '"runtime/charvoice.gd"' in plugin_gd
    assert RES_ADDON + "plugin.cfg" in project["editor_plugins"]["enabled"]
    assert '"4.3"' in project["application"]["config/features"]  # the lowest Godot the addon supports
    assert (GAME / _unquote(project["application"]["run/main_scene"]).removeprefix("res://")).is_file()


def test_every_res_path_of_the_demo_exists_once_the_addon_is_installed(tmp_path):
    game = tmp_path / "game"
    shutil.copytree(GAME, game, ignore=shutil.ignore_patterns(".godot", "addons", "voice"))
    result = CliRunner().invoke(cli, ["godot", "install", str(game)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    sources = [game / "project.godot", *game.glob("*.tscn"), *game.rglob("*.gd")]
    for source in sources:
        for res in _res_paths(source.read_text(encoding="utf-8")):
            if (
                res.startswith(
                    (
                        "res://voice/",
                        "res://addons/gut/",
                        "res://addons/dialogue_manager/",  # the engine tests add it
                        "res://test/data/missing",
                        "res://test/data/fixture_audio/",
                    )
                )
                or res == "res://x.json"
            ):
                continue  # built by charvoice, installed by the tester, or missing on purpose
            if "%" in res or res.endswith("/"):
                continue
            assert (game / res.removeprefix("res://")).exists(), f"{source.name} names {res}"


def test_the_conversation_plays_lines_of_the_demo_script():
    with open(REPO / "dialogue/lighthouse.csv", encoding="utf-8", newline="") as handle:
        ids = {row["id"] for row in csv.DictReader(handle)}
    main = (GAME / "main.gd").read_text(encoding="utf-8")
    conversation = re.findall(r'^\t"([\w.]+)",$', main, re.MULTILINE)
    assert len(conversation) >= 5 and set(conversation) <= ids
    scene = (GAME / "main.tscn").read_text(encoding="utf-8")
    assert re.search(r'line_id = "([\w.]+)"', scene).group(1) in ids
    assert "CharVoice.line_finished.connect" in main  # advances when the voice ends


def test_the_addon_default_finds_the_demo_manifest():
    settings = (ADDON / "runtime/charvoice_settings.gd").read_text(encoding="utf-8")
    default = re.search(r'"name": MANIFEST_PATH,\s*"default": "([^"]+)"', settings).group(1)
    assert default == godot.DEFAULT_MANIFEST_PATH
    config = load_config(REPO)
    assert config.godot_project == GAME
    assert godot.res_path(GAME, config.manifest_path) == default
    assert godot.manifest_hint(GAME) is None


def test_export_presets_carry_the_manifest_and_the_voice():
    presets = _godot_config(GAME / "export_presets.cfg")
    names = [section for section in presets.sections() if re.fullmatch(r"preset\.\d+", section)]
    assert names
    for name in names:
        preset = presets[name]
        patterns = [p.strip() for p in _unquote(preset["include_filter"]).split(",") if p.strip()]
        for file in ("voice/voice_manifest.json", "voice/en/mara/lighthouse.mara_answer.ogg"):
            # Godot matches filters against the path with and without res:// ('*' spans '/').
            assert any(fnmatch.fnmatchcase(file, p) or fnmatch.fnmatchcase("res://" + file, p) for p in patterns), (
                name,
                file,
            )
        assert "test/*" in _unquote(preset["exclude_filter"]), "the GUT tests stay out of the game"


def test_gut_config_and_gitignore():
    gut = json.loads((GAME / ".gutconfig.json").read_text(encoding="utf-8"))
    assert gut["dirs"] == ["res://test/"] and gut["prefix"] == "test_"
    ignored = (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "game/addons/charvoice/" in ignored, "the demo's addon is a copy made by `charvoice godot install`"


# Godot 4 defaults of Control.mouse_filter (0 STOP, 1 PASS, 2 IGNORE) for the node types the demo uses.
_MOUSE_FILTER_DEFAULT = {
    "Control": 0,
    "ColorRect": 0,
    "Panel": 0,
    "TextureRect": 0,
    "MarginContainer": 1,
    "VBoxContainer": 1,
    "HBoxContainer": 1,
    "Label": 2,
    "RichTextLabel": 0,
}


def test_a_click_reaches_the_demo_and_skips_the_line():
    """A Control that stops the mouse (ColorRect, plain Control) would swallow the click before
    _unhandled_input: every child Control lets it through, and the root takes it in _gui_input."""
    scene = (GAME / "main.tscn").read_text(encoding="utf-8")
    nodes = re.findall(r'\[node name="(\w+)" type="(\w+)"( parent="[^"]*")?\]\n((?:[^\[\n].*\n|\n)*)', scene)
    blocking = []
    for name, kind, parent, body in nodes:
        if not parent or kind not in _MOUSE_FILTER_DEFAULT:
            continue  # the root handles the click; audio players are not Controls
        found = re.search(r"^mouse_filter = (\d)$", body, re.MULTILINE)
        if (int(found.group(1)) if found else _MOUSE_FILTER_DEFAULT[kind]) == 0:
            blocking.append(name)
    assert not blocking, f"these Controls stop the mouse before the demo sees a click: {blocking}"
    main = (GAME / "main.gd").read_text(encoding="utf-8")
    gui_input = main.split("func _gui_input(event: InputEvent) -> void:")[1].split("\nfunc ")[0]
    assert "InputEventMouseButton" in gui_input and "_skip()" in gui_input
