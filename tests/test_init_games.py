"""`charvoice init` in real-shaped games: from init to a passing check with no other step.

Three small games: Godot with Dialogue Manager 4, Godot with an old Dialogue Manager 2, and Yarn
Spinner. Each script holds the cases games really write (portrait expressions after names,
runtime speakers, lines with no words, escaped colons, tags before the speaker)."""

from __future__ import annotations

import json
import tomllib

from conftest import ProjectDir

DM4 = """\
~ start
Mira.Neutral: Welcome to the lighthouse. [ID:lh_1]
Mira.Smile: You came back! [ID:lh_2]
Daze.Neutral: ... [ID:lh_3]
[#happy] Nathan: Hi there. [ID:lh_4]
Error at (95, 50)\\: Cannot assign a value. [ID:lh_5]
The granite is: [ID:lh_6]
\t## a note for the next line, indented
{{cat_name}}: Meow. [ID:lh_7]
Nathan: [[Hi|Hello {{player_name}}|Hey]] [ID:lh_8]
- Keep going [ID:lh_9] => ending
- Stop here [ID:lh_10]
=> END
~ ending
Mira.Neutral: "..." [ID:lh_11]
=> END
"""

DM2 = """\
~ start
Nathan:Hello.\t[ID:old_1]
\tBram: this line joins the one above in 2.x
Note: the harbour closes at 12:30. [ID:old_2]
- Fine [ID:old_3]
=> END
"""

YARN = """\
title: Start
---
Sally: Hi, captain. #line:y1
Sally.Worried: Are we late? #line:y2
{$catName}: Mrrp. #line:y3
…  #line:y4
-> Let's go. #line:y5
    Narrator: They left. #line:y6
[b]Sally[/b]: Bold name. #line:y7
===
"""


def _godot(folder, version: str) -> None:
    (folder / "project.godot").write_text('[application]\nconfig/name="Game"\n')
    plugin = folder / "addons/dialogue_manager/plugin.cfg"
    plugin.parent.mkdir(parents=True)
    plugin.write_text(f'[plugin]\nname="Dialogue Manager"\nversion="{version}"\n')
    (folder / "addons/dialogue_manager/example.dialogue").write_text("~ x\nExample: not the game's. [ID:ex]\n")


def _init_build_check(folder) -> tuple[str, dict, dict]:
    project = ProjectDir(folder)
    init = project.run("init", str(folder))
    assert init.exit_code == 0, init.output
    build = project.run("build", "--json")
    assert build.exit_code == 0, build.output
    check = project.run("check")
    assert check.exit_code == 0, check.output
    return init.output, json.loads(build.stdout), json.loads((folder / "voice/voice_manifest.json").read_text())


