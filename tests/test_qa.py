"""charvoice qa: deliberately spoiled assets are flagged, clean ones pass, and the verdicts land in
the manifest; with Fish configured, a speech-to-text round trip (POST /v1/asr, against the fake
server) flags a line whose audio says something else."""

from __future__ import annotations

import json

import jsonschema
import msgpack
import numpy as np
import pytest
import soundfile
from conftest import REPO
from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, make_project
from fakes.fixtures import LINES as FISH_LINES
from helpers_release import (
    LINES,
    asset,
    clipped,
    copy_project,
    decoded,
    entry,
    manifest,
    quieter,
    silence,
    write_ogg,
)

from charvoice.release import qa
from charvoice.release import wer as asr

SCHEMA = json.loads((REPO / "charvoice/manifest.schema.json").read_text(encoding="utf-8"))


def qa_json(project, *args):
    result = project.run("qa", "--json", *args)
    return result, json.loads(result.stdout)


def by_id(report: dict) -> dict:
    return {line["id"]: line for line in report["lines"]}


def codes(line: dict) -> set[str]:
    return {flag["code"] for flag in line["flags"]}


def test_clean_assets_pass_and_the_verdicts_go_into_the_manifest(copy):
    result = copy.run("qa")
    assert result.exit_code == 0, result.output
    assert f"{len(LINES)} assets checked, 0 flagged" in result.output
    assert "not run" in result.output  # offline engine: no speech-to-text
    data = manifest(copy)
    assert not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data))
    for line_id, *_ in LINES:
        audio = data["lines"][line_id]["audio"]["en"]
        verdict = audio["qa"]
        assert verdict["key"] == audio["key"] and verdict["flags"] == []
        assert abs(verdict["lufs"] - (-18.0)) < 0.6 and verdict["true_peak_db"] <= -1.0
        assert verdict["clipped_samples"] == 0 and verdict["leading_silence_s"] < 0.2
        assert 5 < verdict["chars_per_second"] < 25
        assert "transcript" not in verdict
    revision = data["revision"]
    again = copy.run("qa")
    assert again.exit_code == 0
    assert manifest(copy)["revision"] == revision, "an unchanged verdict is not published again"


def test_clipped_too_quiet_and_silent_assets_are_flagged(copy):
    greet, reply, ask = asset(copy, "intro.greet"), asset(copy, "intro.reply"), asset(copy, "intro.ask")
    write_ogg(greet, clipped(decoded(greet)))
    write_ogg(reply, quieter(decoded(reply), 12.0))
    write_ogg(ask, silence(2.0))

    result, report = qa_json(copy)
    assert result.exit_code == 1
    assert report["ok"] is False and report["checked"] == 4 and report["flagged"] == 3
    lines = by_id(report)
    assert "clipping" in codes(lines["intro.greet"]) and lines["intro.greet"]["clipped_samples"] > 100
    assert codes(lines["intro.reply"]) == {"loudness"}
    assert "too quiet" in lines["intro.reply"]["flags"][0]["message"] and lines["intro.reply"]["lufs"] == pytest.approx(
        -30, abs=1.0
    )
    assert codes(lines["intro.ask"]) == {"silent"} and lines["intro.ask"]["lufs"] is None
    assert lines["intro.answer"]["flags"] == [] and lines["intro.answer"]["ok"] is True

    stored = manifest(copy)
    assert not list(jsonschema.Draft202012Validator(SCHEMA).iter_errors(stored))  # null loudness and all
    assert [f["code"] for f in stored["lines"]["intro.ask"]["audio"]["en"]["qa"]["flags"]] == ["silent"]

    table = copy.run("qa")
    assert table.exit_code == 1
    row = next(line for line in table.output.splitlines() if line.startswith("intro.reply [en]"))
    assert row.split()[-1] == "loudness"
    assert "dialogue/intro.csv:3: too quiet" in table.output
    assert "4 assets checked, 3 flagged" in table.output


