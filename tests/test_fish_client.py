"""The Fish Audio client and engine against the fake server: what is sent, retried, and refused."""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, make_project, write_sample

from charvoice.engines.fish import retry as fish_module
from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.engine import FishEngine
from charvoice.engines.fish.errors import FishError, FishFatalError
from charvoice.engines.fish.pacing import AdaptiveLimit
from charvoice.engines.fish.retry import backoff_delay, parse_retry_after
from charvoice.errors import FatalEngineError
from charvoice.project.characters import load_characters
from charvoice.project.config import load_config
from charvoice.project.lines import Line


def line(character: str, text: str = "Hello there.", line_id: str = "l1") -> Line:
    return Line(id=line_id, character=character, text=text, locale="en", file="dialogue/lines.csv", line_number=2)


def open_engine(tmp_path, fake, key: str = API_KEY, **options):
    project = make_project(tmp_path, fake, **options)
    config = load_config(project.root)
    return FishEngine.from_config(config, key), load_characters(config), project


def test_request_is_offline_and_keys_everything_that_changes_the_sound(tmp_path, fish):
    engine, characters, project = open_engine(tmp_path, fish)
    aria, bram, cleo = characters["aria"], characters["bram"], characters["cleo"]
    request = engine.request(line("aria"), aria, "Hello there.")

    assert request.engine == "fish" and request.text == "Hello there."
    assert request.params["model"] == "s1" and request.params["format"] == "wav"
    assert request.params["prosody"] == {"speed": 1.1, "volume": 0.0} and request.params["temperature"] == 0.7
    assert request.voice["clone"] == "persistent" and len(request.voice["samples"]) == 2
    assert request.voice["texts"] == ["The tide is early today.", "Keep the lamp lit."]
    assert engine.request(line("bram"), bram, "Hi").voice == {"model_id": bram.voice.model_id}
    assert engine.request(line("cleo"), cleo, "Hi").voice["clone"] == "instant"

    key = request.cache_key
    assert (
        engine.request(line("aria"), replace(aria, speech=replace(aria.speech, speed=1.2)), "Hello there.").cache_key
        != key
    )
    assert (
        engine.request(
            line("aria"), replace(aria, speech=replace(aria.speech, temperature=0.5)), "Hello there."
        ).cache_key
        != key
    )
    assert engine.request(line("aria"), aria, "Hello there!").cache_key != key
    tables = engine.config.engine_tables
    s2 = replace(engine.config, engine_tables={**tables, "fish": {**tables["fish"], "model": "s2-pro"}})
    other_model = FishEngine(s2, engine.client)
    assert other_model.request(line("aria"), aria, "Hello there.").cache_key != key
    write_sample(project.root / "characters/voices/aria/02.wav", pitch=151)  # a re-recorded sample
    assert engine.request(line("aria"), aria, "Hello there.").cache_key != key
    assert API_KEY not in repr(request) and API_KEY not in repr(engine.client)
    assert fish.calls() == []  # planning never touches the network


def test_synthesize_sends_msgpack_with_the_model_header_and_each_kind_of_voice(tmp_path, fish, fast_retries):
    engine, characters, project = open_engine(tmp_path, fish)
    for character in ("bram", "cleo", "aria"):
        audio = engine.synthesize(
            engine.request(line(character), characters[character], f"Line for {character}.")
        ).audio
        assert audio[:4] == b"RIFF"
    bram, cleo, aria = (r.body for r in fish.calls("POST", "/v1/tts"))
    assert all(
        r.headers["model"] == "s1" and r.headers["content-type"] == "application/msgpack"
        for r in fish.calls("POST", "/v1/tts")
    )
    assert bram["reference_id"] == characters["bram"].voice.model_id and "references" not in bram
    [reference] = cleo["references"]  # prepared once: MP3, far smaller than the WAV on disk
    assert reference["text"] == "I was never here." and reference["audio"][:3] == b"ID3"
    assert len(reference["audio"]) < 0.6 * (project.root / "characters/voices/cleo/01.wav").stat().st_size
    assert aria["reference_id"] in fish.models and len(fish.calls("POST", "/model")) == 1  # cloned on first use
    assert aria["prosody"] == {"speed": 1.1, "volume": 0.0} and aria["format"] == "wav" and aria["latency"] == "normal"
    assert (aria["temperature"], aria["top_p"], aria["chunk_length"], aria["normalize"]) == (0.7, 0.7, 200, True)


