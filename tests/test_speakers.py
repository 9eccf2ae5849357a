"""[speakers] in charvoice.toml: expressions after names, aliases, runtime speakers; and the
Dialogue Manager cases real games hit (issue 26), each on a script of its own."""

from __future__ import annotations

import json
import shutil

import pytest
from helpers_formats import assert_rejected, make_project


def _manifest(project) -> dict:
    return json.loads(project.manifest.read_text(encoding="utf-8"))


def test_runtime_speakers_are_voiced_through_the_project_mapping(tmp_path):
    yarn = "title: Start\n---\n{$catName}: Mrrp. #line:c1\n{$catName}: Purr. #line:c2\n{$who}: Hm. #line:c3\n===\n"
    dm = "~ start\n{{ cat_name }}: Meow. [ID:d1]\nCaptain {{rank}}: Aye. [ID:d2]\n=> END\n"
    extra = '\n[speakers]\nruntime = { "$catName" = "coco", "cat_name" = "Coco", "Captain {{rank}}" = "nathan" }\n'
    project = make_project(tmp_path / "p", {"a.yarn": yarn, "b.dialogue": dm}, extra=extra)
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    lines = _manifest(project)["lines"]
    assert {key: lines[key]["character"] for key in ("c1", "c2", "d1", "d2")} == {
        "c1": "coco",
        "c2": "coco",
        "d1": "coco",
        "d2": "nathan",  # a name with text around the value is keyed as written
    }
    assert "c3" not in lines
    assert report["skipped"] == [
        "dialogue/a.yarn:5: speaker {$who} is known only at run time (map it in [speakers] runtime)"
    ]
    assert any(warning.startswith("1 line(s) have a speaker known only at run time") for warning in report["warnings"])


def test_an_expression_after_the_name_is_the_lines_direction(tmp_path):
    dm = "~ start\nCoco.Angry: Out! [ID:a1]\nCoco.Neutral: Fine. [ID:a2]\n=> END\n"
    project = make_project(tmp_path / "p", {"a.dialogue": dm}, extra='\n[direction]\nangry = "angry"\n')
    dry = json.loads(project.run("build", "--dry-run", "--json").stdout)
    assert dry["skipped"] == [] and isinstance(dry["warnings"], list)
    assert project.run("build").exit_code == 0
    lines = _manifest(project)["lines"]
    assert lines["a1"]["character"] == "coco" and lines["a2"]["character"] == "coco"


def test_aliases_map_a_written_name(tmp_path):
    yarn = "title: Start\n---\nThe Captain: Aye. #line:y1\n===\n"
    project = make_project(
        tmp_path / "p", {"a.yarn": yarn}, extra='\n[speakers]\naliases = { "The Captain" = "nathan" }\n'
    )
    assert project.run("build").exit_code == 0
    assert _manifest(project)["lines"]["y1"]["character"] == "nathan"


def test_speaker_settings_are_checked_like_every_setting(tmp_path):
    project = make_project(
        tmp_path / "p",
        {"a.yarn": "title: A\n---\nHi. #line:a\n===\n"},
        extra='\n[speakers]\npattern = "{name}.{mood}"\n',
    )
    assert_rejected(project, "charvoice.toml:", "speakers.pattern knows {character} and {expression}, not {name}")
    project = make_project(
        tmp_path / "q",
        {"a.yarn": "title: A\n---\nHi. #line:a\n===\n"},
        extra='\n[speakers]\naliases = { "Cap" = "captain" }\n',
    )
    assert_rejected(project, "charvoice.toml:14: speakers.aliases: 'cap' names character 'captain'")


