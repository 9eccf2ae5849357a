"""A fresh CI runner assembling a project from the team's shared cache, against a warm local cache.

Both caches are warmed with the same raw audio (a 2 s tone per line, written through charvoice's
own cache, so keys and checksums are real); then `charvoice build` runs as a subprocess on:
  local   a runner whose .charvoice/cache is warm (restored by actions/cache, say): process + encode
  remote  a fresh runner with an empty local cache and `[cache] remote` on an S3 bucket served by
          moto on 127.0.0.1 (in its own process): download + verify + process + encode
Each build must make no engine call (checked from `build --json`). Also timed: `build --dry-run`
on the fresh runner, which asks the remote which lines it holds (one HEAD per line), and the
download alone (every entry fetched and its checksum verified, `--jobs` at a time, no processing).
Prints one JSON object. Usage: python bench/remote_assemble.py [--lines 2000] [--jobs 8] [--runs 2]
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ACCESS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret", "AWS_REGION": "us-east-1"}


def serve(conn) -> None:
    """Child process: moto's S3 server on loopback until told to stop."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    conn.send(f"http://{host}:{port}")
    conn.recv()
    server.stop()


def tone(seconds: float = 2.0, rate: int = 22050) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    pcm = (np.sin(2 * np.pi * 180 * t) * np.clip(np.sin(2 * np.pi * 3 * t), 0, None) * 0.3 * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(pcm.tobytes())
    return out.getvalue()


def write_project(folder: Path, count: int, jobs: int, remote: str = "", endpoint: str = "") -> None:
    (folder / "characters").mkdir(parents=True)
    (folder / "dialogue").mkdir()
    cache = f'[cache]\nremote = "{remote}"\nendpoint = "{endpoint}"\n' if remote else ""
    (folder / "charvoice.toml").write_text(
        f'[project]\noutput = "game/voice"\n[engine]\nname = "offline"\njobs = {jobs}\n{cache}', encoding="utf-8"
    )
    (folder / "characters" / "mara.toml").write_text('name = "Mara"\n[voice]\nscratch = true\n', encoding="utf-8")
    rows = "".join(
        f"line.{i:05d},Mara,Line {i}: the lamp on the north side has gone dark again.\n" for i in range(count)
    )
    (folder / "dialogue" / "lines.csv").write_text("id,character,text\n" + rows, encoding="utf-8")


def warm(folder: Path) -> tuple[int, float]:
    """Put raw audio for every line in the project's caches (local, and the remote if set)."""
    from charvoice.pipeline.workspace import Workspace

    audio = tone()
    workspace = Workspace.open(folder)
    try:
        started = time.perf_counter()
        jobs = workspace.plan().todo
        for job in jobs:
            workspace.cache.put(job.cache_key, audio)
        return len(jobs), time.perf_counter() - started
    finally:
        workspace.close()


def fetch_all(folder: Path, jobs: int) -> float:
    """Seconds to download and verify every line's entry from the remote, nothing else."""
    from concurrent.futures import ThreadPoolExecutor

    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(folder)
    try:
        keys = [job.cache_key for job in workspace.plan().todo]
        remote = workspace.cache.remote
        assert remote is not None
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            fetched = list(pool.map(remote.get, keys))
        assert all(audio is not None for audio in fetched)
        return time.perf_counter() - started
    finally:
        workspace.close()


def build(folder: Path, *extra: str) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "charvoice", "build", "--project", str(folder), "--json", *extra],
        capture_output=True,
        text=True,
        env={**os.environ, **ACCESS},
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"build failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    os.environ.update(ACCESS)

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(child,), daemon=True)
    server.start()
    endpoint = parent.recv()
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench-secret",
    )
    client.create_bucket(Bucket="voice-cache")
    work = Path(tempfile.mkdtemp(prefix="charvoice-bench-remote-"))
    try:
        template = work / "template"
        write_project(template, args.lines, args.jobs, "s3://voice-cache/game", endpoint)
        lines, warm_seconds = warm(template)  # warms the remote (and the template's local cache)
        remote_bytes = sum(p.stat().st_size for p in (template / ".charvoice/cache").rglob("*.audio"))

        local_times, remote_times, dry_times, fetch_times = [], [], [], []
        for run in range(args.runs):
            local = work / f"local{run}"  # the same project without a remote, its local cache warm
            write_project(local, args.lines, args.jobs)
            shutil.copytree(template / ".charvoice/cache", local / ".charvoice/cache")
            seconds, report = build(local)
            assert report["synthesized"] == 0 and report["from_cache"] == lines, report
            local_times.append(seconds)

            fresh = work / f"fresh{run}"  # a fresh runner: the repository and nothing else
            write_project(fresh, args.lines, args.jobs, "s3://voice-cache/game", endpoint)
            started = time.perf_counter()
            dry = subprocess.run(
                [sys.executable, "-m", "charvoice", "build", "--project", str(fresh), "--dry-run", "--json"],
                capture_output=True,
                text=True,
                check=True,
            )
            dry_times.append(time.perf_counter() - started)
            assert json.loads(dry.stdout)["shared_cache"] == lines
            fetch_times.append(fetch_all(fresh, args.jobs))
            seconds, report = build(fresh)
            assert report["synthesized"] == 0 and report["from_shared_cache"] == lines, report
            remote_times.append(seconds)

        local_median, remote_median = statistics.median(local_times), statistics.median(remote_times)
        print(
            json.dumps(
                {
                    "benchmark": "remote_assemble",
                    "lines": lines,
                    "jobs": args.jobs,
                    "runs": args.runs,
                    "raw_audio_mb": round(remote_bytes / 1e6, 1),
                    "engine_calls": 0,
                    "warm_remote_upload_s": round(warm_seconds, 2),
                    "assemble_from_warm_local_cache_s": {
                        "median": round(local_median, 2),
                        "all": [round(x, 2) for x in local_times],
                    },
                    "assemble_from_warm_remote_s": {
                        "median": round(remote_median, 2),
                        "all": [round(x, 2) for x in remote_times],
                    },
                    "remote_over_local": round(remote_median / local_median, 2),
                    "remote_ms_per_line": round(remote_median * 1000 / lines, 2),
                    "dry_run_on_fresh_runner_s": round(statistics.median(dry_times), 2),
                    "download_and_verify_only_s": round(statistics.median(fetch_times), 2),
                    "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
                    "python": sys.version.split()[0],
                    "cores": os.cpu_count(),
                },
                indent=2,
            )
        )
    finally:
        parent.send("stop")
        server.join(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
