"""charvoice export-script: the CSV a voice director records from, filtered by character and status."""

from __future__ import annotations

import csv
import io

import pytest
from helpers_release import (
    BASIC_CONFIG,
    asset,
    clipped,
    decoded,
    new_project,
    write_ogg,
)

from charvoice.release.export import COLUMNS

SCRIPT = (
    "id,character,text,direction,notes\n"
    'intro.greet,Aria,"Hello there, ""traveller"". Welcome to the harbour.",cheerful,\n'
    'intro.reply,Bram,Thank you. The crossing was longer than I hoped.,tired sighing,"Slow, a long breath first"\n'
    'intro.ask,Aria,Did you bring the letters from the mainland?,,=HYPERLINK("http://x")\n'
    'intro.answer,Bram,"Every one of them, sealed and dry.",proud,\n'
)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = new_project(tmp_path_factory.mktemp("export") / "p")
    project.write("dialogue/intro.csv", SCRIPT)
    result = project.run("build")
    assert result.exit_code == 0, result.output
    return project


def rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    assert tuple(reader.fieldnames) == COLUMNS
    return list(reader)


def export(project, *args) -> list[dict[str, str]]:
    result = project.run("export-script", *args)
    assert result.exit_code == 0, result.output
    return rows(result.stdout)


def test_every_line_in_script_order_with_direction_notes_and_status(copy):
    got = export(copy)
    assert [row["id"] for row in got] == ["intro.greet", "intro.reply", "intro.ask", "intro.answer"]
    greet, reply, ask, _ = got
    assert greet == {
        "id": "intro.greet", "character": "Aria", "text": 'Hello there, "traveller". Welcome to the harbour.', "direction": "cheerful",
        "notes": "", "source": "dialogue/intro.csv:2", "status": "fresh; scratch voice", "locale": "en",
        "sent": 'Hello there, "traveller". Welcome to the harbour.',  # the scratch voice gets no cue
    }  # fmt: skip
    assert (
        reply["direction"] == "tired sighing"
        and reply["notes"] == "Slow, a long breath first"
        and reply["character"] == "Bram"
    )
    # A cell a spreadsheet would run starts with an invisible zero-width space: no stray quote for the actor to read.
    assert ask["notes"] == '\u200b=HYPERLINK("http://x")', "a cell a spreadsheet would run is guarded"
    assert "'" not in ask["notes"]


def test_status_follows_the_scripts_and_qa(copy):
    copy.write(
        "dialogue/intro.csv",
        SCRIPT.replace("longer than I hoped", "shorter than I feared") + "intro.bye,Aria,Goodbye.,,\n",
    )
    greet = asset(copy, "intro.greet")
    write_ogg(greet, clipped(decoded(greet)))
    assert copy.run("qa").exit_code == 1
    status = {row["id"]: row["status"] for row in export(copy)}
    assert status.pop("intro.greet").startswith("fresh; scratch voice; QA flagged: clipping, true_peak")  # (and loud)
    assert status == {
        "intro.reply": "stale (text changed); scratch voice",
        "intro.ask": "fresh; scratch voice",
        "intro.answer": "fresh; scratch voice",
        "intro.bye": "missing; scratch voice",
    }
    assert [row["id"] for row in export(copy, "--status", "stale,missing")] == ["intro.reply", "intro.bye"]
    assert [row["id"] for row in export(copy, "--status", "qa")] == ["intro.greet"]
    assert [row["id"] for row in export(copy, "--status", "fresh", "--character", "bram")] == ["intro.answer"]
    assert [row["id"] for row in export(copy, "--character", "Bram", "--character", "aria", "--status", "missing")] == [
        "intro.bye"
    ]


def test_filters_by_character_name_or_id(copy):
    assert [row["id"] for row in export(copy, "--character", "BRAM")] == ["intro.reply", "intro.answer"]
    assert [row["id"] for row in export(copy, "--character", "aria")] == ["intro.greet", "intro.ask"]
    assert export(copy, "--status", "stale") == []
    unknown = copy.run("export-script", "--character", "Zed")
    assert unknown.exit_code == 2 and "unknown character 'Zed' (characters: aria, bram)" in unknown.output
    bad = copy.run("export-script", "--status", "stael")
    assert bad.exit_code == 2 and "stael" in bad.output and "fresh, stale, missing" in bad.output


def test_output_file_is_written_atomically_for_spreadsheets(copy, tmp_path):
    target = tmp_path / "out" / "script.csv"
    result = copy.run("export-script", "-o", str(target), "--character", "Aria")
    assert result.exit_code == 0 and "wrote 2 lines" in result.output
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    assert [row["id"] for row in rows(data.decode("utf-8"))] == ["intro.greet", "intro.ask"]
    assert data.decode("utf-8").lstrip("\ufeff").replace("\r\n", "\n") == copy.run(
        "export-script", "--character", "Aria"
    ).stdout.replace("\r\n", "\n")
    assert [p.name for p in target.parent.iterdir()] == ["script.csv"]  # no temporary file left


def test_one_row_per_locale_and_no_build_needed(tmp_path):
    project = new_project(tmp_path / "p", config=BASIC_CONFIG.replace('locales = ["en"]', 'locales = ["en", "fr"]'))
    project.write("dialogue/intro.fr.csv", "id,character,text\nintro.greet,Aria,Bonjour.\n")
    got = export(project)
    assert [(row["id"], row["locale"]) for row in got] == [
        ("intro.greet", "en"),
        ("intro.reply", "en"),
        ("intro.ask", "en"),
        ("intro.answer", "en"),
        ("intro.greet", "fr"),
    ]
    assert {row["status"] for row in got} == {"missing; scratch voice"}
    assert [row["text"] for row in export(project, "--locale", "fr")] == ["Bonjour."]
    assert not (tmp_path / "p/game").exists(), "exporting writes nothing into the project"