def test_dialogue_manager_cases_from_real_games(tmp_path):
    dm = (
        "~ start\n"
        "Error at (95, 50)\\: Cannot assign. [ID:e1]\n"  # an escaped colon: no speaker
        "[#happy] Nathan: Hi there. [ID:e2]\n"  # a tag before the speaker
        "The granite is: [ID:e3]\n"  # ends in ':' -- the narrator says it (3.x/4.x split on ': ')
        "Coco: [[{{name}}!|Hang in there!|No...!]] [ID:e4]\n"  # a runtime alternative is not recorded
        "Nathan: One. [ID:e5]\n"
        "\t## a note under a line belongs to the next line\n"
        "Coco: Two. [ID:e6]\n"
        "=> END\n"
    )
    project = make_project(tmp_path / "p", {"a.dialogue": dm})
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    lines = _manifest(project)["lines"]
    assert (lines["e1"]["character"], lines["e1"]["audio"]["en"]["text"]) == (
        "narrator",
        "Error at (95, 50): Cannot assign.",
    )
    assert lines["e2"]["character"] == "nathan"
    assert lines["e3"]["audio"]["en"]["text"] == "The granite is:"
    assert sorted(key for key in lines if key.startswith("e4")) == ["e4~1", "e4~2"]
    assert any(
        "alternative 1 of [ID:e4]" in entry and "runtime text" in entry
        for entry in json.loads(result.stdout)["skipped"]
    )


def test_a_jump_to_a_title_that_does_not_exist_is_an_error(tmp_path):
    project = make_project(tmp_path / "p", {"a.dialogue": "~ start\nNathan: Go. [ID:j1]\n=> nowhere\n"})
    assert_rejected(project, "dialogue/a.dialogue:3:1: jump to 'nowhere': no '~ nowhere' title in this file")


def test_dialogue_manager_3_before_3_6_joins_a_named_line_indented_below(tmp_path):
    dm = "~ start\nNathan: One. [ID:n1]\n\tCoco: and two.\n=> END\n"
    project = make_project(tmp_path / "p", {"a.dialogue": dm})
    assert_rejected(project, "a continuation line cannot name a speaker")  # 3.6+ and 4.x refuse it
    project.write("addons/dialogue_manager/plugin.cfg", '[plugin]\nversion="3.5.1"\n')
    assert project.run("build").exit_code == 0
    assert _manifest(project)["lines"]["n1"]["audio"]["en"]["text"] == "One. Coco: and two."


def test_a_dialogue_manager_voice_tag_is_the_lines_recording(tmp_path, engine_calls):
    """Dialogue Manager 3.9+ writes [#voice=uid://...] when an audio file is dropped on a line."""
    dm = (
        "~ start\n"
        "Nathan: Recorded by res path. [#voice=res://audio/hi.ogg] [ID:v1]\n"
        "Coco: Recorded by uid. [#voice=uid://b1x2y3] [ID:v2]\n"
        "Coco: Synthesised. [ID:v3]\n"
        "=> END\n"
    )
    project = make_project(tmp_path / "p", {"a.dialogue": dm})
    project.write("audio/hi.ogg", "not checked: Godot plays it")
    project.write("audio/meow.ogg", "x")
    project.write("audio/meow.ogg.import", '[remap]\nimporter="oggvorbisstr"\nuid="uid://b1x2y3"\n')
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    assert engine_calls == ["Synthesised."]  # the recorded lines cost nothing
    manifest = _manifest(project)
    assert set(manifest["lines"]) == {"v3"}
    assert manifest["silent"]["v2"] == {
        "character": "coco",
        "source": "dialogue/a.dialogue:3",
        "why": "voice tag",
        "voice": "uid://b1x2y3",
    }
    skipped = json.loads(result.stdout)["skipped"]
    assert any("a.dialogue:2: recorded (res://audio/hi.ogg" in entry for entry in skipped)
    assert project.run("check").exit_code == 0

    (project.root / "audio/meow.ogg").unlink()
    for command in ("build", "check"):
        missing = project.run(command)
        assert missing.exit_code == 2 and "Traceback" not in missing.output
        assert "dialogue/a.dialogue:3: [#voice=uid://b1x2y3]: no such file in the Godot project" in missing.output


