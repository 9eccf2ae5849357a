"""The pipeline on the in-memory FakeEngine: plan, build, cache, manifest, timings and check,
with no espeak-ng and no HTTP (the fast tier: `pytest -m fast`).

What a user would notice: files that appear, engine calls made and not made, exit codes.
"""

from __future__ import annotations

import json

import pytest
from conftest import ProjectDir, csv_text
from fakes.fake_engine import FakeEngine

from charvoice.engines.base import TimedAudio
from charvoice.errors import EngineError

pytestmark = pytest.mark.fast

CONFIG = """\
[project]
characters = "characters"
dialogue = ["dialogue"]
output = "game/voice"
locales = ["en"]
default_locale = "en"

[engine]
name = "offline"
jobs = {jobs}

[audio]
format = "wav"
sample_rate = 22050
"""

LINES = [
    ("dock.1", "Aria", "The ferry is late again."),
    ("dock.2", "Bram", "It always is, when the wind turns north."),
    ("dock.3", "Aria", "Then who lit the lamp?"),
]


def make(tmp_path, lines=LINES, jobs: int = 4) -> ProjectDir:
    project = ProjectDir(tmp_path / "p")
    project.write("charvoice.toml", CONFIG.format(jobs=jobs))
    project.write("characters/aria.toml", 'name = "Aria"\n[voice]\nscratch = true\n')
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n')
    project.write("dialogue/dock.csv", csv_text(lines))
    return project


def entries(project: ProjectDir) -> dict[str, dict]:
    lines = json.loads(project.manifest.read_text())["lines"]
    return {line_id: entry["audio"]["en"] for line_id, entry in lines.items()}


def timings(project: ProjectDir, entry: dict) -> dict:
    return json.loads((project.output / entry["timings"]).read_text())


def test_a_build_voices_every_line_once_and_a_second_build_calls_nothing(tmp_path, fake_engine):
    project = make(tmp_path)
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert sorted(fake_engine.texts()) == sorted(text for _, _, text in LINES)
    built = entries(project)
    assert sorted(built) == ["dock.1", "dock.2", "dock.3"]
    for line_id, entry in built.items():
        assert entry["engine"] == "fake" and (project.output / entry["path"]).stat().st_size > 1000
        words = timings(project, entry)
        assert words["source"] == "engine"  # the fake's own timings, carried with its audio
        assert [w[4] for w in words["words"]] == entry["text"].replace(",", "").replace(".", "").replace(
            "?", ""
        ).split(), line_id
    fake_engine.calls.clear()
    again = project.run("build")
    assert again.exit_code == 0 and "up to date" in again.output
    assert project.run("check").exit_code == 0
    assert fake_engine.calls == []


def test_identical_requests_in_flight_are_synthesised_once(tmp_path, fake_engine):
    yes = [(f"yes.{i}", "Bram", "Yes.") for i in range(6)]
    project = make(tmp_path, lines=[*yes, ("dock.1", "Aria", "Yes.")], jobs=8)
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    assert fake_engine.texts() == ["Yes.", "Yes."]  # Bram once, Aria (another voice) once
    assert json.loads(result.stdout)["synthesized"] == 2
    built = entries(project)
    bram = [built[f"yes.{i}"] for i in range(6)]
    assert len({(project.output / e["path"]).read_bytes() for e in bram}) == 1
    assert all(timings(project, e) == timings(project, bram[0]) for e in bram)
    assert timings(project, bram[0])["source"] == "engine"


