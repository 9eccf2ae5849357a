"""Benchmark: what making writes durable (fsync) costs, to choose what charvoice syncs.

Prints one JSON object. Usage: python bench/fsync.py [--assets 300] [--lines 5000] [--folder F]

- manifest: one publish of an N-line manifest, with and without fsync (file and folder);
- assets: N files of 40 KB (an Ogg line is 20-80 KB) written atomically by 4 threads, as the
  processing stage does: no sync; an fsync of each file before its rename; or no per-file sync
  and one fsync pass over the files written since the last manifest publish, once per 50 files
  (a build publishes the manifest about once a second).
Run it on the disk the project lives on (--folder): a laptop SSD, a CI runner's disk and a
network share differ by orders of magnitude.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from charvoice.fsutil import atomic_target, sync_files
from charvoice.pipeline.manifest import AudioEntry, Manifest


def manifest_publish(folder: Path, lines: int, durable: bool, runs: int = 5) -> float:
    manifest = Manifest(folder / "voice_manifest.json", durable=durable)
    for index in range(lines):
        entry = AudioEntry(path=f"en/ada/line.{index}.ogg", text="Some text " * 4, duration_s=2.0, key="k" * 64)
        manifest.set_entry(f"line.{index}", "ada", f"dialogue/a.csv:{index}", "en", entry)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        manifest.publish([])
        times.append(time.perf_counter() - started)
    return round(min(times) * 1000, 2)


def assets(folder: Path, count: int, mode: str) -> float:
    blob = os.urandom(40_000)
    target = folder / mode
    target.mkdir()

    def write(index: int) -> Path:
        path = target / f"line.{index}.ogg"
        with atomic_target(path, durable=mode == "each") as temp:
            temp.write_bytes(blob)
        return path

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=4) as pool:
        batch: list[Path] = []
        for path in pool.map(write, range(count)):
            batch.append(path)
            if mode == "batch" and len(batch) == 50:
                sync_files(batch)
                batch = []
        if mode == "batch":
            sync_files(batch)
    return round((time.perf_counter() - started) / count * 1000, 3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=300)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--folder", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as name:
        folder = Path(name)
        result = {
            "manifest_publish_ms": {
                "lines": args.lines,
                "no_fsync": manifest_publish(folder, args.lines, durable=False),
                "fsync": manifest_publish(folder, args.lines, durable=True),
            },
            "asset_ms_per_line": {
                "assets": args.assets,
                "no_fsync": assets(folder, args.assets, "none"),
                "fsync_each": assets(folder, args.assets, "each"),
                "fsync_batch_before_publish": assets(folder, args.assets, "batch"),
            },
        }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
