"""The remembered up-to-date verdict (pipeline/uptodate.py) never goes stale.

For every kind of input a plan reads, the project is built, the verdict remembered, the input
changed, and `check --json` with the remembered state is compared with `check --json` planned
from scratch (the state deleted): they must agree, and the shortcut must not have been taken.
"""

from __future__ import annotations

import json
import os
import shutil
import wave
from pathlib import Path

import pytest
from conftest import LINES, ProjectDir, csv_text

from charvoice.pipeline import uptodate
from charvoice.project.config import load_config

# Part of the fast tier: the builds here only need audio, so the in-memory FakeEngine voices them.
pytestmark = pytest.mark.fast


@pytest.fixture(autouse=True)
def _in_memory_engine(fake_engine):
    return fake_engine


@pytest.fixture(autouse=True)
def _no_racy_wait(monkeypatch):
    """Files written a moment ago may be trusted here: every change below is made after the stamps."""
    monkeypatch.setattr(uptodate, "RACY_SECONDS", 0.0)


def state(project: ProjectDir) -> Path:
    return project.root / ".charvoice" / uptodate.STATE_NAME


def remembered(project: ProjectDir, engine: str | None = None) -> uptodate.Verdict | None:
    return uptodate.remembered(load_config(project.root), engine, gate=True)


def check_json(project: ProjectDir, *args: str) -> tuple[int, dict]:
    result = project.run("check", "--json", *args)
    data = json.loads(result.stdout)
    return result.exit_code, data


def built_and_remembered(project: ProjectDir, lines: int = len(LINES)) -> None:
    assert project.run("build").exit_code == 0
    assert project.run("check", "--json").exit_code == 0  # a full plan that finds nothing: remembered with the gate
    verdict = remembered(project)
    assert verdict is not None and verdict.total == lines and verdict.gate


def assert_agrees_with_scratch(project: ProjectDir, *args: str, shortcut: bool = False) -> tuple[int, dict]:
    taken = remembered(project, *args[1:2]) is not None  # args: ("--engine", name) or nothing
    assert taken == shortcut
    fast = check_json(project, *args)
    saved = state(project).read_bytes() if state(project).exists() else None
    state(project).unlink(missing_ok=True)
    slow = check_json(project, *args)
    assert fast == slow
    if saved is not None:
        state(project).write_bytes(saved)
    return slow


def tiny_wav(path: Path, seconds: float = 1.0) -> None:
    import math

    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 22050
    frames = b"".join(
        int(8000 * math.sin(2 * math.pi * 220 * i / rate)).to_bytes(2, "little", signed=True)
        for i in range(int(rate * seconds))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)


def test_an_unchanged_project_is_answered_from_the_remembered_verdict(project):
    built_and_remembered(project)
    code, data = assert_agrees_with_scratch(project, shortcut=True)
    assert code == 0 and data["ok"] and data["up_to_date"] == len(LINES)
    result = project.run("build", "--json")
    assert json.loads(result.stdout)["up_to_date"] == len(LINES)
    assert project.run("build").output.strip().endswith(f"{len(LINES)} lines up to date.")
    assert project.run("check").output.strip().endswith(f"All {len(LINES)} lines up to date.")


def edit_script(project):
    rows = list(LINES)
    rows[1] = (rows[1][0], rows[1][1], "Thank you. The crossing was short.")
    project.write("dialogue/intro.csv", csv_text(rows))


def same_size_edit(project):
    text = (project.root / "dialogue/intro.csv").read_text()
    project.write("dialogue/intro.csv", text.replace("Hello there", "Hallo there"))


def add_script(project):
    project.write("dialogue/more/harbour.csv", csv_text([("harbour.bell", "Bram", "The bell rings twice.")]))


def remove_script(project):
    project.write("dialogue/extra.csv", "id,character,text\n")  # (removal is tested on a second script below)


def character_voice(project):
    project.write(
        "characters/aria.toml", 'name = "Aria"\n[voice]\nscratch = true\n[scratch]\nvoice = "en-us+f2"\npitch = 70\n'
    )


