"""The engine harness itself: a pack it writes runs in Godot 4.6 and reports back.

The harness is `tests/godot_engine.py` (the `godot` fixture) and `tests/godot_pck.py`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from godot_pck import CLASS_CACHE, global_class_cache, read_pck, write_pck

PROJECT = """config_version=5

[application]
config/name="harness"
run/main_scene="res://main.tscn"
"""

SCENE = """[gd_scene load_steps=2 format=3]

[ext_resource type="Script" path="res://main.gd" id="1"]

[node name="Main" type="Node"]
script = ExtResource("1")
"""

MAIN = """extends Node

func _ready() -> void:
	print("hello from ", Engine.get_version_info()["string"])
	print(Greeter.greet("pack"))
	get_tree().quit(7)
"""

GREETER = """class_name Greeter
extends RefCounted

static func greet(who: String) -> String:
	return "greetings, %s" % who
"""


def hello(**extra: str) -> dict[str, str]:
    return {"project.godot": PROJECT, "main.tscn": SCENE, "main.gd": MAIN, "lib/greeter.gd": GREETER, **extra}


def test_pack_round_trips_with_paths_offsets_and_md5(tmp_path: Path) -> None:
    files = {"res://project.godot": PROJECT, "a/b/c.gd": "x" * 37, "data.bin": bytes(range(256)) * 3}
    write_pck(files, tmp_path / "index.pck")
    raw = (tmp_path / "index.pck").read_bytes()
    assert raw[:4] == b"GDPC" and raw[4:8] == (3).to_bytes(4, "little")
    assert read_pck(tmp_path / "index.pck") == {
        "project.godot": PROJECT.encode(),
        "a/b/c.gd": b"x" * 37,
        "data.bin": bytes(range(256)) * 3,
    }


def test_class_cache_lists_class_names_with_their_base() -> None:
    cache = global_class_cache(
        {**hello(), "lib/child.gd": 'class_name Child\nextends "greeter.gd"\n', "plain.gd": "extends Node\n"}
    )
    assert '"class": &"Greeter"' in cache and '"path": "res://lib/greeter.gd"' in cache
    assert '"class": &"Child"' in cache and cache.count('"base": &"RefCounted"') == 2
    assert "plain.gd" not in cache


def test_a_written_pack_runs_in_godot_4_6(godot) -> None:
    run = godot.run(hello())
    assert run.failed is None
    assert run.exit_code == 7, run.errors[-20:]
    assert any(line.startswith("hello from 4.6") for line in run.lines), run.lines
    assert "greetings, pack" in run.lines  # class_name resolved through the written class list
    assert run.script_errors == []


def test_a_script_that_does_not_compile_is_reported(godot) -> None:
    broken = 'extends Node\nconst NAMES := PackedStringArray(["a"])\nfunc _ready() -> void:\n\tget_tree().quit(3)\n'
    run = godot.run({**hello(), "main.gd": broken}, timeout=20, idle=5)
    assert run.exit_code is None  # the main script never ran
    assert any("res://main.gd" in line for line in run.errors), run.errors
    assert run.script_errors


def test_without_the_class_list_class_names_are_unknown(godot) -> None:
    run = godot.run({**hello(), CLASS_CACHE: "list=[]\n"}, timeout=20, idle=5)
    assert run.exit_code != 7
    assert "greetings, pack" not in run.lines


@pytest.mark.parametrize("audio", [True, False], ids=["audio", "no-audio-device"])
def test_audio_mixes_only_with_the_worklets(godot, audio: bool) -> None:
    script = """extends Node

func _ready() -> void:
	var player := AudioStreamPlayer.new()
	player.stream = _tone()
	add_child(player)
	player.play()
	await get_tree().create_timer(2.5).timeout
	print("position ", player.get_playback_position())
	player.stop()  # quitting while a player sounds loses the exit code in the web template
	get_tree().quit(0)

func _tone() -> AudioStreamWAV:
	var wav := AudioStreamWAV.new()
	wav.format = AudioStreamWAV.FORMAT_8_BITS
	wav.mix_rate = 8000
	var data := PackedByteArray()
	data.resize(8000 * 5)
	wav.data = data
	return wav
"""
    run = godot.run({**hello(), "main.gd": script}, audio=audio, timeout=30)
    assert run.exit_code == 0, run.errors[-20:]
    position = float(next(line for line in run.lines if line.startswith("position ")).split()[1])
    assert (position > 0.5) if audio else (position == 0.0)
