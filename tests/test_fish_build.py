"""`charvoice build` with the Fish Audio engine, end to end against the fake server.

What a user notices: the files produced, the API calls made (and not made, counted at the
fake), the messages and exit codes, and that the key never leaks.
"""

from __future__ import annotations

import json

import pytest
from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, LINES, make_project

ONLY_TTS = {  # characters whose lines go straight to /v1/tts (no clone to make first)
    "bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n',
    "cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\ntexts = ["I was never here."]\nclone = "instant"\n',
}


def many_lines(count: int) -> list[tuple[str, str, str]]:
    return [
        (f"dock.{i:03d}", "Bram" if i % 2 else "Cleo", f"Line number {i}, spoken on the dock.") for i in range(count)
    ]


def manifest(project) -> dict:
    return json.loads((project.root / "game/voice/voice_manifest.json").read_text())


def test_build_voices_every_line_and_a_second_build_calls_nothing(tmp_path, fish, fish_env, monkeypatch):
    project = make_project(tmp_path, fish)
    first = project.run("build")
    assert first.exit_code == 0, first.output
    for line_id, character, _ in LINES:
        assert (project.root / f"game/voice/en/{character.lower()}/{line_id}.wav").stat().st_size > 1000
    engines = {line_id: entry["audio"]["en"]["engine"] for line_id, entry in manifest(project)["lines"].items()}
    assert engines == {
        "harbour.1": "fish",
        "harbour.2": "fish",
        "harbour.3": "fish",
        "harbour.4": "offline",
        "harbour.5": "fish",
        "harbour.6": "fish",
    }
    assert len(fish.calls("POST", "/v1/tts")) == 5  # Dax is a scratch voice: offline, never sent
    assert len(fish.calls("POST", "/model")) == 1 and project.lock_path.is_file()  # Aria was cloned first

    fish.reset_calls()
    again = project.run("build")
    assert again.exit_code == 0 and "up to date" in again.output
    assert project.run("check").exit_code == 0
    monkeypatch.delenv("FISH_API_KEY")  # CI runs `check` without the secret
    assert project.run("check").exit_code == 0 and project.run("build").exit_code == 0
    assert fish.calls() == []  # nothing changed: not one API call


