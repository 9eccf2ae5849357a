"""Word timings and mouth shapes beside every built line (offline voice, recordings, clean).

What a user (a subtitle or lip-sync node, an animator) relies on: a timings file beside each
asset, named in the manifest; words that index the line's text, in order, inside the audio,
where espeak-ng actually spoke them; a no-op build that touches nothing; a rebuilt line whose
timings follow it; `clean` taking orphaned timings away with their audio.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import soundfile
from audio_check import read
from conftest import LINES, csv_text

from charvoice.text_words import word_spans
from charvoice.timings.align import align, estimate
from charvoice.timings.format import SOURCES, LineTimings, timings_path
from charvoice.visemes import SHAPES, shape_of

FRAME_S = 0.010  # one 10 ms analysis frame


def manifest(project) -> dict:
    return json.loads(project.manifest.read_text())


def timings_of(project, line_id: str, locale: str = "en") -> tuple[dict, LineTimings]:
    entry = manifest(project)["lines"][line_id]["audio"][locale]
    return entry, LineTimings.load(project.output / entry["timings"])


def check_well_formed(entry: dict, timings: LineTimings) -> None:
    text = entry["text"]
    assert abs(timings.duration_s - entry["duration_s"]) < 0.002
    assert [(w.char_from, w.char_to) for w in timings.words] == word_spans(text)
    previous = 0.0
    for word in timings.words:
        assert text[word.char_from : word.char_to] == word.text
        assert previous <= word.start_s <= word.end_s <= timings.duration_s + 1e-9, word
        previous = word.start_s
    times = [time for time, _ in timings.mouth]
    assert times[0] == 0.0 and times == sorted(times) and len(set(times)) == len(times)
    assert {shape for _, shape in timings.mouth} <= set(SHAPES)
    assert timings.mouth[-1][1] == "X" and timings.mouth[-1][0] <= timings.duration_s


def test_every_built_line_gets_timings_beside_its_asset(project):
    result = project.run("build")
    assert result.exit_code == 0, result.output
    for line_id, _, text in LINES:
        entry, timings = timings_of(project, line_id)
        assert entry["timings"] == timings_path(entry["path"])  # en/aria/intro.greet.timings.json
        assert (project.output / entry["timings"]).parent == (project.output / entry["path"]).parent
        raw = json.loads((project.output / entry["timings"]).read_text())
        assert (raw["format"], raw["version"], raw["source"]) == ("charvoice-timings", 1, "engine")
        assert all(len(word) == 5 for word in raw["words"]) and all(len(shape) == 2 for shape in raw["mouth"])
        check_well_formed(entry, timings)
        assert len(timings.words) == len(text.split())
        # Speech fills the line: the last word ends within the padding of the asset's end.
        assert timings.duration_s - timings.words[-1].end_s < 0.25
        # Lips close for the "m" of "Welcome" / "mainland" / "them": a bilabial is an A somewhere.
        assert "A" in {shape for _, shape in timings.mouth}


def _published_offset(raw_wav: bytes, asset, rate: int) -> float:
    """Where the raw engine audio starts in the published asset (negative: trimmed away),
    found by cross-correlating the two signals, independently of the build's own numbers."""
    from scipy import signal

    from charvoice import audio

    raw = audio.decode(raw_wav, rate)
    published, published_rate, _ = read(asset)
    assert published_rate == rate
    published = published[:, 0]
    correlation = signal.correlate(published, raw, mode="full", method="fft")
    lag = int(np.argmax(correlation)) - (len(raw) - 1)
    return lag / rate


def assert_starts_agree_with_espeak(project) -> None:
    """Every word event espeak-ng reported while speaking a line (as the build kept them with
    the raw audio), moved by what trimming cut (found by correlating the cached raw audio with
    the published asset, not from the build's numbers), is where a published word starts,
    within one frame."""
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(project.root)
    plan = workspace.plan()
    assert plan.fresh and not plan.todo
    for job in plan.fresh:
        raw_audio, events = workspace.cache.get(job.cache_key), workspace.cache.timings(job.cache_key)
        assert raw_audio is not None and events is not None and events.source == "engine"
        shift = _published_offset(raw_audio, job.asset_path, workspace.project.config.audio.sample_rate)
        assert shift <= 0.001  # nothing is ever added before the speech but padding
        _, timings = timings_of(project, job.line.id)
        # espeak-ng may speak an unstressed word as one with the next ("the mainland", one
        # event): every event it reported is where a published word starts.
        expected = [max(0.0, word.start_s + shift) for word in events.words]
        starts = [word.start_s for word in timings.words]
        assert len(starts) - 1 <= len(expected) <= len(starts)
        assert all(min(abs(start - event) for start in starts) <= FRAME_S for event in expected), (
            job.line.id,
            starts,
            expected,
        )


