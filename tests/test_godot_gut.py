"""The addon's GUT suite (game/test/), run in Godot 4.6: one engine start for the whole suite, one
pytest test per GUT test. Every test must pass: none pending, none failing, no script error.

The demo game is made as a user makes it (`charvoice build`, `charvoice godot install game`).
A second run serves the template without its audio worklets, where nothing mixes (the
no-audio-device case): every test must pass there too, except those named `..._when_audio_mixes`.
"""

from __future__ import annotations

import csv
import re

import pytest
from conftest import REPO, shared
from godot_gut import GUT, demo_game, gut_tests, run_gut
from godot_pck import file_data, folder_files

TESTS = gut_tests(REPO / "game/test")
NEEDS_MIXING = "_when_audio_mixes"
SILENT_TESTS = [t for t in TESTS if NEEDS_MIXING not in t[1]]


@pytest.fixture(scope="module")
def demo(godot, tmp_path_factory):
    shared(GUT)  # skip before building anything where ../shared is absent
    return demo_game(tmp_path_factory.mktemp("gut"))


@pytest.fixture(scope="module")
def suite(godot, demo):
    return run_gut(godot, demo)


@pytest.fixture(scope="module")
def silent(godot, demo):
    return run_gut(godot, demo, audio=False)


@pytest.mark.parametrize(("script", "test"), TESTS, ids=[f"{s.rsplit('/', 1)[1]}::{t}" for s, t in TESTS])
def test_gut(suite, script: str, test: str) -> None:
    assert suite.status(script, test) == "pass", suite.explain(script, test)


@pytest.mark.parametrize(("script", "test"), SILENT_TESTS, ids=[f"{s.rsplit('/', 1)[1]}::{t}" for s, t in SILENT_TESTS])
def test_gut_with_nothing_mixing(silent, script: str, test: str) -> None:
    assert silent.status(script, test) == "pass", silent.explain(script, test)


def test_the_suite_compiles_and_ends_cleanly(suite) -> None:
    totals = suite.totals
    assert totals["tests"] == len(TESTS), "every GUT test ran (a script that does not compile runs none)"
    assert totals["pending"] == 0 and totals["failures"] == 0
    assert suite.engine.script_errors == []
    assert suite.engine.exit_code == 0


def test_the_demo_plays_every_line_to_the_end_and_quits(godot, demo) -> None:
    lines = {row["id"]: row["text"] for row in csv.DictReader((REPO / "dialogue/lighthouse.csv").open())}
    conversation = re.findall(r'^\t"(lighthouse\.\w+)",$', (REPO / "game/main.gd").read_text(), re.M)
    run = godot.run(demo, args=("--", "--quit-at-end"), timeout=120)
    assert run.exit_code == 0, run.errors[-20:]
    assert run.script_errors == []
    spoken = [text for line in run.lines if (text := line.split(": ", 1)[-1]) in lines.values()]
    assert spoken[: len(conversation)] == [lines[i] for i in conversation]
    assert spoken[len(conversation)] == lines["lighthouse.narr_end"]
    assert run.lines[-1] == "The end."


DIALOGUE_MANAGER_TESTS = gut_tests(REPO / "game/test_dialogue_manager")


@pytest.fixture(scope="module", params=["3.9.1", "4.0.3"])
def dialogue_manager(request, godot, demo):
    """The dialogue-manager GUT tests in the demo with Dialogue Manager VERSION and its autoload."""
    addon = shared(f"godot/dialogue_manager-{request.param}/addons/dialogue_manager")
    files = {**demo, **folder_files(addon, "addons/dialogue_manager", skip=(".import", ".cs"))}
    project = file_data(demo["project.godot"]).decode()
    project = project.replace(
        "[autoload]\n", '[autoload]\n\nDialogueManager="*res://addons/dialogue_manager/dialogue_manager.gd"\n'
    )
    files["project.godot"] = project
    return run_gut(godot, files, config={"dirs": ["res://test_dialogue_manager/"]})


@pytest.mark.parametrize(("script", "test"), DIALOGUE_MANAGER_TESTS, ids=[t for _, t in DIALOGUE_MANAGER_TESTS])
def test_dialogue_manager(dialogue_manager, script: str, test: str) -> None:
    assert dialogue_manager.status(script, test) == "pass", dialogue_manager.explain(script, test)
    assert dialogue_manager.engine.script_errors == []
