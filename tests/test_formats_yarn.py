"""Yarn Spinner 2 scripts: the exact lines a real script and our own corpus give, and every error's place."""

from __future__ import annotations

import json

import pytest
from helpers_formats import DATA, L, assert_rejected, corpus, make_project, scan

from charvoice.errors import InputError


def test_sally_from_the_yarn_spinner_samples():
    result = scan(corpus("yarn/Sally.yarn"), player="player")
    src = "dialogue/Sally.yarn:"
    assert result.parsed.lines == [
        L(
            "sally.sally.1bbb83",
            "Sally",
            "just writing a very long line that is so long that it will take the typewriter effect a decentish amount of time to finish so that I can test teh various interrupt handling side of things",
            src + "6",
            provisional=True,
        ),
        L("sally.sally.63398e", "Sally", "the very next line after the long one", src + "7", provisional=True),
        L("794945", "Player", "Hey, Sally.", src + "9"),
        L("2dc39b", "Sally", "Uah!", src + "10"),
        L("34de2f", "Sally", "You snuck up on me.", src + "11"),
        L("dcc2bc", "Sally", "Don't do that.", src + "12"),
        L("a8e70c", "Player", "Hey.", src + "14"),
        L("305cde", "Sally", "Hi.", src + "15"),
        # Options name no speaker: the project's player character says them.
        L("5d7a7c", "player", "Anything exciting happen on your watch?", src + "19"),
        L("0a7e39", "player", "Sorry about the console.", src + "21"),
        L("0facf7", "player", "See you later.", src + "23"),
        L("8c3f98", "Sally", "Not really.", src + "32"),
        L("24c418", "Sally", "Same old nebula, doing the same old thing.", src + "33"),
        L("df4eaf", "Sally", "Oh, Ship wanted to see you. Go say hi to it.", src + "34"),
        L("1fea6c", "Player", "Already done!", src + "37"),
        L("5df323", "Sally", "Go say hi again.", src + "38"),
        L("60c282", "Sally", "Bye.", src + "47"),
        L("d7df49", "Sally", "Yeah. Don't do it again.", src + "55"),
    ]
    # The file has 16 #line: tags (13 spoken lines, 3 options) and 2 untagged lines at the top of node Sally.
    assert sum(not line.provisional for line in result.parsed.lines) == 16
    assert result.parsed.warnings == [
        "dialogue/Sally.yarn: 2 lines have no id (line 6, 7); using provisional ids until `charvoice tag` writes them"
    ]
    assert result.parsed.skipped == []


def test_shadow_lines_from_the_yarn_spinner_tests():
    result = scan(corpus("yarn/ShadowLines.yarn"))
    assert result.parsed.lines == [
        L("source", "narrator", "This is a line.", "dialogue/ShadowLines.yarn:3"),
        L("source~shadow1", "narrator", "This is a line.", "dialogue/ShadowLines.yarn:8", audio_of="source"),
    ]
    assert result.sites == [] and result.parsed.warnings == []


