"""charvoice check as a release gate: --require-engine, --qa, --missing-locales, and the JUnit XML
and JSON reports CI systems read. Exit 0 only when the release is clean."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from fakes.fixtures import make_project, write_sample
from helpers_release import (
    BASIC_CONFIG,
    LINES,
    asset,
    clipped,
    csv_text,
    decoded,
    new_project,
    write_ogg,
)


def junit(path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return root.find("testsuite")


def cases(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in suite.iter("testcase")}


def test_plain_check_keeps_its_behaviour_and_writes_passing_reports(copy, tmp_path):
    result = copy.run("check", "--junit", str(tmp_path / "junit.xml"), "--report", str(tmp_path / "report.json"))
    assert result.exit_code == 0, result.output
    assert f"All {len(LINES)} lines up to date." in result.output
    suite = junit(tmp_path / "junit.xml")
    assert suite.get("tests") == "4" and suite.get("failures") == "0"
    greet = cases(suite)["intro.greet [en]"]
    assert (
        greet.get("classname") == "charvoice.aria"
        and greet.get("file") == "dialogue/intro.csv"
        and greet.get("line") == "2"
    )
    assert greet.find("failure") is None
    report = json.loads((tmp_path / "report.json").read_text())
    assert (
        report["ok"] is True and report["total"] == 4 and report["failed"] == 0 and report["checks"] == ["up_to_date"]
    )

    data = json.loads(copy.run("check", "--json").stdout)
    assert data["ok"] is True and data["total"] == 4 and data["up_to_date"] == 4 and data["stale"] == []


def test_require_engine_fails_scratch_voices(copy, tmp_path):
    result = copy.run(
        "check", "--require-engine", "fish", "--junit", str(tmp_path / "j.xml"), "--report", str(tmp_path / "r.json")
    )
    assert result.exit_code == 1
    assert "dialogue/intro.csv:2: intro.greet [en]: voiced by the offline scratch voice, not fish" in result.output
    assert "4 line(s) fail the release checks (engine=fish)" in result.output
    suite = junit(tmp_path / "j.xml")
    assert suite.get("failures") == "4"
    failure = cases(suite)["intro.ask [en]"].find("failure")
    assert failure.get("type") == "engine" and "offline scratch voice" in failure.get("message")
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is False and report["failures_by_check"] == {"engine": 4}
    assert report["cases"][0]["failures"] == [
        {"check": "engine", "message": "voiced by the offline scratch voice, not fish"}
    ]
    assert copy.run("check", "--require-engine", "offline").exit_code == 0


def test_qa_gate_needs_a_clean_verdict_on_the_current_audio(copy, tmp_path):
    unchecked = copy.run("check", "--qa")
    assert unchecked.exit_code == 1 and "not checked by `charvoice qa`" in unchecked.output

    assert copy.run("qa").exit_code == 0
    clean = copy.run("check", "--qa")
    assert clean.exit_code == 0, clean.output
    assert "every line passes qa" in clean.output

    greet = asset(copy, "intro.greet")
    write_ogg(greet, clipped(decoded(greet)))
    assert copy.run("qa").exit_code == 1
    flagged = copy.run("check", "--qa", "--junit", str(tmp_path / "j.xml"))
    assert flagged.exit_code == 1
    assert "intro.greet [en]: QA clipping:" in flagged.output
    failure = cases(junit(tmp_path / "j.xml"))["intro.greet [en]"].find("failure")
    assert failure.get("type") == "qa" and "clipping" in failure.get("message")
    assert copy.run("check").exit_code == 0, "without --qa, QA flags do not fail the check"


def test_stale_lines_fail_with_their_reason_in_the_reports(copy, tmp_path):
    rows = [list(row) for row in LINES]
    rows[2][2] = "Did you bring the parcels from the mainland?"
    copy.write("dialogue/intro.csv", csv_text([*rows, ("intro.bye", "Aria", "Goodbye.")]))
    result = copy.run("check", "--junit", str(tmp_path / "j.xml"), "--report", str(tmp_path / "r.json"))
    assert result.exit_code == 1
    assert "intro.ask [en]: text changed" in result.output
    found = cases(junit(tmp_path / "j.xml"))
    assert found["intro.ask [en]"].find("failure").get("type") == "stale"
    assert "text changed" in found["intro.ask [en]"].find("failure").get("message")
    assert found["intro.bye [en]"].find("failure").get("type") == "missing"
    assert found["intro.greet [en]"].find("failure") is None
    assert json.loads((tmp_path / "r.json").read_text())["failures_by_check"] == {"stale": 1, "missing": 1}


def test_missing_locales_fail_only_when_asked(tmp_path):
    config = BASIC_CONFIG.replace('locales = ["en"]', 'locales = ["en", "fr"]')
    project = new_project(tmp_path / "p", config=config, rows=LINES)
    project.write(
        "dialogue/intro.fr.csv",
        csv_text(
            [("intro.greet", "Aria", "Bonjour, voyageur."), ("intro.reply", "Bram", "Merci. La traversée fut longue.")]
        ),
    )
    assert project.run("build").exit_code == 0
    assert project.run("check").exit_code == 0, "a line that falls back is built as intended"

    result = project.run("check", "--missing-locales", "--junit", str(tmp_path / "j.xml"))
    assert result.exit_code == 1
    assert "intro.ask [fr]: no 'fr' text: the game plays the 'en' audio instead" in result.output
    found = cases(junit(tmp_path / "j.xml"))
    assert set(found) == {f"{line_id} [{locale}]" for line_id, *_ in LINES for locale in ("en", "fr")}
    assert found["intro.answer [fr]"].find("failure").get("type") == "locale"
    assert found["intro.greet [fr]"].find("failure") is None and found["intro.ask [en]"].find("failure") is None


def test_only_a_clean_release_passes_every_gate(copy, tmp_path):
    assert copy.run("qa").exit_code == 0
    args = (
        "check",
        "--require-engine",
        "offline",
        "--qa",
        "--missing-locales",
        "--junit",
        str(tmp_path / "j.xml"),
        "--report",
        str(tmp_path / "r.json"),
    )
    result = copy.run(*args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert (
        report["ok"] is True
        and report["checks"] == ["up_to_date", "engine=offline", "qa", "locales"]
        and report["passed"] == 4
    )
    data = json.loads(copy.run("check", "--json", "--qa").stdout)
    assert data["ok"] is True and data["gate"]["checks"] == ["up_to_date", "qa"]


def test_fish_project_gate_fails_only_the_scratch_line(tmp_path, fish, fish_env):
    project = make_project(tmp_path / "p", fish)
    assert project.run("build").exit_code == 0
    result = project.run("check", "--require-engine", "fish", "--junit", str(tmp_path / "j.xml"))
    assert result.exit_code == 1
    suite = junit(tmp_path / "j.xml")
    assert suite.get("tests") == "6" and suite.get("failures") == "1"
    assert (
        cases(suite)["harbour.4 [en]"].find("failure").get("message") == "voiced by the offline scratch voice, not fish"
    )


def test_an_actors_recording_passes_require_engine(copy):
    write_sample(copy.root / "recordings/intro.greet.wav", seconds=2.0)
    assert copy.run("build").exit_code == 0
    result = copy.run("check", "--require-engine", "fish")
    assert result.exit_code == 1
    assert (
        "intro.greet" not in result.output and "intro.reply [en]: voiced by the offline scratch voice" in result.output
    )

    rows = [list(row) for row in LINES]
    rows[0][2] = "Hello there, traveller. Welcome to Kerrowan."
    copy.write("dialogue/intro.csv", csv_text(rows))
    assert copy.run("build").exit_code == 0  # the recording still plays...
    stale_take = copy.run("check", "--require-approval")
    assert stale_take.exit_code == 1  # ...but it says the old words
    assert "intro.greet [en]: the recording was made for older text" in stale_take.output


def test_require_approval_fails_lines_whose_approved_take_no_longer_fits(copy):
    assert copy.run("approve", "intro.greet").exit_code == 0
    assert copy.run("check", "--require-approval").exit_code == 0
    rows = [list(row) for row in LINES]
    rows[0][2] = "Hello there, traveller. Welcome to Kerrowan."
    copy.write("dialogue/intro.csv", csv_text(rows))
    assert copy.run("build").exit_code == 0
    assert copy.run("check").exit_code == 0, "built as asked: only the approval gate objects"
    result = copy.run("check", "--require-approval")
    assert result.exit_code == 1
    assert "intro.greet [en]: needs approval: the text changed since a take was approved" in result.output
    assert copy.run("approve", "intro.greet").exit_code == 0
    assert copy.run("check", "--require-approval").exit_code == 0