def test_word_starts_agree_with_espeak_events_after_trimming_within_one_frame(project):
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + '\n[audio]\nformat = "wav"\npad_ms = 0\n')
    assert project.run("build").exit_code == 0
    assert_starts_agree_with_espeak(project)


def test_a_no_op_build_computes_no_timings_and_a_rebuilt_line_redoes_them(project, engine_calls, monkeypatch):
    assert project.run("build").exit_code == 0
    files = sorted(project.output.rglob("*.timings.json"))
    assert len(files) == len(LINES)
    stamps = {path: path.stat().st_mtime_ns for path in files}

    from charvoice.pipeline import timings

    published = []
    original = timings.publish
    monkeypatch.setattr(timings, "publish", lambda *args: published.append(args[0].line.id) or original(*args))
    engine_calls.clear()
    assert "up to date" in project.run("build").output
    assert published == [] and engine_calls == []
    assert {path: path.stat().st_mtime_ns for path in files} == stamps

    edited = [list(row) for row in LINES]
    edited[0][2] = "Hello again. The harbour is quiet tonight."
    project.write("dialogue/intro.csv", csv_text(edited))
    assert project.run("build").exit_code == 0
    assert published == ["intro.greet"]
    entry, redone = timings_of(project, "intro.greet")
    assert [word.text for word in redone.words] == ["Hello", "again", "The", "harbour", "is", "quiet", "tonight"]
    check_well_formed(entry, redone)
    assert {path: path.stat().st_mtime_ns for path in files if "intro.greet" not in path.name} == {
        path: stamp for path, stamp in stamps.items() if "intro.greet" not in path.name
    }


def test_new_audio_settings_redo_timings_from_the_cache_without_speaking_again(project, engine_calls):
    assert project.run("build").exit_code == 0
    engine_calls.clear()
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + "\n[audio]\npad_ms = 0\nsample_rate = 48000\n")
    assert project.run("build").exit_code == 0
    assert engine_calls == []  # raw audio and raw timings both came from the cache
    for line_id, _, _ in LINES:
        entry, after = timings_of(project, line_id)
        assert after.source == "engine"
        check_well_formed(entry, after)
    assert_starts_agree_with_espeak(project)  # on the new timeline: trimmed to the first sound


def test_a_project_built_before_timings_gets_them_from_the_cache(project, engine_calls):
    assert project.run("build").exit_code == 0
    data = manifest(project)
    for line in data["lines"].values():
        del line["audio"]["en"]["timings"]
    project.manifest.write_text(json.dumps(data))
    for path in project.output.rglob("*.timings.json"):
        path.unlink()
    for path in (project.root / ".charvoice/cache/timings").rglob("*.json"):
        path.unlink()  # nor raw timings: espeak-ng must say the line again (locally) to recover them
    engine_calls.clear()
    check = project.run("check")
    assert "timings missing" in check.output
    result = project.run("build")
    assert result.exit_code == 0 and "4 from cache" in result.output, result.output
    for line_id, _, _ in LINES:
        entry, timings = timings_of(project, line_id)
        assert timings.source == "engine"
        check_well_formed(entry, timings)


