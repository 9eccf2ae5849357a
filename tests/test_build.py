"""charvoice build: what a user sees on the first build, the second, and after edits."""

from __future__ import annotations

import json
import os
from pathlib import Path

from audio_check import duration, loudness, read
from conftest import LINES, csv_text


def test_first_build_of_the_demo_makes_engine_ready_audio(demo, engine_calls):
    result = demo.run("build")
    assert result.exit_code == 0, result.output

    from charvoice.pipeline.workspace import Workspace

    lines = Workspace.open(demo.root).project.lines
    assert {Path(line.file).suffix for line in lines} == {".csv", ".yarn", ".dialogue"}  # one script per format
    assets = demo.assets()
    assert len(assets) == len(lines) == len(engine_calls) >= 20
    manifest = json.loads(demo.manifest.read_text())
    assert manifest["format"] == "charvoice-manifest" and manifest["version"] == 1
    assert set(manifest["characters"]) == {"mara", "tobin", "wren", "narrator"}
    for path in assets:
        assert path.suffix == ".ogg" and path.read_bytes()[:4] == b"OggS"
        assert "Audio: vorbis, 44100 Hz, mono" in ffmpeg_probe(path)  # a second, independent decoder
        _samples, rate, channels = read(path)
        assert (rate, channels) == (44100, 1)
        assert abs(loudness(path) - (-18.0)) <= 1.0, path.name
        entry = manifest["lines"][path.stem]["audio"]["en"]
        assert entry["path"] == path.relative_to(demo.output).as_posix()
        assert abs(entry["duration_s"] - duration(path)) < 0.05
        assert abs(entry["lufs"] - (-18.0)) <= 0.5
        assert entry["engine"] == "offline"
    assert f"Built {len(lines)} lines" in result.output
    # Nothing half-written is left behind.
    assert not [p for p in demo.root.rglob("*.tmp")]


def ffmpeg_probe(path) -> str:
    import subprocess

    import imageio_ffmpeg

    return subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True
    ).stderr


def test_silence_is_trimmed_to_a_short_pad(project):
    assert project.run("build").exit_code == 0
    for path in project.assets():
        samples, rate, _ = read(path)
        level = abs(samples[:, 0])
        voiced = (level > 10 ** (-40 / 20)).nonzero()[0]
        lead, tail = voiced[0] / rate, (len(level) - voiced[-1]) / rate
        assert lead < 0.2 and tail < 0.25, (path.name, lead, tail)


def test_second_build_costs_nothing(project, engine_calls):
    assert project.run("build").exit_code == 0
    assert len(engine_calls) == len(LINES)
    stamps = {p: p.stat().st_mtime_ns for p in project.assets()}
    manifest_before = project.manifest.read_bytes()

    result = project.run("build")
    assert result.exit_code == 0
    assert f"{len(LINES)} lines up to date" in result.output
    assert len(engine_calls) == len(LINES)  # no new engine call
    assert {p: p.stat().st_mtime_ns for p in project.assets()} == stamps  # no re-encode
    assert project.manifest.read_bytes() == manifest_before

    report = json.loads(project.run("build", "--json").stdout)
    assert report["synthesized"] == report["built"] == 0 and report["up_to_date"] == len(LINES)


def test_editing_one_line_rebuilds_exactly_that_line(project, engine_calls):
    assert project.run("build").exit_code == 0
    engine_calls.clear()
    edited = [list(row) for row in LINES]
    edited[2][2] = "Did you bring the parcels from the mainland?"
    project.write("dialogue/intro.csv", csv_text(edited))

    check = project.run("check")
    assert check.exit_code == 1
    assert "intro.ask [en]: text changed" in check.output
    assert "intro.greet" not in check.output

    report = json.loads(project.run("build", "--json").stdout)
    assert engine_calls == ["Did you bring the parcels from the mainland?"]
    assert (report["built"], report["synthesized"], report["up_to_date"]) == (1, 1, len(LINES) - 1)
    manifest = json.loads(project.manifest.read_text())
    assert manifest["lines"]["intro.ask"]["audio"]["en"]["text"] == edited[2][2]

    check = project.run("check")
    assert check.exit_code == 0, check.output
    assert f"All {len(LINES)} lines up to date" in check.output


def test_audio_settings_change_reprocesses_from_cache(project, engine_calls):
    assert project.run("build").exit_code == 0
    engine_calls.clear()
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + '\n[audio]\nloudness_lufs = -14.0\nformat = "wav"\n')

    assert "audio settings changed" in project.run("check").output
    report = json.loads(project.run("build", "--json").stdout)
    assert engine_calls == []
    assert (report["from_cache"], report["synthesized"]) == (len(LINES), 0)
    wavs = [p for p in project.assets() if p.suffix == ".wav"]
    assert len(wavs) == len(LINES)
    for path in wavs:
        assert abs(loudness(path) - (-14.0)) <= 1.0
    # The old .ogg files are now orphans for `clean`; the manifest points at the WAVs.
    manifest = json.loads(project.manifest.read_text())
    assert all(entry["audio"]["en"]["path"].endswith(".wav") for entry in manifest["lines"].values())