def test_long_silences_and_a_duration_that_does_not_fit_the_text(copy):
    greet, answer = asset(copy, "intro.greet"), asset(copy, "intro.answer")
    speech = decoded(greet)
    write_ogg(greet, np.concatenate([silence(1.2), speech, silence(0.9)]))
    write_ogg(answer, np.concatenate([decoded(answer)] * 5))  # "Every one of them, sealed and dry." five times over

    result, report = qa_json(copy)
    assert result.exit_code == 1
    lines = by_id(report)
    # The edited files no longer match their word timings either: those are flagged as stale.
    assert codes(lines["intro.greet"]) == {"leading_silence", "trailing_silence", "timings"}
    assert lines["intro.greet"]["leading_silence_s"] == pytest.approx(1.2, abs=0.05)
    assert (
        codes(lines["intro.answer"]) == {"duration", "timings"}
        and "too long" in lines["intro.answer"]["flags"][0]["message"]
    )
    assert codes(lines["intro.reply"]) == set()


def test_thresholds_come_from_the_qa_table(copy):
    reply = asset(copy, "intro.reply")
    write_ogg(reply, quieter(decoded(reply), 3.0))
    assert codes(by_id(qa_json(copy)[1])["intro.reply"]) == {"loudness"}

    config = (copy.root / "charvoice.toml").read_text()
    copy.write(
        "charvoice.toml",
        config + "\n[qa]\nloudness_tolerance_lu = 4\nmax_silence_ms = 20\n\n[qa.chars_per_second]\nen = [1, 2]\n",
    )
    lines = by_id(qa_json(copy)[1])
    assert "loudness" not in codes(lines["intro.reply"])
    assert all("duration" in codes(line) for line in lines.values())  # 2 letters a second at most: all too fast

    copy.write("charvoice.toml", config + "\n[qa]\nloudnes_tolerance_lu = 2\n\n[qa.chars_per_second]\nfr = [20, 5]\n")
    bad = copy.run("qa")
    assert bad.exit_code == 2
    assert "unknown key 'loudnes_tolerance_lu' in [qa] (did you mean 'loudness_tolerance_lu'?)" in bad.output
    assert "qa.chars_per_second.fr must be [slowest, fastest]" in bad.output


def test_a_rebuilt_line_has_no_verdict_until_qa_runs_again(copy):
    assert copy.run("qa").exit_code == 0
    rows = [list(row) for row in LINES]
    rows[1][2] = "Thank you. The crossing was shorter than I feared."
    from helpers_release import csv_text

    copy.write("dialogue/intro.csv", csv_text(rows))
    assert copy.run("build").exit_code == 0
    assert "qa" not in entry(copy, "intro.reply") and "qa" in entry(copy, "intro.greet")
    result, report = qa_json(copy, "intro.reply")  # a target limits the run
    assert result.exit_code == 0 and [line["id"] for line in report["lines"]] == ["intro.reply"]
    assert entry(copy, "intro.reply")["qa"]["key"] == entry(copy, "intro.reply")["key"]


def test_a_file_the_manifest_lists_but_that_is_gone_is_flagged(copy):
    asset(copy, "intro.ask").unlink()
    result, report = qa_json(copy)
    assert result.exit_code == 1 and codes(by_id(report)["intro.ask"]) == {"missing"}


# --- word error rate --------------------------------------------------------------------------


def test_word_error_rate_ignores_case_punctuation_and_cues():
    assert asr.word_error_rate("Then who lit the lamp?", "then, who LIT the lamp") == 0.0
    assert asr.word_error_rate("(angry) It's late — go home!", "it\u2019s late go home") == 0.0
    assert asr.word_error_rate("Then who lit the lamp?", "Then who bit the lamb?") == pytest.approx(0.4)
    assert asr.word_error_rate("Then who lit the lamp?", "Then who lit lamp") == pytest.approx(0.2)  # a deletion
    assert asr.word_error_rate("Stop.", "Stop stop stop stop.") == pytest.approx(3.0)  # repeats count too
    assert asr.word_error_rate("", "") == 0.0 and asr.word_error_rate("Hello", "") == 1.0
    assert asr.word_error_rate("今日は良い天気", "今日は良い天気です", "ja") == pytest.approx(
        2 / 7
    )  # characters, not words
    assert asr.edit_distance(list("kitten"), list("sitting")) == 3


