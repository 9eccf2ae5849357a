"""Emoji and symbols are shown, not spoken (issue 22, item 8): the engine gets the line without
them, the subtitles keep them, a line of nothing but symbols is skipped with a reason, and QA
flags speech that no word timing covers (a symbol a voice read aloud)."""

from __future__ import annotations

import json

from conftest import csv_text

from charvoice.text_words import speakable

PARTY = ("cup.won", "Aria", "We won the cup! 🎉🏆")


def test_the_engine_hears_no_emoji_and_the_subtitles_keep_them(project, engine_calls):
    project.write("dialogue/intro.csv", csv_text([PARTY, ("cup.hot", "Bram", "It is 30°C ☀️ out there.")]))
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert sorted(engine_calls) == ["It is 30°C out there.", "We won the cup!"]  # ° is read as "degrees": kept
    lines = json.loads(project.manifest.read_text())["lines"]
    assert lines["cup.won"]["audio"]["en"]["text"] == "We won the cup! 🎉🏆"
    timings = json.loads((project.output / lines["cup.won"]["audio"]["en"]["timings"]).read_text())
    assert [word[4] for word in timings["words"]] == ["We", "won", "the", "cup"]
    qa = project.run("qa")
    assert qa.exit_code == 0 and "0 flagged" in qa.output, qa.output


def test_a_line_of_only_symbols_is_skipped_with_its_reason(project, engine_calls):
    project.write("dialogue/intro.csv", csv_text([PARTY, ("cup.cheer", "Bram", "🎉 🎉 ❤️")]))
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert "dialogue/intro.csv:3: no words ('🎉 🎉 ❤️'); not voiced" in result.output  # as `...` is
    assert engine_calls == ["We won the cup!"]
    assert "cup.cheer" not in json.loads(project.manifest.read_text())["lines"]
    assert not list(project.output.rglob("cup.cheer*"))


def test_qa_flags_speech_that_no_word_covers(project, monkeypatch):
    """As before the fix: the scratch voice reads the emoji's names after the last word."""
    import charvoice.project.speech_text as speech_text

    monkeypatch.setattr(speech_text, "speakable", lambda text: text)
    project.write("dialogue/intro.csv", csv_text([("cake", "Aria", "Happy birthday! 🎉🎂")]))
    assert project.run("build").exit_code == 0
    qa = project.run("qa")
    assert qa.exit_code == 1, qa.output
    assert "dialogue/intro.csv:2: speech at " in qa.output and "is covered by no word" in qa.output


def test_text_without_symbols_is_sent_unchanged():
    """Unchanged text keeps its cache key: no line is voiced (and paid for) again."""
    for text in ["Two  spaces stay.", "Naïve café, 42 — “quoted” …", "日本語のテキスト", "Cost: $5 + 20%"]:
        assert speakable(text) == text
    assert speakable("Family 👨‍👩‍👧 and flag 🇫🇷, keycap 1️⃣!") == "Family and flag, keycap 1!"
