"""Benchmark: a no-op rebuild of a generated N-line project, processing time per line, and
what the first processed line of a build pays in imports.

Prints one JSON object. Usage: python bench/noop_rebuild.py [--lines 10000] [--runs 5]

The project uses the offline engine and WAV output so that the one-off initial build is
quick; the no-op rebuild (what a writer or CI pays on every run) is what is measured:
parse every script, plan every line, stat every asset, compare keys, write nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def make_project(root: Path, lines: int) -> None:
    (root / "characters").mkdir(parents=True)
    (root / "dialogue").mkdir()
    (root / "charvoice.toml").write_text(
        '[project]\noutput = "out"\n[engine]\nname = "offline"\njobs = 4\n[audio]\nformat = "wav"\n', encoding="utf-8"
    )
    names = ["ada", "bo", "cy", "dee", "eli", "fay", "gus", "hal"]
    for name in names:
        (root / "characters" / f"{name}.toml").write_text(
            f'name = "{name.title()}"\n[voice]\nscratch = true\n', encoding="utf-8"
        )
    per_file = 500
    for start in range(0, lines, per_file):
        rows = ["id,character,text"]
        for index in range(start, min(lines, start + per_file)):
            rows.append(
                f"scene{index // per_file}.line{index},{names[index % len(names)].title()},Line {index} is ready."
            )
        (root / "dialogue" / f"scene{start // per_file:03d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def timed(command: list[str]) -> tuple[float, str]:
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr}")
    return elapsed, result.stdout


def per_line_processing(runs: int) -> dict:
    """Median time to process and encode one typical line (about 3 s of speech) to Ogg Vorbis."""
    from charvoice.audio import encode, process
    from charvoice.engines.base import SpeechRequest
    from charvoice.engines.offline import OfflineEngine
    from charvoice.project.config import AudioSettings

    raw = (
        OfflineEngine()
        .synthesize(
            SpeechRequest(
                "offline",
                "The lamp's gone dark on the north side again, and the ladder is in the sea.",
                "en",
                {"language": "en", "variant": "m3", "pitch": 50, "rate": 170},
            )
        )
        .audio
    )
    settings = AudioSettings()
    process_times, encode_times = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(runs + 1):
            started = time.perf_counter()
            processed = process(raw, settings)
            middle = time.perf_counter()
            encode(processed, Path(folder) / "line.ogg", settings)
            process_times.append(middle - started)
            encode_times.append(time.perf_counter() - middle)
    return {
        "audio_seconds": round(processed.duration_s, 2),
        "process_ms_median": round(statistics.median(process_times[1:]) * 1000, 1),
        "encode_ogg_ms_median": round(statistics.median(encode_times[1:]) * 1000, 1),
    }


FIRST_LINE = """
import time
started = time.perf_counter()
from charvoice import audio
from charvoice.project.config import AudioSettings
raw = open(PATH, "rb").read()
audio.process(raw, AudioSettings())
first = time.perf_counter() - started
started = time.perf_counter()
audio.process(raw, AudioSettings())
print(first - (time.perf_counter() - started))
"""


def first_line_import_cost(runs: int = 3) -> dict:
    """What the first processed line of a build pays on top of any other line: importing the
    audio module and what it needs (numpy; scipy before), and designing the filters. Each run is
    a fresh interpreter; the cost is the first line's time minus the second's."""
    from charvoice.engines.base import SpeechRequest
    from charvoice.engines.offline import OfflineEngine

    raw = (
        OfflineEngine()
        .synthesize(
            SpeechRequest(
                "offline",
                "The lamp's gone dark on the north side again.",
                "en",
                {"language": "en", "variant": "m3", "pitch": 50, "rate": 170},
            )
        )
        .audio
    )
    costs = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "line.wav"
        path.write_bytes(raw)
        for _ in range(runs):
            out = subprocess.run(
                [sys.executable, "-c", f"PATH = {str(path)!r}\n" + FIRST_LINE],
                capture_output=True,
                text=True,
                check=True,
            )
            costs.append(float(out.stdout.strip()))
    return {
        "first_line_extra_s_median": round(statistics.median(costs), 3),
        "first_line_extra_s_min_max": [round(min(costs), 3), round(max(costs), 3)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    charvoice = [sys.executable, "-m", "charvoice"]
    env_note = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_project(root, args.lines)
        initial, _ = timed([*charvoice, "build", "--project", str(root), "--json"])
        noop, check = [], []
        for _ in range(args.runs):
            elapsed, out = timed([*charvoice, "build", "--project", str(root), "--json"])
            report = json.loads(out)
            assert report["built"] == 0 and report["up_to_date"] == args.lines, report
            noop.append(elapsed)
            check.append(timed([*charvoice, "check", "--project", str(root), "--json"])[0])
    print(
        json.dumps(
            {
                "benchmark": "noop_rebuild",
                "lines": args.lines,
                "runs": args.runs,
                "initial_build_s": round(initial, 2),
                "noop_build_s_median": round(statistics.median(noop), 3),
                "noop_build_s_min_max": [round(min(noop), 3), round(max(noop), 3)],
                "check_s_median": round(statistics.median(check), 3),
                "per_line": per_line_processing(20),
                "first_line_import": first_line_import_cost(),
                "environment": env_note,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