def test_our_harbour_scene():
    result = scan(DATA / "yarn/harbour.yarn")
    src = "dialogue/harbour.yarn:"
    assert result.parsed.lines == [
        L("harbour.fog", "narrator", "The fog rolls in off the water.", src + "7"),
        L("harbour.mara_nobody", "Mara", "Nobody delivers to Kerrowan Light.", src + "8", "suspicious"),
        L("harbour.wren_paid", "Wren", "Well, somebody paid for this one.", src + "9"),
        L("harbour.mara_pays", "Mara", "Nobody pays for anything here.", src + "10", "angry", comment="she is lying"),
        L("harbour.harbour.dd1d19", "Tobin", "Café's open, if anyone wants one.", src + "11", provisional=True),
        L("harbour.mara_again", "Mara", "Back again?", src + "15", "tone:sarcastic"),
        L("harbour.opt_lamp", "wren", "Ask about the lamp.", src + "18"),
        L("harbour.mara_lamp", "Mara", "The lamp is my business.", src + "19", "whispering", "camera:close"),
        L("harbour.opt_parcel", "Wren", "Hand over the parcel.", src + "21"),
        L("harbour.mara_finally", "Mara", "Finally. Give it here.", src + "22", "excited"),
        L("harbour.harbour.ac5dd5", "wren", "Say nothing.", src + "23", provisional=True),
        L("harbour.mara_suit~shadow1", "Mara", "Suit yourself.", src + "24", audio_of="harbour.mara_suit"),
        L("harbour.mara_suit", "Mara", "Suit yourself.", src + "30"),
        L("harbour.mei_lamp", "Mei", "灯塔的灯又灭了。", src + "31", "worried"),
        L("harbour.tobin_price", "Tobin", "The price is 5 [gold] and a #1 smile.", src + "32"),
    ]
    assert result.parsed.skipped == [
        src + "12: text depends on a runtime value {$gold}; not voiced",
        src
        + '13: text depends on a runtime value [plural value={$count} one="% letter" other="% letters"]; not voiced',
    ]


def test_translation_with_crlf_and_byte_order_mark():
    result = scan(DATA / "yarn/harbour.fr.yarn", locales=("en", "fr"))
    src = "dialogue/harbour.fr.yarn:"
    lines = result.parsed.lines
    assert {line.locale for line in lines} == {"fr"}
    assert [(line.id, line.text) for line in lines] == [
        ("harbour.fog", "Le brouillard monte de l'eau."),
        ("harbour.mara_nobody", "Personne ne livre au phare de Kerrowan."),
        ("harbour.wren_paid", "Eh bien, quelqu'un a payé pour celui-ci."),
        ("harbour.mara_pays", "Personne ne paie rien ici."),
        ("harbour.harbour.3b2fe6", "Le café est ouvert, si ça vous dit."),
        ("harbour.mara_again", "Encore vous ?"),
        ("harbour.opt_lamp", "Demander à propos de la lampe."),
        ("harbour.mara_lamp", "La lampe, c'est mon affaire."),
        ("harbour.opt_parcel", "Donner le colis."),
        ("harbour.mara_finally", "Enfin. Donnez-le-moi."),
        ("harbour.mara_suit", "Comme vous voulez."),
        ("harbour.mei_lamp", "灯塔的灯又灭了。"),
    ]
    assert lines[0] == L("harbour.fog", "narrator", "Le brouillard monte de l'eau.", src + "3", locale="fr")
    assert lines[-1].source == src + "17"


def test_comments_commands_and_blank_lines_are_not_lines(tmp_path):
    path = tmp_path / "start.yarn"
    text = "title: Start\n---\n// a comment\n\n<<wait 1>>\n   <<set $x to 1>>   \nHi. #line:a // said softly\nFog. #line:b // note: no speaker\nhttp://x.y #line:c\n===\n"
    path.write_text(text, encoding="utf-8")
    assert scan(path).parsed.lines == [
        L("a", "narrator", "Hi.", "dialogue/start.yarn:7", comment="said softly"),
        L("b", "narrator", "Fog.", "dialogue/start.yarn:8", comment="note: no speaker"),
    ]
    # As Yarn Spinner's lexer reads it: `http:` names a speaker and `//x.y #line:c` is a comment (write http:\/\/x.y).
    assert scan(path).parsed.skipped == ["dialogue/start.yarn:9: no text to speak"]


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("title: A\n---\nMara: Hello {$name #line:a\n===\n", "bad.yarn:3:13", "'{' is never closed"),
        ("title: A\n---\nMara: Hello <<if $x #line:a\n===\n", "bad.yarn:3:13", "'<<' is never closed"),
        ("title: A\n---\n    Mara: [b Hello #line:a\n===\n", "bad.yarn:3:11", "markup '[' is never closed"),
        ("title: A\n---\nMara: Hello #line:a #line:b\n===\n", "bad.yarn:3:21", "a line may have only one #line: tag"),
        ("title: A\n---\nMara: Item #3 is here. #line:a\n===\n", "bad.yarn:3:15", "text after the hashtag '#3'"),
        ("title: A\n---\nMara: Hello #line:a\n", "bad.yarn:1:1", "node 'A' is never closed with ==="),
        ("\n  <<wait 1>>\n", "bad.yarn:2:3", "expected a node header"),
        ("Mara: Hello\n", "bad.yarn:1:1", "node headers are not followed by ---"),
        ("tags: x\n---\nHi\n===\n", "bad.yarn:2:1", "node has no 'title:' header"),
        ("title: A\nMara hi there\n---\n===\n", "bad.yarn:2:1", "expected a header"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, text, where, message):
    project = make_project(tmp_path / "p", {"bad.yarn": text})
    assert_rejected(project, f"dialogue/{where}: {message}")


