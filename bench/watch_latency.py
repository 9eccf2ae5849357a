"""Watch latency: from a script save to the updated manifest, for a one-line change.

A 5,000-line project (CSV scripts of 500 lines) voiced by the Fish engine against the loopback
fake server with zero latency; the watcher runs in-process with its default debounce. For each
of 20 saves (each edits one line of one script) the clock runs from the write to the moment the
watcher reports the published manifest. The time spent inside the engine's synthesize() is
measured and subtracted ("engine time excluded"), and so is the debounce, which is a chosen
wait, not work.

The built state the watcher starts from: up to --real-up-to lines (5,000) the watcher's own
first build makes it; above, it is generated as bench/noop_scaling.py generates it (the plan's
own paths and keys, a 20 ms asset per line, the build's own manifest record), because building
50,000 lines for real takes half an hour. The watcher's first build then finds every line up to
date, which `initial_build_s` shows.

Prints one JSON object. Usage: python bench/watch_latency.py [--lines 5000] [--real-up-to 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake server lives with the tests

KEY = "bench-key"
PER_FILE = 500


def write_scripts(root: Path, lines: int, edits: dict[int, str]) -> None:
    for start in range(0, lines, PER_FILE):
        rows = ["id,character,text"]
        for index in range(start, min(lines, start + PER_FILE)):
            rows.append(
                f"scene{start // PER_FILE}.line{index},Bram,{edits.get(index, f'Line {index}: the lamp is lit.')}"
            )
        (root / "dialogue" / f"scene{start // PER_FILE:02d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--debounce", type=float, default=0.3)
    parser.add_argument("--real-up-to", type=int, default=5000, help="larger projects start from a generated state")
    args = parser.parse_args()

    from fakes.fish_server import FakeFishServer

    from charvoice.engines.fish.engine import FishEngine
    from charvoice.watch import Watcher

    engine_seconds = [0.0]
    original = FishEngine.synthesize

    def timed_synthesize(self, request):
        started = time.perf_counter()
        try:
            return original(self, request)
        finally:
            engine_seconds[0] += time.perf_counter() - started

    FishEngine.synthesize = timed_synthesize
    os.environ["FISH_API_KEY"] = KEY
    with FakeFishServer(api_key=KEY, latency=0.0, audio="tone") as fake, tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        model = fake.add_model("Bram", visibility="private")
        (root / "characters").mkdir()
        (root / "dialogue").mkdir()
        (root / "characters/bram.toml").write_text(f'name = "Bram"\n[voice]\nmodel_id = "{model}"\n', encoding="utf-8")
        (root / "charvoice.toml").write_text(
            f'[project]\noutput = "out"\n[engine]\nname = "fish"\njobs = 8\n[engine.fish]\nbase_url = "{fake.url}"\n[audio]\nformat = "wav"\n',
            encoding="utf-8",
        )
        write_scripts(root, args.lines, {})
        state = "real" if args.lines <= args.real_up_to else "generated"
        if state == "generated":
            sys.path.insert(0, str(ROOT / "bench"))
            from noop_scaling import generate_in_child

            generate_in_child(root)

        events = []
        arrived = threading.Condition()

        def on_event(event) -> None:
            with arrived:
                events.append((time.perf_counter(), event))
                arrived.notify_all()

        watcher = Watcher(root, on_event, debounce=args.debounce)
        stop = threading.Event()
        thread = threading.Thread(target=watcher.run, args=(stop,))
        started = time.perf_counter()
        thread.start()

        def wait_for(count: int) -> tuple[float, object]:
            with arrived:
                arrived.wait_for(lambda: len(events) >= count, timeout=3600)
                return events[count - 1]

        _, ready = wait_for(1)
        initial_build = time.perf_counter() - started
        assert ready.kind == "ready" and len(ready.regenerated) == (args.lines if state == "real" else 0), ready
        time.sleep(1.0)

        gross, net = [], []
        edits: dict[int, str] = {}
        for save in range(args.saves):
            index = (save * 997) % args.lines
            edits[index] = f"Line {index}: edited in save {save}."
            engine_seconds[0] = 0.0
            before = len(events)
            saved_at = time.perf_counter()
            _rewrite_one(root, index, edits, args.lines)
            done_at, event = wait_for(before + 1)
            assert event.kind == "rebuild" and event.regenerated == [f"scene{index // PER_FILE}.line{index}"], event
            manifest = json.loads((root / "out/voice_manifest.json").read_text(encoding="utf-8"))
            assert manifest["lines"][event.regenerated[0]]["audio"]["en"]["text"] == edits[index]
            gross.append(done_at - saved_at)
            net.append(done_at - saved_at - engine_seconds[0] - args.debounce)
            time.sleep(0.3)
        stop.set()
        thread.join()

    print(json.dumps({
        "benchmark": "watch_latency",
        "lines": args.lines,
        "state": state,
        "saves": args.saves,
        "debounce_s": args.debounce,
        "initial_build_s": round(initial_build, 1),
        "save_to_manifest_s": {"median": round(statistics.median(gross), 3), "min": round(min(gross), 3), "max": round(max(gross), 3)},
        "excluding_engine_and_debounce_s": {"median": round(statistics.median(net), 3), "min": round(min(net), 3), "max": round(max(net), 3)},
        "environment": {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count()},
    }, indent=2))  # fmt: skip


def _rewrite_one(root: Path, index: int, edits: dict[int, str], lines: int) -> None:
    """Save only the script that holds line `index`, as an editor would."""
    start = index // PER_FILE * PER_FILE
    rows = ["id,character,text"]
    for number in range(start, min(lines, start + PER_FILE)):
        rows.append(
            f"scene{start // PER_FILE}.line{number},Bram,{edits.get(number, f'Line {number}: the lamp is lit.')}"
        )
    (root / "dialogue" / f"scene{start // PER_FILE:02d}.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
