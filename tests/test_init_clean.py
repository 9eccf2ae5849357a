"""charvoice init and charvoice clean."""

from __future__ import annotations

import json

from conftest import LINES, ProjectDir, csv_text


def test_init_scaffolds_a_project_that_builds(tmp_path):
    folder = tmp_path / "mygame"
    folder.mkdir()
    (folder / "project.godot").write_text("[application]\n")
    proj = ProjectDir(folder)
    result = proj.run("init", str(folder))
    assert result.exit_code == 0, result.output
    for name in ("charvoice.toml", "characters/narrator.toml", "dialogue/example.csv"):
        assert f"created  {name}" in result.output and (folder / name).is_file()
    assert 'output = "voice"' in (folder / "charvoice.toml").read_text()  # inside the Godot project: res://voice

    build = proj.run("build")
    assert build.exit_code == 0, build.output
    assert (folder / "voice/en/narrator/example.hello.ogg").is_file()
    assert (folder / "voice/voice_manifest.json").is_file()


def test_init_never_overwrites(tmp_path):
    folder = tmp_path / "game"
    folder.mkdir()
    (folder / "charvoice.toml").write_text("# mine\n")
    proj = ProjectDir(folder)
    result = proj.run("init", str(folder))
    assert result.exit_code == 0
    assert "kept     charvoice.toml (already there)" in result.output
    assert (folder / "charvoice.toml").read_text() == "# mine\n"
    assert "already a charvoice project: nothing added" in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["charvoice.toml"]  # no example to voice
    again = proj.run("init", str(folder))
    assert "created" not in again.output and again.output.count("kept") == 1


def test_init_writes_who_speaks_choices_and_narration(tmp_path):
    folder = tmp_path / "fresh"
    folder.mkdir()
    assert ProjectDir(folder).run("init", str(folder)).exit_code == 0
    text = (folder / "charvoice.toml").read_text()
    assert 'player_character = "player"' in text and 'narrator = "narrator"' in text
    import tomllib

    project = tomllib.loads(text)["project"]
    assert project["player_character"] == "player" and project["narrator"] == "narrator"


def test_init_in_an_existing_project_adds_nothing_that_would_be_voiced(project):
    before = project.run("build", "--json")
    assert before.exit_code == 0
    files = sorted(p.relative_to(project.root).as_posix() for p in project.root.rglob("*") if p.is_file())
    result = project.run("init", str(project.root))
    assert result.exit_code == 0 and "created" not in result.output, result.output
    assert sorted(p.relative_to(project.root).as_posix() for p in project.root.rglob("*") if p.is_file()) == files
    assert json.loads(project.run("build", "--json").stdout)["built"] == 0


def test_init_beside_a_teams_own_scripts_adds_no_example_lines(tmp_path):
    folder = tmp_path / "game"
    (folder / "dialogue").mkdir(parents=True)
    (folder / "dialogue/act1.yarn").write_text("title: Start\n---\nNarrator: It begins. #line:act1.1\n===\n")
    result = ProjectDir(folder).run("init", str(folder))
    assert result.exit_code == 0, result.output
    assert "Found 1 script, 1 line, 1 speaker (dialogue = dialogue/**/*.yarn)" in result.output
    assert not (folder / "dialogue/example.csv").exists()
    build = ProjectDir(folder).run("build", "--json")
    assert json.loads(build.stdout)["total"] == 1


def test_init_needs_an_existing_folder(tmp_path):
    result = ProjectDir(tmp_path).run("init", str(tmp_path / "nope"))
    assert result.exit_code == 2 and "is not a folder" in result.output


def test_clean_removes_orphans_only_when_asked(project):
    assert project.run("build").exit_code == 0
    (project.output / "en/bram/intro.answer.ogg.import").write_text("[remap]\n")  # as the Godot editor leaves it
    project.write("dialogue/intro.csv", csv_text(LINES[:3]))

    build = project.run("build")
    assert build.exit_code == 0 and "1 manifest entries belong to lines no script has any more" in build.output
    assert (project.output / "en/bram/intro.answer.ogg").is_file()

    dry = project.run("clean", "--dry-run")
    assert "would remove manifest entry intro.answer [en]" in dry.output
    assert "would remove game/voice/en/bram/intro.answer.ogg" in dry.output
    assert (project.output / "en/bram/intro.answer.ogg").is_file()
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(project.root)
    assert workspace.clean(dry_run=True).entries == [("intro.answer", "en")]
    assert workspace.manifest.entry("intro.answer", "en") is not None  # a dry run changes nothing, in memory too
    workspace.engines.close()

    result = project.run("clean")
    assert result.exit_code == 0
    assert not (project.output / "en/bram/intro.answer.ogg").exists()
    assert not (project.output / "en/bram/intro.answer.ogg.import").exists()
    manifest = json.loads(project.manifest.read_text())
    assert "intro.answer" not in manifest["lines"] and len(manifest["lines"]) == 3
    assert len(project.assets()) == 3
    assert project.run("clean").output.strip() == "Nothing to clean."
    assert project.run("check").exit_code == 0


def test_clean_keeps_files_it_did_not_make(project):
    assert project.run("build").exit_code == 0
    keep = [project.output / "readme.txt", project.output / "music/theme.ogg"]
    for path in keep:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("not charvoice's")
    result = project.run("clean")
    assert result.output.strip() == "Nothing to clean."
    assert all(path.exists() for path in keep)