def test_speaking_rates_per_locale():
    from charvoice.project.config import QASettings

    settings = QASettings(chars_per_second={"fr": (6.0, 20.0), "pt_BR": (5.0, 21.0)})
    assert qa.rate_range("fr_CA", settings) == (6.0, 20.0)
    assert qa.rate_range("pt_BR", settings) == (5.0, 21.0)
    assert qa.rate_range("ja", settings) == qa.DEFAULT_RATES["ja"]
    assert qa.rate_range("de", settings) == qa.DEFAULT_RATES["*"]


# --- the ASR round trip, against the fake Fish server -------------------------------------------


@pytest.fixture(scope="module")
def fish_built(tmp_path_factory):
    """A Fish project (five Fish lines, one scratch line) built once against one fake server."""
    from charvoice.engines.fish import retry as fish_retry

    with FakeFishServer(api_key=API_KEY) as fake, pytest.MonkeyPatch.context() as patch:
        patch.setenv("FISH_API_KEY", API_KEY)
        patch.setattr(fish_retry, "BACKOFF_BASE_S", 0.005)
        patch.setattr(fish_retry, "BACKOFF_CAP_S", 0.04)
        project = make_project(tmp_path_factory.mktemp("fishqa") / "p", fake)
        result = project.run("build")
        assert result.exit_code == 0, result.output
        patch.delenv("FISH_API_KEY")
        yield fake, project


@pytest.fixture
def fish_copy(fish_built, tmp_path, monkeypatch):
    from charvoice.engines.fish import retry as fish_retry

    fake, project = fish_built
    monkeypatch.setenv("FISH_API_KEY", API_KEY)
    monkeypatch.setattr(fish_retry, "BACKOFF_BASE_S", 0.005)
    monkeypatch.setattr(fish_retry, "BACKOFF_CAP_S", 0.04)
    copied = copy_project(project, tmp_path / "p")
    copied.fake = fake
    fake.reset_calls()
    fake.asr_mishear.clear()
    yield copied
    fake.api_key = API_KEY


def test_asr_round_trip_flags_a_line_whose_audio_says_something_else(fish_copy):
    fake = fish_copy.fake
    fake.asr_mishear["Then who lit the lamp?"] = "Then who bit the lamb?"
    result, report = qa_json(fish_copy)
    assert result.exit_code == 1, result.output
    assert report["asr"] is True and report["asr_calls"] == 5
    lines = by_id(report)
    assert codes(lines["harbour.5"]) == {"asr"} and lines["harbour.5"]["wer"] == pytest.approx(0.4)
    assert "'Then who bit the lamb?'" in lines["harbour.5"]["flags"][0]["message"]
    for line_id, _, text in FISH_LINES:
        if line_id not in ("harbour.4", "harbour.5"):
            assert lines[line_id]["wer"] == 0.0 and lines[line_id]["transcript"] == text
    assert lines["harbour.4"]["transcript"] is None and "scratch voice" in lines["harbour.4"]["asr_note"]

    calls = fake.asr_calls()
    assert len(calls) == 5 and all(call.authorized and call.status == 200 for call in calls)
    body = calls[0].body
    assert set(body) == {"audio", "language", "ignore_timestamps"}
    assert body["audio"][:4] == b"RIFF" and body["language"] == "en" and body["ignore_timestamps"] is True
    assert entry(fish_copy, "harbour.5")["qa"]["transcript"] == "Then who bit the lamb?"

    fake.reset_calls()
    again = fish_copy.run("qa")
    assert again.exit_code == 1 and "0 transcribed" in again.output
    assert fake.asr_calls() == [], "an unchanged file is never transcribed (and paid for) twice"
    assert fish_copy.run("qa", "--no-asr").exit_code == 0  # the signal checks alone pass