def character_lexicon(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n[lexicon]\ncrossing = "krossing"\n')


def config_audio(project):
    text = (project.root / "charvoice.toml").read_text()
    project.write("charvoice.toml", text + "\n[audio]\nloudness_lufs = -20.0\n")


def config_lexicon(project):
    text = (project.root / "charvoice.toml").read_text()
    project.write("charvoice.toml", text + '\n[lexicon]\ntraveller = "travler"\n')


def recording(project):
    tiny_wav(project.root / "recordings/intro.ask.wav")


def asset_deleted(project):
    next(path for path in project.assets() if path.stem == "intro.answer").unlink()


def asset_rewritten(project):
    asset = next(path for path in project.assets() if path.stem == "intro.reply")
    asset.write_bytes(asset.read_bytes()[:-100])  # in place: its folder's own stamp stays as it was


def manifest_edited(project):
    data = json.loads(project.manifest.read_text())
    data["lines"]["intro.ask"]["audio"]["en"]["text"] = "Something else."
    project.manifest.write_text(json.dumps(data))


def unrelated_file(project):
    project.write("notes.txt", "not an input, but the shortcut does not know that")


# Every kind of input a plan reads, changed after a build.
INPUT_CHANGES = [
    edit_script,
    same_size_edit,
    add_script,
    remove_script,
    character_voice,
    character_lexicon,
    config_audio,
    config_lexicon,
    recording,
    asset_deleted,
    asset_rewritten,
    manifest_edited,
    unrelated_file,
]


@pytest.mark.parametrize("change", INPUT_CHANGES)
def test_every_input_change_plans_again_and_agrees_with_a_full_plan(project, change):
    built_and_remembered(project)
    change(project)
    assert_agrees_with_scratch(project, shortcut=False)
    # and a build after it rebuilds exactly what a from-scratch plan says is stale
    stale = {row["id"] for row in check_json(project)[1]["stale"]}
    result = project.run("build", "--json")
    data = json.loads(result.stdout)
    assert data["built"] == len(stale) and data["up_to_date"] == data["total"] - len(stale)


def test_a_removed_script_is_noticed(project):
    project.write("dialogue/extra.csv", csv_text([("extra.one", "Aria", "One more line.")]))
    built_and_remembered(project, len(LINES) + 1)
    (project.root / "dialogue/extra.csv").unlink()
    _code, data = assert_agrees_with_scratch(project)
    assert data["total"] == len(LINES)


def test_approvals_file_and_engine_and_key_are_part_of_the_fingerprint(project, monkeypatch):
    built_and_remembered(project)
    project.write("charvoice.approvals.toml", "# approvals edited\n")
    assert remembered(project) is None
    built_and_remembered(project)
    assert remembered(project, "offline") is None  # asked for another engine than the remembered run
    assert_agrees_with_scratch(project, "--engine", "offline")
    built_and_remembered(project)
    monkeypatch.setenv("FISH_API_KEY", "sk-test")
    assert remembered(project) is None  # auto would now pick Fish for new lines


def test_a_change_to_charvoice_itself_plans_again(project, monkeypatch, tmp_path):
    package = tmp_path / "package"
    package.mkdir()
    (package / "plan.py").write_text("# version 1\n")
    monkeypatch.setattr(uptodate, "_PACKAGE", package)
    built_and_remembered(project)
    (package / "plan.py").write_text("# version 2, plans differently\n")
    assert remembered(project) is None


def test_no_verdict_is_saved_while_files_are_racily_new(project, monkeypatch):
    monkeypatch.setattr(uptodate, "RACY_SECONDS", 3600.0)
    assert project.run("build").exit_code == 0
    assert project.run("check", "--json").exit_code == 0
    assert not state(project).exists()
    assert remembered(project) is None


def test_a_stale_project_is_never_remembered(project):
    assert project.run("check").exit_code == 1
    assert not state(project).exists()
    built_and_remembered(project)
    shutil.rmtree(project.output / "en")
    code, data = assert_agrees_with_scratch(project)
    assert code == 1 and not data["ok"] and len(data["stale"]) == len(LINES)
    assert os.listdir(project.root / ".charvoice").count(uptodate.STATE_NAME) <= 1


# --- watch's memory (pipeline/workspace.Memory): requests, keys and verdicts kept between saves --


def plan_keys(project: ProjectDir, memory=None) -> dict[str, tuple[str, str, str, str]]:
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(project.root, memory=memory)
    try:
        plan = workspace.plan()
        return {
            job.line.id: (job.cache_key, job.asset_key, job.reason, job.request.text)
            for job in [*plan.todo, *plan.fresh]
        }
    finally:
        workspace.close()


# --- watch: a save re-judges only the scripts it touched (PlanMemo's script verdicts) ---------


def case_twin_added(project):
    """An id elsewhere that differs only by case: intro.greet's file takes the hashed name."""
    project.write("dialogue/more/twin.csv", csv_text([("Intro.Greet", "Aria", "Hello again.")]))


def stamps(root: Path) -> dict[Path, tuple[int, int]]:
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and ".charvoice" not in path.parts:
            stat = path.stat()
            found[path] = (stat.st_mtime_ns, stat.st_size)
    return found


@pytest.mark.parametrize("change", [*INPUT_CHANGES, case_twin_added])
def test_watch_rebuilds_exactly_what_a_plan_from_scratch_finds_stale(project, change):
    """The watcher keeps each untouched script's verdict between saves; after any change to any
    input, it must build exactly the lines a plan from scratch calls stale, and then agree with
    that plan that everything is up to date. The observer is played by hand: every file the
    change wrote or deleted is reported as watchdog would."""
    from charvoice.watch import Watcher

    project.write("dialogue/extra.csv", csv_text([("extra.one", "Aria", "One more."), ("extra.two", "Bram", "Two.")]))
    watcher = Watcher(project.root, lambda event: None)
    first = watcher.rebuild(set())
    assert first.kind == "rebuild" and len(first.regenerated) == len(LINES) + 2
    assert watcher.rebuild({project.root / "dialogue/extra.csv"}).regenerated == []  # verdicts kept from here
    before = stamps(project.root)
    change(project)
    after = stamps(project.root)
    for path in before.keys() | after.keys():
        if before.get(path) != after.get(path):
            watcher.notice(path, False, "deleted" if path not in after else "modified")
    stale = {line_id for line_id, (_, _, reason, _) in plan_keys(project).items() if reason}

    event = watcher.rebuild(watcher._take_changes())

    assert event.kind == "rebuild", event.message
    assert sorted(event.regenerated) == sorted(stale)
    assert watcher.rebuild({project.root / "dialogue/intro.csv"}).regenerated == []
    assert plan_keys(project, watcher.memory) == plan_keys(project)  # the same requests, keys and reasons
    assert not any(reason for _, _, reason, _ in plan_keys(project).values())
    assert project.run("check").exit_code == 0


def test_the_manifest_remembers_each_edited_line_once_however_often_it_is_saved(tmp_path):
    """watch keeps one manifest for its whole session: what it remembers of the edits for the
    plan memo's marks grows with the lines edited, not with the number of saves."""
    from charvoice.pipeline.manifest import AudioEntry, Manifest

    manifest = Manifest.load(tmp_path / "voice_manifest.json", "voice_manifest.json")

    def save(line_id: str, text: str) -> None:
        manifest.set_entry(line_id, "aria", "dialogue/a.csv", "en", AudioEntry(f"{line_id}.ogg", text, 1.0, text))

    start = manifest.mark()
    save("a", "one")
    save("b", "two")
    middle = manifest.mark()
    for n in range(5000):  # a long session of saves to the same two lines
        save("a", f"one {n}")
    save("c", "three")
    assert manifest.edited_since(start) == {"a", "b", "c"}
    assert manifest.edited_since(middle) == {"a", "c"}
    assert manifest.edited_since(manifest.mark()) == set()
    manifest.remove_entry("b", "en")
    assert manifest.edited_since(middle) == {"a", "b", "c"}
    assert len(manifest._edits) == 3