def test_the_dry_run_counts_one_call_per_distinct_request(tmp_path, fake_engine):
    project = make(tmp_path, lines=[(f"yes.{i}", "Bram", "Yes.") for i in range(4)])
    result = project.run("build", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    preview = json.loads(result.stdout)
    assert preview["to_synthesize"] == 1 and len(preview["to_build"]) == 4
    assert fake_engine.calls == [] and not project.manifest.exists()


def test_an_edited_line_is_the_only_one_sent_again(tmp_path, fake_engine):
    project = make(tmp_path)
    assert project.run("build").exit_code == 0
    fake_engine.calls.clear()
    project.write("dialogue/dock.csv", csv_text([LINES[0], (*LINES[1][:2], "It never is."), LINES[2]]))
    assert project.run("check").exit_code == 1
    assert project.run("build").exit_code == 0
    assert fake_engine.texts() == ["It never is."]
    assert entries(project)["dock.2"]["text"] == "It never is."


def test_audio_and_timings_come_back_from_the_cache_together(tmp_path, fake_engine):
    project = make(tmp_path)
    assert project.run("build").exit_code == 0
    before = {line_id: timings(project, entry) for line_id, entry in entries(project).items()}
    fake_engine.calls.clear()
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + "pad_ms = 40\n")  # [audio] is the last table: re-process all
    assert project.run("build").exit_code == 0
    assert fake_engine.calls == []  # every line from the cache
    after = {line_id: timings(project, entry) for line_id, entry in entries(project).items()}
    for line_id, words in after.items():
        assert words["source"] == "engine"  # the engine's timings were kept with the audio
        shift = words["words"][0][0] - before[line_id]["words"][0][0]
        assert shift == pytest.approx(-0.06, abs=0.002)  # 100 ms of padding became 40 ms


def test_a_failed_line_is_reported_and_the_others_are_kept(tmp_path, fake_engine):
    from fakes.fake_engine import speech

    def handler(request) -> TimedAudio:
        if "lamp" in request.text:
            raise EngineError("the fake refused this line")
        return speech(request)

    fake_engine.handler = handler
    project = make(tmp_path)
    result = project.run("build")
    assert result.exit_code == 1
    assert "dock.3" in result.output and "the fake refused this line" in result.output
    assert sorted(entries(project)) == ["dock.1", "dock.2"]
    assert project.run("check").exit_code == 1
    fake_engine.handler = FakeEngine().handler
    fake_engine.calls.clear()
    assert project.run("build").exit_code == 0
    assert fake_engine.texts() == ["Then who lit the lamp?"]


def test_a_third_engine_plugs_in_through_the_engine_table_alone(tmp_path, monkeypatch):
    """A new engine is one entry in engines.ENGINES (engines.register): charvoice.toml names it,
    the pipeline builds with it, and nothing outside engines/ knows its name."""
    from charvoice import engines

    third = FakeEngine()
    undo = engines.register("fake", lambda config: third)
    try:
        project = make(tmp_path)
        config = project.root / "charvoice.toml"
        config.write_text(config.read_text().replace('name = "offline"', 'name = "fake"'))
        # not a scratch voice: the engine in use speaks for him (it reads no Fish model id)
        project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nmodel_id = "bram"\n')
        monkeypatch.setitem(engines.ENGINES, "offline", lambda config: FakeEngine())  # Aria's scratch voice
        result = project.run("build", "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["engine"] == "fake"
        assert third.texts() == ["It always is, when the wind turns north."]
        config.write_text(config.read_text().replace('name = "fake"', 'name = "fak"'))
        typo = project.run("build")
        assert typo.exit_code == 2 and "engine.name must be one of 'auto', 'fish', 'offline', 'fake'" in typo.output
        assert "(did you mean 'fake'?)" in typo.output
    finally:
        undo()
    assert "fake" not in engines.ENGINES


def test_a_refused_request_fails_every_line_waiting_for_it_and_is_asked_once_again(tmp_path, fake_engine):
    from fakes.fake_engine import speech

    refuse = [True]

    def handler(request) -> TimedAudio:
        if refuse[0]:
            raise EngineError("the fake is hoarse")
        return speech(request)

    fake_engine.handler = handler
    project = make(tmp_path, lines=[(f"yes.{i}", "Bram", "Yes.") for i in range(5)], jobs=8)
    result = project.run("build", "--json")
    assert result.exit_code == 1
    failed = json.loads(result.stdout)["failed"]
    assert sorted(f["id"] for f in failed) == [f"yes.{i}" for i in range(5)]
    assert {f["error"] for f in failed} == {"the fake is hoarse"}
    assert fake_engine.texts() == ["Yes."]  # the five lines waited for one request; it failed once
    refuse[0] = False
    fake_engine.calls.clear()
    assert project.run("build").exit_code == 0
    assert fake_engine.texts() == ["Yes."] and len(entries(project)) == 5