def test_asr_retries_what_may_succeed_next_time(fish_copy):
    fake = fish_copy.fake
    fake.inject("503", "/v1/asr")
    fake.inject("429", "/v1/asr")
    result, report = qa_json(fish_copy)
    assert result.exit_code == 0, result.output
    assert report["asr_calls"] == 5 and len(fake.asr_calls()) == 7  # two refused, then answered
    fake.inject("500", "/v1/asr", count=100)  # a server that keeps failing: the line says so, exit 1
    wav = asset(fish_copy, "harbour.1")
    samples, rate = soundfile.read(str(wav))
    soundfile.write(str(wav), samples * 0.99, rate, subtype="PCM_16")  # a new file: transcribed again
    failed = fish_copy.run("qa")
    assert failed.exit_code == 1 and "speech-to-text failed: speech-to-text failed after" in failed.output
    fake._queued.clear()


def test_asr_errors_are_reported_and_the_key_never_shows(fish_copy):
    fake = fish_copy.fake
    fake.api_key = "another-key"  # the account's key was revoked
    result = fish_copy.run("qa")
    assert result.exit_code == 2
    assert "rejected the API key" in result.output and API_KEY not in result.output
    assert all("qa" in audio["en"] for audio in (line["audio"] for line in manifest(fish_copy)["lines"].values()))
    assert API_KEY not in (fish_copy.root / "game/voice/voice_manifest.json").read_text()


def test_a_server_without_speech_to_text_is_a_note_unless_asr_is_required(tmp_path, monkeypatch):
    monkeypatch.setenv("FISH_API_KEY", API_KEY)
    with FakeFishServer(api_key=API_KEY, self_hosted=True) as fake:
        project = make_project(
            tmp_path / "p",
            fake,
            characters={"cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\nclone = "instant"\n'},
            lines=[("dock.1", "Cleo", "The boat is in.")],
        )
        assert project.run("build").exit_code == 0
        quiet = project.run("qa")
        assert quiet.exit_code == 0 and "has no speech-to-text endpoint" in quiet.output
        required = project.run("qa", "--asr")
        assert required.exit_code == 1 and "speech-to-text failed" in required.output


def test_the_fake_speech_to_text_accepts_what_the_official_sdk_sends(fish_built):
    """The official SDK is a second client of the fake: same request, same answer."""
    from fishaudio import FishAudio

    fake, _ = fish_built
    client = FishAudio(api_key=API_KEY, base_url=fake.url)
    audio = client.tts.convert(text="Keep the lamp lit.", format="wav")
    heard = client.asr.transcribe(audio=audio, language="en")
    assert (
        heard.text == "Keep the lamp lit."
        and heard.duration > 0
        and heard.segments
        and heard.segments[0].text == "Keep the lamp lit."
    )

    import httpx  # multipart, as the API reference also allows

    answer = httpx.post(
        f"{fake.url}/v1/asr",
        headers={"Authorization": f"Bearer {API_KEY}"},
        files={"audio": ("a.wav", audio, "audio/wav")},
        data={"language": "en", "ignore_timestamps": "true"},
    )
    assert (
        answer.status_code == 200 and answer.json()["text"] == "Keep the lamp lit." and answer.json()["segments"] == []
    )
    missing = httpx.post(
        f"{fake.url}/v1/asr",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/msgpack"},
        content=msgpack.packb({"language": "en"}),
    )
    assert missing.status_code == 422 and "audio" in missing.json()["message"]
    unauthorised = httpx.post(
        f"{fake.url}/v1/asr", content=msgpack.packb({"audio": audio}), headers={"Content-Type": "application/msgpack"}
    )
    assert unauthorised.status_code == 401
    unknown = httpx.post(
        f"{fake.url}/v1/asr",
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/msgpack"},
        content=msgpack.packb({"audio": _tone_wav()}),
    )
    assert unknown.status_code == 200 and unknown.json()["text"] == fake.asr_unknown  # never spoken: nothing recognised


def _tone_wav() -> bytes:
    import io
    import wave

    t = np.arange(16000) / 16000
    pcm = (0.3 * np.sin(2 * np.pi * 440 * t) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm.tobytes())
    return buffer.getvalue()


def test_flag_codes_are_the_ones_the_schema_allows():
    allowed = SCHEMA["$defs"]["qa"]["properties"]["flags"]["items"]["properties"]["code"]["enum"]
    assert tuple(allowed) == qa.FLAG_CODES
