"""Takes, approvals and recorded overrides: what an audio lead pins stays pinned."""

from __future__ import annotations

import json
import shutil
import tomllib

import numpy as np
import soundfile
from audio_check import loudness
from conftest import LINES, csv_text
from fakes.fixtures import API_KEY, make_project


def manifest_entry(project, line_id: str) -> dict:
    return json.loads(project.manifest.read_text())["lines"][line_id]["audio"]["en"]


def test_takes_are_new_readings_kept_side_by_side(project, engine_calls):
    assert project.run("build").exit_code == 0
    engine_calls.clear()
    result = project.run("take", "intro.greet", "--count", "2")
    assert result.exit_code == 0, result.output
    assert len(engine_calls) == 2
    takes = sorted((project.root / ".charvoice/takes/en/intro.greet").glob("take-*.ogg"))
    assert [p.name for p in takes] == ["take-1.ogg", "take-2.ogg"]
    regular = soundfile.read(str(project.output / "en/aria/intro.greet.ogg"))[0]
    for path in takes:
        assert f".charvoice/takes/en/intro.greet/{path.name}" in result.output
        data = soundfile.read(str(path))[0]
        assert len(data) != len(regular) or not np.allclose(data[: len(regular)], regular[: len(data)], atol=1e-3)
    more = project.run("take", "intro.greet", "-n", "1")
    assert "take 3" in more.output and len(engine_calls) == 3  # numbering continues


def test_approved_take_survives_settings_changes_and_is_reprocessed(project, engine_calls):
    assert project.run("build").exit_code == 0
    project.run("take", "intro.greet", "-n", "2")
    approve = project.run("approve", "intro.greet", "--take", "2")
    assert approve.exit_code == 0, approve.output
    assert "approved take 2 of intro.greet [en]: approved/en/intro.greet.wav" in approve.output
    approvals = tomllib.loads((project.root / "charvoice.approvals.toml").read_text())
    assert approvals["approved"]["intro.greet"]["en"]["take"] == 2
    entry = manifest_entry(project, "intro.greet")
    assert (entry["origin"], entry["take"]) == ("approved", 2)
    take_audio = soundfile.read(str(project.root / ".charvoice/takes/en/intro.greet/take-2.ogg"))[0]
    published = soundfile.read(str(project.output / "en/aria/intro.greet.ogg"))[0]
    assert abs(len(take_audio) - len(published)) < 2000

    # Aria's voice changes: her other line is voiced again, the approved one is not.
    engine_calls.clear()
    project.write(
        "characters/aria.toml", 'name = "Aria"\n[voice]\nscratch = true\n[scratch]\nvoice = "en-us+f4"\npitch = 20\n'
    )
    report = json.loads(project.run("build", "--json").stdout)
    assert engine_calls == ["Did you bring the letters from the mainland?"]
    assert report["built"] == 1 and manifest_entry(project, "intro.greet")["take"] == 2

    # Audio processing is still applied to the approved take, from its pinned audio.
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + "\n[audio]\nloudness_lufs = -23.0\n")
    report = json.loads(project.run("build", "--json").stdout)
    assert report["synthesized"] == 0 and report["built"] == len(LINES)
    assert abs(loudness(project.output / "en/aria/intro.greet.ogg") - (-23.0)) <= 1.0


def test_approved_take_ships_on_a_machine_without_the_cache(project, engine_calls):
    assert project.run("build").exit_code == 0
    project.run("take", "intro.greet", "-n", "1")
    project.run("approve", "intro.greet", "--take", "1")
    shutil.rmtree(project.root / ".charvoice")  # a fresh CI checkout: approvals and approved/ are committed
    shutil.rmtree(project.output)
    engine_calls.clear()
    report = json.loads(project.run("build", "--json").stdout)
    assert report["built"] == len(LINES) and len(engine_calls) == len(LINES) - 1  # every line but the approved one
    assert manifest_entry(project, "intro.greet")["origin"] == "approved"