def test_a_dialogue_manager_4_game_builds_and_checks_after_init(tmp_path, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    folder = tmp_path / "lighthouse"
    (folder / "Dialogues").mkdir(parents=True)
    _godot(folder, "4.0.3")
    (folder / "Dialogues/intro.dialogue").write_text(DM4)
    (folder / "Dialogues/strings.csv").write_text("keys,en\nHELLO,Hello\n")  # a translation table, not a script
    output, build, manifest = _init_build_check(folder)

    assert "Found 1 script, 13 lines, 5 speakers (dialogue = Dialogues/**/*.dialogue)" in output
    assert not (folder / "dialogue").exists()  # no example script beside the game's own
    names = {path.stem: tomllib.loads(path.read_text())["name"] for path in (folder / "characters").glob("*.toml")}
    assert names == {"mira": "Mira", "daze": "Daze", "nathan": "Nathan", "player": "Player", "narrator": "Narrator"}
    assert "how to give each a real one" in output and "real" in (folder / "characters/mira.toml").read_text()
    assert (folder / "characters/.gdignore").is_file()
    assert "{{cat_name}} (1)" in output

    lines = manifest["lines"]
    assert lines["lh_1"]["character"] == "mira" and lines["lh_2"]["character"] == "mira"
    assert lines["lh_4"]["character"] == "nathan"  # the tag before the name is a tag
    assert lines["lh_5"]["audio"]["en"]["text"] == "Error at (95, 50): Cannot assign a value."
    assert lines["lh_5"]["character"] == "narrator"
    assert lines["lh_6"]["audio"]["en"]["text"] == "The granite is:"
    assert sorted(key for key in lines if key.startswith("lh_8")) == ["lh_8~0", "lh_8~2"]  # not the runtime one
    assert "ex" not in lines  # the addon's own example is not the game's dialogue
    skipped = "\n".join(build["skipped"])
    assert "lh_8" in skipped and "runtime text" in skipped
    assert "intro.dialogue:4: no words" in skipped and "intro.dialogue:15: no words" in skipped
    assert "{{cat_name}} is known only at run time" in skipped
    assert set(manifest["silent"]) == {"lh_3", "lh_11"}


def test_an_old_dialogue_manager_2_game_builds_and_checks_after_init(tmp_path, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    folder = tmp_path / "old"
    (folder / "database/Text").mkdir(parents=True)
    _godot(folder, "2.45.0")
    (folder / "database/Text/town.dialogue").write_text(DM2)
    output, _build, manifest = _init_build_check(folder)

    assert "Found 1 script, 3 lines, 3 speakers (dialogue = database/Text/**/*.dialogue)" in output
    lines = manifest["lines"]
    # 2.x: the speaker ends at the first ':', and an indented line joins the one above, name and all.
    assert lines["old_1"]["character"] == "nathan"
    assert lines["old_1"]["audio"]["en"]["text"] == "Hello. Bram: this line joins the one above in 2.x"
    assert lines["old_2"]["character"] == "note"


def test_a_yarn_spinner_game_builds_and_checks_after_init(tmp_path, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    folder = tmp_path / "space"
    (folder / "Assets/Dialogue").mkdir(parents=True)
    (folder / "project.godot").write_text("[application]\n")
    (folder / "Assets/Dialogue/Sally.yarn").write_text(YARN)
    output, build, manifest = _init_build_check(folder)

    assert "Found 1 script, 7 lines, 3 speakers (dialogue = Assets/Dialogue/**/*.yarn)" in output
    assert tomllib.loads((folder / "charvoice.toml").read_text())["speakers"]["aliases"] == {"[b]Sally[/b]": "sally"}
    lines = manifest["lines"]
    assert lines["y7"]["character"] == "sally" and lines["y7"]["audio"]["en"]["text"] == "Bold name."
    assert lines["y2"]["character"] == "sally" and lines["y5"]["character"] == "player"
    assert "y3" not in lines and set(manifest["silent"]) == {"y4"}
    assert any("{$catName} (1)" in warning for warning in build["warnings"])


def test_tables_are_read_only_when_named_and_godot_ignores_their_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    folder = tmp_path / "tables"
    (folder / "data/lines").mkdir(parents=True)
    (folder / "project.godot").write_text("[application]\n")
    (folder / "data/lines/barks.csv").write_text("id,character,text\nbark.1,Guard,Halt!\nbark.2,Guard,…\n")
    project = ProjectDir(folder)
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.csv").write_text("id,character,text\nx,Someone,Not dialogue.\n")
    assert "Found" not in ProjectDir(plain).run("init", str(plain)).output  # a CSV alone is not taken for dialogue

    init = project.run("init", str(folder), "--dialogue", "data/lines")
    assert init.exit_code == 0, init.output
    assert "Found 1 script, 2 lines, 1 speaker (dialogue = data/lines)" in init.output
    assert (folder / "data/lines/.gdignore").is_file() and (folder / "characters/.gdignore").is_file()
    assert (folder / "characters/guard.toml").is_file()
    assert project.run("build").exit_code == 0 and project.run("check").exit_code == 0
    typo = ProjectDir(plain).run("init", str(tmp_path / "tables"), "--dialogue", "nope")
    assert typo.exit_code == 0 and "already a charvoice project" in typo.output  # nothing added, nothing checked
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    missing = ProjectDir(fresh).run("init", str(fresh), "--dialogue", "nope")
    assert missing.exit_code == 2 and "--dialogue 'nope': no such file or folder" in missing.output
    assert not (fresh / "charvoice.toml").exists()


def test_a_games_own_characters_folder_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.delenv("FISH_API_KEY", raising=False)
    folder = tmp_path / "game"
    (folder / "characters").mkdir(parents=True)
    (folder / "characters/hero.tscn").write_text("[gd_scene]\n")  # the game's scenes: Godot must keep importing them
    (folder / "project.godot").write_text("[application]\n")
    (folder / "dialogue.dialogue").write_text("~ start\nHero: Onward. [ID:h1]\n=> END\n")
    project = ProjectDir(folder)
    init = project.run("init", str(folder))
    assert init.exit_code == 0, init.output
    assert sorted(p.name for p in (folder / "characters").iterdir()) == ["hero.tscn"]
    assert (folder / "charvoice/characters/hero.toml").is_file() and (
        folder / "charvoice/characters/.gdignore"
    ).is_file()
    assert 'characters = "charvoice/characters"' in (folder / "charvoice.toml").read_text()
    assert project.run("build").exit_code == 0 and project.run("check").exit_code == 0
