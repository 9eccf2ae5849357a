"""Bad input: one clear message naming the file and line, exit status 2, no traceback, nothing written."""

from __future__ import annotations

import pytest
from conftest import LINES, csv_text


def assert_rejected(project, *expected: str, command: str = "build"):
    result = project.run(command)  # catch_exceptions=False: a traceback would fail the test itself
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in expected:
        assert text in result.output, result.output
    assert not project.output.exists(), "nothing may be written"
    assert not (project.root / ".charvoice").exists(), "nothing may be written"
    return result.output


def test_malformed_project_toml(project):
    project.write("charvoice.toml", '[project]\ncharacters = "characters"\noutput = "game/voice\n')
    assert_rejected(project, "charvoice.toml:3", "invalid TOML")


def test_malformed_character_toml(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = tru\n')
    assert_rejected(project, "characters/bram.toml:3", "invalid TOML")


def test_unknown_key_with_did_you_mean(project):
    project.write(
        "charvoice.toml", project.root.joinpath("charvoice.toml").read_text() + "\n[audio]\nloudnes_lufs = -16.0\n"
    )
    output = assert_rejected(
        project, "charvoice.toml:13", "unknown key 'loudnes_lufs' in [audio]", "did you mean 'loudness_lufs'?"
    )
    assert output.count("error:") == 1


def test_every_config_problem_is_reported_at_once(project):
    text = project.root.joinpath("charvoice.toml").read_text()
    text = text.replace('name = "offline"', 'name = "fsh"').replace("jobs = 2", 'jobs = "many"')
    project.write("charvoice.toml", text + '\n[audio]\nformat = "opus"\ntrim = true\n')
    output = assert_rejected(
        project,
        "4 problems",
        "charvoice.toml:9: engine.name must be one of 'auto', 'fish', 'offline', not 'fsh' (did you mean 'fish'?)",
        "charvoice.toml:10: engine.jobs must be an integer",
        "charvoice.toml:13: audio.format must be one of 'ogg', 'wav', 'mp3', not 'opus'",
        "charvoice.toml:14: unknown key 'trim' in [audio]",
    )
    assert output.count("error:") == 1


def test_unknown_character_in_script(project):
    rows = [*LINES, ("intro.extra", "Brahm", "Who goes there?")]
    project.write("dialogue/intro.csv", csv_text(rows))
    assert_rejected(project, "dialogue/intro.csv:6: unknown character 'Brahm' (did you mean 'Bram'?)")


def test_duplicate_line_id(project):
    rows = [*LINES, ("intro.greet", "Bram", "Hello again.")]
    project.write("dialogue/intro.csv", csv_text(rows))
    assert_rejected(project, "dialogue/intro.csv:6: duplicate line id 'intro.greet': also at dialogue/intro.csv:2")


@pytest.mark.parametrize(
    "bad_id", ["bell\x07", "x" * 513]
)  # ids with '/', '..', spaces, Unicode are valid: test_formats_ids.py
def test_unsafe_line_ids(project, bad_id):
    project.write("dialogue/intro.csv", csv_text([*LINES, (bad_id, "Aria", "This id is not safe.")]))
    assert_rejected(project, "dialogue/intro.csv:6:1: line id")


def test_empty_text(project):
    project.write("dialogue/intro.csv", csv_text(LINES) + "intro.silent,Aria,\n")
    assert_rejected(project, "dialogue/intro.csv:6:3: line intro.silent has empty text")


def test_character_with_no_voice_source(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[speech]\nspeed = 1.1\n')
    assert_rejected(
        project,
        "characters/bram.toml",
        "no voice source: set exactly one of [voice] model_id, samples, or scratch = true",
    )


def test_character_with_two_voice_sources(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nmodel_id = "abc"\nscratch = true\n')
    assert_rejected(project, "characters/bram.toml:2: more than one voice source (model_id, scratch)")


def test_missing_sample_file(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nsamples = ["voices/bram.wav"]\n')
    assert_rejected(project, "characters/bram.toml:3: sample file 'voices/bram.wav' not found")


def test_problems_across_files_are_all_listed(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = "yes"\n')
    project.write("characters/cleo.toml", 'nme = "Cleo"\n[voice]\nscratch = true\n')
    output = assert_rejected(
        project,
        "characters/bram.toml:3: voice.scratch must be true or false",
        "characters/cleo.toml:1: unknown key 'nme'",
        "missing required key name",
    )
    assert output.count("error:") == 1


def test_csv_without_required_columns(project):
    project.write("dialogue/intro.csv", "id,speaker\nintro.a,Aria\n")
    assert_rejected(project, "dialogue/intro.csv:1:1: header row lacks column(s) text")


def test_script_that_is_not_utf8(project):
    (project.root / "dialogue/intro.csv").write_bytes(b"id,character,text\nintro.a,Aria,caf\xe9\n")
    assert_rejected(project, "dialogue/intro.csv:2:17: not UTF-8 text")


def test_no_project_found(tmp_path):
    from conftest import ProjectDir

    empty = ProjectDir(tmp_path)
    result = empty.run("build")
    assert result.exit_code == 2 and "no charvoice.toml in" in result.output and "charvoice init" in result.output


def test_check_rejects_bad_input_too(project):
    project.write("dialogue/intro.csv", csv_text([*LINES, ("intro.greet", "Bram", "Hello again.")]))
    assert_rejected(project, "duplicate line id", command="check")


def test_corrupt_manifest_is_named(project):
    assert project.run("build").exit_code == 0
    project.manifest.write_text('{"format": "charvoice-manifest", "version": 1,,}')
    result = project.run("build")
    assert (
        result.exit_code == 2
        and "game/voice/voice_manifest.json:1:" in result.output
        and "not valid JSON" in result.output
    )


def test_toml_with_a_byte_order_mark_is_fine(project):
    """Notepad on Windows saves UTF-8 with a BOM; that is not a mistake."""
    for name in ("charvoice.toml", "characters/aria.toml"):
        path = project.root / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = project.run("build")
    assert result.exit_code == 0, result.output


# --- issue 11, item 9: mistakes that used to pass silently or mislead ----------------------------


def test_garbage_lock_is_named_even_without_a_key(project):
    """No character here is a persistent clone and no key is set, yet a damaged lock is news."""
    (project.root / "charvoice.lock").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    assert_rejected(project, "charvoice.lock", "not UTF-8")
    project.write("charvoice.lock", "version = 1\n[voices.aria\n")
    assert_rejected(project, "charvoice.lock:2:", "invalid TOML")
    assert_rejected(project, "charvoice.lock:2:", command="check")


@pytest.mark.parametrize("where", ["dialogue/intro.csv", "characters/bram.toml", "charvoice.toml"])
def test_utf16_without_a_byte_order_mark_says_not_utf8(project, where):
    path = project.root / where
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16-le"))
    output = assert_rejected(project, f"{where}:1:1: not UTF-8 text: it looks like UTF-16")
    assert output.count("error:") == 1 and "problems" not in output  # one message, not five syntax errors


def test_unknown_scratch_voice_lists_the_voices(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n[scratch]\nvoice = "robot"\n')
    assert_rejected(project, "characters/bram.toml:5: unknown scratch voice 'robot'", "variants: m1, m2", "en-us")
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n[scratch]\nvoice = "en-us+zz"\n')
    assert_rejected(project, "characters/bram.toml:5: unknown scratch voice 'en-us+zz'", "no voice variant 'zz'")
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n[scratch]\nvoice = "engl+m3"\n')
    assert_rejected(project, "characters/bram.toml:5:", "no language 'engl'", "did you mean")


def test_known_scratch_voices_build(project):
    project.write(
        "characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n[scratch]\nvoice = "en-gb-x-rp+Mike"\n'
    )
    assert project.run("build").exit_code == 0


def test_pitch_message_gives_the_documented_range(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = true\n[scratch]\npitch = -1\n')
    assert_rejected(project, "characters/bram.toml:5: scratch.pitch must be between 0 and 99, not -1")


def test_dialogue_entry_that_matches_nothing_warns(project):
    project.write(
        "charvoice.toml",
        project.root.joinpath("charvoice.toml")
        .read_text()
        .replace('dialogue = ["dialogue"]', 'dialogue = ["dialogue", "scenes/**/*.yarn", "empty"]'),
    )
    (project.root / "empty").mkdir()
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert "warning: charvoice.toml:3: dialogue entry 'scenes/**/*.yarn' matches no script" in result.output
    assert "warning: charvoice.toml:3: dialogue entry 'empty' matches no script" in result.output
    assert "dialogue entry 'dialogue'" not in result.output


def test_built_one_line_is_singular(project):
    project.write("dialogue/intro.csv", csv_text(LINES[:1]))
    result = project.run("build")
    assert "Built 1 line in" in result.output, result.output
    assert "1 line up to date." in project.run("build").output


# --- issue 11, item 8: --json on failure ---------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "check", "qa"])
def test_json_failure_is_a_json_object_with_the_problems(project, command):
    import json

    project.write(
        "charvoice.toml", project.root.joinpath("charvoice.toml").read_text().replace("jobs = 2", 'jobs = "many"')
    )
    project.write("dialogue/intro.csv", csv_text([*LINES, ("intro.extra", "Brahm", "Who goes there?")]))
    result = project.run(command, "--json")
    assert result.exit_code == 2, result.output
    data = json.loads(result.stdout)  # standard output alone is the JSON object
    assert data["ok"] is False and data["exit_code"] == 2
    assert {
        "file": "charvoice.toml",
        "line": 10,
        "column": None,
        "message": "engine.jobs must be an integer, not 'many'",
    } in data["problems"]
    assert not project.output.exists() and not (project.root / ".charvoice").exists()


def test_json_failure_without_a_place_in_a_file(tmp_path):
    import json

    from conftest import ProjectDir

    result = ProjectDir(tmp_path).run("build", "--json")
    assert result.exit_code == 2
    data = json.loads(result.stdout)
    assert data["problems"][0]["file"] is None and "no charvoice.toml" in data["problems"][0]["message"]


def test_json_failure_of_a_script_has_line_and_column(project):
    import json

    (project.root / "dialogue/intro.csv").write_bytes(b"id,character,text\nintro.a,Aria,caf\xe9\n")
    result = project.run("build", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["problems"] == [
        {"file": "dialogue/intro.csv", "line": 2, "column": 17, "message": "not UTF-8 text (save the file as UTF-8)"}
    ]


# --- issue 11, item 7: voice samples are checked in every build, with or without a key ------------


def _cleo(project, sample: bytes | None) -> None:
    from fakes.fixtures import write_sample

    path = project.root / "characters/voices/cleo/01.wav"
    if sample is None:
        write_sample(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(sample)
    project.write("characters/cleo.toml", 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\n')


@pytest.mark.parametrize(
    "sample",
    [b"", b"these are my notes, not a recording\n" * 40, b"RIFF\x00\x00\x00\x00WAVEjunk" * 50],
    ids=["empty", "text", "broken-wav"],
)
@pytest.mark.parametrize("command", ["build", "check"])
def test_a_sample_that_is_not_audio_fails_without_a_key(project, sample, command):
    _cleo(project, sample)
    assert_rejected(project, "characters/cleo.toml:3: voice sample 01.wav cannot be decoded", command=command)


def test_samples_are_decoded_once_per_content(project, monkeypatch):
    from charvoice.engines.fish import samples

    decoded: list[str] = []
    original = samples.decode_problem
    monkeypatch.setattr(samples, "decode_problem", lambda path: decoded.append(path.name) or original(path))
    _cleo(project, None)
    assert project.run("build").exit_code == 0
    assert project.run("check").exit_code == 0
    assert decoded == ["01.wav"]  # the second command knew this content already
    (project.root / "characters/voices/cleo/01.wav").write_bytes(b"\x00" * 1000)  # same name, new content
    result = project.run("build")
    assert result.exit_code == 2 and "voice sample 01.wav cannot be decoded" in result.output
    assert decoded == ["01.wav", "01.wav"]


def test_approvals_file_checked_like_every_toml_file(project):
    project.write(
        "charvoice.approvals.toml",
        '[approved."intro.greet".en]\ntake = "two"\ntext_sha256 = "x"\nsource_key = "y"\nfile = "approved/en/a.wav"\n',
    )
    assert_rejected(project, "charvoice.approvals.toml:2", "approved.intro.greet.en.take must be an integer")


def test_manifest_with_wrong_types_is_an_error_not_replaced(project):
    assert project.run("build").exit_code == 0
    before = project.manifest.read_text()
    damaged = before.replace('"duration_s":', '"duration_s":"long","was":', 1)
    project.manifest.write_text(damaged)
    result = project.run("build")
    assert result.exit_code == 2, result.output
    assert "game/voice/voice_manifest.json" in result.output and "duration_s has the wrong type" in result.output
    assert "Traceback" not in result.output
    assert project.manifest.read_text() == damaged  # not silently replaced (its revision would go back)


@pytest.mark.parametrize(
    "old, new, says",
    [
        ('"revision": ', '"revision": "7", "was": ', "revision has the wrong type"),
        ('"lines": {', '"lines": [], "was": {', "lines must be an object, not list"),
        ('"sha256":"', '"sha256":1,"was":"', "sha256 has the wrong type"),
        ('"size":', '"size":"big","was":', "size has the wrong type"),
    ],
    ids=["revision-string", "lines-list", "sha256-number", "size-string"],
)
def test_manifest_with_wrong_types_is_never_replaced(project, old, new, says):
    assert project.run("build").exit_code == 0
    damaged = project.manifest.read_text().replace(old, new, 1)
    assert damaged != project.manifest.read_text()
    project.manifest.write_text(damaged)
    for command in ("build", "check"):
        result = project.run(command)
        assert result.exit_code == 2, result.output
        assert "game/voice/voice_manifest.json" in result.output and says in result.output, result.output
        assert "Traceback" not in result.output and result.output.count("error:") == 1
    assert project.manifest.read_text() == damaged


def test_dialogue_folder_holding_the_output_is_fine(project):
    """Dialogue Manager files often live inside the Godot project, next to the voice folder."""
    text = project.root.joinpath("charvoice.toml").read_text().replace('dialogue = ["dialogue"]', 'dialogue = ["."]')
    project.write("charvoice.toml", text)
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert len(project.assets()) == len(LINES) and project.run("build").output.startswith(
        f"{len(LINES)} lines up to date"
    )


# --- symbolic links under the dialogue folders (issue 22, item 6) -------------------------------


def _outside(project, name: str = "elsewhere"):
    folder = project.root.parent / name
    folder.mkdir(exist_ok=True)
    return folder


def test_a_script_linked_from_outside_the_project_is_refused_by_its_link(project):
    outside = _outside(project)
    (outside / "extra.csv").write_text(csv_text([("extra.one", "Aria", "From another folder.")]))
    (project.root / "dialogue/extra.csv").symlink_to(outside / "extra.csv")
    output = assert_rejected(project, "dialogue/extra.csv: a link to a place outside the project")
    assert str(outside) not in output and str(project.root) not in output  # no absolute path


def test_a_folder_linked_from_outside_the_project_is_refused(project):
    outside = _outside(project)
    (outside / "extra.csv").write_text(csv_text([("extra.one", "Aria", "From another folder.")]))
    (project.root / "dialogue/shared").symlink_to(outside, target_is_directory=True)
    output = assert_rejected(project, "dialogue/shared: a link to a place outside the project")
    assert str(outside) not in output


def test_a_broken_link_with_a_script_name_is_an_error(project):
    (project.root / "dialogue/chapter2.csv").symlink_to(project.root / "dialogue/not-there.csv")
    output = assert_rejected(project, "dialogue/chapter2.csv: a broken link")
    assert str(project.root) not in output


def test_a_dialogue_entry_that_is_itself_a_link_out_is_refused(project):
    outside = _outside(project)
    (outside / "intro.csv").write_text(csv_text(LINES))
    (project.root / "dialogue/intro.csv").unlink()
    (project.root / "dialogue").rmdir()
    (project.root / "dialogue").symlink_to(outside, target_is_directory=True)
    assert_rejected(project, "dialogue: a link to a place outside the project")


def test_links_inside_the_project_are_followed_and_named_by_their_target(project):
    """A linked folder and a linked file inside the project are voiced (they used to be skipped
    in silence, or named by the machine's absolute path); an Emacs lock (a hidden broken link) is not a script."""
    import json

    project.write("shared/harbour.csv", csv_text([("harbour.bell", "Bram", "The harbour bell rings.")]))
    project.write("scripts/more.csv", csv_text([("more.one", "Aria", "One more line.")]))
    (project.root / "dialogue/harbour").symlink_to(project.root / "shared", target_is_directory=True)
    (project.root / "dialogue/more.csv").symlink_to(project.root / "scripts/more.csv")
    (project.root / "dialogue/loop").symlink_to(project.root / "dialogue", target_is_directory=True)
    (project.root / "dialogue/.#intro.csv").symlink_to("user@host.1234:1700000000")
    result = project.run("build")
    assert result.exit_code == 0, result.output
    lines = json.loads(project.manifest.read_text())["lines"]
    assert lines["harbour.bell"]["source"] == "shared/harbour.csv:2"
    assert lines["more.one"]["source"] == "scripts/more.csv:2"
    assert len(lines) == len(LINES) + 2
    assert str(project.root) not in project.manifest.read_text()
