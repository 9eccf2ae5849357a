"""Localisation: a script per locale (`intro.fr.yarn`) or a column per locale; missing lines fall back."""

from __future__ import annotations

import json

from helpers_formats import DATA, make_project

from charvoice.pipeline.workspace import Workspace

EN = "title: Quay\n---\nMara: The tide is turning. #line:quay.tide\nTobin: Then we row. #line:quay.row\n-> Wait for me! #line:quay.wait\n===\n"
FR = "title: Quay\r\n---\r\nMara: La marée tourne. #line:quay.tide\r\n-> Attendez-moi\u00a0! #line:quay.wait\r\n===\r\n"


def test_parallel_scripts_per_locale_and_fallback_in_the_manifest(tmp_path):
    project = make_project(tmp_path / "p", {"quay.yarn": EN, "quay.fr.yarn": FR.encode("utf-8")}, locales=("en", "fr"))
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["synthesized"] == 5
    assert (
        "1 line(s) have no 'fr' text and will play the 'en' audio: quay.row (dialogue/quay.yarn:4)"
        in report["warnings"]
    )

    manifest = json.loads(project.manifest.read_text())
    tide = manifest["lines"]["quay.tide"]
    assert (
        tide["audio"]["en"]["path"] == "en/mara/quay.tide.ogg"
        and tide["audio"]["fr"]["path"] == "fr/mara/quay.tide.ogg"
    )
    assert tide["audio"]["fr"]["text"] == "La marée tourne." and "fallback" not in tide
    assert (
        manifest["lines"]["quay.wait"]["audio"]["fr"]["path"] == "fr/wren/quay.wait.ogg"
    )  # options: the player character
    row = manifest["lines"]["quay.row"]
    assert list(row["audio"]) == ["en"] and row["fallback"] == {"fr": "en"}

    # The same voice in every locale: only the language differs.
    plan = Workspace.open(project.root).plan(force=True)
    voices = {(job.line.id, job.line.locale): job.request.voice for job in plan.todo}
    en, fr = voices[("quay.tide", "en")], voices[("quay.tide", "fr")]
    assert (en["language"], fr["language"]) == ("en", "fr")
    assert {k: v for k, v in en.items() if k != "language"} == {k: v for k, v in fr.items() if k != "language"}

    # Translating the missing line removes the fallback mark and builds just that line.
    fr_script = project.root / "dialogue/quay.fr.yarn"
    fr_script.write_bytes(
        fr_script.read_bytes().replace(b"-> Attendez", b"Tobin: Alors on rame. #line:quay.row\r\n-> Attendez")
    )
    again = json.loads(project.run("build", "--json").stdout)
    assert (again["synthesized"], again["up_to_date"]) == (1, 5)
    assert "fallback" not in json.loads(project.manifest.read_text())["lines"]["quay.row"]


def test_locale_columns_of_one_table(tmp_path):
    project = make_project(tmp_path / "p", {"lighthouse.csv": DATA / "csv/lighthouse.csv"}, locales=("en", "fr", "ja"))
    result = project.run("build", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["to_build"]
    assert sorted((row["id"], row["locale"]) for row in rows) == sorted(
        [
            ("lh.intro", "en"),
            ("lh.intro", "fr"),
            ("lh.intro", "ja"),
            ("lh.knock", "en"),
            ("lh.knock", "fr"),
            ("lighthouse.0e02ca", "en"),
            ("lighthouse.0e02ca", "fr"),
            ("lighthouse.0e02ca", "ja"),
            ("lh.ladder", "en"),
        ]
    )
    workspace = Workspace.open(project.root)
    assert workspace.project.fallbacks == {"lh.knock": {"ja": "en"}, "lh.ladder": {"fr": "en", "ja": "en"}}
    assert (
        "2 line(s) have no 'ja' text and will play the 'en' audio: lh.knock (dialogue/lighthouse.csv:4), lh.ladder (dialogue/lighthouse.csv:7)"
        in workspace.project.warnings
    )
    assert (
        "1 line(s) have no 'fr' text and will play the 'en' audio: lh.ladder (dialogue/lighthouse.csv:7)"
        in workspace.project.warnings
    )


def test_translated_line_without_an_original_is_reported(tmp_path):
    fr = "title: Quay\n---\nMara: Bonjour. #line:quay.hello\n===\n"
    project = make_project(tmp_path / "p", {"quay.yarn": EN, "quay.fr.yarn": fr}, locales=("en", "fr"))
    warnings = Workspace.open(project.root).project.warnings
    assert (
        "1 translated line(s) have no 'en' original (is the id right?): quay.hello (dialogue/quay.fr.yarn:3)"
        in warnings
    )


def test_a_translation_may_shadow_a_line_it_has_not_translated(tmp_path):
    fr = "title: Quay\n---\nTobin: Then we row. #shadow:quay.row\n===\n"
    project = make_project(tmp_path / "p", {"quay.yarn": EN, "quay.fr.yarn": fr}, locales=("en", "fr"))
    result = project.run("build", "--dry-run")
    assert result.exit_code == 0, result.output