def test_server_errors_dropped_and_truncated_answers_are_retried(tmp_path, fish, fast_retries):
    engine, characters, _ = open_engine(tmp_path, fish)
    for kind in ("500", "drop", "truncate", "503", "502"):
        fish.inject(kind, "/v1/tts")
    audio = engine.synthesize(
        engine.request(line("bram"), characters["bram"], "A long enough line to be cut in half.")
    ).audio
    assert audio[:4] == b"RIFF"
    assert [r.fault for r in fish.calls("POST", "/v1/tts")] == ["500", "drop", "truncate", "503", "502", ""]


def test_a_wav_answer_that_declares_no_sound_is_refused_as_damaged_and_retried(fish, fast_retries):
    client = FishClient(fish.url, API_KEY)
    fish.inject("silent-wav", "/v1/tts")
    audio = client.tts({"text": "Hi", "format": "wav"}, "s1")
    assert int.from_bytes(audio[40:44], "little") > 0
    assert [r.fault for r in fish.calls("POST", "/v1/tts")] == ["silent-wav", ""] and client.billed_retries == 1


def test_retries_are_bounded(tmp_path, fish, fast_retries):
    engine, characters, _ = open_engine(tmp_path, fish, retries=2)
    fish.inject("500", "/v1/tts", count=10)
    with pytest.raises(FishError, match="failed after 3 attempts: 500"):
        engine.synthesize(engine.request(line("bram"), characters["bram"], "Hi"))
    assert len(fish.calls("POST", "/v1/tts")) == 3


def test_client_errors_are_never_retried(tmp_path, fish, fast_retries):
    engine, characters, _ = open_engine(tmp_path, fish)
    gone = replace(characters["bram"], voice=replace(characters["bram"].voice, model_id="0" * 32))
    with pytest.raises(FishError, match="answered 400") as error:
        engine.synthesize(engine.request(line("bram"), gone, "Hi"))
    assert "voices sync --verify" in str(error.value)
    client = engine.client
    with pytest.raises(FishError, match="answered 404"):
        client.get_model("missing")
    with pytest.raises(FishError, match="answered 403"):
        client.delete_model(characters["bram"].voice.model_id)  # someone else's model
    with pytest.raises(FishError, match="answered 422"):
        client.tts({"text": "Hi", "format": "flac"}, "s1")
    assert [r.status for r in fish.calls()] == [400, 404, 403, 422]  # one request each


@pytest.mark.parametrize(("status", "words"), [(401, "rejected the API key"), (402, "no credit")])
def test_bad_key_or_no_credit_is_fatal_at_once_for_every_thread(tmp_path, fish, fast_retries, status, words):
    key = "not-the-key" if status == 401 else API_KEY
    fish.no_credit = status == 402
    fish.latency = 0.05
    engine, characters, _ = open_engine(tmp_path, fish, key=key)
    requests = [engine.request(line("bram", line_id=f"l{i}"), characters["bram"], f"Line {i}.") for i in range(12)]
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(engine.synthesize, request) for request in requests]
        errors = [future.exception() for future in futures]
    assert time.monotonic() - started < 1.0
    assert all(isinstance(error, FishFatalError) and isinstance(error, FatalEngineError) for error in errors)
    assert len({id(error) for error in errors}) == 1 and words in str(errors[0])  # one error, not twelve
    texts = fish.tts_texts()
    assert len(texts) <= 4 and len(texts) == len(set(texts))  # only those already in flight; no retry
    assert "not-the-key" not in str(errors[0]) and API_KEY not in str(errors[0])


def test_retry_after_is_honoured(tmp_path, fast_retries):
    with FakeFishServer(api_key=API_KEY, retry_after="1") as fake:
        engine, characters, _ = open_engine(tmp_path, fake)
        fake.inject("429", "/v1/tts")
        started = time.monotonic()
        engine.synthesize(engine.request(line("bram"), characters["bram"], "Hi"))
        assert time.monotonic() - started >= 0.95
        assert len(fake.calls("POST", "/v1/tts")) == 2


