"""Throughput against the fake Fish server: charvoice vs a plain loop vs the ideal.

400 lines, 200 ms per request, an account limit of 8 requests in flight. Measured in one run:
  engine      charvoice's FishEngine driven the way `build` drives it (8 worker threads)
  build       `charvoice build -j 8` on a fresh project: synthesis plus processing and encoding
  sequential  a plain loop posting one line after the other (what a user writes by hand)
  ideal       N x latency / cap
The fake runs in its own process so its work never competes with the client for the GIL, and
its speech is made before the clock starts: a first, unmeasured pass asks for every line the
engine and the build will ask for, and the fake answers a request it has answered before with
the same audio. The real service synthesises on its own machines; a fake running espeak-ng on
this machine's two cores during the build measured the fake, not charvoice. (The sequential
loop's requests differ from the engine's, so they may still pay the fake's synthesis: it is the
baseline, not the target.) Prints one JSON object. Usage: python bench/fish_throughput.py [--lines 400] [--latency 0.2] [--cap 8]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgpack

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake server lives with the tests

KEY = "bench-key"


def serve(conn, latency: float, cap: int) -> None:
    """Child process: run the fake until told to stop; answer stats requests."""
    from fakes.fish_server import FakeFishServer

    with FakeFishServer(api_key=KEY, latency=latency, max_in_flight=cap) as fake:
        model_id = fake.add_model("Bench voice", visibility="private")
        conn.send((fake.url, model_id))
        while True:
            command = conn.recv()
            if command == "stop":
                return
            if command == "reset":
                fake.reset_calls()
                conn.send(None)
            elif command == "stats":
                tts = fake.calls("POST", "/v1/tts")
                conn.send(
                    {
                        "requests": len(tts),
                        "refused_429": sum(r.status == 429 for r in tts),
                        "max_in_flight_seen": fake.max_in_flight_seen,
                    }
                )


def lines(count: int) -> list[str]:
    return [f"Line {i}: the lamp on the north side has gone dark again." for i in range(count)]


def write_project(folder: Path, url: str, model_id: str, texts: list[str], jobs: int) -> None:
    (folder / "characters").mkdir(parents=True)
    (folder / "dialogue").mkdir()
    (folder / "charvoice.toml").write_text(
        f'[project]\ncharacters = "characters"\ndialogue = ["dialogue"]\noutput = "voice"\n\n'
        f'[engine]\nname = "fish"\njobs = {jobs}\n\n[engine.fish]\nbase_url = "{url}"\n'
    )
    (folder / "characters/mara.toml").write_text(f'name = "Mara"\n[voice]\nmodel_id = "{model_id}"\n')
    rows = "".join(f'bench.{i:04d},Mara,"{text}"\n' for i, text in enumerate(texts))
    (folder / "dialogue/lines.csv").write_text("id,character,text\n" + rows)


def run_engine(url: str, model_id: str, texts: list[str], jobs: int) -> dict:
    from charvoice.engines.fish.engine import FishEngine
    from charvoice.project.characters import load_characters
    from charvoice.project.config import load_config
    from charvoice.project.lines import Line

    with tempfile.TemporaryDirectory() as folder:
        write_project(Path(folder), url, model_id, texts, jobs)
        config = load_config(Path(folder))
        mara = load_characters(config)["mara"]
        engine = FishEngine.from_config(config, KEY)
        requests = [
            engine.request(Line(f"b{i}", "mara", text, "en", "bench", 1), mara, text) for i, text in enumerate(texts)
        ]
        started = time.monotonic()
        with ThreadPoolExecutor(jobs) as pool:
            audio = list(pool.map(engine.synthesize, requests))
        seconds = time.monotonic() - started
        limit = engine.client.limit
        engine.close()
    assert all(a.audio[:4] == b"RIFF" for a in audio)
    return {
        "seconds": seconds,
        "client_peak_in_flight": limit.peak,
        "client_limit_cuts": limit.cuts,
        "retries": engine.client.retried,
    }


def run_build(url: str, model_id: str, texts: list[str], jobs: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        write_project(Path(folder), url, model_id, texts, jobs)
        env = {**os.environ, "FISH_API_KEY": KEY}
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "charvoice", "build", "-j", str(jobs), "--json", "--project", folder],
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - started
        if result.returncode != 0:
            raise SystemExit(f"build failed: {result.stderr[-2000:]}")
        report = json.loads(result.stdout)
    return {"seconds": seconds, "built": report["built"], "synthesized": report["synthesized"]}


def run_sequential(url: str, model_id: str, texts: list[str]) -> dict:
    started = time.monotonic()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60) as client:
        for text in texts:
            body = msgpack.packb({"text": text, "reference_id": model_id, "format": "wav"})
            response = client.post(
                "/v1/tts", content=body, headers={"Content-Type": "application/msgpack", "model": "s1"}
            )
            response.raise_for_status()
    return {"seconds": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=400)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--cap", type=int, default=8)
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(child, args.latency, args.cap), daemon=True)
    server.start()
    url, model_id = parent.recv()

    def measure(label: str, run) -> dict:
        parent.send("reset")
        parent.recv()
        result = run()
        parent.send("stats")
        result["server"] = parent.recv()
        print(f"{label}: {result['seconds']:.1f} s", file=sys.stderr)
        return result

    texts = lines(args.lines)
    built_texts = [f"{t} (built)" for t in texts]
    try:
        warm = measure(
            "warm-up (unmeasured: the fake makes its audio)",
            lambda: run_engine(url, model_id, texts + built_texts, args.cap),
        )
        engine = measure("engine", lambda: run_engine(url, model_id, texts, args.cap))
        build = measure("build", lambda: run_build(url, model_id, built_texts, args.cap))
        sequential = measure("sequential", lambda: run_sequential(url, model_id, texts))
    finally:
        parent.send("stop")
        server.join(5)

    ideal = args.lines * args.latency / args.cap
    print(json.dumps({
        "lines": args.lines, "latency_s": args.latency, "cap_in_flight": args.cap, "cpus": os.cpu_count(),
        "ideal_s": round(ideal, 2),
        "engine_s": round(engine["seconds"], 2),
        "build_s": round(build["seconds"], 2),
        "sequential_s": round(sequential["seconds"], 2),
        "ratios": {
            "engine_over_ideal": round(engine["seconds"] / ideal, 3),
            "build_over_ideal": round(build["seconds"] / ideal, 3),
            "sequential_over_ideal": round(sequential["seconds"] / ideal, 3),
            "sequential_over_engine": round(sequential["seconds"] / engine["seconds"], 2),
            "sequential_over_build": round(sequential["seconds"] / build["seconds"], 2),
        },
        "warm_up_s": round(warm["seconds"], 2),
        "engine": engine, "build": build, "sequential": sequential,
    }, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
