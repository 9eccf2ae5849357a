"""charvoice tag: ids written in place, every other byte kept, idempotent, stable when text changes."""

from __future__ import annotations

import json

import pytest
from helpers_formats import DATA, assert_rejected, corpus, make_project, scan

from charvoice.project.tagging import tag_project

# (script, the exact text `tag` inserts, the line it goes on, that line afterwards)
CASES = {
    "harbour.yarn": (
        DATA / "yarn/harbour.yarn",
        [
            (
                " #line:harbour.harbour.dd1d19",
                11,
                "\tTobin: Café's open, if anyone wants one. #line:harbour.harbour.dd1d19",
            ),
            (" #line:harbour.harbour.ac5dd5", 23, "-> Say nothing. #line:harbour.harbour.ac5dd5"),
        ],
    ),
    "harbour.fr.yarn": (  # CRLF and a byte-order mark
        DATA / "yarn/harbour.fr.yarn",
        [
            (
                " #line:harbour.harbour.3b2fe6",
                7,
                "\tTobin: Le café est ouvert, si ça vous dit. #line:harbour.harbour.3b2fe6",
            )
        ],
    ),
    "Sally.yarn": (
        "corpus:yarn/Sally.yarn",  # found at run time: the test skips where ../shared is absent
        [
            (
                " #line:sally.sally.1bbb83",
                6,
                "Sally: just writing a very long line that is so long that it will take the typewriter effect a decentish amount of time to finish so that I can test teh various interrupt handling side of things #line:sally.sally.1bbb83",
            ),
            (" #line:sally.sally.63398e", 7, "Sally: the very next line after the long one #line:sally.sally.63398e"),
        ],
    ),
    "market.dialogue": (  # CRLF, a response with a jump, trailing spaces elsewhere
        DATA / "dialogue_manager/market.dialogue",
        [
            (" [ID:market.market_start.b43107]", 14, "\tCoco: For you,   a discount. [ID:market.market_start.b43107]"),
            (" [ID:market.market_start.f20c7b]", 21, "- Maybe later [ID:market.market_start.f20c7b] => END"),
            (" [ID:market.market_leave.ad3e43]", 30, "The gulls scream overhead. [ID:market.market_leave.ad3e43]"),
        ],
    ),
    "lighthouse.csv": (  # CRLF, quoted cells, a cell spanning two lines
        DATA / "csv/lighthouse.csv",
        [
            (
                "lighthouse.0e02ca",
                5,
                'lighthouse.0e02ca,Mara,"Nobody delivers here, ""courier"".","Personne ne livre ici, « coursier ».",誰もここには届けない。,"suspicious, #angry",',
            )
        ],
    ),
}


def _lines(data: bytes) -> list[str]:
    return data.decode("utf-8-sig").replace("\r\n", "\n").split("\n")


@pytest.mark.parametrize("name", list(CASES))
def test_tag_inserts_ids_and_changes_nothing_else(tmp_path, name):
    source, inserts = CASES[name]
    if isinstance(source, str):
        source = corpus(source.removeprefix("corpus:"))
    project = make_project(tmp_path / "p", {name: source}, locales=("en", "fr", "ja"))
    script = project.root / "dialogue" / name
    original = script.read_bytes()
    provisional = [line.id for line in scan(script, locales=("en", "fr", "ja")).parsed.lines if line.provisional]

    result = project.run("tag")
    assert result.exit_code == 0, result.output
    tagged = script.read_bytes()
    assert f"tagged {len(inserts)} line(s) in 1 script(s)" in result.output
    for inserted, number, expected in inserts:
        assert (
            f"dialogue/{name}:{number}: {inserted.strip(' #[]').removeprefix('line:').removeprefix('ID:')}"
            in result.output
        )
        assert _lines(tagged)[number - 1] == expected
    # Take the inserted text out again: what is left is the original, byte for byte (BOM, CRLF, spaces).
    stripped = tagged
    for inserted, _, _ in inserts:
        assert stripped.count(inserted.encode()) == 1
        stripped = stripped.replace(inserted.encode(), b"", 1)
    assert stripped == original

    # The provisional ids were the ids `tag` wrote: tagging changes no line's id.
    after = scan(script, locales=("en", "fr", "ja"))
    assert (
        not any(line.provisional for line in after.parsed.lines) and after.sites == [] and after.parsed.warnings == []
    )
    assert set(provisional) <= {line.id for line in after.parsed.lines}

    # Idempotent: a second run finds nothing to do and does not touch the file.
    stamp = script.stat().st_mtime_ns
    again = project.run("tag")
    assert again.exit_code == 0 and "Every line has an id." in again.output
    assert script.read_bytes() == tagged and script.stat().st_mtime_ns == stamp


def test_csv_without_an_id_column_gets_one(tmp_path):
    text = 'character,text\r\n# scene 1,\r\nMara,"Hello, Wren."\r\nWren,Hi.\r\n'
    project = make_project(tmp_path / "p", {"scene.csv": text.encode()})
    assert project.run("tag").exit_code == 0
    lines = scan(project.root / "dialogue/scene.csv").parsed.lines
    ids = [line.id for line in lines]
    assert (
        (project.root / "dialogue/scene.csv").read_bytes()
        == f'id,character,text\r\n# scene 1,\r\n{ids[0]},Mara,"Hello, Wren."\r\n{ids[1]},Wren,Hi.\r\n'.encode()
    )
    assert all(line_id.startswith("scene.") for line_id in ids) and not any(line.provisional for line in lines)


