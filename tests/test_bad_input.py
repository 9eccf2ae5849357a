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
    project.write("charvoice.toml", project.root.joinpath("charvoice.toml").read_text() + "\n[audio]\nloudnes_lufs = -16.0\n")
    output = assert_rejected(project, "charvoice.toml:13", "unknown key 'loudnes_lufs' in [audio]", "did you mean 'loudness_lufs'?")
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


@pytest.mark.parametrize("bad_id", ["bell\x07", "x" * 513])  # ids with '/', '..', spaces, Unicode are valid: test_formats_ids.py
def test_unsafe_line_ids(project, bad_id):
    project.write("dialogue/intro.csv", csv_text([*LINES, (bad_id, "Aria", "This id is not safe.")]))
    assert_rejected(project, "dialogue/intro.csv:6:1: line id")


def test_empty_text(project):
    project.write("dialogue/intro.csv", csv_text(LINES) + "intro.silent,Aria,\n")
    assert_rejected(project, "dialogue/intro.csv:6:3: line intro.silent has empty text")


def test_character_with_no_voice_source(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[speech]\nspeed = 1.1\n')
    assert_rejected(project, "characters/bram.toml", "no voice source: set exactly one of [voice] model_id, samples, or scratch = true")


def test_character_with_two_voice_sources(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nmodel_id = "abc"\nscratch = true\n')
    assert_rejected(project, "characters/bram.toml:2: more than one voice source (model_id, scratch)")


def test_missing_sample_file(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nsamples = ["voices/bram.wav"]\n')
    assert_rejected(project, "characters/bram.toml:3: sample file 'voices/bram.wav' not found")


def test_problems_across_files_are_all_listed(project):
    project.write("characters/bram.toml", 'name = "Bram"\n[voice]\nscratch = "yes"\n')
    project.write("characters/cleo.toml", 'nme = "Cleo"\n[voice]\nscratch = true\n')
    output = assert_rejected(project, "characters/bram.toml:3: voice.scratch must be true or false", "characters/cleo.toml:1: unknown key 'nme'", "missing required key name")
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
    assert result.exit_code == 2 and "game/voice/voice_manifest.json:1:" in result.output and "not valid JSON" in result.output


def test_toml_with_a_byte_order_mark_is_fine(project):
    """Notepad on Windows saves UTF-8 with a BOM; that is not a mistake."""
    for name in ("charvoice.toml", "characters/aria.toml"):
        path = project.root / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = project.run("build")
    assert result.exit_code == 0, result.output


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