def test_text_change_on_an_approved_line_needs_approval_again(project, engine_calls):
    assert project.run("build").exit_code == 0
    project.run("approve", "intro.greet")
    assert manifest_entry(project, "intro.greet")["take"] == 0
    edited = [list(row) for row in LINES]
    edited[0][2] = "Hello there, traveller. Welcome to Kerrowan."
    project.write("dialogue/intro.csv", csv_text(edited))
    check = project.run("check")
    assert "intro.greet [en]: text changed (needs approval)" in check.output
    engine_calls.clear()
    assert project.run("build").exit_code == 0
    assert engine_calls == ["Hello there, traveller. Welcome to Kerrowan."]
    entry = manifest_entry(project, "intro.greet")
    assert entry["needs_approval"] is True and entry["origin"] == "engine"
    assert project.run("approve", "intro.greet").exit_code == 0
    entry = manifest_entry(project, "intro.greet")
    assert entry["origin"] == "approved" and "needs_approval" not in entry


def test_recording_replaces_synthesis_and_flags_text_changes(project, engine_calls):
    assert project.run("build").exit_code == 0
    recording = project.root / "recordings/intro.reply.wav"
    recording.parent.mkdir()
    rate = 48000
    t = np.arange(int(2.5 * rate)) / rate
    voice = 0.05 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)  # quiet, with studio silence around it
    soundfile.write(str(recording), np.concatenate([np.zeros(rate), voice, np.zeros(rate)]), rate, subtype="PCM_24")
    engine_calls.clear()
    check = project.run("check")
    assert "intro.reply [en]: recording added" in check.output
    report = json.loads(project.run("build", "--json").stdout)
    assert engine_calls == [] and report["built"] == 1
    entry = manifest_entry(project, "intro.reply")
    assert (entry["origin"], entry["engine"]) == ("recorded", "recording")
    asset = project.output / "en/bram/intro.reply.ogg"
    assert abs(loudness(asset) - (-18.0)) <= 1.0  # same processing as synthesis
    assert soundfile.info(str(asset)).duration < 3.0  # the second of silence each side was trimmed

    edited = [list(row) for row in LINES]
    edited[1][2] = "Thank you. The crossing was rough."
    project.write("dialogue/intro.csv", csv_text(edited))
    assert project.run("build").exit_code == 0
    assert engine_calls == []  # the recording still wins...
    assert manifest_entry(project, "intro.reply")["text_changed_since_recording"] is True  # ...and is flagged


def test_approved_line_survives_a_temperature_change_with_zero_fish_calls(tmp_path, fish, fish_env):
    project = make_project(
        tmp_path / "p",
        fish,
        characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'},
        lines=[("dock.1", "Bram", "Mind the ropes."), ("dock.2", "Bram", "Tide's turning.")],
    )
    assert project.run("build").exit_code == 0
    assert project.run("approve", "dock.1").exit_code == 0
    fish.reset_calls()
    project.write(
        "characters/bram.toml", (project.root / "characters/bram.toml").read_text() + "[speech]\ntemperature = 0.4\n"
    )
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    assert fish.tts_texts() == ["Tide's turning."]


def test_without_a_key_fish_lines_are_kept_and_new_lines_get_scratch(tmp_path, fish, fish_env, monkeypatch):
    lines = [("dock.1", "Bram", "Mind the ropes."), ("dock.2", "Bram", "Tide's turning.")]
    project = make_project(
        tmp_path / "p",
        fish,
        engine="auto",
        characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'},
        lines=lines,
    )
    assert project.run("build").exit_code == 0
    assert len(fish.tts_texts()) == 2

    monkeypatch.delenv("FISH_API_KEY")  # a writer's machine, or CI without the secret
    result = project.run("build", "--json")
    assert json.loads(result.stdout)["built"] == 0  # the Fish voices are not replaced by scratch
    assert project.run("check").exit_code == 0

    project.write_lines([lines[0], ("dock.2", "Bram", "The tide is turning, lads.")])
    assert json.loads(project.run("build", "--json").stdout)["synthesized"] == 1
    manifest = json.loads((project.root / "game/voice/voice_manifest.json").read_text())["lines"]
    assert (manifest["dock.1"]["audio"]["en"]["engine"], manifest["dock.2"]["audio"]["en"]["engine"]) == (
        "fish",
        "offline",
    )

    monkeypatch.setenv("FISH_API_KEY", API_KEY)
    fish.reset_calls()
    report = json.loads(project.run("build", "--json").stdout)
    assert report["synthesized"] == 1 and fish.tts_texts() == [
        "The tide is turning, lads."
    ]  # the scratch line gets its real voice
