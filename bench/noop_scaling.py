"""Benchmark: how a no-op rebuild grows with the project, 1,000 / 10,000 / 50,000 lines.

For each size: the wall time of `charvoice build` when every line is up to date (the median of
--runs runs) and the child's peak memory (ru_maxrss from os.wait4), then how both grow per 10x
more lines (a ratio of 10 means linear; the memory ratio is also given above the baseline of a
bare `charvoice --version`). The project is bench/noop_rebuild.py's: offline scratch voices,
CSV scripts of 500 lines, WAV output.

The built state. A real initial build costs about 25-35 ms per line on a 2-core machine
(espeak-ng synthesis, loudness processing, encoding; the Fish engine with the fake's tone audio
is not much cheaper, the processing dominates), plus a few seconds of start-up: 20-30 minutes
for 50,000 lines. So only sizes up to --real-up-to (1,000) are built for real, and each real size
reports what 50,000 lines would take at its rate. Larger states are generated, exactly so:
  1. the project is loaded and planned by charvoice itself (Workspace.open().plan()), which
     gives every line's cache key, asset key, asset path and manifest path;
  2. every asset is written as the same 20 ms WAV, and every line is recorded in the manifest
     with charvoice.pipeline.build.record (the build's own function) and published with the manifest's
     own publish (characters, locales, fallbacks set as run_build sets them). The audio cache
     is left empty: a no-op build never reads it for a fresh line;
  3. verified: `charvoice check` must report every line up to date, and once per run the
     generator is compared with a real build of --verify-lines lines: the two manifests must
     agree on every line's path, key, source_key, text, character, source and engine.
The JSON says, for each size, which state it measured ("real" or "generated") and, for real
builds, how long the initial build took (and what 50,000 lines would take at that rate).

Usage: python bench/noop_scaling.py [--sizes 1000,10000,50000] [--runs 3] [--real-up-to 1000]
"""

from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from noop_rebuild import make_project  # noqa: E402 - the same project shape as the no-op benchmark

CHARVOICE = [sys.executable, "-m", "charvoice"]


