"""Outages end early with one message, and the voices commands work without a key (issue 11,
items 6 and 10): what failed, how many lines are left, that the next build resumes."""

from __future__ import annotations

import json
import socket

from fakes.fixtures import make_project

BRAM_ONLY = {"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'}
LINES = [(f"dock.{i}", "Bram", f"Line number {i} of the harbour scene.") for i in range(19)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_at(project, url: str) -> None:
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace(project.fake.url, url))


def test_an_unreachable_server_stops_the_build_early_with_one_message(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES)
    point_at(project, f"http://127.0.0.1:{closed_port()}")
    run = project.run("build")
    assert run.exit_code != 0 and "Traceback" not in run.output
    assert run.seconds < 15, run.seconds  # it used to retry each of 19 lines for 83 s
    assert run.output.count("cannot connect") == 1, run.output
    assert "19 line(s) were not built" in run.output and "resumes" in run.output


def test_a_server_that_never_answers_stops_the_build_early_and_the_next_build_resumes(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES, timeout=1.0)
    fish.stall_seconds = 3.0
    fish.inject("stall", "/v1/tts", count=10_000)  # timeouts: no answer at all, line after line
    run = project.run("build")
    assert run.exit_code != 0 and run.output.count("not answering") == 1, run.output
    assert "no answer within 1 s" in run.output and run.seconds < 15
    assert len(fish.calls("POST", "/v1/tts")) < 19 * 2  # not six retries of every line
    fish._queued.clear()  # the service is back
    again = project.run("build")
    assert again.exit_code == 0, again.output
    assert len(list((project.root / "game/voice/en/bram").glob("*.wav"))) == 19


def test_server_errors_on_every_line_are_answers_not_an_outage(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES[:3], retries=1)
    fish.inject("502", "/v1/tts", count=10_000)
    run = project.run("build")
    assert run.exit_code == 1 and "not answering" not in run.output, run.output
    assert run.output.count("failed after 2 attempts: 502") == 3
    assert len(fish.calls("POST", "/v1/tts")) == 6  # each line used its retries


def test_a_few_failures_among_successes_are_not_an_outage(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish, characters=BRAM_ONLY, lines=LINES)
    fish.inject("503", "/v1/tts", count=3)  # three requests fail once each, then succeed on retry
    run = project.run("build")
    assert run.exit_code == 0, run.output


def test_voices_list_and_show_without_a_key_show_the_local_state(tmp_path, fish, monkeypatch, fast_retries):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    project = make_project(tmp_path, fish)
    point_at(project, "https://api.fish.audio")  # the official service: a key is needed to ask it
    listed = project.run("voices", "list", "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    rows = {row["character"]: row for row in data["voices"]}
    assert set(rows) == {"aria", "bram", "cleo"}  # dax is a scratch voice
    assert rows["aria"]["lock_state"] == "not cloned yet" and rows["bram"]["source"] == "model"
    assert {row["server_state"] for row in rows.values()} == {"unknown"} and data[
        "server_error"
    ] == "FISH_API_KEY is not set"
    shown = project.run("voices", "show", "bram")
    assert shown.exit_code == 0 and "server state unknown: FISH_API_KEY is not set" in shown.output
    assert project.run("voices", "show", "aria").exit_code == 0
    assert fish.calls() == []


def test_voices_list_with_the_server_down_answers_quickly_without_a_traceback(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    point_at(project, f"http://127.0.0.1:{closed_port()}")
    run = project.run("voices", "list")
    assert run.exit_code == 1 and run.seconds < 10 and "Traceback" not in run.output
    assert "aria" in run.output and run.output.count("server state unknown") == 1


def test_voices_list_with_a_key_adds_the_server_state(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    assert project.run("voices", "sync").exit_code == 0
    data = json.loads(project.run("voices", "list", "--json").stdout)
    rows = {row["character"]: row for row in data["voices"]}
    assert rows["aria"]["server_state"] == "trained" and rows["aria"]["lock_state"] == "trained"
    assert rows["bram"]["server_state"] == "not on this account" and data["server_error"] == ""