def test_lines_with_no_words_are_listed_not_voiced_unless_recorded(tmp_path, engine_calls):
    body = "".join(f"Mara: {text} #line:w{n}\n" for n, text in enumerate(["...", "…", "???", "—", '"..."', "Hm."], 1))
    project = make_project(tmp_path / "p", {"a.yarn": f"title: Start\n---\n{body}===\n"})
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    assert engine_calls == ["Hm."]
    skipped = json.loads(result.stdout)["skipped"]
    assert sum("no words" in entry for entry in skipped) == 5
    assert set(_manifest(project)["silent"]) == {"w1", "w2", "w3", "w4", "w5"}
    assert project.run("check").exit_code == 0

    (project.root / "recordings").mkdir()
    shutil.copyfile(project.output / "en/mara/w6.ogg", project.root / "recordings/w3.ogg")  # the actor's sigh
    again = project.run("build", "--json")
    assert again.exit_code == 0, again.output
    manifest = _manifest(project)
    assert "w3" in manifest["lines"] and "w3" not in manifest["silent"]  # voiced on purpose
    assert project.run("check").exit_code == 0


@pytest.mark.parametrize(
    ("version", "texts"),
    [
        ("3.9.1", {"s1": "One.", "s2": "and two."}),  # tabs only: a space-indented line stands alone
        ("4.0.3", {"s1": "One. and two."}),  # tabs or spaces: it continues the line above
    ],
)
def test_indentation_with_spaces_follows_the_version(tmp_path, version, texts):
    dm = (
        "~ start\nNathan: One. [ID:s1]\n    and two. [ID:s2]\n=> END\n"
        if version < "4"
        else "~ start\nNathan: One. [ID:s1]\n    and two.\n=> END\n"
    )
    project = make_project(tmp_path / "p", {"a.dialogue": dm})
    project.write("addons/dialogue_manager/plugin.cfg", f'[plugin]\nversion="{version}"\n')
    assert project.run("build").exit_code == 0
    lines = _manifest(project)["lines"]
    assert {key: entry["audio"]["en"]["text"] for key, entry in lines.items()} == texts


def test_scripts_of_the_same_name_in_two_folders_get_different_provisional_ids(tmp_path):
    same = "~ start\nNathan: Hello again.\n=> END\n"
    project = make_project(tmp_path / "p", {"act1/intro.dialogue": same, "act2/intro.dialogue": same})
    result = project.run("build")
    assert result.exit_code == 0, result.output
    built = set(_manifest(project)["lines"])
    assert len(built) == 2 and all(key.startswith(("act1_intro.start.", "act2_intro.start.")) for key in built)
    dry = project.run("tag", "--dry-run")
    assert dry.exit_code == 0
    proposed = {line.rsplit(": ", 1)[1] for line in dry.output.splitlines() if ".dialogue:" in line}
    assert proposed == built  # tag writes the ids build already uses: no audio is rebuilt
    assert project.run("tag").exit_code == 0
    assert "0 to build" in project.run("build", "--dry-run").output


def test_a_line_with_no_words_and_a_cue_is_voiced_where_the_engine_takes_cues(tmp_path):
    from charvoice.project.loader import load_project

    yarn = "title: Start\n---\nMara: ... #sighing #line:s1\nMara: ... #line:s2\n===\n"
    project = make_project(tmp_path / "p", {"a.yarn": yarn})
    offline = load_project(root=project.root)
    assert [line.id for line in offline.silent] == ["s1", "s2"]  # the scratch voice takes no cue
    text = (project.root / "charvoice.toml").read_text().replace('name = "offline"', 'name = "fish"')
    project.write("charvoice.toml", text)
    fish = load_project(root=project.root)
    assert [line.id for line in fish.lines] == ["s1"] and [line.id for line in fish.silent] == ["s2"]