def test_a_damaged_timings_file_is_noticed_and_written_again_from_the_cache(project, engine_calls):
    """A timings file cut short (a sync tool, a full disk, a hand edit) would break lip-sync in
    the game: the manifest records its size, `check` fails the line, `build` writes it again."""
    assert project.run("build").exit_code == 0
    for line_id, _, _ in LINES:
        entry, _ = timings_of(project, line_id)
        assert entry["timings_size"] == (project.output / entry["timings"]).stat().st_size
    entry, _ = timings_of(project, "intro.greet")
    damaged = project.output / entry["timings"]
    whole = damaged.read_bytes()
    damaged.write_bytes(whole[: len(whole) // 2])
    engine_calls.clear()
    check = project.run("check")
    assert check.exit_code == 1 and "intro.greet" in check.output and "timings damaged" in check.output, check.output
    result = project.run("build")
    assert result.exit_code == 0 and "1 from cache" in result.output, result.output
    assert engine_calls == []
    entry, timings = timings_of(project, "intro.greet")
    assert damaged.stat().st_size == entry["timings_size"]
    check_well_formed(entry, timings)
    assert project.run("check").exit_code == 0


@pytest.mark.parametrize("damage", ["truncated", "deleted"])
def test_check_fails_a_damaged_timings_file_even_without_the_cache(project, damage):
    """A CI runner has no cache to rebuild from: the line still fails, saying how to fix it."""
    assert project.run("build").exit_code == 0
    for entry in project.cache_entries():
        entry.unlink()
    entry, _ = timings_of(project, "intro.answer")
    target = project.output / entry["timings"]
    if damage == "deleted":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[:-10])
    check = project.run("check")
    assert check.exit_code == 1, check.output
    failed = [line for line in check.output.splitlines() if "intro.answer" in line]
    assert failed and "build --force intro.answer" in check.output, check.output
    assert ("timings damaged" if damage == "truncated" else "timings missing") in check.output
    assert project.run("check", "--json").exit_code == 1


def test_clean_removes_orphaned_timings_with_their_audio(project):
    assert project.run("build").exit_code == 0
    gone = project.output / "en/bram/intro.answer.timings.json"
    stray = project.output / "en/aria/old.line.timings.json"  # named like ours, but not written by charvoice
    stray.write_text("{}")
    assert gone.is_file()
    project.write("dialogue/intro.csv", csv_text(LINES[:3]))
    listed = project.run("clean", "--dry-run")
    assert "intro.answer.timings.json" in listed.output and "old.line.timings.json" not in listed.output
    assert gone.is_file() and stray.is_file()
    assert project.run("clean").exit_code == 0
    assert not gone.exists() and not (project.output / "en/bram/intro.answer.ogg").exists()
    assert stray.read_text() == "{}"  # issue 22: a file charvoice did not write is never removed
    assert (project.output / "en/aria/intro.greet.timings.json").is_file()


def test_a_recording_without_a_key_gets_estimated_timings_over_its_voiced_span(project, engine_calls):
    rate = 48000
    t = np.arange(int(2.0 * rate)) / rate
    voice = 0.1 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 3 * t) > 0)
    recording = project.root / "recordings/intro.reply.wav"
    recording.parent.mkdir()
    soundfile.write(str(recording), np.concatenate([np.zeros(rate), voice, np.zeros(rate)]), rate)
    assert project.run("build").exit_code == 0
    entry, timings = timings_of(project, "intro.reply")
    assert entry["origin"] == "recorded" and timings.source == "estimate"
    check_well_formed(entry, timings)
    assert timings.words[0].start_s < 0.2 and timings.duration_s - timings.words[-1].end_s < 0.2
    assert len(timings.mouth) > len(timings.words)  # shapes from espeak-ng's phonemes of each word


# --- the parts ------------------------------------------------------------------------------


def test_alignment_maps_differently_spelt_and_grouped_words_onto_the_line():
    from charvoice.engines.base import EngineTimings, SpokenWord

    text = "I've waited 42 days, Mr. Reed!"
    # As a recogniser or Fish's alignment would give them: no punctuation, a number written out.
    heard = EngineTimings(
        "asr",
        [
            SpokenWord(0.1, 0.3, "Ive"),
            SpokenWord(0.3, 0.7, "waited"),
            SpokenWord(0.7, 1.0, "forty"),
            SpokenWord(1.0, 1.2, "two"),
            SpokenWord(1.2, 1.5, "days"),
            SpokenWord(1.6, 1.8, "Mister"),
            SpokenWord(1.8, 2.2, "Reed"),
        ],
    )
    words = align(text, heard)
    assert [text[w.char_from : w.char_to] for w in words] == ["I've", "waited", "42", "days", "Mr", "Reed"]
    assert (words[0].start_s, words[0].end_s) == pytest.approx((0.1, 0.3))
    assert words[2].start_s == pytest.approx(0.7) and words[2].end_s == pytest.approx(1.2)  # the gap "forty two" filled
    assert words[-1].end_s == pytest.approx(2.2)
    assert all(a.end_s <= b.start_s + 1e-9 for a, b in itertools.pairwise(words))


def test_estimate_spreads_words_by_length_and_unspaced_scripts_by_character():
    words = estimate("A longer word", 1.0, 2.0)
    assert [w.text for w in words] == ["A", "longer", "word"]
    assert words[0].start_s == 1.0 and words[-1].end_s == pytest.approx(2.0)
    assert words[1].end_s - words[1].start_s > words[2].end_s - words[2].start_s > words[0].end_s - words[0].start_s
    assert [w.text for w in estimate("こんにちは、世界", 0.0, 1.0)] == list("こんにちは世界")


def test_viseme_table():
    assert [
        shape_of(p) for p in ("m", "b", "p", "f", "v", "l", "ˈuː", "əʊ", "ˈɑː", "æ", "ɔː", "ɜː", "s", "iː", "")
    ] == list("AAAGGHFFDCEEBBX")
    assert shape_of("ɔ̃") == "E" and shape_of("ʁ") == "B"  # French nasal vowel and uvular r
    assert set(SOURCES) == {"engine", "asr", "estimate"}


