"""Word timings for Fish Audio lines and recordings, against the loopback fake.

Fish lines use `POST /v1/tts/stream/with-timestamp` (the synthesis request itself answers with
the words' times: no extra call); recordings use speech to text with timestamps when a key is
set. What a user notices: which calls are made (counted at the fake), the timings beside each
asset, the cost preview, and the same failure handling as plain synthesis.
"""

from __future__ import annotations

import base64
import json

import httpx
import msgpack
import numpy as np
import soundfile
from fakes.fish_server import FakeFishServer
from fakes.fish_timestamps import PATH
from fakes.fixtures import API_KEY, LINES, make_project

from charvoice.engines.fish.timestamps import complete_wav, parse_stream
from charvoice.text_words import word_spans
from charvoice.timings.format import LineTimings

FISH_LINES = [line_id for line_id, character, _ in LINES if character != "Dax"]
ONLY_MODELS = {"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'}


def with_timestamps(project, mode: str = "on", extra: str = ""):
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace("[engine.fish]\n", f'[engine.fish]\ntimestamps = "{mode}"\n{extra}'))
    return project


def entry_and_timings(project, line_id: str) -> tuple[dict, LineTimings]:
    manifest = json.loads((project.root / "game/voice/voice_manifest.json").read_text())
    entry = manifest["lines"][line_id]["audio"]["en"]
    return entry, LineTimings.load(project.root / "game/voice" / entry["timings"])


def well_formed(entry: dict, timings: LineTimings) -> None:
    assert [(w.char_from, w.char_to) for w in timings.words] == word_spans(entry["text"])
    starts = [w.start_s for w in timings.words]
    assert starts == sorted(starts) and all(0 <= w.start_s <= w.end_s <= timings.duration_s for w in timings.words)


def test_fish_lines_get_timings_from_the_synthesis_call_itself(tmp_path, fish, fish_env):
    project = with_timestamps(make_project(tmp_path, fish))
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert fish.calls("POST", "/v1/tts") == [] and fish.asr_calls() == []
    assert len(fish.calls("POST", PATH)) == len(FISH_LINES)  # one call per line, as without timings
    sent = fish.calls("POST", PATH)[0]
    assert sent.headers["content-type"] == "application/msgpack" and sent.headers["model"] == "s1"
    assert sent.body["format"] == "wav" and "text" in sent.body
    for line_id in FISH_LINES:
        entry, timings = entry_and_timings(project, line_id)
        assert entry["engine"] == "fish" and timings.source == "engine"
        well_formed(entry, timings)
        assert timings.duration_s - timings.words[-1].end_s < 0.3  # the words reach the end of the speech
    _, dax = entry_and_timings(project, "harbour.4")
    assert dax.source == "engine"  # the scratch voice: espeak-ng's own events

    fish.reset_calls()
    assert "up to date" in project.run("build").output
    assert fish.calls() == []  # a no-op build: not one call, timings or otherwise
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + "pad_ms = 20\n")  # [audio] is the last table
    assert project.run("build").exit_code == 0
    assert fish.calls() == []  # re-processed from the cache: raw timings were kept with the audio
    entry, timings = entry_and_timings(project, "harbour.1")
    assert timings.source == "engine"
    well_formed(entry, timings)


def test_split_text_chunks_and_replaced_snapshots_land_in_order(tmp_path, fish, fish_env):
    """`balanced` latency splits sentences into text chunks with their own offsets, and each
    chunk's alignment is sent twice (partial, then full): a client that appended snapshots or
    ignored `chunk_audio_offset_sec` would repeat words or go back in time."""
    lines = [("pier.1", "Bram", "Keep the lamp lit. The ferry is late again. Then who rang the bell?")]
    project = with_timestamps(make_project(tmp_path, fish, characters=ONLY_MODELS, lines=lines))
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('latency = "normal"\n', "") + "")
    config.write_text(config.read_text().replace("[engine.fish]\n", '[engine.fish]\nlatency = "balanced"\n'))
    assert project.run("build").exit_code == 0
    assert fish.calls("POST", PATH)[0].body["latency"] == "balanced"
    entry, timings = entry_and_timings(project, "pier.1")
    assert [w.text for w in timings.words] == [
        "Keep",
        "the",
        "lamp",
        "lit",
        "The",
        "ferry",
        "is",
        "late",
        "again",
        "Then",
        "who",
        "rang",
        "the",
        "bell",
    ]
    well_formed(entry, timings)
    ends = [w.end_s for w in timings.words]
    assert ends == sorted(ends) and ends[-1] > 0.6 * timings.duration_s  # the last chunk sits at the end


