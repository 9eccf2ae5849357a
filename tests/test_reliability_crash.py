"""SIGKILL a real `charvoice build` process at twenty random points of a 300-line Fish build.

tests/test_crash_safety.py kills one offline build once; here the build runs against the fake
Fish server (in this process), a persistent clone writes charvoice.lock, and the process is
killed twenty times at seeded random moments: while it starts, clones, synthesises, encodes or
flushes the manifest. After every kill everything on disk must be whole (each asset and cache
entry decodes, the manifest and charvoice.lock parse, the manifest names only assets that are
there), and the killed run must not have paid for a line whose audio was already cached.
Finally one build runs to the end: it makes exactly one API call per line whose raw audio
never reached the cache, sweeps every temporary file, and `check` passes.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
import tomllib

from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, make_project
from helpers_reliability import (
    SecretScan,
    cli_command,
    decodes,
    entry_decodes,
    quiesce,
    subprocess_env,
)

from charvoice.pipeline.build import PROCESS_WORKERS

KILLS = 20
LINES = [
    (f"pier.{i:03d}", "Aria" if i % 2 else "Bram", f"Line {i} of the night shift at the pier.") for i in range(300)
]
VOICES = {  # a persistent clone (charvoice.lock) and an existing model
    "aria": 'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav", "voices/aria/02.wav"]\ntexts = ["The tide is early today.", "Keep the lamp lit."]\n',
    "bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n',
}


def keys_to_texts(root) -> dict[str, str]:
    """Every line's cache key -> the text the engine is sent (planned offline, no API call)."""
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(root)
    try:
        plan = workspace.plan()
        return {job.cache_key: job.request.text for job in [*plan.todo, *plan.fresh]}
    finally:
        workspace.close()


def cached_keys(root) -> set[str]:
    return {path.stem for path in (root / ".charvoice/cache").rglob("*.audio")}


def assert_whole(root, fake) -> int:
    """Everything a killed build left is valid; returns how many lines the manifest lists."""
    output = root / "game/voice"
    for path in output.rglob("*") if output.exists() else []:
        if path.is_file() and not path.name.startswith("."):  # hidden: temporary files, swept by the next build
            if "voice_manifest.runtime" in path.parts:  # the manifest's runtime form: whole JSON files
                assert path.suffix == ".json" and isinstance(json.loads(path.read_text()), dict), path
                continue
            assert path.suffix == ".wav" or path.name == "voice_manifest.json" or path.name.endswith(".timings.json"), (
                path
            )
            if path.suffix == ".wav":
                assert decodes(path), f"{path} is not whole"
            if path.name.endswith(".timings.json"):  # word timings: whole JSON, beside a whole asset
                assert json.loads(path.read_text())["format"] == "charvoice-timings", path
                assert path.with_name(path.name.removesuffix(".timings.json") + ".wav").is_file(), path
    for path in (root / ".charvoice/cache").rglob("*.audio"):
        assert entry_decodes(path), f"cache entry {path.name} is not whole"
    lines = 0
    manifest = output / "voice_manifest.json"
    if manifest.exists():
        data = json.loads(manifest.read_text())
        for entry in data["lines"].values():
            assert decodes(output / entry["audio"]["en"]["path"]), "the manifest names an asset that is not there"
            assert (output / entry["audio"]["en"]["timings"]).is_file(), "the manifest names timings that are not there"
        lines = len(data["lines"])
    lock = root / "charvoice.lock"
    if lock.exists():
        for entry in tomllib.loads(lock.read_text())["voices"].values():
            assert entry["model_id"] in fake.models
    return lines


def test_sigkill_at_twenty_random_points_then_resume(tmp_path):
    rng = random.Random(2024)
    scan = SecretScan(API_KEY)
    # 200 ms a request (20 lines a second at 4 in flight): slow enough that twenty kills at up to
    # 2.2 s each land before the 300 lines are done, however fast the processing is. Training
    # takes a moment (most fast clones are ready at once): kills land while Aria is cloned too.
    with FakeFishServer(api_key=API_KEY, latency=0.2, audio="tone", training_seconds=1.0) as fake:
        project = make_project(tmp_path, fake, characters=VOICES, lines=LINES, jobs=4)
        root = project.root
        texts_of = keys_to_texts(root)
        assert len(set(texts_of.values())) == len(LINES)
        build = cli_command("build", "--project", str(root))
        env = subprocess_env(API_KEY)

        kills, published, partway = 0, [], []
        while kills < KILLS:
            before = cached_keys(root)
            sent_before = len(fake.calls("POST", "/v1/tts"))
            process = subprocess.Popen(build, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            if kills % 3 != 1:  # anywhere from start-up: loading, planning, cloning Aria, the first lines
                time.sleep(rng.uniform(0.1, 2.2))
            else:  # while it voices lines: after a random number more reached the cache, mid-whatever
                wanted, deadline = len(before) + rng.randint(1, 15), time.monotonic() + 30
                while len(cached_keys(root)) < wanted and process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.0, 0.4))
            assert process.poll() is None, (
                "the build finished before it could be killed: too few lines for this many kills"
            )
            process.send_signal(signal.SIGKILL)
            partway.append(len(cached_keys(root)))
            out, err = process.communicate()
            scan.add(out, err)
            kills += 1
            quiesce(fake)

            published.append(assert_whole(root, fake))
            sent = fake.tts_texts()[sent_before:]
            already = {texts_of[key] for key in before}
            wasted = [text for text in sent if text in already]
            assert wasted == [], f"kill {kills}: the build paid again for lines already cached: {wasted[:3]}"

        partial = [count for count in partway if 0 < count < len(LINES)]
        assert len(partial) >= KILLS // 2, f"the kills must land part way through the lines: {partway}"
        total_sent = len(fake.calls("POST", "/v1/tts"))
        # A kill loses at most the lines in flight: 4 requests (jobs) and one being processed per core.
        assert total_sent <= len(LINES) + KILLS * (4 + PROCESS_WORKERS)

        before = cached_keys(root)
        sent_before = len(fake.calls("POST", "/v1/tts"))
        final = subprocess.run([*build, "--json"], capture_output=True, text=True, env=env, timeout=120)
        scan.add(final.stdout, final.stderr)
        assert final.returncode == 0, final.stderr
        report = json.loads(final.stdout)
        calls = len(fake.calls("POST", "/v1/tts")) - sent_before
        assert calls == len(LINES) - len(before) == report["synthesized"]  # only lines never cached
        assert report["failed"] == [] and report["built"] + report["up_to_date"] == len(LINES)
        assert len(fake.calls("POST", "/model")) >= 1

    assert not list(root.rglob("*.tmp")), "every temporary file of the killed builds is swept"
    assert assert_whole(root, fake) == len(LINES)
    assert len(list((root / "game/voice/en").rglob("*.wav"))) == len(LINES)
    reports = root / "reports"
    check = subprocess.run(
        cli_command(
            "check",
            "--project",
            str(root),
            "--junit",
            str(reports / "voice.xml"),
            "--report",
            str(reports / "voice.json"),
        ),
        capture_output=True,
        text=True,
        env=env,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(json.loads((reports / "voice.json").read_text())) > 0
    scan.add(check.stdout, check.stderr)
    assert scan.check(tmp_path) > len(LINES)  # assets, cache, manifest, charvoice.lock, the reports