def run_child(command: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one child process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(
                f"{' '.join(command)} failed ({process.returncode}):\n{err.read().decode(errors='replace')[-3000:]}"
            )
        rss_kb = usage.ru_maxrss  # kilobytes on Linux
        return elapsed, rss_kb / 1024, out.read().decode()


def tiny_wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(44100)
        writer.writeframes(b"\x01\x00\xff\xff" * 441)  # 20 ms
    return buffer.getvalue()


def generate_built_state(root: Path) -> float:
    """Write the assets and manifest a finished build would leave (see the module docstring)."""
    from charvoice.pipeline.build import LineResult, record
    from charvoice.pipeline.workspace import Workspace

    started = time.perf_counter()
    workspace = Workspace.open(root)
    try:
        project, manifest = workspace.project, workspace.manifest
        plan = workspace.plan()
        audio = tiny_wav()
        manifest.default_locale = project.config.default_locale
        manifest.locales = list(project.config.locales)
        manifest.characters = {cid: c.name for cid, c in sorted(project.characters.items())}
        made: set[Path] = set()
        for job in plan.todo:
            if job.asset_path.parent not in made:
                job.asset_path.parent.mkdir(parents=True, exist_ok=True)
                made.add(job.asset_path.parent)
            job.asset_path.write_bytes(audio)
            record(manifest, LineResult(job, synthesized=True, duration_s=0.02, lufs=-18.0))
        manifest.set_fallbacks(project.fallbacks)
        manifest.publish([job.line.id for job in plan.todo])
    finally:
        workspace.close()
    return time.perf_counter() - started


def generate_in_child(root: Path) -> float:
    """generate_built_state in a process of its own. Run here, it would grow this process to the
    size of the whole plan, and every child forked afterwards would report that as its own peak
    memory (ru_maxrss counts the parent's pages a child shares between fork and exec)."""
    out = subprocess.run(
        [sys.executable, __file__, "--generate", str(root)], capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def verify_generator(lines: int) -> dict:
    """A real build and the generator must describe every line the same way."""
    fields = ("path", "key", "source_key", "text", "engine")
    states = {}
    with tempfile.TemporaryDirectory() as real, tempfile.TemporaryDirectory() as generated:
        for kind, folder in (("real", Path(real)), ("generated", Path(generated))):
            make_project(folder, lines)
            if kind == "real":
                run_child([*CHARVOICE, "build", "--project", str(folder), "--json"])
            else:
                generate_in_child(folder)
            data = json.loads((folder / "out/voice_manifest.json").read_text())
            states[kind] = {
                line_id: (entry["character"], entry["source"], *(entry["audio"]["en"].get(f) for f in fields))
                for line_id, entry in data["lines"].items()
            }
            check = subprocess.run([*CHARVOICE, "check", "--project", str(folder)], capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr
    same = states["real"] == states["generated"]
    assert same, "the generated built state differs from a real build's"
    return {"lines": lines, "manifests_agree": same, "fields": ["character", "source", *fields]}


def measure(lines: int, runs: int, real_up_to: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        make_project(root, lines)
        if lines <= real_up_to:
            state = "real"
            initial, _, _ = run_child([*CHARVOICE, "build", "--project", str(root), "--json"])
        else:
            state = "generated"
            initial = generate_in_child(root)
        check_s, _, out = run_child([*CHARVOICE, "check", "--project", str(root), "--json"])
        verdict = json.loads(out)
        assert verdict["ok"] and verdict["up_to_date"] == lines, verdict
        times, peaks = [], []
        for _ in range(runs):
            elapsed, peak, out = run_child([*CHARVOICE, "build", "--project", str(root), "--json"])
            report = json.loads(out)
            assert report["built"] == 0 and report["up_to_date"] == lines, report
            times.append(elapsed)
            peaks.append(peak)
        checks, check_peaks = [], []
        for _ in range(runs):  # `check` once more, now that the project has been seen up to date
            elapsed, peak, out = run_child([*CHARVOICE, "check", "--project", str(root), "--json"])
            assert json.loads(out)["ok"]
            checks.append(elapsed)
            check_peaks.append(peak)
    result = {
        "lines": lines,
        "state": state,
        "initial_s": round(initial, 2),
        "noop_build_s_median": round(statistics.median(times), 3),
        "noop_build_s_min_max": [round(min(times), 3), round(max(times), 3)],
        "peak_rss_mb": round(max(peaks), 1),
        "check_s": round(check_s, 3),  # the first check after the state was made (a full plan)
        "noop_check_s_median": round(statistics.median(checks), 3),
        "noop_check_s_min_max": [round(min(checks), 3), round(max(checks), 3)],
        "noop_check_peak_rss_mb": round(max(check_peaks), 1),
        "ms_per_1000_lines": round(statistics.median(times) / lines * 1e6, 1),
    }
    if state == "real":
        result["initial_50k_estimate_min"] = round(initial / lines * 50_000 / 60, 1)
    return result


def growth(results: list[dict], baseline_mb: float) -> list[dict]:
    """How time and memory grow per 10x lines between consecutive sizes (10 = linear)."""
    rows = []
    for small, big in itertools.pairwise(results):
        decades = math.log10(big["lines"] / small["lines"])

        def per_10x(a: float, b: float, decades: float = decades) -> float | None:
            return round((b / a) ** (1 / decades), 2) if a > 0 and b > 0 else None

        rows.append({
            "from": small["lines"], "to": big["lines"],
            "time_ratio_per_10x": per_10x(small["noop_build_s_median"], big["noop_build_s_median"]),
            "memory_ratio_per_10x": per_10x(small["peak_rss_mb"], big["peak_rss_mb"]),
            "memory_above_baseline_ratio_per_10x": per_10x(small["peak_rss_mb"] - baseline_mb, big["peak_rss_mb"] - baseline_mb),
        })  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated line counts")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--real-up-to", type=int, default=1000, help="build sizes up to this for real; generate larger ones"
    )
    parser.add_argument(
        "--verify-lines", type=int, default=200, help="size of the real-vs-generated comparison (0: skip)"
    )
    parser.add_argument(
        "--generate", type=Path, default=None, help=argparse.SUPPRESS
    )  # internal: see generate_in_child
    args = parser.parse_args()
    if args.generate is not None:
        print(generate_built_state(args.generate))
        return
    sizes = sorted(int(size) for size in args.sizes.split(","))

    base_s, baseline_mb, _ = run_child([*CHARVOICE, "--version"])
    verified = (
        verify_generator(args.verify_lines) if args.verify_lines and any(s > args.real_up_to for s in sizes) else None
    )
    results = []
    for lines in sizes:
        results.append(measure(lines, args.runs, args.real_up_to))
        print(
            f"{lines} lines: {results[-1]['noop_build_s_median']} s, {results[-1]['peak_rss_mb']} MB", file=sys.stderr
        )
    print(json.dumps({
        "benchmark": "noop_scaling",
        "sizes": results,
        "growth": growth(results, baseline_mb),
        "baseline": {"what": "charvoice --version", "seconds": round(base_s, 3), "peak_rss_mb": round(baseline_mb, 1)},
        "generator_check": verified,
        "environment": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