def test_the_stream_as_the_reference_describes_it(fish):
    with httpx.Client(base_url=fish.url, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
        body = {"text": "Hello world. How are you?", "format": "wav", "latency": "balanced", "reference_id": None}
        response = client.post(PATH, json=body, headers={"model": "s1"})
        assert response.status_code == 200 and response.headers["content-type"] == "text/event-stream"
        assert response.headers.get("transfer-encoding") == "chunked"
        events = [json.loads(block.removeprefix("data: ")) for block in response.text.split("\n\n") if block]
        assert set(events[0]) == {"audio_base64", "content", "alignment", "chunk_seq", "chunk_audio_offset_sec"}
        assert events[0]["alignment"] is None
        assert sorted({event["chunk_seq"] for event in events}) == [0, 1]
        audio = b"".join(base64.b64decode(event["audio_base64"]) for event in events)
        assert audio[:4] == b"RIFF" and soundfile.info(__import__("io").BytesIO(audio)).duration > 0.5
        parsed_audio, timings = parse_stream(response.content)
        assert parsed_audio == audio and [w.text for w in timings.words] == ["Hello", "world", "How", "are", "you"]
        # msgpack, as the SDK and charvoice send it, is the same request.
        packed = client.post(
            PATH, content=msgpack.packb(body), headers={"model": "s1", "Content-Type": "application/msgpack"}
        )
        assert packed.status_code == 200
        # Errors come as JSON before any stream, as for /v1/tts.
        bad = client.post(PATH, json={"text": "Hi", "temperature": 3}, headers={"model": "s1"})
        assert bad.status_code == 422 and bad.json()["status"] == 422
        assert client.post(PATH, json={}, headers={"model": "s1"}).status_code == 422
        assert client.get(PATH).status_code == 405
    unauthorised = httpx.post(f"{fish.url}{PATH}", json=body, headers={"Authorization": "Bearer wrong"})
    assert unauthorised.status_code == 401 and "message" in unauthorised.json()


def test_failed_streams_are_retried_like_synthesis(tmp_path, fish, fish_env):
    project = with_timestamps(
        make_project(tmp_path, fish, characters=ONLY_MODELS, lines=[("a.1", "Bram", "Mind the ropes.")])
    )
    fish.inject("503", PATH)
    fish.inject("garbage", PATH)  # a 200 whose body is not the event stream
    fish.inject("truncate", PATH)
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert [call.status for call in fish.calls("POST", PATH)] == [503, 200, 200, 200]
    _entry, timings = entry_and_timings(project, "a.1")
    assert timings.source == "engine" and [w.text for w in timings.words] == ["Mind", "the", "ropes"]


def test_no_credit_stops_the_build_as_plain_synthesis_does(tmp_path, fish, fish_env):
    project = with_timestamps(
        make_project(tmp_path, fish, characters=ONLY_MODELS, lines=[("a.1", "Bram", "Mind the ropes.")])
    )
    fish.no_credit = True
    result = project.run("build")
    assert result.exit_code != 0 and "no credit" in result.output
    assert API_KEY not in result.output


def test_a_server_without_the_endpoint_falls_back_to_plain_synthesis(tmp_path, fish_env):
    with FakeFishServer(api_key=API_KEY, self_hosted=True) as server:
        project = make_project(
            tmp_path,
            server,
            characters={
                "dax": 'name = "Dax"\n[voice]\nscratch = true\n',
                "eve": 'name = "Eve"\n[voice]\nsamples = ["voices/cleo/01.wav"]\ntexts = ["I was never here."]\nclone = "instant"\n',
            },
            lines=[("a.1", "Eve", "Mind the ropes."), ("a.2", "Eve", "Tide is turning.")],
            jobs=1,
        )
        with_timestamps(project)
        result = project.run("build")
        assert result.exit_code == 0, result.output
        assert len(server.calls("POST", PATH)) == 1  # asked once, answered 404, never again
        assert len(server.calls("POST", "/v1/tts")) == 2
        entry, timings = entry_and_timings(project, "a.2")
        assert timings.source == "estimate"
        well_formed(entry, timings)


def test_auto_uses_plain_synthesis_on_a_self_hosted_url_and_estimates(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=ONLY_MODELS, lines=[("a.1", "Bram", "Mind the ropes.")])
    assert project.run("build").exit_code == 0
    assert fish.calls("POST", PATH) == [] and len(fish.calls("POST", "/v1/tts")) == 1 and fish.asr_calls() == []
    entry, timings = entry_and_timings(project, "a.1")
    assert timings.source == "estimate"
    well_formed(entry, timings)


def test_a_recording_is_transcribed_with_timestamps_once_and_priced_in_the_preview(tmp_path, fish, fish_env):
    project = with_timestamps(
        make_project(tmp_path, fish, characters=ONLY_MODELS, lines=[("a.1", "Bram", "Mind the ropes, lad.")])
    )
    rate = 44100
    t = np.arange(int(1.6 * rate)) / rate
    voice = 0.1 * np.sin(2 * np.pi * 160 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    recording = project.root / "recordings/a.1.wav"
    recording.parent.mkdir()
    soundfile.write(str(recording), np.concatenate([np.zeros(rate // 2), voice, np.zeros(rate // 2)]), rate)
    fish.asr_unknown = "Mind the ropes lad"  # what the recogniser hears in audio it never spoke

    preview = json.loads(project.run("build", "--dry-run", "--json").stdout)
    assert preview["cost"]["timings"] == {"with_audio": 0, "asr_calls": 1, "asr_seconds": 3, "usd": 0.0003}
    text = project.run("build", "--dry-run").output
    assert "word timings: 1 speech-to-text calls, about 3 s of audio" in text
    assert fish.calls() == []  # a dry run calls nothing

    assert project.run("build").exit_code == 0
    asr = fish.asr_calls()
    assert len(asr) == 1 and asr[0].body["ignore_timestamps"] is False and asr[0].body["language"] == "en"
    assert fish.calls("POST", PATH) == []  # a recording is never synthesised
    entry, timings = entry_and_timings(project, "a.1")
    assert entry["origin"] == "recorded" and timings.source == "asr"
    well_formed(entry, timings)

    fish.reset_calls()
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + "pad_ms = 20\n")
    assert json.loads(project.run("build", "--dry-run", "--json").stdout)["cost"]["timings"]["asr_calls"] == 0
    assert project.run("build").exit_code == 0
    assert fish.calls() == []  # the transcript's timings were kept: no second call
    assert entry_and_timings(project, "a.1")[1].source == "asr"


def test_preview_counts_lines_whose_timings_come_with_their_audio(tmp_path, fish, fish_env):
    project = with_timestamps(make_project(tmp_path, fish))
    preview = json.loads(project.run("build", "--dry-run", "--json").stdout)
    assert preview["cost"]["timings"] == {"with_audio": len(FISH_LINES), "asr_calls": 0, "asr_seconds": 0, "usd": 0.0}
    assert (
        f"word timings: {len(FISH_LINES)} come with their audio (no extra call)"
        in project.run("build", "--dry-run").output
    )


def test_a_streamed_wav_header_gets_its_real_length():
    pcm = np.zeros(1000, dtype="<i2").tobytes()
    header = b"RIFF" + (0xFFFFFFFF).to_bytes(4, "little") + b"WAVEfmt " + (16).to_bytes(4, "little")
    header += (
        (1).to_bytes(2, "little")
        + (1).to_bytes(2, "little")
        + (22050).to_bytes(4, "little")
        + (44100).to_bytes(4, "little")
    )
    header += (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" + (0xFFFFFFFF).to_bytes(4, "little")
    fixed = complete_wav(header + pcm)
    import io

    assert soundfile.info(io.BytesIO(fixed)).frames == 1000
