"""Run every benchmark in bench/ and print one JSON summary.

Each benchmark is its own script printing one JSON object; this runs them one after the other
(never in parallel: they measure time), each in a fresh process, and gathers their results
with the date and the machine. A benchmark that fails is reported with its error and the rest
still run (exit status 1 at the end).

  python bench/run_all.py                        # everything, at the sizes the issue names
  python bench/run_all.py --quick                # small sizes: a check that everything works (a few minutes)
  python bench/run_all.py --only noop_scaling --sizes 1000,10000
  python bench/run_all.py --only fish_throughput,watch_latency -o bench/latest.json

--sizes sets noop_scaling's line counts; --lines sets the project size of the others.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (script, full-size arguments, quick arguments); --lines N replaces the first option's value
BENCHMARKS: dict[str, tuple[str, list[str], list[str]]] = {
    "noop_rebuild": ("noop_rebuild", ["--lines", "10000", "--runs", "5"], ["--lines", "1000", "--runs", "2"]),
    "noop_scaling": (
        "noop_scaling",
        ["--sizes", "1000,10000,50000", "--runs", "3"],
        ["--sizes", "200,1000,3000", "--runs", "2", "--real-up-to", "200", "--verify-lines", "50"],
    ),
    "fish_throughput": (
        "fish_throughput",
        ["--lines", "400", "--latency", "0.2", "--cap", "8"],
        ["--lines", "60", "--latency", "0.2", "--cap", "8"],
    ),
    "watch_latency": ("watch_latency", ["--lines", "5000", "--saves", "20"], ["--lines", "300", "--saves", "5"]),
    "watch_latency_50k": (  # from a generated built state (see bench/watch_latency.py)
        "watch_latency",
        ["--lines", "50000", "--saves", "20"],
        ["--lines", "3000", "--saves", "5", "--real-up-to", "1000"],
    ),
    "timings": ("timings", ["--lines", "200"], ["--lines", "20"]),
    "remote_assemble": ("remote_assemble", ["--lines", "2000", "--runs", "1"], ["--lines", "100", "--runs", "1"]),
    "godot_startup": (  # in Godot 4.6 (web template, headless Chromium); skipped without them
        "godot_startup",
        ["--lines", "50000", "--locales", "10", "--runs", "3"],
        ["--lines", "2000", "--locales", "2", "--runs", "1"],
    ),
}


def machine() -> dict:
    info = {
        "python": platform.python_version(),
        "system": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        info["memory_gb"] = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024, 1)
        info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


def arguments(name: str, quick: bool, sizes: str | None, lines: int | None) -> list[str]:
    args = list(BENCHMARKS[name][2 if quick else 1])
    if name == "noop_scaling" and sizes:
        args[args.index("--sizes") + 1] = sizes
    if name not in ("noop_scaling", "watch_latency_50k") and lines:
        args[args.index("--lines") + 1] = str(lines)
    return args


def run(name: str, args: list[str]) -> dict:
    command = [sys.executable, str(HERE / f"{BENCHMARKS[name][0]}.py"), *args]
    print(f"== {name} {' '.join(args)}", file=sys.stderr, flush=True)
    started = time.monotonic()
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True)  # its progress goes to our stderr
    seconds = round(time.monotonic() - started, 1)
    if result.returncode != 0:
        return {
            "ok": False,
            "args": args,
            "seconds": seconds,
            "error": f"exit status {result.returncode}",
            "stdout_tail": result.stdout[-2000:],
        }
    try:
        data = json.loads(result.stdout[result.stdout.index("{") :])
    except ValueError:
        return {
            "ok": False,
            "args": args,
            "seconds": seconds,
            "error": "no JSON on stdout",
            "stdout_tail": result.stdout[-2000:],
        }
    return {"ok": True, "args": args, "seconds": seconds, "result": data}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only", default=",".join(BENCHMARKS), help=f"comma-separated subset of: {', '.join(BENCHMARKS)}"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the suite works")
    parser.add_argument("--sizes", default=None, help="noop_scaling line counts, e.g. 1000,10000,50000")
    parser.add_argument(
        "--lines", type=int, default=None, help="project size for noop_rebuild, fish_throughput and watch_latency"
    )
    parser.add_argument("-o", "--output", type=Path, default=None, help="also write the summary to this file")
    args = parser.parse_args()

    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    started = datetime.now(UTC)
    summary = {
        "suite": "charvoice benchmarks",
        "date": started.isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "benchmarks": {name: run(name, arguments(name, args.quick, args.sizes, args.lines)) for name in chosen},
    }
    summary["seconds"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    text = json.dumps(summary, indent=2)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    print(text)
    sys.exit(0 if all(entry["ok"] for entry in summary["benchmarks"].values()) else 1)


if __name__ == "__main__":
    main()