def test_qa_flags_timings_that_do_not_cover_the_speech(project):
    assert project.run("build").exit_code == 0

    def timing_flags() -> dict[str, list[str]]:
        report = json.loads(project.run("qa", "--json").stdout)
        return {line["id"]: [f["message"] for f in line["flags"] if f["code"] == "timings"] for line in report["lines"]}

    assert not any(timing_flags().values())  # what the build wrote covers the speech

    def rewrite(line_id: str, change) -> None:
        path = project.output / manifest(project)["lines"][line_id]["audio"]["en"]["timings"]
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))

    rewrite("intro.greet", lambda d: d.update(words=[[w[0] + 0.8, w[1] + 0.8, *w[2:]] for w in d["words"]]))
    rewrite("intro.reply", lambda d: d.update(words=[d["words"][0], d["words"][2], d["words"][1], *d["words"][3:]]))
    (project.output / "en/aria/intro.ask.timings.json").unlink()
    flags = timing_flags()
    assert any("first word starts at" in m for m in flags["intro.greet"])
    assert any("after the audio" in m for m in flags["intro.greet"])
    assert flags["intro.reply"] == ["the words are out of order"]
    assert flags["intro.ask"] == ["en/aria/intro.ask.timings.json is missing (run `charvoice build`)"]
    assert flags["intro.answer"] == []


def test_an_approved_take_keeps_the_timings_espeak_gave_while_speaking_it(project, engine_calls):
    assert project.run("build").exit_code == 0
    assert project.run("take", "intro.greet", "-n", "2").exit_code == 0
    from charvoice.pipeline.cache import AudioCache

    engine_calls.clear()
    assert project.run("approve", "intro.greet", "--take", "2").exit_code == 0
    assert engine_calls == []  # the take's audio and its events were both kept
    entry, timings = timings_of(project, "intro.greet")
    assert entry["origin"] == "approved" and timings.source == "engine"
    check_well_formed(entry, timings)
    kept = AudioCache(project.root / ".charvoice/cache").timings(entry["source_key"])
    assert kept is not None and len(kept.words) == len(timings.words)


def test_the_demo_projects_lines_all_get_timings_that_cover_their_speech(demo):
    """Yarn, Dialogue Manager and CSV lines, with markup, direction cues and lexicon respellings
    (the engine hears other text than the line shows): words still index the line's own text."""
    assert demo.run("build").exit_code == 0
    data = json.loads(demo.manifest.read_text())
    assert data["lines"]
    for line_id, line in data["lines"].items():
        for entry in line["audio"].values():
            timings = LineTimings.load(demo.output / entry["timings"])
            assert timings.source == "engine", line_id
            check_well_formed(entry, timings)
    report = json.loads(demo.run("qa", "--json").stdout)
    assert [f for line in report["lines"] for f in line["flags"] if f["code"] == "timings"] == []


def test_the_godot_addons_reader_takes_every_file_the_build_writes_as_it_is(project):
    """What the build writes is what the addon reads (charvoice/godot/timings.py is the reference
    for runtime/charvoice_timings.gd): nothing dropped as malformed, nothing reordered."""
    from addon_timings import mouth_at, parse_timings

    assert project.run("build").exit_code == 0
    for line_id, _, _ in LINES:
        entry, ours = timings_of(project, line_id)
        theirs = parse_timings((project.output / entry["timings"]).read_text(encoding="utf-8"), entry["timings"])
        assert theirs.source == ours.source and theirs.duration_s == pytest.approx(ours.duration_s)
        assert [tuple(w) for w in theirs.words] == [tuple(w.to_json()) for w in ours.words]
        assert [tuple(c) for c in theirs.mouth] == [(round(t, 3), s) for t, s in ours.mouth]
        assert mouth_at(theirs.mouth, ours.duration_s) == "X"  # at rest when the line is over


def test_a_first_word_the_engine_did_not_report_starts_with_its_first_sound():
    """espeak-ng now and then reports no event for a line's first word (seen after other
    syntheses in the same process): that word must not start late, with the second one."""
    from charvoice.engines.base import EngineTimings, SpokenWord

    text = "Mind the tide."
    events = EngineTimings(
        "engine",
        [SpokenWord(0.40, 0.55, "the", 5, 8), SpokenWord(0.60, 0.95, "tide", 9, 13)],
        [(0.01, "m"), (0.08, "ˈaɪ"), (0.30, "n"), (0.36, "d"), (0.40, "ð"), (0.46, "ə")],
    )
    words = align(text, events, text)
    assert [w.text for w in words] == ["Mind", "the", "tide"]
    assert words[0].start_s == pytest.approx(0.01) and words[0].end_s == pytest.approx(0.40)
    assert (words[1].start_s, words[2].start_s) == (pytest.approx(0.40), pytest.approx(0.60))
