"""A 503 is Fish Audio under high load (openapi.json), not an outage (issue 23, item 1): it is
waited out with backoff and Retry-After, up to engine.fish.busy_wait, with one line of
progress; only failures that are not answers across several lines stop a build early."""

from __future__ import annotations

import pytest
from fakes.fixtures import make_project

from charvoice.engines.fish.client import FishClient
from charvoice.engines.fish.errors import FishError

BRAM_ONLY = {"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'}
LINES = [(f"dock.{i}", "Bram", f"Line number {i} of the harbour scene.") for i in range(8)]


def test_a_service_busy_for_the_first_seconds_is_waited_out_with_one_line_of_progress(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES, fish_settings="busy_wait = 30")
    fish.busy(1.2)  # every request, the credit check included, answers 503 for 1.2 s
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert len(list((project.root / "game/voice/en/bram").glob("*.wav"))) == 8
    assert run.output.count("service busy, retrying in") == 1, run.output
    assert "not answering" not in run.output and run.seconds >= 1.2
    busy = [r for r in fish.calls() if r.fault == "busy"]
    assert busy and all(r.status == 503 for r in busy)


def test_retry_after_sets_the_pause_while_busy(tmp_path, fish, fish_env):
    fish.retry_after = "1"
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES[:2], fish_settings="busy_wait = 30")
    fish.busy(0.3)
    run = project.run("build")
    assert run.exit_code == 0, run.output
    assert "service busy, retrying in 1 s" in run.output
    assert run.seconds >= 1.0  # it waited what the server asked, not the millisecond backoff of the tests
    assert len([r for r in fish.calls() if r.fault == "busy"]) == 1  # one 503, one pause, then answers


def test_busy_for_longer_than_the_bound_stops_once_and_the_next_build_resumes(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES, fish_settings="busy_wait = 0.6")
    fish.busy(3600)
    run = project.run("build")
    assert run.exit_code != 0 and "Traceback" not in run.output
    assert run.output.count("longer than engine.fish.busy_wait (0.6 s) allows") == 1, run.output
    assert 0.6 <= run.seconds < 10
    fish.busy_until = 0.0  # the service has capacity again
    again = project.run("build")
    assert again.exit_code == 0, again.output
    assert len(list((project.root / "game/voice/en/bram").glob("*.wav"))) == 8


def test_busy_wait_is_validated_like_the_other_settings(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES[:1], fish_settings="busy_wait = -1")
    run = project.run("build")
    assert run.exit_code == 2 and "charvoice.toml" in run.output and "busy_wait" in run.output, run.output
    assert fish.calls() == []


def test_503s_are_not_counted_against_retries_but_500s_are(fish, fast_retries):
    client = FishClient(fish.url, "test-key", retries=1, busy_wait=30)
    fish.api_key = "test-key"
    fish.inject("503", "/v1/tts", count=5)
    assert client.tts({"text": "Hi", "format": "wav"}, "s1")[:4] == b"RIFF"
    assert [r.status for r in fish.calls("POST", "/v1/tts")] == [503] * 5 + [200]
    fish.inject("500", "/v1/tts", count=5)
    with pytest.raises(FishError, match="failed after 2 attempts: 500"):
        client.tts({"text": "Hi", "format": "wav"}, "s1")


def test_retries_after_damaged_answers_are_bounded_per_line_and_counted_in_the_build_report(tmp_path, fish, fish_env):
    project = make_project(
        tmp_path, fish, characters=BRAM_ONLY, lines=LINES[:2], jobs=1, fish_settings="paid_retries = 1"
    )
    fish.inject("truncate", "/v1/tts", count=3)  # line 1: cut off twice (gives up), line 2: once (retried)
    run = project.run("build")
    assert run.exit_code == 1, run.output
    assert "engine.fish.paid_retries = 1" in run.output and run.output.count("failed:") == 1
    assert "2 retries after a damaged or cut-off answer may have been billed again" in run.output
    assert [r.fault for r in fish.calls("POST", "/v1/tts")] == ["truncate", "truncate", "truncate", ""]
