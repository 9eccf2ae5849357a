"""`charvoice review`: one static HTML page to listen through every line, no server needed.

The page lists lines by character, then by scene (the script file), in script order; each row
has an <audio> player (a relative link to the asset, so the page works from file:// as long as
it stays beside the assets it was written for), a waveform drawn from the decoded audio (an
inline SVG of WAVE_POINTS peaks on a full-scale axis, so a quiet or clipped line looks it), the
line's words under the waveform (from its timings file: the word being spoken is
highlighted as the line plays; italic when the times are estimated), the text, the writer's
direction and the status (charvoice/status.py) with any QA flags.
Filtering by character, status and locale and a free-text search run in the page itself.

Everything is in the one file: no JavaScript or CSS from elsewhere. All script text is escaped
(it is user input), and a Content-Security-Policy allows only the page's own script and style
(by hash), images from data: URIs and media, so even a mistake in escaping could not run code.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import numpy as np

from charvoice.fsutil import atomic_write_text
from charvoice.pipeline.manifest import AudioEntry
from charvoice.release.status import KEYWORDS, LineStatus

if TYPE_CHECKING:
    from charvoice.pipeline.workspace import Workspace

WAVE_POINTS = 120
WAVE_HEIGHT = 32

STYLE = """
:root { color-scheme: light dark; --muted: #777; --line: #8884; --bad: #c0392b; --warn: #b9770e; --ok: #1e8449; }
[hidden] { display: none !important; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5rem 3rem; }
header { position: sticky; top: 0; background: Canvas; padding: .6rem 0; border-bottom: 1px solid var(--line); z-index: 1; }
h1 { font-size: 1.3rem; margin: .2rem 0; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .3rem; }
h3 { font-size: .95rem; margin: 1rem 0 .3rem; color: var(--muted); font-weight: 600; }
.filters { display: flex; flex-wrap: wrap; gap: .8rem; align-items: center; }
.filters input[type=search] { min-width: 18rem; }
.summary, .source, .locale, small { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .35rem .5rem; border-bottom: 1px solid var(--line); }
td.audio { width: 16rem; }
td.audio audio { width: 15.5rem; height: 2rem; display: block; }
svg.wave { display: block; width: 15.5rem; height: 2rem; color: #2e86c1; }
svg.wave path { stroke: currentColor; stroke-width: 1; fill: none; }
svg.wave line { stroke: var(--line); stroke-width: .5; }
.text { max-width: 36rem; white-space: pre-wrap; }
.badge { display: inline-block; border-radius: .6rem; padding: 0 .5rem; margin: 0 .2rem .2rem 0;
         border: 1px solid currentColor; font-size: .8rem; }
.badge.fresh, .badge.approved, .badge.recorded { color: var(--ok); }
.badge.stale, .badge.missing, .badge.scratch, .badge.unchecked, .badge.needs-approval, .badge.text-changed { color: var(--warn); }
.badge.qa { color: var(--bad); }
ul.flags { margin: .2rem 0 0; padding-left: 1rem; color: var(--bad); }
.noaudio { color: var(--muted); font-style: italic; }
.words { width: 15.5rem; margin: .15rem 0; font-size: .85rem; line-height: 1.5; }
.words .w { border-radius: .2rem; padding: 0 .05rem; }
.words .w.said { color: var(--muted); }
.words .w.now { background: Highlight; color: HighlightText; }
.words[data-source=estimate] { font-style: italic; }
"""

SCRIPT = """
"use strict";
(function () {
  var search = document.getElementById("search");
  var character = document.getElementById("character");
  var status = document.getElementById("status");
  var locale = document.getElementById("locale");
  var count = document.getElementById("count");
  var empty = document.getElementById("empty");
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.line"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("section.scene, section.character"));

  function apply() {
    var words = search.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var who = character.value, what = status.value, where = locale.value;
    var shown = 0;
    rows.forEach(function (row) {
      var ok = (!who || row.dataset.character === who)
        && (!what || row.dataset.status.split(" ").indexOf(what) >= 0)
        && (!where || row.dataset.locale === where)
        && words.every(function (word) { return row.dataset.search.indexOf(word) >= 0; });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    groups.forEach(function (group) {
      group.hidden = !group.querySelector("tr.line:not([hidden])");
    });
    count.textContent = shown + " of " + rows.length + " lines";
    empty.hidden = shown > 0;
  }

  [search, character, status, locale].forEach(function (control) {
    control.addEventListener("input", apply);
    control.addEventListener("change", apply);
  });
  // One line at a time: starting a player pauses the others.
  document.addEventListener("play", function (event) {
    document.querySelectorAll("audio").forEach(function (player) {
      if (player !== event.target) { player.pause(); }
    });
  }, true);
  // The words under the waveform follow the voice: the one being spoken is highlighted (its
  // times come from the build's timings file), every animation frame while the line plays.
  function follow(player) {
    var cell = player.parentNode;
    var words = cell ? cell.querySelectorAll(".words .w") : [];
    var time = player.currentTime;
    Array.prototype.forEach.call(words, function (word) {
      var start = parseFloat(word.dataset.s), end = parseFloat(word.dataset.e);
      var started = time > 0 && time >= start;
      word.classList.toggle("now", started && time < end && !player.ended);
      word.classList.toggle("said", started && (time >= end || player.ended));
    });
  }
  function tick(player) {
    follow(player);
    if (!player.paused && !player.ended) {
      window.requestAnimationFrame(function () { tick(player); });
    }
  }
  document.addEventListener("play", function (event) { tick(event.target); }, true);
  ["timeupdate", "seeked", "pause", "ended"].forEach(function (name) {
    document.addEventListener(name, function (event) { follow(event.target); }, true);
  });
  apply();
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = f"default-src 'none'; script-src {_csp_hash(SCRIPT)}; style-src {_csp_hash(STYLE)}; img-src data:; media-src * file: data: blob:"


def waveform_svg(samples: np.ndarray, points: int = WAVE_POINTS, height: int = WAVE_HEIGHT) -> str:
    """An inline SVG of the peak level in `points` slices of the audio (full scale = full height)."""
    middle = height / 2
    parts = []
    if len(samples):
        edges = np.linspace(0, len(samples), points + 1).astype(int)
        magnitude = np.abs(samples)
        for index in range(points):
            chunk = magnitude[edges[index] : max(edges[index + 1], edges[index] + 1)]
            peak = min(1.0, float(chunk.max(initial=0.0)))
            half = max(0.25, peak * (middle - 0.5))
            parts.append(f"M{index + 0.5:g} {middle - half:.1f}V{middle + half:.1f}")
    return (
        f'<svg class="wave" viewBox="0 0 {points} {height}" preserveAspectRatio="none" role="img" aria-label="waveform">'
        f'<line x1="0" y1="{middle:g}" x2="{points}" y2="{middle:g}"/><path d="{"".join(parts)}"/></svg>'
    )


def _waveform(path: Path, rate: int) -> str | None:
    from charvoice import audio
    from charvoice.errors import AudioError

    try:  # ffmpeg at the assets' own rate: no resampling, and no scipy to import
        return waveform_svg(audio.decode_file(path, rate))
    except (OSError, AudioError):
        return None


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _src(asset: Path, page_dir: Path) -> str:
    relative = os.path.relpath(asset.resolve(), page_dir.resolve())
    return quote(Path(relative).as_posix(), safe="/")


def render(
    workspace: Workspace, statuses: list[LineStatus], target: Path, waves: dict[tuple[str, str], str | None]
) -> str:
    project = workspace.project
    manifest_dir = workspace.manifest.path.parent
    page_dir = target.parent
    names: dict[str, str] = {cid: character.name for cid, character in project.characters.items()}
    locales = sorted({status.line.locale for status in statuses})
    counts = {word: sum(1 for status in statuses if word in status.keywords) for word in KEYWORDS}

    # character (by name) -> scene (in script order) -> rows (in script order)
    tree: dict[str, dict[str, list[LineStatus]]] = {}
    for status in statuses:
        tree.setdefault(status.line.character, {}).setdefault(status.line.file, []).append(status)

    out: list[str] = []
    add = out.append
    title = f"Voice review: {project.config.root.name}"
    add('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')
    add(f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">\n')
    add('<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n')
    add(f"<title>{_e(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header>\n")
    add(f"<h1>{_e(title)}</h1>\n")
    summary = ", ".join(f"{counts[word]} {word}" for word in KEYWORDS if counts[word])
    add(
        f'<p class="summary">{len(statuses)} lines in {len(tree)} characters; {_e(summary)}. '
        f"Written {_e(time.strftime('%Y-%m-%d %H:%M'))}.</p>\n"
    )
    add('<div class="filters" role="search">\n')
    add(
        '<label>Search <input type="search" id="search" placeholder="id, text, direction, source" autocomplete="off"></label>\n'
    )
    add('<label>Character <select id="character"><option value="">all</option>')
    for cid in sorted(tree, key=lambda c: names.get(c, c or "").lower()):
        add(f'<option value="{_e(cid)}">{_e(names.get(cid, cid))}</option>')
    add("</select></label>\n")
    add('<label>Status <select id="status"><option value="">any</option>')
    for word in KEYWORDS:
        if counts[word]:
            add(f'<option value="{_e(word)}">{_e(word)} ({counts[word]})</option>')
    add("</select></label>\n")
    hidden = "" if len(locales) > 1 else " hidden"
    add(f'<label{hidden}>Locale <select id="locale"><option value="">all</option>')
    for locale in locales:
        add(f'<option value="{_e(locale)}">{_e(locale)}</option>')
    add("</select></label>\n")
    add(f'<output id="count">{len(statuses)} of {len(statuses)} lines</output>\n</div>\n</header>\n<main>\n')

    for cid in sorted(tree, key=lambda c: names.get(c, c or "").lower()):
        add(
            f'<section class="character" data-character="{_e(cid)}">\n<h2>{_e(names.get(cid, cid))} <small>{_e(cid)}</small></h2>\n'
        )
        for scene, rows in tree[cid].items():
            add(f'<section class="scene" data-scene="{_e(scene)}">\n<h3>{_e(scene)}</h3>\n<table>\n')
            add(
                "<thead><tr><th>Line</th><th>Audio</th><th>Text</th><th>Direction</th><th>Status</th></tr></thead>\n<tbody>\n"
            )
            for status in rows:
                add(_row(status, manifest_dir, page_dir, waves.get((status.line.id, status.line.locale)), names))
            add("</tbody>\n</table>\n</section>\n")
        add("</section>\n")
    add('<p id="empty" hidden>No line matches the filters.</p>\n</main>\n')
    add(f"<script>{SCRIPT}</script>\n</body>\n</html>\n")
    return "".join(out)


def _row(status: LineStatus, manifest_dir: Path, page_dir: Path, wave: str | None, names: dict[str, str]) -> str:
    line = status.line
    direction = " ".join(line.direction)
    haystack = " ".join(
        [
            line.id,
            line.text,
            direction,
            line.notes,
            line.source,
            names.get(line.character, ""),
            line.character,
            status.label,
        ]
    ).lower()
    keywords = " ".join(status.keywords)
    cells = [
        f'<tr class="line" id="{_e("line-" + line.id + "-" + line.locale)}" data-character="{_e(line.character)}" '
        f'data-status="{_e(keywords)}" data-locale="{_e(line.locale)}" data-search="{_e(haystack)}">'
    ]
    cells.append(
        f'<td class="id"><code>{_e(line.id)}</code> <span class="locale">{_e(line.locale)}</span><br>'
        f'<span class="source">{_e(line.source)}</span></td>'
    )
    path = status.entry.path if status.entry else None
    if path and (manifest_dir / path).is_file():
        words = _words(status.entry, manifest_dir) if status.entry else ""
        player = f'<audio controls preload="none" src="{_e(_src(manifest_dir / path, page_dir))}"></audio>'
        cells.append(f'<td class="audio">{wave or ""}{words}{player}</td>')
    else:
        cells.append('<td class="audio"><span class="noaudio">no audio yet</span></td>')
    notes = f"<br><small>{_e(line.notes)}</small>" if line.notes else ""
    cells.append(f'<td class="text">{_e(line.text)}{notes}</td>')
    sent = status.job.request.text  # what the engine was asked to speak: cues and lexicon included
    said = f'<br><small class="sent">sent: {_e(sent)}</small>' if sent != line.text else ""
    cells.append(f'<td class="direction">{_e(direction)}{said}</td>')
    badges = "".join(f'<span class="badge {_e(word)}">{_e(word)}</span>' for word in status.keywords)
    detail = (
        f"<br><small>{_e(status.label)}</small>" if status.reason or status.marks else ""
    )  # the why, when the badges do not say it
    flags = "".join(f"<li>{_e(flag.get('code', ''))}: {_e(flag.get('message', ''))}</li>" for flag in status.qa_flags)
    cells.append(f'<td class="status">{badges}{detail}{f"<ul class=flags>{flags}</ul>" if flags else ""}</td>')
    cells.append("</tr>\n")
    return "".join(cells)


def _words(entry: AudioEntry, manifest_dir: Path) -> str:
    """The line's text under the waveform, each word a span with its start and end (seconds)."""
    from charvoice.timings.format import LineTimings

    if not entry.timings:
        return ""
    try:
        timings = LineTimings.load(manifest_dir / entry.timings)
    except (OSError, ValueError):
        return ""  # qa reports a missing or broken timings file; the page just goes without
    text, parts, cursor = entry.text, [], 0
    for word in timings.words:
        if not cursor <= word.char_from < word.char_to <= len(text):
            return ""  # timings for another text (stale): better none than wrong ones
        parts.append(_e(text[cursor : word.char_from]))
        spoken = _e(text[word.char_from : word.char_to])
        parts.append(f'<span class="w" data-s="{word.start_s:.3f}" data-e="{word.end_s:.3f}">{spoken}</span>')
        cursor = word.char_to
    parts.append(_e(text[cursor:]))
    title = {
        "engine": "word times from the voice itself",
        "asr": "word times from speech to text",
        "estimate": "word times estimated",
    }
    return f'<div class="words" data-source="{_e(timings.source)}" title="{_e(title.get(timings.source, ""))}">{"".join(parts)}</div>'


def write_review(workspace: Workspace, statuses: list[LineStatus], target: Path | None = None, jobs: int = 4) -> Path:
    """Render the page for `statuses` to `target` (default: review.html beside the manifest)."""
    manifest_dir = workspace.manifest.path.parent
    target = target or manifest_dir / "review.html"
    assets = {}
    for status in statuses:
        path = status.entry.path if status.entry else None
        if path and (manifest_dir / path).is_file():
            assets[(status.line.id, status.line.locale)] = manifest_dir / path
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        rate = workspace.project.config.audio.sample_rate
        waves = dict(zip(assets, pool.map(lambda path: _waveform(path, rate), assets.values()), strict=False))
    atomic_write_text(target, render(workspace, statuses, target, waves))
    return target