def test_a_stalled_request_times_out_and_is_retried(fast_retries):
    with FakeFishServer(api_key=API_KEY, stall_seconds=1.5) as fake:
        client = FishClient(fake.url, API_KEY, timeout=0.3)
        fake.inject("stall", "/v1/tts")
        started = time.monotonic()
        assert client.tts({"text": "Hi", "format": "wav"}, "s1")[:4] == b"RIFF"
        assert time.monotonic() - started < 1.4
        assert len(fake.calls("POST", "/v1/tts")) == 2


def test_over_the_account_limit_the_client_slows_down_and_every_line_still_succeeds(tmp_path, fast_retries):
    with FakeFishServer(api_key=API_KEY, max_in_flight=2, latency=0.04, audio="tone") as fake:
        engine, characters, _ = open_engine(tmp_path, fake, jobs=6, retries=10)
        requests = [
            engine.request(line("bram", line_id=f"l{i}"), characters["bram"], f"Line number {i}.") for i in range(30)
        ]
        with ThreadPoolExecutor(6) as pool:
            audio = list(pool.map(engine.synthesize, requests))
        assert all(a.audio[:4] == b"RIFF" for a in audio)
        assert fake.max_in_flight_seen <= 6
        refused = [r for r in fake.calls("POST", "/v1/tts") if r.status == 429]
        assert refused and engine.client.limit.cuts >= 1
        assert len(refused) < 30  # it adapted instead of hammering the limit on every line


def test_adaptive_limit_cuts_once_per_epoch_and_recovers():
    limit = AdaptiveLimit(8)
    epochs = [limit.acquire() for _ in range(8)]
    for epoch in epochs:  # eight 429s from requests sent under the same limit: one cut
        limit.overloaded(epoch)
        limit.release()
    assert limit.limit == 6 and limit.cuts == 1
    while limit.limit < 8:
        limit.acquire()
        limit.release()
        limit.succeeded()
    assert limit.limit == 8 and limit.peak == 8


def test_backoff_is_capped_jittered_and_respects_retry_after(monkeypatch):
    monkeypatch.setattr(fish_module, "BACKOFF_BASE_S", 0.5)
    monkeypatch.setattr(fish_module, "BACKOFF_CAP_S", 10.0)
    rng = random.Random(3)
    delays = [backoff_delay(attempt, None, rng) for attempt in range(10)]
    assert all(0.25 <= d <= 0.5 for d in delays[:1]) and max(delays) <= 10.0 and delays[-1] >= 5.0
    assert len({round(backoff_delay(2, None, rng), 6) for _ in range(5)}) > 1  # jitter
    assert backoff_delay(0, 7.0, rng) == 7.0
    assert backoff_delay(0, 3600.0, rng) == fish_module.RETRY_AFTER_CAP_S
    assert parse_retry_after("2") == 2.0 and parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 < parse_retry_after(later) <= 30


def test_listing_follows_every_page(fish):
    for i in range(7):
        fish.add_model(f"mine {i}", visibility="private")
    client = FishClient(fish.url, API_KEY)
    assert len(list(client.list_models(page_size=3))) == 7
    assert len(fish.calls("GET", "/model")) == 3
    assert all(r.query["self"] == ["true"] for r in fish.calls("GET", "/model"))


def test_a_create_that_lost_its_answer_is_found_instead_of_made_twice(tmp_path, fish, fast_retries):
    sample = write_sample(tmp_path / "a.wav", seconds=2).read_bytes()
    fish.inject("drop", "/model")  # the model is made, the answer never arrives
    client = FishClient(fish.url, API_KEY)
    model = client.create_model(
        title="Aria",
        samples=[("a.wav", sample)],
        texts=[],
        visibility="private",
        enhance_audio_quality=True,
        marker="charvoice-abc",
    )
    assert len(fish.models) == 1 and model["_id"] in fish.models
    assert len(fish.calls("POST", "/model")) == 1


def test_a_self_hosted_server_needs_no_key(tmp_path, fast_retries):
    with FakeFishServer(api_key=None, self_hosted=True) as fake:
        characters = {"cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\nclone = "instant"\n'}
        engine, loaded, _ = open_engine(tmp_path, fake, key=None, characters=characters)
        assert engine.synthesize(engine.request(line("cleo"), loaded["cleo"], "Hi")).audio[:4] == b"RIFF"
        assert "authorization" not in fake.calls()[0].headers
