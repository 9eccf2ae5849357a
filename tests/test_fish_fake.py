"""The fake Fish Audio server behaves as the documented service does, and the official SDK agrees.

If the official `fishaudio` SDK could not talk to the fake, the fake would be wrong, and every
other Fish test would prove nothing.
"""

from __future__ import annotations

import io
import json
import threading
import time
import wave
from pathlib import Path

import httpx
import msgpack
import pytest
from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, write_sample
from fishaudio import FishAudio
from fishaudio.exceptions import AuthenticationError, NotFoundError
from fishaudio.types import ReferenceAudio

WIRE_FILE = Path(__file__).resolve().parents[2] / "shared" / "fish-wire" / "sdk-requests.json"


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as reader:
        return reader.getnframes() / reader.getframerate()


def auth(key: str = API_KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def tts(fake: FakeFishServer, body: dict, key: str = API_KEY, model: str | None = "s1") -> httpx.Response:
    headers = {**auth(key), "Content-Type": "application/msgpack", **({"model": model} if model is not None else {})}
    return httpx.post(f"{fake.url}/v1/tts", content=msgpack.packb(body), headers=headers)


def test_official_sdk_clones_reads_and_speaks_through_the_fake(fish, tmp_path):
    client = FishAudio(api_key=API_KEY, base_url=fish.url)
    sample = write_sample(tmp_path / "aria.wav", seconds=3).read_bytes()

    voice = client.voices.create(title="Aria", voices=[sample], texts=["hello there"])
    assert voice.state == "trained" and voice.title == "Aria"  # a fast clone is usually ready at once
    assert client.voices.get(voice.id).state == "trained"

    by_id = client.tts.convert(text="Hello world", reference_id=voice.id, format="wav")
    inline = client.tts.convert(text="Hi", references=[ReferenceAudio(audio=sample, text="ref")], format="wav")
    assert by_id[:4] == b"RIFF" and wav_seconds(by_id) > 0.3  # real speech, not a stub
    assert inline[:4] == b"RIFF" and wav_seconds(inline) > 0.1

    listed = client.voices.list(self_only=True)
    assert listed.total == 1 and listed.items[0].id == voice.id
    client.voices.update(voice.id, title="Aria II", visibility="unlist", tags=["a", "b"])
    updated = client.voices.get(voice.id)
    assert (updated.title, updated.visibility, updated.tags) == ("Aria II", "unlist", ["a", "b"])
    client.voices.delete(voice.id)
    with pytest.raises(NotFoundError):
        client.voices.get(voice.id)

    # What the SDK sent is what ../shared/fish-wire/ says it sends, and the fake understood it.
    create = fish.calls("POST", "/model")[0]
    assert create.body.fields["type"] == ["tts"] and create.body.fields["train_mode"] == ["fast"]
    assert create.body.fields["texts"] == ["hello there"] and len(create.body.files["voices"]) == 1
    speak = fish.calls("POST", "/v1/tts")
    assert [r.headers["model"] for r in speak] == ["s2-pro", "s2-pro"]
    assert speak[0].body["reference_id"] == voice.id and speak[1].body["references"][0]["text"] == "ref"
    assert all(r.authorized for r in fish.calls())


def test_sdk_requests_from_the_wire_fact_sheet_are_accepted(fish):
    if not WIRE_FILE.is_file():
        pytest.skip("../shared/fish-wire/sdk-requests.json is not beside the repository")
    tts_bodies = [entry["msgpack_body"] for entry in json.loads(WIRE_FILE.read_text()) if entry["path"] == "/v1/tts"]
    model_id = fish.add_model("probe", visibility="private")
    for body in tts_bodies:
        body = dict(body, reference_id=model_id) if body.get("reference_id") else dict(body)
        body["references"] = [
            {"audio": b"x" * ref["audio"]["bytes"], "text": ref["text"]} for ref in body["references"]
        ]
        assert tts(fish, body, model="s2-pro").status_code == 200


def test_the_official_sdk_sees_a_bad_key_as_an_authentication_error(fish):
    with pytest.raises(AuthenticationError):
        FishAudio(api_key="wrong", base_url=fish.url).tts.convert(text="Hello")


def test_errors_are_json_status_and_message_and_the_key_is_never_recorded(fish):
    bad = tts(fish, {"text": "hi"}, key="wrong")
    assert bad.status_code == 401 and bad.json() == {"status": 401, "message": "Invalid Token"}
    missing = httpx.post(
        f"{fish.url}/v1/tts", content=msgpack.packb({"text": "hi"}), headers={"Content-Type": "application/msgpack"}
    )
    assert missing.status_code == 401
    assert tts(fish, {"format": "wav"}).json()["status"] == 422  # no text
    assert tts(fish, {"text": "hi", "format": "flac"}).status_code == 422
    assert tts(fish, {"text": "hi", "prosody": {"speed": 0}}).status_code == 422  # ASSUMED: no audio at speed 0
    assert tts(fish, {"text": "hi", "temperature": 1.5}).status_code == 422
    unknown = tts(fish, {"text": "hi", "reference_id": "0" * 32})
    assert (
        unknown.status_code == 400 and "not found" in unknown.json()["message"]
    )  # docs: 400 for an unknown reference_id
    garbage = httpx.post(
        f"{fish.url}/v1/tts", content=b"\xc1\xc1", headers={**auth(), "Content-Type": "application/msgpack"}
    )
    assert garbage.status_code == 422 and garbage.headers["content-type"].startswith(
        "text/plain"
    )  # unparseable: plain text
    assert httpx.get(f"{fish.url}/model/nope", headers=auth()).json() == {"status": 404, "message": "Model not found"}
    recorded = json.dumps([r.headers for r in fish.calls()])
    assert API_KEY not in recorded and "wrong" not in recorded


def test_tts_returns_audio_in_the_requested_format(fish):
    wav = tts(fish, {"text": "One two three.", "format": "wav", "sample_rate": 22050})
    assert wav.headers["content-type"] == "audio/wav" and wav.content[:4] == b"RIFF"
    with wave.open(io.BytesIO(wav.content)) as reader:
        assert reader.getframerate() == 22050 and reader.getnchannels() == 1
    assert tts(fish, {"text": "One two three.", "format": "mp3"}).content[:3] in (b"ID3", b"\xff\xfb", b"\xff\xf3")
    assert tts(fish, {"text": "One two three.", "format": "opus"}).content[:4] == b"OggS"
    slow = tts(fish, {"text": "One two three.", "format": "wav", "prosody": {"speed": 0.6, "volume": 0}})
    assert wav_seconds(slow.content) > wav_seconds(wav.content)


def test_model_creation_checks_the_multipart_form(fish, tmp_path):
    sample = write_sample(tmp_path / "s.wav", seconds=2).read_bytes()
    form = {"type": "tts", "title": "Aria", "train_mode": "fast", "visibility": "private"}

    def create(data, files):
        return httpx.post(f"{fish.url}/model", data=data, files=files, headers=auth())

    assert (
        create({**form, "texts": ["one", "two"]}, [("voices", ("a.wav", sample))]).status_code == 422
    )  # counts differ
    assert create({k: v for k, v in form.items() if k != "type"}, [("voices", ("a.wav", sample))]).status_code == 422
    assert create({**form, "visibility": "everyone"}, [("voices", ("a.wav", sample))]).status_code == 422
    no_files = httpx.post(f"{fish.url}/model", data=form, files=[("cover_image", ("c.png", b"png"))], headers=auth())
    assert no_files.status_code == 422 and "voices" in no_files.json()["message"]
    made = create(
        {**form, "texts": ["one", "two"], "tags": ["x", "y"]},
        [("voices", ("a.wav", sample)), ("voices", ("b.wav", sample))],
    )
    assert made.status_code == 201 and made.json()["state"] == "trained" and made.json()["tags"] == ["x", "y"]
    assert [s["text"] for s in made.json()["samples"]] == ["one", "two"]


def test_models_train_over_time_or_fail(tmp_path):
    sample = write_sample(tmp_path / "s.wav", seconds=1).read_bytes()
    with FakeFishServer(api_key=API_KEY, training_seconds=2.0, fail_titles=("Broken",)) as fake:

        def create(title):
            data = {"type": "tts", "title": title, "train_mode": "fast", "visibility": "private", "texts": ["hi"]}
            return httpx.post(
                f"{fake.url}/model", data=data, files=[("voices", ("a.wav", sample))], headers=auth()
            ).json()["_id"]

        started = time.monotonic()
        good = create("Good")
        assert fake.state_of(good) == "created"  # training_seconds set: the slow path a client must poll
        assert tts(fake, {"text": "hi", "reference_id": good}).status_code == 400  # not trained yet
        broken = create("Broken")
        time.sleep(max(0.0, started + 1.2 - time.monotonic()))  # past "created" (the first third), well before the end
        assert fake.state_of(good) == "training"
        deadline = time.monotonic() + 10  # polled, as a client does: a loaded machine may be slow to answer
        while {fake.state_of(good), fake.state_of(broken)} & {"created", "training"} and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (fake.state_of(good), fake.state_of(broken)) == ("trained", "failed")
        assert tts(fake, {"text": "hi", "reference_id": good}).status_code == 200


def test_listing_pages_through_own_models_only(fish):
    own = [fish.add_model(f"mine {i}", visibility="private") for i in range(7)]
    fish.add_model("theirs", owner="someone-else", visibility="public")
    pages = [
        httpx.get(f"{fish.url}/model", params={"self": "true", "page_size": 3, "page_number": n}, headers=auth()).json()
        for n in (1, 2, 3, 4)
    ]
    assert [p["total"] for p in pages] == [7, 7, 7, 7]
    assert [len(p["items"]) for p in pages] == [3, 3, 1, 0]
    assert sorted(item["_id"] for p in pages for item in p["items"]) == sorted(own)
    assert httpx.get(f"{fish.url}/model", params={"page_size": 500}, headers=auth()).status_code == 422
    theirs = httpx.get(f"{fish.url}/model", params={"self": "false"}, headers=auth()).json()
    assert [m["title"] for m in theirs["items"]] == ["theirs"]
    assert httpx.delete(f"{fish.url}/model/{theirs['items'][0]['_id']}", headers=auth()).status_code == 403


def test_no_credit_answers_402(fish):
    fish.no_credit = True
    assert tts(fish, {"text": "hi"}).json() == {"status": 402, "message": "Insufficient credits"}


def test_concurrency_cap_answers_429_and_counts_requests_in_flight():
    # A second of latency: on a loaded machine five threads may take a few hundred ms to all arrive.
    with FakeFishServer(api_key=API_KEY, latency=1.0, max_in_flight=2, retry_after="1", audio="tone") as fake:
        statuses: list[int] = []
        retry_after: list[str | None] = []

        def one() -> None:
            response = tts(fake, {"text": "hello", "format": "wav"})
            statuses.append(response.status_code)
            retry_after.append(response.headers.get("retry-after"))

        threads = [threading.Thread(target=one) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(statuses) == [200, 200, 429, 429, 429]
        assert fake.max_in_flight_seen >= 3 and retry_after.count("1") == 3  # every arrival counted, refused or not


@pytest.mark.parametrize("kind", ["drop", "truncate"])
def test_broken_connections_are_real_transport_errors(fish, kind):
    fish.inject(kind, "/v1/tts")
    with pytest.raises(httpx.RemoteProtocolError):
        tts(fish, {"text": "A line long enough to need several chunks of audio. " * 3, "format": "wav"})
    assert tts(fish, {"text": "hi", "format": "wav"}).status_code == 200  # one-shot


def test_self_hosted_fish_speech_has_tts_but_no_model_api():
    with FakeFishServer(api_key=None, self_hosted=True) as fake:
        assert (
            httpx.post(
                f"{fake.url}/v1/tts",
                content=msgpack.packb({"text": "hi", "format": "wav"}),
                headers={"Content-Type": "application/msgpack"},
            ).status_code
            == 200
        )
        assert (
            httpx.post(f"{fake.url}/model", data={"type": "tts"}, files=[("voices", ("a.wav", b"RIFF"))]).status_code
            == 404
        )


# --- the API as published today (../shared/fish-api/openapi.json) ---------------------------------


@pytest.mark.parametrize(
    ("header", "used"),
    [("s2.1-pro", "s2.1-pro"), ("s2.1-pro-free", "s2.1-pro-free"), ("s2-pro", "s2-pro"), ("s1", "s1"),
     (None, "s2.1-pro"), ("speech-1.6", "s2.1-pro"), ("speech-1.5", "s2.1-pro"), ("s2.1-por", "s2.1-pro")],
)  # fmt: skip
def test_an_unknown_or_retired_model_is_silently_voiced_by_the_default(fish, header, used):
    # The reference: "If omitted or set to an unrecognized value, the request falls back to s2.1-pro."
    assert tts(fish, {"text": "Hello.", "format": "wav"}, model=header).status_code == 200
    assert fish.calls("POST", "/v1/tts")[-1].model_used == used


def test_opus_bitrates_of_the_reference_and_of_the_sdk_are_accepted(fish):
    for bitrate in (-1000, 24000, 32000, 48000, 64000, 32):  # bps per the reference; 32 is what the SDK sends
        assert tts(fish, {"text": "Hi.", "format": "opus", "opus_bitrate": bitrate}).status_code == 200, bitrate
    assert tts(fish, {"text": "Hi.", "format": "opus", "opus_bitrate": 100}).status_code == 422
    assert tts(fish, {"text": "Hi.", "format": "wav", "latency": "low"}).status_code == 200
    assert (
        tts(fish, {"text": "Hi.", "format": "wav", "prosody": {"speed": 1, "volume": -30}}).status_code == 200
    )  # dB, no range


def test_several_speakers_take_reference_id_arrays_on_s2_only(fish):
    a, b = (fish.add_model("A", visibility="private"), fish.add_model("B", visibility="private"))
    body = {"text": "<|speaker:0|>Good morning!<|speaker:1|>Morning.", "reference_id": [a, b], "format": "wav"}
    assert tts(fish, body, model="s2.1-pro").status_code == 200
    assert tts(fish, body, model="s1").status_code == 422
    zero_shot = {"text": "<|speaker:0|>Hi<|speaker:1|>Hey", "reference_id": ["x", "y"], "format": "wav",
                 "references": [[{"audio": b"a" * 10, "text": "a"}], [{"audio": b"b" * 10, "text": "b"}]]}  # fmt: skip
    assert tts(fish, zero_shot, model="s2-pro").status_code == 200
    assert tts(fish, {**zero_shot, "reference_id": ["x"]}, model="s2-pro").status_code == 422  # 2 groups, 1 id


def test_create_takes_at_most_20_voice_files(fish, tmp_path):
    sample = write_sample(tmp_path / "s.wav", seconds=1).read_bytes()
    form = {"type": "tts", "title": "Many", "train_mode": "fast", "visibility": "private"}
    twenty = httpx.post(
        f"{fish.url}/model", data=form, files=[("voices", (f"{i}.wav", sample)) for i in range(20)], headers=auth()
    )
    assert twenty.status_code == 201
    too_many = httpx.post(
        f"{fish.url}/model", data=form, files=[("voices", (f"{i}.wav", sample)) for i in range(21)], headers=auth()
    )
    assert too_many.status_code == 422 and "20" in too_many.json()["message"]


def test_a_public_model_needs_a_cover_image(fish, tmp_path):
    sample = write_sample(tmp_path / "s.wav", seconds=1).read_bytes()
    form = {"type": "tts", "title": "Open", "train_mode": "fast"}  # visibility defaults to public
    refused = httpx.post(f"{fish.url}/model", data=form, files=[("voices", ("a.wav", sample))], headers=auth())
    assert refused.status_code == 422 and "cover_image" in refused.json()["message"]
    made = httpx.post(
        f"{fish.url}/model",
        data=form,
        files=[("voices", ("a.wav", sample)), ("cover_image", ("c.png", b"\x89PNG..."))],
        headers=auth(),
    )
    assert made.status_code == 201 and made.json()["visibility"] == "public" and made.json()["cover_image"]
    private = fish.add_model("Closed", visibility="private")
    assert httpx.patch(f"{fish.url}/model/{private}", data={"visibility": "public"}, headers=auth()).status_code == 422


def test_speech_to_text_reports_the_language_it_detected(fish):
    spoken = tts(fish, {"text": "The ferry is late again.", "format": "wav"}).content
    heard = httpx.post(
        f"{fish.url}/v1/asr",
        content=msgpack.packb({"audio": spoken, "ignore_timestamps": True}),
        headers={**auth(), "Content-Type": "application/msgpack"},
    ).json()
    assert (
        heard["text"] == "The ferry is late again."
        and heard["language_code"] == "en"
        and heard["language"] == "English"
    )


def test_official_sdk_against_every_operation_it_has(fish, tmp_path):
    """tts.convert/stream, asr.transcribe, voices.*, account.*: the SDK parses every answer.
    (tts.stream_websocket uses /v1/tts/live, a WebSocket the OpenAPI reference does not describe.)"""
    client = FishAudio(api_key=API_KEY, base_url=fish.url)
    sample = write_sample(tmp_path / "aria.wav", seconds=3).read_bytes()
    voice = client.voices.create(title="Aria", voices=[sample], texts=["hello there"], tags=["t"], description="d")
    public = client.voices.create(title="Open", voices=[sample], visibility="public", cover_image=b"\x89PNG cover")
    assert public.visibility == "public" and public.cover_image
    streamed = b"".join(client.tts.stream(text="Streaming works.", reference_id=voice.id, format="wav"))
    assert streamed[:4] == b"RIFF" and wav_seconds(streamed) > 0.3
    heard = client.asr.transcribe(audio=streamed, language="en")
    assert heard.text == "Streaming works." and heard.duration > 0
    credits = client.account.get_credits()
    assert float(credits.credit) == 25.0
    package = client.account.get_package()
    assert package.balance == 0
    client.voices.update(voice.id, cover_image=b"\x89PNG", visibility="public")
    assert client.voices.get(voice.id).visibility == "public"
    assert {v.id for v in client.voices.list(self_only=True, page_size=10).items} == {voice.id, public.id}
    assert [r.path for r in fish.calls("GET", "/wallet/")] == ["/wallet/self/api-credit", "/wallet/self/package"]
    assert all(r.status in (200, 201) for r in fish.calls())


def test_what_the_reference_allows_is_accepted_and_every_undocumented_refusal_is_marked(fish):
    import inspect
    import re

    from fakes import fish_server

    # TTSRequest: sample_rate, max_new_tokens and repetition_penalty are plain numbers,
    # ProsodyControl's speed and volume have no range.
    loose = {"text": "Hi", "format": "wav", "sample_rate": 16000, "max_new_tokens": 0, "repetition_penalty": 3.5}
    assert tts(fish, {**loose, "prosody": {"speed": 2.5, "volume": -30}}).status_code == 200
    listed = [
        httpx.get(f"{fish.url}/model", params={"sort_by": order}, headers=auth()).status_code
        for order in ("score", "task_count", "created_at")
    ]
    assert listed == [200, 200, 200]  # every sort_by the reference lists
    patched = httpx.patch(
        f"{fish.url}/model/{fish.add_model('Mine', owner=None, visibility='private')}",
        json={"title": "Mine too", "colour": "blue"}, headers=auth(),
    )  # fmt: skip
    assert patched.status_code == 200  # a field the reference does not list is ignored, not refused
    # Each status a route's reference does not document is named in ASSUMED, with its reason.
    source = inspect.getsource(fish_server)
    marks = set(re.findall(r'ASSUMED\["([a-z0-9-]+)"\]', source))
    assert marks == set(fish_server.ASSUMED), marks ^ set(fish_server.ASSUMED)
    assert all(len(reason) > 40 for reason in fish_server.ASSUMED.values())
