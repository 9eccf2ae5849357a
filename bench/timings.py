"""Word timings: how exact they are, what they cost in time, and in API calls.

1. accuracy (offline voice): every word event espeak-ng reported while speaking a line, moved
   by what trimming cut (found independently, by cross-correlating the raw audio the build
   cached with the published asset), against the nearest published word start; the issue asks
   for agreement within one 10 ms frame.
2. time: a fresh offline build of the same project with timings and with them switched off
   (the timings hooks replaced by no-ops), and the time spent inside the timings step itself.
3. API calls (fake Fish server, timestamps on): calls per line on the first build, on a no-op
   build, and on a rebuild after an audio-settings change (re-processing from the cache).

Prints one JSON object. Usage: python bench/timings.py [--lines 40]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake server and project helpers live with the tests

SENTENCES = [
    "The lamp on the north side has gone dark again.",
    "Did you bring the letters from the mainland?",
    "Every one of them, sealed and dry, just as you asked.",
    "I've waited 42 days for a ship that never came.",
    "Keep your voice down; the harbour master is listening.",
]


def texts(count: int) -> list[str]:
    return [f"{SENTENCES[i % len(SENTENCES)]} Line {i}." for i in range(count)]


def offline_project(folder: Path, count: int):
    from conftest import BASIC_CONFIG, CHARACTERS, ProjectDir, csv_text

    project = ProjectDir(folder)
    project.write("charvoice.toml", BASIC_CONFIG + '\n[audio]\nformat = "wav"\n')
    for name, text in CHARACTERS.items():
        project.write(f"characters/{name}.toml", text)
    project.write(
        "dialogue/lines.csv",
        csv_text([(f"l.{i:04d}", "Aria" if i % 2 else "Bram", text) for i, text in enumerate(texts(count))]),
    )
    return project


def accuracy(project) -> dict:
    from scipy import signal

    from charvoice import audio
    from charvoice.pipeline.workspace import Workspace
    from charvoice.timings.format import LineTimings

    workspace = Workspace.open(project.root)
    rate = workspace.project.config.audio.sample_rate
    errors_ms: list[float] = []
    for job in workspace.plan().fresh:
        # The audio espeak-ng made for this line and the events it reported while making it,
        # as the build kept them; the trim is found from the audio alone.
        raw_audio, events = workspace.cache.get(job.cache_key), workspace.cache.timings(job.cache_key)
        assert raw_audio is not None and events is not None
        raw = audio.decode(raw_audio, rate)
        published = audio.decode(job.asset_path.read_bytes(), rate)
        correlation = signal.correlate(published, raw, mode="full", method="fft")
        shift = (int(np.argmax(correlation)) - (len(raw) - 1)) / rate
        entry = workspace.manifest.entry(job.line.id, job.line.locale)
        assert entry is not None
        starts = [word.start_s for word in LineTimings.load(project.output / entry.timings).words]
        for word in events.words:
            event = max(0.0, word.start_s + shift)
            errors_ms.append(1000 * min(abs(start - event) for start in starts))
    errors = np.array(errors_ms)
    return {
        "events": len(errors),
        "max_error_ms": round(float(errors.max()), 2),
        "mean_error_ms": round(float(errors.mean()), 3),
        "within_10ms": round(float((errors <= 10.0).mean()), 4),
    }


def timed_build(count: int, with_timings: bool) -> tuple[float, float]:
    """Seconds for a fresh build, and seconds spent inside timings.publish."""
    from charvoice.pipeline import build, timings

    spent = [0.0]
    original_publish = timings.publish

    def publish(*args):
        started = time.perf_counter()
        try:
            return original_publish(*args)
        finally:
            spent[0] += time.perf_counter() - started

    timings.publish = publish if with_timings else (lambda *args: timings.PublishedTimings())
    try:
        with tempfile.TemporaryDirectory() as folder:
            project = offline_project(Path(folder) / "p", count)
            started = time.perf_counter()
            result = project.run("build")
            seconds = time.perf_counter() - started
            assert result.exit_code == 0, result.output
    finally:
        timings.publish = original_publish
        del build
    return seconds, spent[0]


def fish_calls(count: int) -> dict:
    import os

    from fakes.fish_server import FakeFishServer
    from fakes.fish_timestamps import PATH
    from fakes.fixtures import API_KEY, make_project

    os.environ["FISH_API_KEY"] = API_KEY
    try:
        with FakeFishServer(api_key=API_KEY) as fake, tempfile.TemporaryDirectory() as folder:
            lines = [(f"l.{i:04d}", "Bram", text) for i, text in enumerate(texts(count))]
            project = make_project(
                Path(folder) / "p",
                fake,
                characters={"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'},
                lines=lines,
            )
            config = project.root / "charvoice.toml"
            config.write_text(config.read_text().replace("[engine.fish]\n", '[engine.fish]\ntimestamps = "on"\n'))

            def counts() -> dict:
                out = {
                    "tts_with_timestamps": len(fake.calls("POST", PATH)),
                    "tts": len(fake.calls("POST", "/v1/tts")),
                    "asr": len(fake.asr_calls()),
                    "all": len(fake.calls()),
                }
                fake.reset_calls()
                return out

            assert project.run("build").exit_code == 0
            first = counts()
            assert project.run("build").exit_code == 0
            noop = counts()
            config.write_text(config.read_text() + "pad_ms = 50\n")
            assert project.run("build").exit_code == 0
            reprocess = counts()
    finally:
        os.environ.pop("FISH_API_KEY", None)
    return {
        "lines": count,
        "first_build": first,
        "extra_calls_per_line_first_build": (first["all"] - count) / count,
        "noop_build": noop,
        "extra_calls_per_line_noop": noop["all"] / count,
        "audio_settings_rebuild": reprocess,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=40)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        project = offline_project(Path(folder) / "p", args.lines)
        assert project.run("build").exit_code == 0
        offline_accuracy = accuracy(project)
    timed_build(4, True)  # warm up: imports, espeak-ng, scipy
    with_seconds, inside = timed_build(args.lines, True)
    without_seconds, _ = timed_build(args.lines, False)
    print(
        json.dumps(
            {
                "benchmark": "timings",
                "lines": args.lines,
                "offline_accuracy": offline_accuracy,
                "offline_time": {
                    "build_s_with_timings": round(with_seconds, 3),
                    "build_s_without_timings": round(without_seconds, 3),
                    "extra_ms_per_line": round(1000 * (with_seconds - without_seconds) / args.lines, 2),
                    "timings_step_ms_per_line": round(1000 * inside / args.lines, 2),
                },
                "fish_calls": fish_calls(min(args.lines, 20)),
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