def test_changing_a_characters_speech_settings_rebuilds_only_their_lines(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    assert project.run("build").exit_code == 0
    fish.reset_calls()
    cleo = (project.root / "characters/cleo.toml").read_text()
    project.write("characters/cleo.toml", cleo + "[speech]\ntemperature = 0.4\n")
    assert project.run("check").exit_code == 1
    assert project.run("build").exit_code == 0
    sent = fish.calls("POST", "/v1/tts")
    assert [r.body["text"] for r in sent] == ["I saw a light on the old pier."] and sent[0].body["temperature"] == 0.4


def test_dry_run_previews_the_cost_and_calls_nothing(tmp_path, fish, fish_env):
    project = make_project(tmp_path, fish)
    text = project.run("build", "--dry-run")
    assert text.exit_code == 0
    rows = {line.split()[0]: line.split() for line in text.output.splitlines() if line.startswith("  ")}
    aria_bytes = len("Good evening. The ferry is late again.") + len("Then who lit the lamp?")
    bram_bytes = len("It always is, when the wind turns north.") + len("Café owners, mostly. Or ghosts.".encode())
    assert rows["Aria"][1:4] == ["2", "lines", str(aria_bytes)]
    assert rows["Bram"][1:4] == ["2", "lines", str(bram_bytes)]  # UTF-8 bytes: "é" counts twice
    assert "Dax" not in rows  # scratch voices cost nothing
    total = aria_bytes + bram_bytes + len("I saw a light on the old pier.")
    assert rows["total"][1:4] == ["5", "lines", str(total)] and f"${total * 15 / 1e6:.4f}" in text.output

    data = json.loads(project.run("build", "--dry-run", "--json").stdout)
    assert data["cost"]["bytes"] == total and data["cost"]["characters"]["bram"]["lines"] == 2
    assert (
        data["cost"]["usd"] == pytest.approx(total * 15 / 1e6, abs=1e-4)
        and data["cost"]["price_per_million_bytes"] == 15.0
    )
    assert [r.path for r in fish.calls()] == [
        "/wallet/self/api-credit"
    ] * 2  # the credit beside the preview; nothing voiced


@pytest.mark.parametrize(
    ("status", "message"), [(401, "rejected the API key in FISH_API_KEY"), (402, "no credit left")]
)
# (The fake's wallet still shows credit, as when another job spends it during the build; an
# empty wallet stops the build before any request: test_fish_credit.py.)
def test_bad_key_or_no_credit_stops_the_build_fast_with_one_message(
    tmp_path, fish, fast_retries, monkeypatch, status, message
):
    monkeypatch.setenv("FISH_API_KEY", "sk-wrong-key-123" if status == 401 else API_KEY)
    fish.no_credit = status == 402
    fish.latency = 0.05
    project = make_project(tmp_path, fish, characters=ONLY_TTS, lines=many_lines(40), jobs=4)
    result = project.run("build")
    assert result.exit_code == 2
    assert result.output.count(message) == 1 and "line(s) were not built" in result.output
    assert result.seconds < 1.0
    texts = fish.tts_texts()
    assert len(texts) <= 4 and len(texts) == len(
        set(texts)
    )  # what was in flight, never retried (a bad key: none, the credit check saw it)
    assert "sk-wrong-key-123" not in result.output and API_KEY not in result.output


def test_a_thirty_percent_fault_rate_still_finishes_every_line(tmp_path, fast_retries, monkeypatch):
    monkeypatch.setenv("FISH_API_KEY", API_KEY)
    with FakeFishServer(
        api_key=API_KEY, fault_rate=0.3, faults=("500", "503", "429", "drop", "truncate"), audio="tone"
    ) as fake:
        # Dropped and cut-off answers may be billed: allow as many of them as retries here.
        project = make_project(
            tmp_path,
            fake,
            characters=ONLY_TTS,
            lines=many_lines(24),
            jobs=4,
            retries=12,
            fish_settings="paid_retries = 12",
        )
        result = project.run("build")
        assert result.exit_code == 0, result.output
        assert len(list((project.root / "game/voice/en").rglob("*.wav"))) == 24
        faults = [r.fault for r in fake.calls("POST", "/v1/tts") if r.fault]
        assert len(faults) >= 4 and len(fake.calls("POST", "/v1/tts")) == 24 + len(faults)
        assert fake.max_in_flight_seen <= 4


@pytest.mark.parametrize("jobs_option", [None, "2"])
def test_never_more_requests_in_flight_than_jobs(tmp_path, fish_env, jobs_option):
    with FakeFishServer(api_key=API_KEY, latency=0.08, audio="tone") as fake:
        project = make_project(tmp_path, fake, characters=ONLY_TTS, lines=many_lines(16), jobs=3)
        result = project.run("build", *(["-j", jobs_option] if jobs_option else []))
        assert result.exit_code == 0, result.output
        jobs = int(jobs_option or 3)
        assert fake.max_in_flight_seen == jobs  # as many as allowed, never more


def test_a_line_the_api_refuses_fails_alone(tmp_path, fish, fish_env):
    unknown_model = 'name = "Bram"\n[voice]\nmodel_id = "0123456789abcdef0123456789abcdef"\n'
    lines = [row for row in LINES if row[1] in ("Bram", "Cleo")]
    project = make_project(tmp_path, fish, characters={**ONLY_TTS, "bram": unknown_model}, lines=lines)
    result = project.run("build", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert sorted(f["id"] for f in report["failed"]) == ["harbour.2", "harbour.6"] and report["built"] == 1
    assert "answered 400" in report["failed"][0]["error"]
    assert (project.root / "game/voice/en/cleo/harbour.3.wav").is_file()
    assert len(fish.calls("POST", "/v1/tts")) == 3  # two refused once each (never retried), one voiced


def test_an_instant_clone_with_a_short_sample_is_warned_about_once(tmp_path, fish, fish_env):
    from fakes.fixtures import write_sample

    project = make_project(tmp_path, fish, characters=ONLY_TTS, lines=many_lines(6))
    write_sample(project.root / "characters/voices/cleo/01.wav", seconds=4)
    result = project.run("build")
    assert (
        result.exit_code == 0
        and result.output.count("warning: characters/cleo.toml: sample 01.wav is only 4.0 s long") == 1
    )


def test_auto_without_a_key_uses_the_offline_voice_and_says_so(tmp_path, fish, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    project = make_project(tmp_path, fish, characters=ONLY_TTS, lines=many_lines(2), engine="auto")
    result = project.run("build")
    assert result.exit_code == 0 and "FISH_API_KEY is not set" in result.output
    assert {e["audio"]["en"]["engine"] for e in manifest(project)["lines"].values()} == {"offline"}
    assert fish.calls() == []


def test_the_fish_engine_without_a_key_is_one_clear_error(tmp_path, fish, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    project = make_project(tmp_path, fish, characters=ONLY_TTS, lines=many_lines(2))
    config = (project.root / "charvoice.toml").read_text()
    project.write("charvoice.toml", "\n".join(line for line in config.splitlines() if not line.startswith("base_url")))
    result = project.run("build")
    assert result.exit_code == 2 and "FISH_API_KEY" in result.output and "Traceback" not in result.output


def test_the_key_never_appears_in_any_file_or_output(tmp_path, fast_retries, monkeypatch):
    monkeypatch.setenv("FISH_API_KEY", API_KEY)
    with FakeFishServer(api_key=API_KEY, fault_rate=0.2, audio="tone") as fake:
        project = make_project(tmp_path, fake, retries=10, fish_settings="paid_retries = 10")
        outputs = [
            project.run("build", "--dry-run", "--json"),
            project.run("voices", "sync", "--json"),
            project.run("build", "--json"),
            project.run("check", "--json"),
            project.run("voices", "list", "--json"),
            project.run("voices", "show", "aria", "--json"),
            project.run("voices", "update", "aria", "--title", "Aria Two"),
        ]
        fake.inject("500", "/v1/tts", count=100)  # a build whose lines all fail prints error messages
        project.write_lines([("new.1", "Bram", "A brand new line.")])
        outputs.append(project.run("build", "-j", "1"))
        monkeypatch.setenv("FISH_API_KEY", API_KEY + "-revoked")
        outputs.append(project.run("voices", "list"))  # a 401 message
    assert outputs[2].exit_code == 0 and outputs[-2].exit_code == 1 and outputs[-1].exit_code == 2
    printed = "\n".join(o.output for o in outputs)
    assert "Fish Audio" in printed or "Fish server" in printed  # the errors were really printed
    assert API_KEY not in printed
    assert API_KEY not in project.every_file_text()
    assert list(project.root.rglob("charvoice.lock")) and list(
        project.root.rglob("*.audio")
    )  # lock and cache were scanned


@pytest.mark.parametrize("timestamps", ["off", "on"])
def test_identical_lines_in_flight_are_synthesised_once(tmp_path, fish, fish_env, timestamps):
    """Six ids where Bram says "Yes.", eight jobs in flight: one request, not six, and each line
    gets that one reading's audio and its timings (never another reading's)."""
    yes = [(f"yes.{i}", "Bram", "Yes.") for i in range(6)]
    project = make_project(tmp_path, fish, characters=ONLY_TTS, lines=yes, jobs=8)
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace("[engine.fish]\n", f'[engine.fish]\ntimestamps = "{timestamps}"\n'))
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    path = "/v1/tts" if timestamps == "off" else "/v1/tts/stream/with-timestamp"
    assert len(fish.calls("POST", "/v1/tts/")) + len(fish.calls("POST", "/v1/tts")) == 1
    assert len(fish.calls("POST", path)) == 1
    assert json.loads(result.stdout)["synthesized"] == 1
    entries = {line_id: entry["audio"]["en"] for line_id, entry in manifest(project)["lines"].items()}
    assert sorted(entries) == [line_id for line_id, _, _ in yes]
    voice = project.root / "game/voice"
    assert len({(voice / e["path"]).read_bytes() for e in entries.values()}) == 1  # one reading, six copies
    timings = [json.loads((voice / e["timings"]).read_text()) for e in entries.values()]
    assert all(t == timings[0] for t in timings) and timings[0]["words"]
    assert timings[0]["source"] == ("engine" if timestamps == "on" else "estimate")
    fish.reset_calls()
    assert project.run("build").exit_code == 0 and fish.calls() == []
