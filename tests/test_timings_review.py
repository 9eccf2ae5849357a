"""The review page shows each line's words under its waveform and highlights them as it plays
(in a real headless Chromium, from file://, under the page's own Content-Security-Policy)."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from browser import console_errors
from helpers_release import LINES, new_project


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    project = new_project(tmp_path_factory.mktemp("review-words") / "p")
    assert project.run("build").exit_code == 0
    result = project.run("review")
    assert result.exit_code == 0, result.output
    project.page = project.root / "game/voice/review.html"
    project.html = project.page.read_text(encoding="utf-8")
    return project


def timings(project, line_id: str) -> dict:
    manifest = json.loads((project.root / "game/voice/voice_manifest.json").read_text())
    return json.loads((project.root / "game/voice" / manifest["lines"][line_id]["audio"]["en"]["timings"]).read_text())


def test_each_row_shows_its_words_with_their_times(page):
    for line_id, _, text in LINES:
        row = re.search(rf'<tr class="line" id="line-{re.escape(line_id)}-en".*?</tr>', page.html, re.S).group(0)
        words = re.search(r'<div class="words"[^>]*>(.*?)</div>', row, re.S).group(1)
        assert unescape(re.sub(r"<[^>]+>", "", words)) == text  # the whole line, punctuation and all
        spans = re.findall(r'<span class="w" data-s="([\d.]+)" data-e="([\d.]+)">([^<]*)</span>', words)
        expected = timings(page, line_id)["words"]
        assert [(float(s), float(e), unescape(w)) for s, e, w in spans] == [
            (pytest.approx(a, abs=0.001), pytest.approx(b, abs=0.001), w) for a, b, _, _, w in expected
        ]


def test_the_word_being_spoken_is_highlighted_while_the_line_plays(page, chromium):
    driver = chromium
    driver.get(page.page.as_uri())
    assert console_errors(driver) == []
    seen = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "var player = document.querySelector('#line-intro\\\\.greet-en audio');"
        "var samples = [];"
        "function look() {"
        "  var now = player.parentNode.querySelectorAll('.words .w.now');"
        "  samples.push({time: player.currentTime, now: Array.prototype.map.call(now, function (w) {"
        "    return [w.textContent, parseFloat(w.dataset.s), parseFloat(w.dataset.e)]; }),"
        "    said: player.parentNode.querySelectorAll('.words .w.said').length});"
        "  if (player.ended || samples.length > 400) { done(samples); } else { setTimeout(look, 25); }"
        "}"
        "player.play().then(look, function (error) { done('failed: ' + error); });"
    )
    assert isinstance(seen, list), seen
    highlighted = [sample for sample in seen if sample["now"]]
    assert highlighted, seen
    for sample in highlighted:  # never more than one word, and the right one for the time
        assert len(sample["now"]) == 1
        _, start, end = sample["now"][0]
        assert start - 0.1 <= sample["time"] <= end + 0.1, sample
    spoken = []
    for sample in highlighted:
        if not spoken or spoken[-1] != sample["now"][0][0]:
            spoken.append(sample["now"][0][0])
    words = [w for *_, w in timings(page, "intro.greet")["words"]]
    assert (
        spoken == [w for w in words if w in spoken] and len(spoken) >= len(words) - 2
    )  # in order, none skipped but the shortest
    assert seen[-1]["said"] == len(words)  # at the end every word is "said"
    assert console_errors(driver) == []
