"""Benchmark: the Godot addon's start-up, first play() and memory as the dialogue grows, in Godot 4.6.

Side by side in one engine run (the official 4.6 web template in headless Chromium, the test
suite's harness: tests/godot_engine.py), for each data set: the time the CharVoice autoload's
_ready takes (a fresh instance of the autoload script added to the tree: it reads the manifest),
the time of its first play() of a line in the middle of the dialogue, and the engine's memory
(OS.get_static_memory_usage) that the manifest costs once ready and after that play. Medians of
--runs runs, each on a fresh instance.

Data sets, written by charvoice's own manifest writer (Manifest.publish: about 620 bytes a line
per locale, with the runtime form beside it): --small lines in one locale and --lines lines in
--locales locales, each read lazily from the runtime form ("after"); and, as the addon read them
before the runtime form existed, the whole manifest parsed ("before"), for the small set and for
--lines lines in one locale (the size issue 27 measured; ten locales parsed whole would be ten
times that). Every line points at the same short Ogg file (played from the file: nothing is
imported without an editor).

Prints one JSON object; "skipped" says why when there is no Chromium, npm or template.

Usage: python bench/godot_startup.py [--lines 50000] [--locales 10] [--small 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from godot_pck import folder_files  # noqa: E402

from charvoice.pipeline.manifest import AudioEntry, Manifest  # noqa: E402
from charvoice.pipeline.runtime_index import runtime_dir  # noqa: E402

ADDON = REPO / "plugin_godot/addons/charvoice"
PROJECT = """config_version=5

[application]
config/name="charvoice start-up bench"
run/main_scene="res://bench_main.tscn"

[audio]
driver/driver="Dummy"
"""
SCENE = """[gd_scene load_steps=2 format=3]

[ext_resource type="Script" path="res://bench_main.gd" id="1"]

[node name="Main" type="Node"]
script = ExtResource("1")
"""
# Times every data set --runs times (after one unrecorded warm-up play: script compilation, the
# Ogg decoder) and prints one JSON line the bench reads back. With MEMORY, one set once: the
# engine's linear memory (WebAssembly memory only grows: its size is the peak) before and after.
MAIN = """extends Node

const Runtime := preload("res://addons/charvoice/runtime/charvoice.gd")
const SETS := %(sets)s
const RUNS := %(runs)d
const MEMORY := %(memory)s


func _ready() -> void:
	var report := {"engine": Engine.get_version_info()["string"]}
	if MEMORY:
		var name: String = SETS.keys()[0]
		var before := _wasm_bytes()
		await _measure(SETS[name]["manifest"], SETS[name]["line"], false)
		report["memory"] = {"before_mb": before / 1048576.0, "after_mb": _wasm_bytes() / 1048576.0}
	else:
		var first: String = SETS.keys()[0]
		await _measure(SETS[first]["manifest"], SETS[first]["line"], true)  # warm-up
		var results := {}
		for name: String in SETS:
			var runs: Array = []
			for i in RUNS:
				runs.append(await _measure(SETS[name]["manifest"], SETS[name]["line"], true))
			results[name] = runs
		report["runs"] = results
	print("CHARVOICE-BENCH " + JSON.stringify(report))
	get_tree().quit(0)


func _wasm_bytes() -> int:
	return int(JavaScriptBridge.eval("engine.rtenv.HEAP8.length", true))


func _measure(manifest_path: String, line_id: String, free_after: bool) -> Dictionary:
	await get_tree().process_frame
	var voice: Runtime = Runtime.new()
	voice.manifest_path = manifest_path
	var started := Time.get_ticks_usec()
	add_child(voice)  # _ready: what the autoload does at every game start
	var ready_us := Time.get_ticks_usec() - started
	started = Time.get_ticks_usec()
	var player := voice.play(line_id)
	var play_us := Time.get_ticks_usec() - started
	var result := {
		"ready_ms": ready_us / 1000.0,
		"first_play_ms": play_us / 1000.0,
		"played": player != null,
		"lazy": voice.manifest.is_lazy(),
	}
	voice.stop("", 0.0)
	if free_after:
		remove_child(voice)
		voice.free()
	return result
