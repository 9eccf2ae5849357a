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


def tts(fake: FakeFishServer, body: dict, key: str = API_KEY, model: str = "s1") -> httpx.Response:
    return httpx.post(f"{fake.url}/v1/tts", content=msgpack.packb(body), headers={**auth(key), "Content-Type": "application/msgpack", "model": model})


def test_official_sdk_clones_reads_and_speaks_through_the_fake(fish, tmp_path):
    client = FishAudio(api_key=API_KEY, base_url=fish.url)
    sample = write_sample(tmp_path / "aria.wav", seconds=3).read_bytes()

    voice = client.voices.create(title="Aria", voices=[sample], texts=["hello there"])
    assert voice.state == "created" and voice.title == "Aria"
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
        body["references"] = [{"audio": b"x" * ref["audio"]["bytes"], "text": ref["text"]} for ref in body["references"]]
        assert tts(fish, body, model="s2-pro").status_code == 200


def test_the_official_sdk_sees_a_bad_key_as_an_authentication_error(fish):
    with pytest.raises(AuthenticationError):
        FishAudio(api_key="wrong", base_url=fish.url).tts.convert(text="Hello")


def test_errors_are_json_status_and_message_and_the_key_is_never_recorded(fish):
    bad = tts(fish, {"text": "hi"}, key="wrong")
    assert bad.status_code == 401 and bad.json() == {"status": 401, "message": "Invalid Token"}
    missing = httpx.post(f"{fish.url}/v1/tts", content=msgpack.packb({"text": "hi"}), headers={"Content-Type": "application/msgpack"})
    assert missing.status_code == 401
    assert tts(fish, {"format": "wav"}).json()["status"] == 422  # no text
    assert tts(fish, {"text": "hi", "format": "flac"}).status_code == 422
    assert tts(fish, {"text": "hi", "prosody": {"speed": 9}}).status_code == 422
    assert tts(fish, {"text": "hi", "temperature": 1.5}).status_code == 422
    assert tts(fish, {"text": "hi"}, model="s9-ultra").status_code == 422
    unknown = tts(fish, {"text": "hi", "reference_id": "0" * 32})
    assert unknown.status_code == 400 and "not found" in unknown.json()["message"]  # docs: 400 for an unknown reference_id
    garbage = httpx.post(f"{fish.url}/v1/tts", content=b"\xc1\xc1", headers={**auth(), "Content-Type": "application/msgpack"})
    assert garbage.status_code == 422 and garbage.headers["content-type"].startswith("text/plain")  # unparseable: plain text
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

    assert create({**form, "texts": ["one", "two"]}, [("voices", ("a.wav", sample))]).status_code == 422  # counts differ
    assert create({k: v for k, v in form.items() if k != "type"}, [("voices", ("a.wav", sample))]).status_code == 422
    assert create({**form, "visibility": "everyone"}, [("voices", ("a.wav", sample))]).status_code == 422
    no_files = httpx.post(f"{fish.url}/model", data=form, files=[("cover_image", ("c.png", b"png"))], headers=auth())
    assert no_files.status_code == 422 and "voices" in no_files.json()["message"]
    made = create({**form, "texts": ["one", "two"], "tags": ["x", "y"]}, [("voices", ("a.wav", sample)), ("voices", ("b.wav", sample))])
    assert made.status_code == 201 and made.json()["state"] == "created" and made.json()["tags"] == ["x", "y"]
    assert [s["text"] for s in made.json()["samples"]] == ["one", "two"]


def test_models_train_over_time_or_fail(tmp_path):
    sample = write_sample(tmp_path / "s.wav", seconds=1).read_bytes()
    with FakeFishServer(api_key=API_KEY, training_seconds=0.6, fail_titles=("Broken",)) as fake:
        def create(title):
            data = {"type": "tts", "title": title, "train_mode": "fast"}
            return httpx.post(f"{fake.url}/model", data=data, files=[("voices", ("a.wav", sample))], headers=auth()).json()["_id"]

        good, broken = create("Good"), create("Broken")
        assert fake.state_of(good) == "created"
        assert tts(fake, {"text": "hi", "reference_id": good}).status_code == 400  # not trained yet
        time.sleep(0.3)
        assert fake.state_of(good) == "training"
        time.sleep(0.4)
        assert (fake.state_of(good), fake.state_of(broken)) == ("trained", "failed")
        assert tts(fake, {"text": "hi", "reference_id": good}).status_code == 200


def test_listing_pages_through_own_models_only(fish):
    own = [fish.add_model(f"mine {i}", visibility="private") for i in range(7)]
    fish.add_model("theirs", owner="someone-else", visibility="public")
    pages = [httpx.get(f"{fish.url}/model", params={"self": "true", "page_size": 3, "page_number": n}, headers=auth()).json() for n in (1, 2, 3, 4)]
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
    with FakeFishServer(api_key=API_KEY, latency=0.3, max_in_flight=2, retry_after="1", audio="tone") as fake:
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
        assert httpx.post(f"{fake.url}/v1/tts", content=msgpack.packb({"text": "hi", "format": "wav"}), headers={"Content-Type": "application/msgpack"}).status_code == 200
        assert httpx.post(f"{fake.url}/model", data={"type": "tts"}, files=[("voices", ("a.wav", b"RIFF"))]).status_code == 404
