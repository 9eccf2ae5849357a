"""Line ids as the real tools accept them: kept verbatim in the manifest, with safe file names of their own."""

from __future__ import annotations

import json

from helpers_formats import assert_rejected, make_project, scan

from charvoice.project.lines import file_stem

YARN = """title: Start
---
Mara: Hi. #line:Start_0100_Zoë
Mara: Through the door. #line:intro/greet
Mara: Sally's first. #line:Sally:1
Mara: Upper. #line:Greet
Mara: Lower. #line:greet
Mara: A device name. #line:CON
===
"""
DIALOGUE = """~ start
Nathan: Any text is a key. [ID:The key, with spaces & "quotes"]
Nathan: Even a path. [ID:../../etc/passwd]
"""
IDS = (
    "Start_0100_Zoë",
    "intro/greet",
    "Sally:1",
    "Greet",
    "greet",
    "CON",
    'The key, with spaces & "quotes"',
    "../../etc/passwd",
)


def test_every_id_the_real_tools_accept_builds_under_its_own_name(tmp_path):
    project = make_project(tmp_path, {"start.yarn": YARN, "start.dialogue": DIALOGUE})
    result = project.run("build")
    assert result.exit_code == 0, result.output
    manifest = json.loads(project.manifest.read_text(encoding="utf-8"))
    assert set(manifest["lines"]) == set(IDS)  # verbatim: the game looks a line up by the string in its script
    paths = [manifest["lines"][line_id]["audio"]["en"]["path"] for line_id in IDS]
    assert len({path.lower() for path in paths}) == len(IDS), paths  # unique on Windows and macOS too
    for path in paths:
        target = (project.output / path).resolve()
        assert target.is_file() and project.output.resolve() in target.parents, path
        name = path.rsplit("/", 1)[1]
        assert name.isascii() and not set(name) & set(' /\\:*?"<>|'), name
    by_id = dict(zip(IDS, paths, strict=True))
    assert by_id["Start_0100_Zoë"].rsplit(".", 1)[0] == "en/mara/" + file_stem("Start_0100_Zoë")
    assert by_id["Start_0100_Zoë"].startswith("en/mara/Start_0100_Zoe-")  # readable slug + hash
    assert by_id["intro/greet"].startswith("en/mara/intro_greet-")
    assert by_id["CON"].startswith("en/mara/CON-")  # a reserved name on Windows
    assert by_id["Greet"] != by_id["greet"] and by_id["Greet"].startswith("en/mara/Greet-")


def test_file_names_are_stable_and_only_hashed_when_needed():
    assert file_stem("intro.greet_01") == "intro.greet_01"  # existing safe ids keep their file names
    assert file_stem("intro/greet") == file_stem("intro/greet") != file_stem("intro:greet")
    twins = file_stem("A", clashes=True), file_stem("a", clashes=True)  # ids that differ only by case
    assert twins[0] != "A" and twins[1] != "a" and twins[0].lower() != twins[1].lower()
    assert file_stem("A") == "A" and file_stem("b") == "b"  # the hash appears only while a case twin exists
    assert len(file_stem("x" * 400)) < 80


def test_ids_are_kept_exactly_as_written(tmp_path):
    path = tmp_path / "start.yarn"
    path.write_text(YARN, encoding="utf-8")
    assert [line.id for line in scan(path).parsed.lines] == list(IDS[:6])


def test_ids_differing_only_in_case_are_two_lines_but_an_exact_duplicate_is_an_error(
    tmp_path,
):
    project = make_project(
        tmp_path,
        {"start.yarn": "title: Start\n---\nMara: One. #line:dock.1\nMara: Two. #line:dock.1\n===\n"},
    )
    assert_rejected(
        project,
        "dialogue/start.yarn:4: duplicate line id 'dock.1': also at dialogue/start.yarn:3",
    )


def test_an_id_with_a_control_character_is_refused(tmp_path):
    project = make_project(tmp_path, {"start.dialogue": "~ start\nNathan: Hi. [ID:a\x07b]\n"})
    assert_rejected(project, "dialogue/start.dialogue:2:", "control character")


def test_a_recording_of_a_line_whose_id_is_no_file_name_goes_by_its_audio_file_name(tmp_path):
    from fakes.fixtures import write_sample

    project = make_project(
        tmp_path, {"start.yarn": "title: Start\n---\nMara: Through the door. #line:intro/greet\n===\n"}
    )
    write_sample(project.root / f"recordings/{file_stem('intro/greet')}.wav", seconds=2.0)
    result = project.run("build")
    assert result.exit_code == 0, result.output
    entry = json.loads(project.manifest.read_text(encoding="utf-8"))["lines"]["intro/greet"]["audio"]["en"]
    assert entry["origin"] == "recorded" and abs(entry["duration_s"] - 2.0) < 0.3