"""


def tone_ogg() -> bytes:
    """One second of a quiet tone as Ogg Vorbis (the line every entry points at)."""
    rate = 22050
    samples = 0.1 * np.sin(2 * np.pi * 440 * np.arange(rate) / rate)
    out = io.BytesIO()
    soundfile.write(out, samples.astype(np.float32), rate, format="OGG", subtype="VORBIS")
    return out.getvalue()


def write_set(folder: Path, lines: int, locales: int, *, runtime: bool) -> str:
    """A voice folder with `lines` lines in `locales` locales, as charvoice writes it; the id of
    a line in the middle. Without `runtime`, the runtime form is removed (an older build)."""
    codes = ["en", "fr", "de", "es", "it", "ja", "ko", "pt_BR", "zh_Hans", "ru"][:locales]
    manifest = Manifest(folder / "voice_manifest.json", default_locale="en", locales=codes)
    manifest.characters = {f"c{n}": f"Character {n}" for n in range(20)}
    for number in range(lines):
        line_id = f"chapter{number // 500:03d}.line{number:05d}"
        for locale in codes:
            manifest.set_entry(
                line_id,
                f"c{number % 20}",
                f"dialogue/chapter{number // 500:03d}.csv:{number % 500 + 2}",
                locale,
                AudioEntry(
                    path="tone.ogg",
                    text=f"Line {number} of the dialogue, as long as a line of a real script is.",
                    duration_s=1.0,
                    key=f"{number:064x}",
                    source_key=f"{number + 1:064x}",
                    lufs=-18.0,
                    engine="offline",
                    timings=f"{locale}/c{number % 20}/{line_id}.timings.json",
                    size=20480,
                    sha256=f"{number + 2:064x}",
                    timings_size=900,
                ),
            )
    manifest.publish([])
    if not runtime:
        shutil.rmtree(runtime_dir(manifest.path))
    (folder / "tone.ogg").write_bytes(tone_ogg())
    return f"chapter{lines // 2 // 500:03d}.line{lines // 2:05d}"


def engine():
    """The harness's Godot runner on a fresh headless Chromium, or the reason there is none."""
    import pytest
    from browser import FLAGS, _binaries
    from godot_engine import Godot, template

    try:
        from selenium import webdriver
    except ImportError:
        return None, None, "selenium is not installed (pip install -e '.[test]')"
    browser, driver_path = _binaries()
    if browser is None or driver_path is None:
        return None, None, "no chromium/chromedriver (apt-get install chromium chromium-driver)"
    try:
        folder = template()
    except pytest.skip.Exception as skipped:
        return None, None, str(skipped)
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    profile = tempfile.mkdtemp(prefix="charvoice-bench-chromium-")
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(30)
    return Godot(driver, folder), (driver, profile), None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--locales", type=int, default=10)
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    godot, cleanup, reason = engine()
    if godot is None:
        print(json.dumps({"skipped": reason}))
        return
    try:
        with tempfile.TemporaryDirectory(prefix="charvoice-bench-godot-") as work:
            root = Path(work)
            specs = {
                f"after_{args.small}x1": (args.small, 1, True),
                f"after_{args.lines}x{args.locales}": (args.lines, args.locales, True),
                f"before_{args.small}x1": (args.small, 1, False),
                f"before_{args.lines}x1": (args.lines, 1, False),
            }
            data: dict[str, dict[str, object]] = {}
            sets: dict[str, dict[str, str]] = {}
            for name, (lines, locales, runtime) in specs.items():
                started = time.monotonic()
                line = write_set(root / name, lines, locales, runtime=runtime)
                print(f"{name}: written in {time.monotonic() - started:.1f} s", file=sys.stderr)
                data[name] = dict(folder_files(root / name, f"voice/{name}"))
                if runtime:  # an export ships the runtime form, not the tools' manifest
                    del data[name][f"voice/{name}/voice_manifest.json"]
                sets[name] = {"manifest": f"res://voice/{name}/voice_manifest.json", "line": line}
            # Side by side: every set timed in one engine start.
            raw = _report(godot, {name: data[name] for name in sets}, sets, args.runs, memory=False)
            cases = {}
            for name, runs in raw["runs"].items():
                cases[name] = {
                    key: round(statistics.median(r[key] for r in runs), 2) for key in ("ready_ms", "first_play_ms")
                }
                cases[name].update(played=all(r["played"] for r in runs), lazy=all(r["lazy"] for r in runs))
            # Memory: a fresh engine per set (its linear memory never shrinks).
            for name in sets:
                memory = _report(godot, {name: data[name]}, {name: sets[name]}, 1, memory=True)["memory"]
                cases[name]["memory_mb"] = round(memory["after_mb"], 1)
                cases[name]["memory_at_start_mb"] = round(memory["before_mb"], 1)
    finally:
        cleanup[0].quit()
        shutil.rmtree(cleanup[1], ignore_errors=True)
    small, big = cases[f"after_{args.small}x1"], cases[f"after_{args.lines}x{args.locales}"]
    ratios = {key: round(big[key] / max(small[key], 0.01), 2) for key in ("ready_ms", "first_play_ms", "memory_mb")}
    print(
        json.dumps(
            {
                "engine": raw["engine"],
                "runs": args.runs,
                "cases": cases,
                f"after_{args.lines}x{args.locales}_over_{args.small}x1": ratios,
                "within_1_5x": all(value <= 1.5 for value in ratios.values()),
            },
            indent=2,
        )
    )


def _report(
    godot, data: dict[str, dict[str, object]], sets: dict[str, dict[str, str]], runs: int, *, memory: bool
) -> dict:
    """One engine start on the given data sets: the JSON its main script printed."""
    files: dict[str, object] = {}
    for one in data.values():
        files.update(one)
    files.update(folder_files(ADDON, "addons/charvoice"))
    main_script = MAIN % {"sets": json.dumps(sets), "runs": runs, "memory": "true" if memory else "false"}
    files.update({"project.godot": PROJECT, "bench_main.tscn": SCENE, "bench_main.gd": main_script})
    run = godot.run(files, audio=False, timeout=900)
    printed = [line for line in run.lines if line.startswith("CHARVOICE-BENCH ")]
    if run.exit_code != 0 or not printed:
        print(json.dumps({"error": "the engine run did not report", "errors": run.errors[-20:]}))
        sys.exit(1)
    return json.loads(printed[-1].split(" ", 1)[1])


if __name__ == "__main__":
    main()
