"""The benchmark scripts keep working: `bench/run_all.py --quick` runs every one of them at small
sizes (about 75 s on a 2-core machine) and each must end with its JSON result. No figure is
judged here; docs/development.md, Benchmarks, reports a full run against the targets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_every_benchmark_runs_at_small_sizes(tmp_path):
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from run_all import BENCHMARKS
    finally:
        sys.path.remove(str(REPO / "bench"))
    summary_path = tmp_path / "quick.json"
    run = subprocess.run(
        [sys.executable, str(REPO / "bench/run_all.py"), "--quick", "-o", str(summary_path)],
        capture_output=True,
        text=True,
    )
    benchmarks = json.loads(summary_path.read_text())["benchmarks"]
    assert set(benchmarks) == set(BENCHMARKS)
    failed = {name: result["error"] for name, result in benchmarks.items() if not result["ok"]}
    assert not failed, f"{failed}\n{run.stderr[-4000:]}"
    assert all(isinstance(result["result"], dict) for result in benchmarks.values())
