"""Clones as Fish Audio takes them: public models with a cover picture, instant clones whose
samples are transcribed once and prepared once, and the marker tag kept where it belongs.

Sources: ../shared/fish-api/openapi.json (POST /model: cover_image "required if the model is
public", voices maxItems 20; ReferenceAudio: WAV, MP3, FLAC, "10-30 seconds"; POST /v1/asr).
"""

from __future__ import annotations

import tomllib
import wave

import numpy as np
from fakes.fixtures import make_project, write_sample

from charvoice.audio import decode

ARIA_PUBLIC = 'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav"]\ntexts = ["The tide is early today."]\nvisibility = "public"\n'
CLEO_BARE = 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\nclone = "instant"\n'


def test_a_public_clone_without_a_cover_is_refused_before_any_upload(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters={"aria": ARIA_PUBLIC}, lines=[("a.1", "Aria", "Hello.")])
    for command in (("build",), ("voices", "sync")):
        run = project.run(*command)
        assert run.exit_code == 2, run.output
        assert "characters/aria.toml:5:" in run.output and "cover_image" in run.output and "Traceback" not in run.output
    assert fish.calls() == []


def test_a_public_clone_sends_its_cover_and_keeps_the_marker_off_its_tags(tmp_path, fish, fish_env):
    characters = {"aria": ARIA_PUBLIC + 'cover_image = "voices/aria/cover.png"\ntags = ["keeper"]\n'}
    project = make_project(tmp_path, fish, characters=characters, lines=[("a.1", "Aria", "Hello.")])
    (project.root / "characters/voices/aria/cover.png").write_bytes(b"\x89PNG\r\n\x1a\n fake picture")
    fish.inject("drop", "/model")  # the create's answer is lost: found again by title, not by a visible tag
    run = project.run("build")
    assert run.exit_code == 0, run.output
    [create] = [r for r in fish.calls("POST", "/model")]
    assert create.body.files["cover_image"][0][1].startswith(b"\x89PNG") and create.body.fields["tags"] == ["keeper"]
    [model] = fish.models.values()
    assert model["visibility"] == "public" and model["tags"] == ["keeper"] and model["cover_image"]
    assert len(fish.calls("GET", "/model")) >= 1  # the lost answer was looked for, and nothing cloned twice


def test_an_instant_clone_without_texts_is_transcribed_once_and_the_transcript_kept(tmp_path, fish, fish_env):
    lines = [("c.1", "Cleo", "I saw a light on the old pier."), ("c.2", "Cleo", "Nobody goes there.")]
    project = make_project(tmp_path, fish, characters={"cleo": CLEO_BARE}, lines=lines)
    fish.asr_unknown = "I was never here."  # what the fake hears in a sample it did not speak
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert len(fish.asr_calls()) == 1  # one sample, one transcription, however many lines
    assert "says: 'I was never here.'" in run.output and 'texts = ["I was never here."]' in run.output
    locked = tomllib.loads(project.lock_path.read_text())["transcripts"]
    assert [(t["sample"], t["text"]) for t in locked.values()] == [
        ("characters/voices/cleo/01.wav", "I was never here.")
    ]
    assert {r.body["references"][0]["text"] for r in fish.calls("POST", "/v1/tts")} == {"I was never here."}

    project.write_lines([*lines, ("c.3", "Cleo", "Then who lit the lamp?")])
    assert project.run("build").exit_code == 0
    assert project.run("build", "--force").exit_code == 0
    assert len(fish.asr_calls()) == 1  # kept in charvoice.lock: never transcribed again
    assert len(fish.calls("POST", "/v1/tts")) == 3  # the new line was voiced with the kept transcript


def test_a_corrected_transcript_in_the_character_file_is_sent_and_revoices_the_lines(tmp_path, fish, fish_env):
    lines = [("c.1", "Cleo", "I saw a light on the old pier.")]
    project = make_project(tmp_path, fish, characters={"cleo": CLEO_BARE}, lines=lines)
    fish.asr_unknown = "I was never hear."
    assert project.run("build").exit_code == 0
    project.write("characters/cleo.toml", CLEO_BARE + 'texts = ["I was never here."]\n')
    assert project.run("build").exit_code == 0
    assert [r.body["references"][0]["text"] for r in fish.calls("POST", "/v1/tts")] == [
        "I was never hear.",
        "I was never here.",
    ]


def test_instant_references_are_prepared_once_mono_trimmed_and_at_most_30_s(tmp_path, fish, fish_env):
    lines = [(f"c.{i}", "Cleo", f"Line number {i}.") for i in range(4)]
    characters = {"cleo": CLEO_BARE.replace("clone", 'texts = ["Long take."]\nclone')}
    project = make_project(tmp_path, fish, characters=characters, lines=lines)
    sample = project.root / "characters/voices/cleo/01.wav"
    write_sample(sample, seconds=40.0, channels=2, rate=44100)
    with wave.open(str(sample)) as reader:  # three seconds of silence first
        frames, params = reader.readframes(reader.getnframes()), reader.getparams()
    with wave.open(str(sample), "wb") as out:
        out.setparams(params)
        out.writeframes(b"\x00" * (3 * 44100 * 4) + frames)
    assert project.run("build").exit_code == 0
    sent = [r.body["references"][0]["audio"] for r in fish.calls("POST", "/v1/tts")]
    assert len(sent) == 4 and len(set(sent)) == 1  # the same prepared bytes with every line
    assert len(sent[0]) < sample.stat().st_size / 10  # 7 MB of stereo WAV -> under 0.7 MB
    pcm = decode(sent[0], 16000)
    assert 29.0 <= len(pcm) / 16000 <= 30.5
    first_sound = np.argmax(np.abs(pcm) > 0.01) / 16000
    assert first_sound < 0.5  # the leading silence is gone
    assert len(list((project.root / ".charvoice/references").glob("*.mp3"))) == 1


def test_making_a_private_clone_public_takes_the_marker_off_its_tags(tmp_path, fish, fish_env):
    characters = {"aria": ARIA_PUBLIC.replace('"public"', '"private"') + 'cover_image = "voices/aria/cover.png"\n'}
    project = make_project(tmp_path, fish, characters=characters, lines=[("a.1", "Aria", "Hello.")])
    (project.root / "characters/voices/aria/cover.png").write_bytes(b"\x89PNG\r\n\x1a\n fake picture")
    assert project.run("voices", "sync").exit_code == 0
    [model] = fish.models.values()
    assert [tag for tag in model["tags"] if tag.startswith("charvoice-")]  # private: the marker finds it again
    run = project.run("voices", "update", "aria", "--visibility", "public")
    assert run.exit_code == 0, run.output
    assert model["visibility"] == "public" and model["tags"] == []  # what it printed is what the model has
    assert "tags=[]" in run.output
    entry = tomllib.loads(project.lock_path.read_text())["voices"]["aria"]
    assert entry["visibility"] == "public"


def test_the_cost_preview_counts_the_transcription_of_instant_samples_without_texts(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters={"cleo": CLEO_BARE}, lines=[("c.1", "Cleo", "Hello.")])
    dry = project.run("build", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "sample transcripts (instant clones without texts): 1 speech-to-text calls, about 11 s" in dry.output
    assert fish.asr_calls() == []  # a preview sends nothing
    fish.asr_unknown = "I was never here."
    assert project.run("build").exit_code == 0
    project.write_lines([("c.1", "Cleo", "Hello."), ("c.2", "Cleo", "Again.")])
    again = project.run("build", "--dry-run")
    assert "sample transcripts" not in again.output  # kept in charvoice.lock: nothing more to pay