def test_mp3_output(project):
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + '\n[audio]\nformat = "mp3"\nloudness_lufs = -20.0\n')
    assert project.run("build").exit_code == 0
    mp3s = project.assets()
    assert len(mp3s) == len(LINES) and all(p.suffix == ".mp3" for p in mp3s)
    for path in mp3s:
        _, rate, channels = read(path)
        assert (rate, channels) == (44100, 1)
        assert abs(loudness(path) - (-20.0)) <= 1.0


def test_dry_run_lists_work_and_writes_nothing(project, engine_calls):
    result = project.run("build", "--dry-run")
    assert result.exit_code == 0
    for line_id, _, _ in LINES:
        assert f"{line_id} [en]" in result.output
    assert "new line" in result.output and "4 to build (4 to synthesise, 0 from cache)" in result.output
    assert engine_calls == [] and not project.output.exists() and not (project.root / ".charvoice").exists()


def test_force_rebuilds_from_cache_without_engine_calls(project, engine_calls):
    assert project.run("build").exit_code == 0
    engine_calls.clear()
    report = json.loads(project.run("build", "--force", "--json").stdout)
    assert (report["built"], report["from_cache"], report["synthesized"]) == (len(LINES), len(LINES), 0)
    assert engine_calls == []


def test_targets_limit_the_build(project, engine_calls):
    project.write("dialogue/second.csv", csv_text([("harbour.bell", "Bram", "Listen. The harbour bell is ringing.")]))
    result = project.run("build", "intro.reply", "--json")
    assert result.exit_code == 0, result.output
    assert engine_calls == ["Thank you. The crossing was longer than I hoped."]
    report = json.loads(project.run("build", str(project.root / "dialogue/second.csv"), "--json").stdout)
    assert report["built"] == 1 and engine_calls[-1] == "Listen. The harbour bell is ringing."
    manifest = json.loads(project.manifest.read_text())
    assert set(manifest["lines"]) == {"intro.reply", "harbour.bell"}

    unknown = project.run("build", "no.such.line")
    assert unknown.exit_code == 2 and "'no.such.line' is neither a line id nor a script" in unknown.output


def test_jobs_option_and_no_temp_files(project):
    report = json.loads(project.run("build", "--jobs", "4", "--json").stdout)
    assert report["built"] == len(LINES)
    leftovers = [p for p in project.root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_each_character_has_its_own_scratch_voice(project):
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(project.root)
    plan = workspace.plan()
    voices = {job.line.character: json.dumps(job.request.voice, sort_keys=True) for job in plan.todo}
    assert voices["aria"] != voices["bram"]
    # The derived voice is deterministic: the same character sounds the same on every machine.
    again = Workspace.open(project.root).plan()
    assert [job.cache_key for job in again.todo] == [job.cache_key for job in plan.todo]


def test_line_locale_is_the_espeak_language(project, engine_calls):
    config = project.root / "charvoice.toml"
    config.write_text(
        config.read_text()
        .replace('locales = ["en"]', 'locales = ["fr"]')
        .replace('default_locale = "en"', 'default_locale = "fr"')
    )
    project.write("dialogue/intro.csv", csv_text([("fr.bonjour", "Aria", "Bonjour, voyageur. Bienvenue au port.")]))
    assert project.run("build").exit_code == 0
    manifest = json.loads(project.manifest.read_text())
    assert manifest["lines"]["fr.bonjour"]["audio"]["fr"]["path"] == "fr/aria/fr.bonjour.ogg"
    assert (project.output / "fr/aria/fr.bonjour.ogg").is_file()


def test_failed_line_is_reported_others_kept_exit_1(project, monkeypatch):
    from charvoice.engines.offline import OfflineEngine
    from charvoice.errors import EngineError

    original = OfflineEngine.synthesize

    def flaky(self, request):
        if "letters" in request.text:
            raise EngineError("the engine choked")
        return original(self, request)

    monkeypatch.setattr(OfflineEngine, "synthesize", flaky)
    result = project.run("build")
    assert result.exit_code == 1
    assert "dialogue/intro.csv:4 intro.ask [en]: the engine choked" in result.output
    assert len(project.assets()) == len(LINES) - 1
    monkeypatch.setattr(OfflineEngine, "synthesize", original)
    report = json.loads(project.run("build", "--json").stdout)
    assert report["built"] == 1 and report["synthesized"] == 1


def test_manifest_revision_grows_with_each_publish(project):
    project.run("build")
    first = json.loads(project.manifest.read_text())
    edited = [list(row) for row in LINES]
    edited[0][2] = "Hello again, traveller."
    project.write("dialogue/intro.csv", csv_text(edited))
    project.run("build")
    second = json.loads(project.manifest.read_text())
    assert second["revision"] > first["revision"]
    assert second["changed"] == ["intro.greet"]


def test_no_key_means_offline_with_a_notice(project):
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('name = "offline"', 'name = "auto"'))
    result = project.run("build")
    assert result.exit_code == 0
    assert result.output.count("FISH_API_KEY is not set: new and changed lines get the offline scratch voice") == 1
    assert os.environ.get("FISH_API_KEY") is None
