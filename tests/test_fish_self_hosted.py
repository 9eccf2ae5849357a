"""A self-hosted Fish Speech server, as its source has it (fishaudio/fish-speech:
tools/server/views.py, fish_speech/utils/schema.py ServeTTSRequest, reference_loader.py): no
prosody or latency, top_p/temperature >= 0.1, reference ids of letters, digits, '-', '_' and
spaces, an unknown id voiced by the default voice, and the /v1/references API."""

from __future__ import annotations

import io
import tomllib
import wave

import pytest
from fakes.fish_server import FakeFishServer
from fakes.fixtures import make_project


@pytest.fixture
def speech_server():
    with FakeFishServer(api_key=None, self_hosted=True, audio="tone") as fake:
        yield fake


def self_hosted(project) -> None:
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('model = "s1"', 'model = "s1"\nserver = "fish-speech"'))


def seconds(path) -> float:
    with wave.open(str(path)) as reader:
        return reader.getnframes() / reader.getframerate()


def test_requests_carry_fish_speech_fields_and_speed_is_applied_here(tmp_path, speech_server, fast_retries):
    speech_server.references["narrator-voice"] = [(b"RIFF....", "hello")]
    characters = {
        "bram": 'name = "Bram"\n[voice]\nmodel_id = "narrator-voice"\n',
        "bram2": 'name = "Bram Fast"\n[voice]\nmodel_id = "narrator-voice"\n[speech]\nspeed = 1.6\n',
    }
    text = "The ferry is late again, and the tide is turning."
    project = make_project(
        tmp_path, speech_server, characters=characters, lines=[("a.1", "Bram", text), ("a.2", "Bram Fast", text)]
    )
    self_hosted(project)
    run = project.run("build")
    assert run.exit_code == 0, run.output
    bodies = [r.body for r in speech_server.calls("POST", "/v1/tts")]
    assert all("prosody" not in b and "latency" not in b for b in bodies)
    assert all(
        b["use_memory_cache"] == "on" and b["seed"] == 0 and b["reference_id"] == "narrator-voice" for b in bodies
    )
    normal, fast = (project.root / "game/voice/en/bram/a.1.wav"), (project.root / "game/voice/en/bram2/a.2.wav")
    assert seconds(fast) < 0.75 * seconds(normal)  # speed 1.6 applied to the returned audio
    assert len(speech_server.calls("GET", "/v1/references/list")) == 1  # checked before the build
    assert "speed and volume of Bram Fast are applied to the audio it returns" in run.output


def test_a_reference_the_server_lacks_stops_the_build_before_any_line(tmp_path, speech_server, fast_retries):
    speech_server.references["someone-else"] = [(b"RIFF", "x")]
    project = make_project(
        tmp_path,
        speech_server,
        characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "narator"\n'},
        lines=[("a.1", "Bram", "Hi.")],
    )
    self_hosted(project)
    run = project.run("build")
    assert run.exit_code == 2 and "reference 'narator' is not on" in run.output and "someone-else" in run.output
    assert speech_server.calls("POST", "/v1/tts") == []


@pytest.mark.parametrize(
    ("character", "says"),
    [
        ('name = "Bram"\n[voice]\nmodel_id = "bad/id"\n', "is not a Fish Speech reference id"),
        ('name = "Bram"\n[voice]\nmodel_id = "ok"\n[speech]\ntemperature = 0.05\n', "temperature must be at least 0.1"),
        ('name = "Bram"\n[voice]\nmodel_id = "ok"\n[speech]\ntop_p = 0.0\n', "top_p must be at least 0.1"),
    ],
)
def test_what_fish_speech_would_refuse_or_misread_is_refused_first(
    tmp_path, speech_server, fast_retries, character, says
):
    project = make_project(tmp_path, speech_server, characters={"bram": character}, lines=[("a.1", "Bram", "Hi.")])
    self_hosted(project)
    run = project.run("build")
    assert run.exit_code == 2 and says in run.output and "characters/bram.toml" in run.output, run.output
    assert speech_server.calls() == []


def test_the_fake_behaves_like_fish_speech(speech_server):
    import httpx
    import msgpack

    def tts(body):
        return httpx.post(
            f"{speech_server.url}/v1/tts", content=msgpack.packb(body), headers={"Content-Type": "application/msgpack"}
        )

    assert tts({"text": "Hi", "reference_id": "nobody-here"}).status_code == 200  # an empty folder: the default voice
    assert tts({"text": "Hi", "reference_id": "bad/id"}).status_code == 500
    assert tts({"text": "Hi", "temperature": 0.05}).status_code == 422
    assert (
        tts({"text": "Hi", "prosody": {"speed": 2.0}, "latency": "low"}).status_code == 200
    )  # ignored, as pydantic does
    assert httpx.post(f"{speech_server.url}/model").status_code == 404


def test_a_persistent_clone_becomes_a_server_reference_pinned_in_the_lock(tmp_path, speech_server, fast_retries):
    project = make_project(
        tmp_path,
        speech_server,
        characters={
            "aria": 'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav", "voices/aria/02.wav"]\ntexts = ["One.", "Two."]\n'
        },
        lines=[("a.1", "Aria", "Hello.")],
    )
    self_hosted(project)
    assert project.run("build").exit_code == 0
    entry = tomllib.loads(project.lock_path.read_text())["voices"]["aria"]
    assert entry["model_id"] in speech_server.references and entry["state"] == "trained"
    [(audio, text)] = speech_server.references[entry["model_id"]]
    with wave.open(io.BytesIO(audio)) as reader:
        assert reader.getnchannels() == 1 and reader.getnframes() / reader.getframerate() > 15  # both samples, joined
    assert text == "One. Two." and speech_server.calls("POST", "/v1/tts")[0].body["reference_id"] == entry["model_id"]
    project.write_lines([("a.1", "Aria", "Hello."), ("a.2", "Aria", "Again.")])
    assert project.run("build").exit_code == 0
    assert len(speech_server.calls("POST", "/v1/references/add")) == 1  # pinned: never added twice
    assert project.run("voices", "delete", "aria", "--yes").exit_code == 0
    assert speech_server.references == {} and "aria" not in tomllib.loads(project.lock_path.read_text()).get(
        "voices", {}
    )