def test_check_and_dry_run_write_nothing(tmp_path):
    project = make_project(tmp_path / "p", {"harbour.yarn": DATA / "yarn/harbour.yarn"})
    script = project.root / "dialogue/harbour.yarn"
    before = script.read_bytes()
    check = project.run("tag", "--check")
    assert check.exit_code == 1 and "would tag 2 line(s)" in check.output
    dry = project.run("tag", "--dry-run")
    assert dry.exit_code == 0 and "dialogue/harbour.yarn:11: harbour.harbour.dd1d19" in dry.output
    assert script.read_bytes() == before


def test_a_syntax_error_anywhere_means_no_file_is_tagged(tmp_path):
    project = make_project(
        tmp_path / "p", {"harbour.yarn": DATA / "yarn/harbour.yarn", "broken.dialogue": "~ start\nCoco: [b Hello\n"}
    )
    assert_rejected(project, "dialogue/broken.dialogue:2:7: '[' is never closed", command=("tag",))


def test_new_ids_never_collide_with_existing_ones(tmp_path):
    untagged = "title: Start\n---\nMara: Hello.\n===\n"
    project = make_project(tmp_path / "p", {"a.yarn": untagged})
    taken = scan(project.root / "dialogue/a.yarn").parsed.lines[0].id
    (project.root / "dialogue/b.yarn").write_text(
        f"title: Other\n---\nTobin: Mine. #line:{taken.upper()}\n===\n", encoding="utf-8"
    )
    report = tag_project(project.root)
    [(number, new_id)] = report.files[0].added
    assert number == 3 and new_id.lower() != taken.lower() and new_id.startswith("a.start.")
    assert project.run("build", "--dry-run").exit_code == 0


def test_edited_text_keeps_its_id_and_rebuilds_only_that_line(tmp_path, engine_calls):
    scene = "title: Quay\n---\nMara: The tide is turning.\nTobin: Then we row.\nWren: Wait for me!\n===\n"
    project = make_project(tmp_path / "p", {"quay.yarn": scene})
    first = project.run("build", "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["synthesized"] == 3
    ids_before = sorted(json.loads(project.manifest.read_text())["lines"])

    # Tagging writes the ids the lines already used: nothing to rebuild.
    assert project.run("tag").exit_code == 0
    after_tag = json.loads(project.run("build", "--json").stdout)
    assert (after_tag["synthesized"], after_tag["built"], after_tag["up_to_date"]) == (0, 0, 3)

    script = project.root / "dialogue/quay.yarn"
    script.write_bytes(script.read_bytes().replace(b"Then we row.", b"Then we row, fast."))
    edited = json.loads(project.run("build", "--json").stdout)
    assert (edited["synthesized"], edited["built"], edited["up_to_date"]) == (1, 1, 2)
    assert engine_calls[-1] == "Then we row, fast."
    manifest = json.loads(project.manifest.read_text())
    assert sorted(manifest["lines"]) == ids_before
    assert [entry["audio"]["en"]["text"] for entry in manifest["lines"].values() if entry["character"] == "tobin"] == [
        "Then we row, fast."
    ]


def test_build_warns_about_untagged_lines(tmp_path):
    project = make_project(tmp_path / "p", {"harbour.yarn": DATA / "yarn/harbour.yarn"})
    result = project.run("build", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "warning: dialogue/harbour.yarn: 2 lines have no id (line 11, 23); using provisional ids until `charvoice tag` writes them"
        in result.output
    )
    assert "not voiced: dialogue/harbour.yarn:12: text depends on a runtime value {$gold}; not voiced" in result.output


def test_tag_only_the_scripts_named(tmp_path):
    project = make_project(
        tmp_path / "p",
        {"harbour.yarn": DATA / "yarn/harbour.yarn", "market.dialogue": DATA / "dialogue_manager/market.dialogue"},
    )
    market = (project.root / "dialogue/market.dialogue").read_bytes()
    result = project.run("tag", str(project.root / "dialogue/harbour.yarn"))
    assert result.exit_code == 0 and "tagged 2 line(s) in 1 script(s)" in result.output
    assert (project.root / "dialogue/market.dialogue").read_bytes() == market
    stray = project.run("tag", str(project.root / "charvoice.toml"))
    assert stray.exit_code == 2 and "charvoice.toml is not one of the project's scripts" in stray.output


def test_every_line_the_real_tagger_tags_is_tagged_and_check_fails_until_then(tmp_path):
    # A runtime speaker, a format function, a comment with a '#'-free note, an option, a continued Dialogue Manager line.
    yarn = 'title: Start\n---\n{$speaker}: Good morning.\r\n[plural value={$n} one="an apple" other="% apples"/]\n-> Sure. // warmly\n===\n'
    dialogue = "~ start\nNathan: First line.\n\tSecond line. => END\n{{greeting}}\n"
    project = make_project(tmp_path / "p", {"a.yarn": yarn, "b.dialogue": dialogue})
    check = project.run("tag", "--check")
    assert check.exit_code == 1 and "would tag 5 line(s)" in check.output, check.output
    assert project.run("tag").exit_code == 0
    a = (project.root / "dialogue/a.yarn").read_bytes().decode()
    b = (project.root / "dialogue/b.dialogue").read_bytes().decode()
    tags = [part.split()[0] for part in a.split(" #line:")[1:]]
    assert a == yarn.replace("morning.\r", f"morning. #line:{tags[0]}\r").replace(
        'apples"/]\n', f'apples"/] #line:{tags[1]}\n'
    ).replace("Sure. //", f"Sure. #line:{tags[2]} //")
    keys = [part.split("]")[0] for part in b.split(" [ID:")[1:]]
    assert b == dialogue.replace("First line.\n", f"First line. [ID:{keys[0]}]\n").replace(
        "{{greeting}}\n", f"{{{{greeting}}}} [ID:{keys[1]}]\n"
    )
    assert project.run("tag", "--check").exit_code == 0
