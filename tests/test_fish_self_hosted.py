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
    assert "nobody-here" in speech_server.references and speech_server.references["nobody-here"] == []
    listed = httpx.get(f"{speech_server.url}/v1/references/list", headers={"Accept": "application/json"}).json()
    assert listed["reference_ids"] == []  # only whole folders are listed
    added = httpx.post(
        f"{speech_server.url}/v1/references/add", data={"id": "nobody-here", "text": "Hi."},
        files={"audio": ("a.wav", b"RIFF0000WAVE")}, headers={"Accept": "application/json"},
    )  # fmt: skip
    assert added.status_code == 409  # the empty folder exists
    assert tts({"text": "Hi", "reference_id": "bad/id"}).status_code == 500
    assert tts({"text": "Hi", "temperature": 0.05}).status_code == 422
    assert tts({"text": "Hi", "temperature": 1, "top_p": 1, "chunk_length": 1000}).status_code == 200  # ints are floats
    assert tts({"text": "Hi", "chunk_length": 1001}).status_code == 422
    assert tts({"text": "Hi", "prosody": {"speed": 2.0}, "latency": "balanced"}).status_code == 200  # prosody ignored
    assert tts({"text": "Hi", "latency": "low"}).status_code == 422  # Literal["normal", "balanced"]
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


ARIA = {
    "aria": 'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav", "voices/aria/02.wav"]\ntexts = ["One.", "Two."]\n'
}


@pytest.mark.parametrize("lost", ["folder gone", "empty folder"])
def test_a_reference_the_server_lost_is_stored_again_before_the_next_build(tmp_path, speech_server, fast_retries, lost):
    project = make_project(tmp_path, speech_server, characters=ARIA, lines=[("a.1", "Aria", "Hello.")])
    self_hosted(project)
    assert project.run("build").exit_code == 0
    reference_id = tomllib.loads(project.lock_path.read_text())["voices"]["aria"]["model_id"]
    stored = speech_server.references[reference_id]
    # A new container without the old references/ folder; a request naming the id made it an empty folder.
    speech_server.references.clear()
    if lost == "empty folder":
        speech_server.references[reference_id] = []
    speech_server.reset_calls()
    project.write_lines([("a.1", "Aria", "Hello."), ("a.2", "Aria", "Again.")])
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert f"reference {reference_id!r} of Aria is missing or empty" in run.output
    assert speech_server.references[reference_id] == stored  # whole again, from the same samples
    paths = [(r.method, r.path, r.status) for r in speech_server.calls() if r.path.startswith("/v1/references")]
    expected = [("GET", "/v1/references/list", 200), ("POST", "/v1/references/add", 200)]
    if lost == "empty folder":  # 409 for a folder the list does not name: delete it, add again
        expected[1:] = [("POST", "/v1/references/add", 409), ("GET", "/v1/references/list", 200),
                        ("DELETE", "/v1/references/delete", 200), ("POST", "/v1/references/add", 200)]  # fmt: skip
    assert paths == expected
    [spoken] = speech_server.calls("POST", "/v1/tts")
    assert spoken.body["reference_id"] == reference_id and spoken.voice != "default"


def test_voices_sync_verify_repairs_an_empty_folder_instead_of_taking_409_as_success(
    tmp_path, speech_server, fast_retries
):
    project = make_project(tmp_path, speech_server, characters=ARIA, lines=[("a.1", "Aria", "Hello.")])
    self_hosted(project)
    assert project.run("voices", "sync").exit_code == 0
    reference_id = tomllib.loads(project.lock_path.read_text())["voices"]["aria"]["model_id"]
    speech_server.references[reference_id] = []  # lost, and named by a request since
    run = project.run("voices", "sync", "--verify")
    assert run.exit_code == 0, run.output
    assert speech_server.references[reference_id] and speech_server.references[reference_id][0][1] == "One. Two."


def test_a_store_whose_answer_was_lost_is_taken_as_stored_only_when_listed_whole(tmp_path, speech_server, fast_retries):
    project = make_project(tmp_path, speech_server, characters=ARIA, lines=[("a.1", "Aria", "Hello.")])
    self_hosted(project)
    assert project.run("voices", "sync").exit_code == 0
    reference_id = tomllib.loads(project.lock_path.read_text())["voices"]["aria"]["model_id"]
    project.lock_path.unlink()  # as if the answer to the add had been lost
    speech_server.reset_calls()
    assert project.run("voices", "sync").exit_code == 0
    assert [r.status for r in speech_server.calls("POST", "/v1/references/add")] == [409]
    assert speech_server.calls("DELETE", "/v1/references/delete") == []  # listed whole: kept as it is
    assert tomllib.loads(project.lock_path.read_text())["voices"]["aria"]["model_id"] == reference_id


def test_a_fish_speech_1_5_server_gets_references_inline_with_one_notice(tmp_path, fast_retries):
    characters = {
        **ARIA,
        "bram": 'name = "Bram"\n[voice]\nmodel_id = "narrator-voice"\n',
        "cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\nclone = "instant"\n',  # no texts
    }
    lines = [("a.1", "Aria", "Hello."), ("a.2", "Aria", "Again."), ("b.1", "Bram", "Hi."), ("c.1", "Cleo", "Yo.")]
    with FakeFishServer(api_key=None, self_hosted=True, legacy=True, audio="tone") as old:
        project = make_project(tmp_path, old, characters=characters, lines=lines)
        self_hosted(project)
        run = project.run("build")
        assert run.exit_code == 0, run.output
        assert run.output.count("has no references API") == 1 and "'narrator-voice' cannot be checked" in run.output
        assert len(old.calls("GET", "/v1/references/list")) == 1 and old.calls("POST", "/v1/references/add") == []
        bodies = {r.body["text"]: r.body for r in old.calls("POST", "/v1/tts")}
        for text in ("Hello.", "Again."):
            assert "reference_id" not in bodies[text]
            assert [ref["text"] for ref in bodies[text]["references"]] == ["One.", "Two."]
        assert bodies["Hi."]["reference_id"] == "narrator-voice"
        assert bodies["Yo."]["references"][0]["text"] == ""  # its speech to text speaks another schema (422)
        assert "could not transcribe sample characters/voices/cleo/01.wav" in run.output
        locked = tomllib.loads(project.lock_path.read_text()) if project.lock_path.exists() else {}
        assert "aria" not in locked.get("voices", {})  # nothing was stored on the server, so nothing is pinned
        synced = project.run("voices", "sync")
        assert synced.exit_code != 0 and "has no references API" in synced.output and "Traceback" not in synced.output


def test_a_lost_reference_that_cannot_be_stored_again_stops_the_build_naming_the_character(
    tmp_path, speech_server, fast_retries
):
    project = make_project(tmp_path, speech_server, characters=ARIA, lines=[("a.1", "Aria", "Hello.")])
    self_hosted(project)
    assert project.run("build").exit_code == 0
    speech_server.references.clear()  # a new container
    speech_server.reset_calls()
    speech_server.inject("500", "/v1/references/add", count=10)  # and its disk refuses the new folder
    project.write_lines([("a.1", "Aria", "Hello."), ("a.2", "Aria", "Again.")])
    run = project.run("build")
    assert run.exit_code == 2 and "Traceback" not in run.output, run.output
    assert "characters/aria.toml: cannot store the reference voice of Aria" in run.output
    assert speech_server.calls("POST", "/v1/tts") == []  # never voiced by the default voice
