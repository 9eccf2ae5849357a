"""charvoice review: one self-contained HTML page, checked as a file and in a real headless Chromium
(loaded from file://, no console errors, working filters and search, a player that plays)."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import unquote

import pytest
from browser import console_errors
from helpers_release import (
    LINES,
    asset,
    clipped,
    csv_text,
    decoded,
    new_project,
    write_ogg,
)

from charvoice.release.review import WAVE_POINTS

HOSTILE = 'Mind the <b>tide</b> & the "lamp" <img src=x onerror=window.pwned=1></td><script>window.pwned=2</script>'
DOCK = [("dock.warn", "Bram", HOSTILE), ("dock.sealed", "Aria", "The crates are sealed, all of them.")]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """A built project with two scenes, a QA-flagged line and a stale one, and its review page."""
    project = new_project(tmp_path_factory.mktemp("review") / "p")
    project.write("dialogue/dock.csv", csv_text(DOCK))
    assert project.run("build").exit_code == 0
    greet = asset(project, "intro.greet")
    write_ogg(greet, clipped(decoded(greet)))
    assert project.run("qa").exit_code == 1
    rows = [list(row) for row in LINES]
    rows[1][2] = "Thank you. The crossing was shorter than I feared."
    project.write("dialogue/intro.csv", csv_text(rows))  # intro.reply is stale now
    result = project.run("review")
    assert result.exit_code == 0, result.output
    assert "wrote game/voice/review.html (6 lines)" in result.output
    project.page = project.root / "game/voice/review.html"
    project.html = project.page.read_text(encoding="utf-8")
    return project


def test_the_page_is_one_self_contained_file(page):
    html = page.html
    assert html.count("<script") == 1 and html.count("<style") == 1
    links = re.findall(r'\b(?:src|href)="([^"]*)"', html)
    assert links and all(not re.match(r"[a-z]+://", link) for link in links), "nothing from the network"
    audio = re.findall(r'<audio [^>]*src="([^"]+)"', html)
    assert len(audio) == 6
    for src in audio:
        assert (page.page.parent / unquote(src)).is_file(), src
    assert 'src="en/aria/intro.greet.ogg"' in html
    waves = re.findall(r'<svg class="wave".*?</svg>', html)
    assert len(waves) == 6 and all(wave.count("M") == WAVE_POINTS for wave in waves)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy and "default-src 'none'" in unescape(policy.group(1))


def test_script_text_is_escaped(page):
    html = page.html
    assert "<img src=x" not in html and "<b>tide" not in html and "window.pwned=2</script>" not in html
    assert (
        "Mind the &lt;b&gt;tide&lt;/b&gt; &amp; the &quot;lamp&quot; &lt;img src=x onerror=window.pwned=1&gt;" in html
    )


def test_lines_are_grouped_by_character_then_scene_with_their_status(page):
    html = page.html
    aria, bram = html.index('data-character="aria"'), html.index('data-character="bram"')
    assert aria < bram  # characters by name
    aria_part = html[aria:bram]
    assert aria_part.index('data-scene="dialogue/dock.csv"') < aria_part.index(
        'data-scene="dialogue/intro.csv"'
    )  # scripts in project order
    statuses = dict(re.findall(r'<tr class="line" id="line-([^"]+)-en"[^>]*data-status="([^"]*)"', html))
    assert statuses["intro.greet"] == "fresh scratch qa"
    assert statuses["intro.reply"] == "stale scratch"
    assert statuses["intro.ask"] == "fresh scratch"
    assert "clipping:" in html and "stale (text changed)" in html


def test_the_page_can_live_elsewhere(page, tmp_path):
    target = tmp_path / "reports" / "voice review.html"
    assert page.run("review", "-o", str(target)).exit_code == 0
    html = target.read_text(encoding="utf-8")
    for src in re.findall(r'<audio [^>]*src="([^"]+)"', html):
        assert not src.startswith("/") and (target.parent / unquote(src)).resolve().is_file(), src


def _visible(driver) -> list[str]:
    return driver.execute_script(
        "return Array.prototype.slice.call(document.querySelectorAll('tr.line'))"
        ".filter(function (row) { return row.getClientRects().length > 0; })"
        ".map(function (row) { return row.id.replace(/^line-/, '').replace(/-en$/, ''); });"
    )


def test_in_a_real_browser_filters_search_and_playback_work(page, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = chromium
    driver.get(page.page.as_uri())
    assert driver.title == "Voice review: p"
    assert console_errors(driver) == []
    every = ["dock.sealed", "intro.greet", "intro.ask", "dock.warn", "intro.reply", "intro.answer"]
    assert _visible(driver) == every
    count = driver.find_element(By.ID, "count")
    assert count.text == "6 of 6 lines"

    character, status = Select(driver.find_element(By.ID, "character")), Select(driver.find_element(By.ID, "status"))
    character.select_by_value("bram")
    assert _visible(driver) == ["dock.warn", "intro.reply", "intro.answer"] and count.text == "3 of 6 lines"
    assert not driver.find_element(By.CSS_SELECTOR, 'section.character[data-character="aria"]').is_displayed()
    status.select_by_value("stale")
    assert _visible(driver) == ["intro.reply"]
    assert not driver.find_element(By.CSS_SELECTOR, 'section.scene[data-scene="dialogue/dock.csv"]').is_displayed()
    character.select_by_value("")
    status.select_by_value("qa")
    assert _visible(driver) == ["intro.greet"]
    status.select_by_value("")

    search = driver.find_element(By.ID, "search")
    search.send_keys("SEALED")
    assert _visible(driver) == ["dock.sealed", "intro.answer"]  # text, any case
    search.send_keys(" crates")
    assert _visible(driver) == ["dock.sealed"]  # every word must match
    search.clear()
    search.send_keys("no such words")
    assert (
        _visible(driver) == [] and driver.find_element(By.ID, "empty").is_displayed() and count.text == "0 of 6 lines"
    )
    search.clear()
    search.send_keys("intro.csv:4")  # the source
    assert _visible(driver) == ["intro.ask"]
    search.clear()
    search.send_keys(" ")
    assert _visible(driver) == every

    warn = driver.find_element(By.CSS_SELECTOR, "#line-dock\\.warn-en td.text")
    assert warn.text == HOSTILE and driver.execute_script("return window.pwned === undefined")

    played = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "var player = document.querySelector('#line-intro\\\\.answer-en audio');"
        "player.play().then(function () {"
        "  setTimeout(function () { done({time: player.currentTime, paused: player.paused, error: player.error && player.error.code}); }, 400);"
        "}, function (error) { done({failed: String(error)}); });"
    )
    assert "failed" not in played, played
    assert played["time"] > 0 and played["paused"] is False and played["error"] is None
    assert console_errors(driver) == []
