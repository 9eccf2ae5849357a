"""CSV and TSV tables, including Godot translation CSVs with a column per locale."""

from __future__ import annotations

import pytest
from helpers_formats import DATA, L, assert_rejected, make_project, scan

LOCALES = ("en", "fr", "ja")


def test_godot_translation_table_with_a_column_per_locale():
    result = scan(DATA / "csv/lighthouse.csv", locales=LOCALES)
    src = "dialogue/lighthouse.csv:"
    mara = dict(provisional=True, notes="")
    assert result.parsed.lines == [
        L(
            "lh.intro",
            "Narrator",
            "The ferry left Wren on the rock at dusk.",
            src + "3",
            "calm",
            notes="Opening narration",
        ),
        L(
            "lh.intro",
            "Narrator",
            "Le ferry laissa Wren sur le rocher au crépuscule.",
            src + "3",
            "calm",
            locale="fr",
            notes="Opening narration",
        ),
        L(
            "lh.intro",
            "Narrator",
            "夕暮れ、フェリーはレンを岩の上に残した。",
            src + "3",
            "calm",
            locale="ja",
            notes="Opening narration",
        ),
        L("lh.knock", "Wren", "Hello? Is anyone up there?", src + "4", notes="No ja yet"),
        L("lh.knock", "Wren", "Bonjour ? Il y a quelqu'un ?", src + "4", locale="fr", notes="No ja yet"),
        L("lighthouse.0e02ca", "Mara", 'Nobody delivers here, "courier".', src + "5", "suspicious", "angry", **mara),
        L(
            "lighthouse.0e02ca",
            "Mara",
            "Personne ne livre ici, « coursier ».",
            src + "5",
            "suspicious",
            "angry",
            locale="fr",
            **mara,
        ),
        L("lighthouse.0e02ca", "Mara", "誰もここには届けない。", src + "5", "suspicious", "angry", locale="ja", **mara),
        # A quoted cell spanning two lines: the row's source is where it starts.
        L("lh.ladder", "Tobin", "The ladder's in the sea. Long story.", src + "7", "cheerful", notes="Multi-line cell"),
    ]
    assert result.parsed.warnings == [
        "dialogue/lighthouse.csv: line has no id (line 5); using provisional ids until `charvoice tag` writes them"
    ]


def test_single_locale_tsv_named_for_its_locale(tmp_path):
    path = tmp_path / "quay.fr.tsv"
    path.write_text(
        "id\tspeaker\ttext\ttags\n# commentaire\nquay.1\tMara\t  Bonjour,   le  quai !  \t#calm whisper\n",
        encoding="utf-8",
    )
    assert scan(path, locales=("en", "fr")).parsed.lines == [
        L("quay.1", "Mara", "Bonjour, le quai !", "dialogue/quay.fr.tsv:3", "calm", "whisper", locale="fr"),
    ]


def test_unconfigured_locale_column_is_reported(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("keys,character,en,de\na,Mara,Hi,Hallo\n", encoding="utf-8")
    result = scan(path, locales=("en",))
    assert [line.locale for line in result.parsed.lines] == ["en"]
    assert result.parsed.warnings == [
        "dialogue/t.csv:1: column 'de' looks like a locale but is not in project.locales; ignored"
    ]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('id,character,text\na,Mara,"Hello\n', "bad.csv:2:8", "quoted cell is never closed"),
        ('id,character,text\na,Mara,"Hello" there\n', "bad.csv:2:15", "unexpected ' ' after a closing quote"),
        ("id,character,text\na\x01b,Mara,Hello\n", "bad.csv:2:1", "line id 'a\\x01b' contains a control character"),
        ("id,character,text\na,,Hello\n", "bad.csv:2:2", "no character for this line"),
        ("id,text\na,Hello\n", "bad.csv:1:1", "header row lacks column(s) character"),
        ("id,character,text,en\na,Mara,Hello,Hi\n", "bad.csv:1:4", "both a 'text' column and a 'en' column"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, text, where, message):
    project = make_project(tmp_path / "p", {"bad.csv": text})
    assert_rejected(project, f"dialogue/{where}: {message}")
