"""Voices as code: `charvoice voices ...` and charvoice.lock against the fake Fish server."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib

import imageio_ffmpeg
import pytest
from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, make_project, write_sample

ARIA_ONLY = {
    "aria": 'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav", "voices/aria/02.wav"]\ntexts = ["The tide is early today.", "Keep the lamp lit."]\n'
}
ARIA_LINES = [("harbour.1", "Aria", "Good evening."), ("harbour.2", "Aria", "Then who lit the lamp?")]


def lock(project) -> dict:
    return tomllib.loads(project.lock_path.read_text())["voices"]


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sync_clones_once_pins_the_model_and_a_second_sync_calls_nothing(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    result = project.run("voices", "sync")
    assert result.exit_code == 0, result.output
    assert "aria" in result.output and "created" in result.output

    [create] = fish.calls("POST", "/model")  # only Aria clones; Bram has a model, Cleo is instant
    samples = [project.root / "characters/voices/aria/01.wav", project.root / "characters/voices/aria/02.wav"]
    assert [data for _, data in create.body.files["voices"]] == [p.read_bytes() for p in samples]
    assert create.body.fields["texts"] == ["The tide is early today.", "Keep the lamp lit."]
    assert create.body.one("title") == "Aria" and create.body.one("visibility") == "private"
    assert (create.body.one("type"), create.body.one("train_mode"), create.body.one("enhance_audio_quality")) == (
        "tts",
        "fast",
        "true",
    )

    entry = lock(project)["aria"]
    assert entry["model_id"] in fish.models and entry["state"] == "trained" and entry["created"]
    assert entry["sample_sha256"] == [sha256(p) for p in samples]
    assert entry["text_sha256"] == [
        hashlib.sha256(t.encode()).hexdigest() for t in ("The tide is early today.", "Keep the lamp lit.")
    ]

    fish.reset_calls()
    again = project.run("voices", "sync")
    assert again.exit_code == 0 and "unchanged" in again.output
    assert fish.calls() == []


@pytest.mark.parametrize("change", ["sample", "transcript"])
def test_changing_one_sample_or_transcript_makes_exactly_one_new_model(tmp_path, fish, fish_env, change):
    project = make_project(tmp_path, fish, characters=ARIA_ONLY, lines=ARIA_LINES)
    assert project.run("build").exit_code == 0
    old = lock(project)["aria"]["model_id"]
    if change == "sample":
        write_sample(project.root / "characters/voices/aria/02.wav", pitch=175)
    else:
        project.write("characters/aria.toml", ARIA_ONLY["aria"].replace("Keep the lamp lit.", "Keep the lamp burning."))
    assert project.run("check").exit_code == 1  # the voice changed: its lines are stale, even before a sync
    fish.reset_calls()

    result = project.run("voices", "sync")
    assert result.exit_code == 0 and "re-cloned" in result.output and old in result.output
    assert len(fish.calls("POST", "/model")) == 1
    new = lock(project)["aria"]["model_id"]
    assert new != old and set(fish.models) == {old, new}  # the old model is kept unless --prune

    fish.reset_calls()
    assert project.run("build").exit_code == 0
    assert {r.body["reference_id"] for r in fish.calls("POST", "/v1/tts")} == {new} and not fish.calls("POST", "/model")


def test_prune_deletes_the_replaced_model(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=ARIA_ONLY, lines=ARIA_LINES)
    assert project.run("voices", "sync").exit_code == 0
    old = lock(project)["aria"]["model_id"]
    write_sample(project.root / "characters/voices/aria/01.wav", pitch=120)
    assert project.run("voices", "sync", "--prune").exit_code == 0
    assert old not in fish.models and list(fish.models) == [lock(project)["aria"]["model_id"]]


def test_renaming_a_sample_file_costs_no_new_model(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=ARIA_ONLY, lines=ARIA_LINES)
    assert project.run("voices", "sync").exit_code == 0
    (project.root / "characters/voices/aria/02.wav").rename(project.root / "characters/voices/aria/lamp.wav")
    project.write("characters/aria.toml", ARIA_ONLY["aria"].replace("02.wav", "lamp.wav"))
    fish.reset_calls()
    assert project.run("voices", "sync").exit_code == 0
    assert project.run("check").exit_code == 1  # never built yet; but no new model was needed:
    assert fish.calls() == []


def test_sync_waits_for_training_and_an_interrupted_wait_never_clones_twice(tmp_path, fish_env):
    with FakeFishServer(api_key=API_KEY, training_seconds=0.5) as fake:
        project = make_project(tmp_path, fake, characters=ARIA_ONLY, lines=ARIA_LINES, train_timeout=1.0)
        waited = project.run("voices", "sync")
        assert waited.exit_code == 0 and "waiting for voice model" in waited.output
        assert len(fake.calls("GET", "/model/")) >= 2 and lock(project)["aria"]["state"] == "trained"

        fake.training_seconds = 30.0
        write_sample(project.root / "characters/voices/aria/01.wav", pitch=111)
        timed_out = project.run("voices", "sync")
        assert (
            timed_out.exit_code == 2
            and "not trained yet" in timed_out.output
            and "characters/aria.toml" in timed_out.output
        )
        assert lock(project)["aria"]["state"] in ("created", "training")

        fake.training_seconds = 0.0
        fake.reset_calls()
        assert project.run("voices", "sync").exit_code == 0
        assert not fake.calls("POST", "/model") and len(fake.calls("GET", "/model/")) == 1  # polled, not re-cloned
        assert lock(project)["aria"]["state"] == "trained"


def test_failed_training_is_one_clear_error_naming_the_character(tmp_path, fish_env):
    with FakeFishServer(api_key=API_KEY, fail_titles=("Aria",)) as fake:
        project = make_project(tmp_path, fake, characters=ARIA_ONLY, lines=ARIA_LINES)
        synced = project.run("voices", "sync")
        assert synced.exit_code == 2
        assert (
            "characters/aria.toml" in synced.output and "Aria" in synced.output and "failed training" in synced.output
        )
        built = project.run("build")
        assert built.exit_code == 2 and "failed training" in built.output and "Traceback" not in built.output
        assert len(fake.calls("POST", "/model")) == 1 and not fake.calls(
            "POST", "/v1/tts"
        )  # no second clone, no line sent


def encode(source, target, *args: str):
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(source), *args, str(target)], check=True
    )
    return target


def test_samples_in_any_supported_format_and_warnings_for_short_or_stereo_clips(tmp_path, fish, fish_env):
    voices = tmp_path / "characters/voices/aria"
    voices.mkdir(parents=True)
    long_mono = write_sample(tmp_path / "src/long.wav", seconds=11)
    short_stereo = write_sample(tmp_path / "src/short.wav", seconds=3, channels=2)
    encode(long_mono, voices / "a.m4a", "-c:a", "aac")
    encode(long_mono, voices / "b.opus", "-c:a", "libopus")
    encode(short_stereo, voices / "c.mp3", "-c:a", "libmp3lame")
    toml = 'name = "Aria"\n[voice]\nsamples = ["voices/aria/a.m4a", "voices/aria/b.opus", "voices/aria/c.mp3"]\n'
    project = make_project(tmp_path, fish, characters={"aria": toml}, lines=ARIA_LINES)
    result = project.run("voices", "sync")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and all("c.mp3" in w for w in warnings)
    assert any("only 3.0 s" in w for w in warnings) and any("2 channels" in w for w in warnings)
    assert [name for name, _ in fish.calls("POST", "/model")[0].body.files["voices"]] == ["a.m4a", "b.opus", "c.mp3"]
    assert "texts" not in fish.calls("POST", "/model")[0].body.fields  # transcripts are optional


def test_a_self_hosted_server_says_persistent_clones_need_the_model_api(tmp_path, fast_retries, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)  # Fish Speech needs no key
    with FakeFishServer(api_key=None, self_hosted=True) as fake:
        project = make_project(tmp_path, fake, characters=ARIA_ONLY, lines=ARIA_LINES)
        result = project.run("voices", "sync")
        assert result.exit_code == 2 and "has no /model API" in result.output and 'clone = "instant"' in result.output
        project.write("characters/aria.toml", ARIA_ONLY["aria"] + 'clone = "instant"\n')
        built = project.run("build")
        assert built.exit_code == 0, built.output
        assert len(fake.calls("POST", "/v1/tts")) == 2 and all(
            len(r.body["references"]) == 2 for r in fake.calls("POST", "/v1/tts")
        )


def test_list_pages_through_the_account_and_marks_who_uses_what(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    assert project.run("voices", "sync").exit_code == 0
    for i in range(120):
        fish.add_model(f"old experiment {i}", visibility="private")
    fish.reset_calls()
    data = json.loads(project.run("voices", "list", "--json").stdout)
    assert len(data["models"]) == 121 and len(fish.calls("GET", "/model")) == 2  # two pages of 100
    used = {m["character"]: m["id"] for m in data["models"] if m["character"]}
    assert used == {"aria": lock(project)["aria"]["model_id"]}
    assert [item["character"] for item in data["not_on_account"]] == ["bram"]  # someone else's public model


def test_show_update_and_delete(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    assert project.run("voices", "sync").exit_code == 0
    model_id = lock(project)["aria"]["model_id"]

    shown = json.loads(project.run("voices", "show", "Aria", "--json").stdout)
    assert (
        shown["source"] == "persistent clone"
        and shown["model"]["state"] == "trained"
        and shown["lock"]["model_id"] == model_id
    )

    updated = project.run(
        "voices", "update", "aria", "--visibility", "unlist", "--title", "Aria (keeper)", "--tags", "keeper, lighthouse"
    )
    assert updated.exit_code == 0
    patch = fish.calls("PATCH")[-1]
    marker = [tag for tag in fish.calls("POST", "/model")[0].body.fields["tags"] if tag.startswith("charvoice-")]
    assert len(marker) == 1  # the tag that finds a model whose create answer was lost
    assert patch.headers["content-type"] == "application/json"  # a form cannot send an empty tag list
    assert patch.body == {"visibility": "unlist", "title": "Aria (keeper)", "tags": ["keeper", "lighthouse", *marker]}
    assert fish.models[model_id]["visibility"] == "unlist" and lock(project)["aria"]["tags"] == ["keeper", "lighthouse"]
    assert project.run("voices", "update", "aria").exit_code == 0  # no option: back to the TOML's [voice] values
    assert (fish.models[model_id]["title"], fish.models[model_id]["visibility"]) == ("Aria", "private")
    assert fish.models[model_id]["tags"] == marker  # the TOML has no tags; the marker stays

    refused = project.run("voices", "delete", "aria", input="n\n")
    assert refused.exit_code == 0 and "Nothing deleted" in refused.output and not fish.calls("DELETE")
    assert project.run("voices", "delete", "bram", "--yes").exit_code == 2  # not a model charvoice made
    deleted = project.run("voices", "delete", "aria", "--yes")
    assert deleted.exit_code == 0 and model_id not in fish.models and "aria" not in lock(project)
    assert len(fish.calls("DELETE")) == 1


def test_verify_clones_again_a_model_deleted_on_the_website(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=ARIA_ONLY, lines=ARIA_LINES)
    assert project.run("voices", "sync").exit_code == 0
    del fish.models[lock(project)["aria"]["model_id"]]
    fish.reset_calls()
    assert project.run("voices", "sync").exit_code == 0 and fish.calls() == []  # trusts the lock
    result = project.run("voices", "sync", "--verify")
    assert result.exit_code == 0 and "gone from the server" in result.output
    assert len(fish.calls("POST", "/model")) == 1 and lock(project)["aria"]["model_id"] in fish.models


def test_a_broken_lock_file_is_reported_with_its_line(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=ARIA_ONLY, lines=ARIA_LINES)
    project.write("charvoice.lock", 'version = 1\n\n[voices.aria]\nmodel_id = "abc"\nstate = 3\n')
    result = project.run("voices", "sync")
    assert result.exit_code == 2 and "charvoice.lock:3" in result.output and "voices.aria" in result.output
    assert fish.calls() == []


def test_voices_commands_without_a_key_say_so(tmp_path, fish, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    project = make_project(tmp_path, fish, characters=ARIA_ONLY, lines=ARIA_LINES)
    config = (project.root / "charvoice.toml").read_text()
    project.write("charvoice.toml", "\n".join(line for line in config.splitlines() if not line.startswith("base_url")))
    result = project.run("voices", "sync")
    assert result.exit_code == 2 and "FISH_API_KEY" in result.output