def test_duplicate_ids_name_both_places(tmp_path):
    project = make_project(
        tmp_path / "p",
        {"a.yarn": "title: A\n---\nMara: One. #line:x\n===\n", "b.yarn": "title: B\n---\nMara: Two. #line:x\n===\n"},
    )
    assert_rejected(project, "dialogue/b.yarn:3: duplicate line id 'x': also at dialogue/a.yarn:3")


def test_shadow_of_an_unknown_line_is_an_error(tmp_path):
    project = make_project(tmp_path / "p", {"a.yarn": "title: A\n---\nMara: One. #shadow:nowhere\n===\n"})
    assert_rejected(project, "dialogue/a.yarn:3: shadow line refers to line 'nowhere', which no script defines")


def test_options_need_the_player_character(tmp_path):
    project = make_project(tmp_path / "p", {"a.yarn": "title: A\n---\n-> Leave. #line:leave\n===\n"}, player="hero")
    assert_rejected(
        project, "dialogue/a.yarn:3: unknown character 'hero'", "player choices are spoken by project.player_character"
    )


def test_the_corpus_builds_one_asset_for_a_shadowed_line(tmp_path, engine_calls):
    project = make_project(tmp_path / "p", {"ShadowLines.yarn": corpus("yarn/ShadowLines.yarn")})
    result = project.run("build", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["synthesized"] == 1 and engine_calls == ["This is a line."]
    manifest = json.loads(project.manifest.read_text())
    assert list(manifest["lines"]) == ["source"]
    assert [p.name for p in project.assets()] == ["source.ogg"]


# --- as Yarn Spinner's lexer, parser and tagger read it (see also test_formats_corpus.py) ---


def _yarn(tmp_path, body: str, player: str = "player"):
    path = tmp_path / "scene.yarn"
    path.write_text(f"title: Start // the first node\n---\n{body}===\n", encoding="utf-8")
    return scan(path, player=player)


def test_comments_start_wherever_yarn_says(tmp_path):
    result = _yarn(tmp_path, "Mae: Hi. #line:a // tentative\nMae: Bye #tag//comment\nMae: Url http:\\/\\/x.y\n")
    assert [(line.text, line.direction, line.notes) for line in result.parsed.lines] == [
        ("Hi.", (), "tentative"),
        ("Bye", ("tag",), "comment"),
        ("Url http://x.y", (), ""),
    ]
    assert all(".start." in line.id for line in result.parsed.lines[1:]), (
        "the header comment is not part of the node name"
    )


def test_a_mid_line_hash_is_an_error_as_in_yarn(tmp_path):
    project = make_project(tmp_path / "p", {"bad.yarn": "title: A\n---\nMara: Item #3 is on the left. #line:a\n===\n"})
    assert_rejected(
        project,
        "dialogue/bad.yarn:3:15: text after the hashtag '#3': Yarn Spinner reads '#' as the start of the line's tags (write \\# for a literal '#')",
    )
    project = make_project(tmp_path / "q", {"bad.yarn": "title: A\n---\nMara: <color=#fff>Red</color>\n===\n"})
    assert_rejected(project, "dialogue/bad.yarn:3:", "write \\# inside <...> styling")


def test_angle_bracket_rich_text_is_markup_not_speech(tmp_path):
    body = "Mae: <shake=.01>HA HA, NO I'M FINE.</shake> #line:a\nMae: <b>Bold</b> and <color=\\#fff>white</color>, <size=120%>big</size>. #line:b\nMae: I <3 you, 2 < 3 > 1. #line:c\n"
    assert [line.text for line in _yarn(tmp_path, body).parsed.lines] == [
        "HA HA, NO I'M FINE.",
        "Bold and white, big.",
        "I <3 you, 2 < 3 > 1.",
    ]


def test_lines_made_only_of_runtime_values_are_listed_as_skipped(tmp_path):
    body = 'Select: [select value={$g} male="male" female="female" other="other"/]\n[plural value={$n} one="one" other="other"/]\n-> [ordinal value={$o} one="one" other="other"/]\n{$name}\n'
    result = _yarn(tmp_path, body)
    assert result.parsed.lines == []
    assert [entry.split(": ", 1)[0] for entry in result.parsed.skipped] == [
        f"dialogue/scene.yarn:{n}" for n in (3, 4, 5, 6)
    ]
    assert "runtime value [select value={$g}" in result.parsed.skipped[0]
    assert len(result.sites) == 4, "the real tagger tags them all"


def test_a_runtime_speaker_is_tagged_and_voiced_through_a_speaker_hashtag(tmp_path):
    result = _yarn(tmp_path, "{$speaker}: Good morning.\n{$speaker}: Good night. #speaker:Mae #happy\n")
    assert [site.line for site in result.sites] == [3, 4]
    assert result.parsed.skipped == []  # the project's [speakers] runtime table decides (test_speakers.py)
    runtime, line = result.parsed.lines
    assert (runtime.runtime_speaker, runtime.text) == ("{$speaker}", "Good morning.")
    assert (line.character, line.text, line.direction, line.runtime_speaker) == ("Mae", "Good night.", ("happy",), "")


def test_the_speaker_is_everything_before_the_first_unescaped_colon(tmp_path):
    """Yarn Spinner's implicit-character rule (LineParser: `^((?:[^:\\\\]|\\\\.)*):\\s*`), however long
    the name; one deliberate difference: a colon inside styling that closes after it is narration."""
    long_name = "The keeper of the northern lighthouse, who has not slept in three days"
    result = _yarn(
        tmp_path,
        f"{long_name}: Go. #line:a\n"
        "[b]Sally[/b]: Bold name. #line:b\n"
        "Time\\: noon. #line:c\n"
        "<b>ENDING 4/5: the quiet shore</b> #line:d\n",
    )
    got = [(line.character, line.text) for line in result.parsed.lines]
    assert got == [
        (long_name, "Go."),
        ("[b]Sally[/b]", "Bold name."),  # mapped like any name: [speakers] aliases (init writes one)
        ("narrator", "Time: noon."),
        ("narrator", "ENDING 4/5: the quiet shore"),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<<if $a>>\nHi. #line:a\n", "3:1: <<if>> is never closed with <<endif>> before the end of node 'Start'"),
        ("Hi. #line:a\n<<endif>>\n", "4:1: <<endif>> without an <<if>> before it"),
        ("<<set $x to >>\n", "3:1: <<set>> needs a variable and a value"),
        ("Say \\n twice. #line:a\n", "3:5: '\\n' is not an escape Yarn Spinner knows"),
        ('Say \\"hi\\". #line:a\n', "3:5: '\\\"' is not an escape Yarn Spinner knows"),
    ],
)
def test_what_the_compiler_refuses_is_an_error(tmp_path, body, message):
    with pytest.raises(InputError) as error:
        _yarn(tmp_path, body)
    assert f"dialogue/scene.yarn:{message}" in str(error.value)
