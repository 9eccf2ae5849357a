"""`clean`, `watch` and `build` touch only files charvoice wrote (issue 22, item 1).

The output folder is the Godot project's `res://voice`: sound effects, music and an actor's
recording live there too, at every depth, some with names that look like line ids."""

from __future__ import annotations

import json

from conftest import LINES, csv_text
from test_watch import Running

# Files a game keeps beside its voice, relative to the output folder.
USER_FILES = [
    "click.ogg",  # depth 0
    "sfx/click.wav",  # depth 1
    "sfx/ui/click.ogg",  # depth 2
    "music/theme/loop.ogg",
    "en/wren/my_recording.ogg",  # a character folder charvoice never used
    "en/wren/my_recording.ogg.import",  # and the Godot editor's sidecar
    "en/bram/intro.answer.take2.ogg",  # beside charvoice's own assets, named like an id
    "en/bram/intro.gone.ogg",  # an id-like name no script ever had
    "en/bram/intro.gone.timings.json",
    "en/aria/intro.greet.mp3",  # an id charvoice voices, in another format
    "en/aria/deep/er/intro.greet.ogg",  # depth 4
    "fr/aria/intro.greet.ogg",  # a locale the project does not have
]


def _add_user_files(project) -> dict[str, bytes]:
    files = {}
    for index, name in enumerate(USER_FILES):
        path = project.output / name
        path.parent.mkdir(parents=True, exist_ok=True)
        files[name] = f"the team's own file {index}".encode()
        path.write_bytes(files[name])
    return files


def _assert_untouched(project, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        assert (project.output / name).read_bytes() == data, name


def test_clean_removes_only_what_charvoice_wrote_and_lists_every_file(project):
    assert project.run("build").exit_code == 0
    files = _add_user_files(project)
    sidecar = project.output / "en/bram/intro.answer.ogg.import"
    sidecar.write_text("[remap]\n")
    project.write("dialogue/intro.csv", csv_text(LINES[:3]))  # intro.answer is gone from the script

    dry = project.run("clean", "--dry-run", "--json")
    assert dry.exit_code == 0
    assert json.loads(dry.stdout) == {
        "dry_run": True,
        "entries": [{"id": "intro.answer", "locale": "en"}],
        "files": [
            "game/voice/en/bram/intro.answer.ogg",
            "game/voice/en/bram/intro.answer.ogg.import",
            "game/voice/en/bram/intro.answer.timings.json",
        ],
    }
    result = project.run("clean", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["files"] == json.loads(dry.stdout)["files"]
    assert not (project.output / "en/bram/intro.answer.ogg").exists() and not sidecar.exists()
    _assert_untouched(project, files)
    assert project.run("clean").output.strip() == "Nothing to clean."
    assert project.run("check").exit_code == 0


def test_clean_without_any_orphans_never_touches_user_files(project):
    assert project.run("build").exit_code == 0
    files = _add_user_files(project)
    result = project.run("clean")
    assert result.exit_code == 0 and result.output.strip() == "Nothing to clean."
    _assert_untouched(project, files)


def test_an_asset_of_an_earlier_format_is_removed_as_charvoice_wrote_it(project):
    """`named by the manifest before`: the .ogg files of a build before the switch to .wav."""
    assert project.run("build").exit_code == 0
    files = _add_user_files(project)
    config = (project.root / "charvoice.toml").read_text()
    project.write("charvoice.toml", config + '\n[audio]\nformat = "wav"\n')
    assert project.run("build").exit_code == 0
    result = project.run("clean")
    assert result.exit_code == 0
    removed = sorted(line.removeprefix("removed ") for line in result.output.splitlines())
    assert removed == sorted(
        f"game/voice/en/{'aria' if who == 'Aria' else 'bram'}/{line_id}.ogg" for line_id, who, _ in LINES
    )
    assert len(list(project.output.rglob("*.wav"))) == 4 + 1  # the four lines and sfx/click.wav
    _assert_untouched(project, files)
    assert project.run("check").exit_code == 0


def test_a_project_from_before_the_record_cleans_what_its_manifest_names(project):
    assert project.run("build").exit_code == 0
    (project.output / ".charvoice-published.json").unlink()
    files = _add_user_files(project)
    project.write("dialogue/intro.csv", csv_text(LINES[1:]))
    result = project.run("clean")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "removed manifest entry intro.greet [en]",
        "removed game/voice/en/aria/intro.greet.ogg",
        "removed game/voice/en/aria/intro.greet.timings.json",
    ]
    _assert_untouched(project, files)


def test_a_damaged_record_never_points_outside_the_output_folder(project):
    assert project.run("build").exit_code == 0
    outside = project.root / "dialogue/intro.csv"
    record = project.output / ".charvoice-published.json"
    data = json.loads(record.read_text())
    data["files"] += ["../../dialogue/intro.csv", str(outside), "en/../../../dialogue/intro.csv"]
    record.write_text(json.dumps(data))
    assert project.run("clean").output.strip() == "Nothing to clean."
    assert outside.is_file()


def test_build_never_writes_over_a_file_it_did_not_make(project, engine_calls):
    """A new line whose id names the user's recording: that line fails, the file stays."""
    assert project.run("build").exit_code == 0
    files = _add_user_files(project)
    project.write("characters/wren.toml", 'name = "Wren"\n[voice]\nscratch = true\n')
    project.write(
        "dialogue/intro.csv",
        csv_text([*LINES, ("my_recording", "Wren", "A line named like the file."), ("intro.new", "Aria", "New.")]),
    )
    engine_calls.clear()
    result = project.run("build")
    assert result.exit_code == 1
    assert (
        "failed: dialogue/intro.csv:6 my_recording [en]: game/voice/en/wren/my_recording.ogg "
        "exists and charvoice did not write it" in result.output
    )
    assert engine_calls == ["New."]  # nothing paid for the refused line
    _assert_untouched(project, files)
    manifest = json.loads(project.manifest.read_text())["lines"]
    assert "my_recording" not in manifest and "intro.new" in manifest
    assert project.run("check").exit_code == 1  # the refused line is still missing


def test_watch_removes_only_what_charvoice_wrote_and_says_which(project):
    project.write("dialogue/harbour.csv", csv_text([("harbour.bell", "Bram", "Listen. The harbour bell rings.")]))
    assert project.run("build").exit_code == 0
    files = _add_user_files(project)
    with Running(project) as watch:
        before = len(watch.events)
        project.write("dialogue/intro.csv", csv_text(LINES[:3]))
        watch.wait_for(lambda: any(e.removed for e in watch.events[before:]), "the removal")
        event = next(e for e in watch.events[before:] if e.removed)
    assert event.removed == ["intro.answer [en]"]
    assert event.removed_files == [
        "game/voice/en/bram/intro.answer.ogg",
        "game/voice/en/bram/intro.answer.timings.json",
    ]
    assert not (project.output / "en/bram/intro.answer.ogg").exists()
    _assert_untouched(project, files)
