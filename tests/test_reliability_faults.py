"""Fault storms: the Fish server misbehaves in every way it can, and the build still loses
nothing, stores nothing bad, retries within its bound, and stops at once on 401/402.

tests/test_fish_client.py checks each fault kind once against the client and
tests/test_fish_build.py a gentler storm; here every kind at once, with timeouts, 200s that are
not audio, the retry bound counted per line at the server, and a key revoked (or credit gone)
in the middle of a real `charvoice build` process.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections import Counter

import pytest
from fakes.fish_server import FAULT_KINDS, FakeFishServer
from fakes.fixtures import API_KEY, make_project
from helpers_reliability import SecretScan, cli_command, decodes, entry_audio, entry_decodes, subprocess_env

VOICES = {  # an existing model and an instant clone: every line goes straight to /v1/tts
    "bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n',
    "cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\ntexts = ["I was never here."]\nclone = "instant"\n',
}


def dock_lines(count: int) -> list[tuple[str, str, str]]:
    return [
        (f"dock.{i:03d}", "Bram" if i % 3 else "Cleo", f"Line number {i}, spoken on the dock at dusk.")
        for i in range(count)
    ]


def served_audio(fake) -> set[str]:
    """sha256 of every whole audio answer the fake produced (before any fault mangled it)."""
    with fake._lock:
        return {sha for sha, _, _ in fake._spoken}


def project_cache(project):
    return sorted((project.root / ".charvoice/cache").rglob("*.audio"))


def test_a_storm_of_every_fault_kind_finishes_every_line_and_stores_nothing_bad(tmp_path, fish_env):
    retries = 10
    faults = FAULT_KINDS  # 429 500 502 503, dropped connections, truncated bodies, stalls, 200s that are not audio
    with FakeFishServer(
        api_key=API_KEY, fault_rate=0.3, faults=faults, stall_seconds=1.6, latency=0.01, audio="tone", seed=30
    ) as fake:
        project = make_project(  # every retry allowed, even those after an answer that may be billed
            tmp_path, fake, characters=VOICES, lines=dock_lines(60), jobs=4, retries=retries, timeout=1.0,
            fish_settings=f"paid_retries = {retries}",
        )  # fmt: skip
        for kind in faults:  # each kind at least once, whatever the dice say
            fake.inject(kind, "/v1/tts")
        result = project.run("build", "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["failed"] == [] and report["synthesized"] == 60

        tts = fake.calls("POST", "/v1/tts")
        seen = Counter(r.fault for r in tts if r.fault)
        assert set(seen) == set(faults), seen
        assert sum(seen.values()) >= 0.2 * len(tts)  # it really was a storm (30% plus the injected ones)
        attempts = Counter(r.body["text"] for r in tts)
        assert len(attempts) == 60 and max(attempts.values()) <= retries + 1  # the bound holds for every line
        assert sum(attempts.values()) == 60 + sum(seen.values())  # one success per line, a retry per fault

        # Nothing but whole answers reached the cache, and every asset is audio.
        whole = served_audio(fake)
        cached = project_cache(project)
        assert len(cached) == 60
        assert all(hashlib.sha256(entry_audio(path) or b"").hexdigest() in whole for path in cached)
        assert all(entry_decodes(path) for path in cached)
        assets = sorted((project.root / "game/voice/en").rglob("*.wav"))
        assert len(assets) == 60 and all(decodes(path) for path in assets)
        assert project.run("check").exit_code == 0

    scan = SecretScan(API_KEY)
    scan.add(result.output)
    assert scan.check(tmp_path) > 60


def test_a_line_that_never_gets_audio_fails_after_exactly_the_configured_attempts(tmp_path, fish_env):
    with FakeFishServer(
        api_key=API_KEY, fault_rate=1.0, faults=("500", "garbage", "drop", "truncate"), audio="tone"
    ) as fake:  # (a 503 is high load, waited out for engine.fish.busy_wait: test_fish_busy.py)
        project = make_project(tmp_path, fake, characters=VOICES, lines=dock_lines(3), jobs=2, retries=2)
        result = project.run("build", "--json")
        assert result.exit_code == 1
        failed = json.loads(result.stdout)["failed"]
        assert sorted(f["id"] for f in failed) == ["dock.000", "dock.001", "dock.002"]
        assert all("failed after 3 attempts" in f["error"] for f in failed)
        assert Counter(r.body["text"] for r in fake.calls("POST", "/v1/tts")) == {
            text: 3 for _, _, text in dock_lines(3)
        }
        assert project_cache(project) == [] and not list((project.root / "game/voice").rglob("*.wav"))
    scan = SecretScan(API_KEY)
    scan.add(result.output)
    scan.check(tmp_path)


@pytest.mark.parametrize(
    ("status", "message"),
    [(401, "rejected the API key in FISH_API_KEY (401"), (402, "says the account has no credit left (402")],
)
def test_a_key_revoked_or_credit_gone_mid_build_stops_the_process_within_a_second(tmp_path, status, message):
    lines = dock_lines(40)
    with FakeFishServer(
        api_key=API_KEY,
        fault_rate=0.3,
        faults=("429", "500", "502", "503", "drop", "truncate", "garbage"),
        latency=0.02,
        audio="tone",
        seed=4,
    ) as fake:
        project = make_project(
            tmp_path, fake, characters=VOICES, lines=lines, jobs=4, retries=10, fish_settings="paid_retries = 10"
        )
        process = subprocess.Popen(
            cli_command("build", "--project", str(project.root)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(API_KEY),
        )
        try:
            deadline = time.monotonic() + 60
            while sum(r.status == 200 for r in fake.calls("POST", "/v1/tts")) < 10 and time.monotonic() < deadline:
                time.sleep(0.01)
            with fake._lock:  # from now on, every request is refused the way the real service would
                fake.fault_rate = 0.0
                if status == 401:
                    fake.api_key = "sk-the-key-was-revoked"
                else:
                    fake.no_credit = True
                flipped, before = time.monotonic(), len(fake.requests)
            out, err = process.communicate(timeout=30)
            stopped = time.monotonic() - flipped
        finally:
            process.kill()
        assert process.returncode == 2, err
        # At once, not after retries: ten retries with backoff would take far longer than this. (A
        # tighter bound measures the machine's load rather than charvoice: it failed at 1.1-3.6 s
        # on a busy 2-core machine with the behaviour unchanged.)
        assert stopped < 5.0, f"took {stopped:.2f} s to stop"
        assert err.count(message) == 1 and "line(s) were not built" in err and "Traceback" not in err

        after = [r for r in fake.calls()[before:] if r.path == "/v1/tts"]
        refused = [r for r in after if r.status == status]
        assert 1 <= len(refused) == len(after) <= 4  # at most one per worker (jobs = 4), then nothing
        assert len({r.body["text"] for r in refused}) == len(refused)  # a refused line is never sent again

        # Every line that finished before the stop was kept, whole.
        manifest = json.loads((project.root / "game/voice/voice_manifest.json").read_text())
        kept = manifest["lines"]
        assert len(kept) >= 8
        assert all(decodes(project.root / "game/voice" / entry["audio"]["en"]["path"]) for entry in kept.values())

        # With the account fixed, the next build asks only for what is not cached yet.
        fake.api_key, fake.no_credit = API_KEY, False
        cached = len(project_cache(project))
        fake.reset_calls()
        again = subprocess.run(
            cli_command("build", "--project", str(project.root), "--json"),
            capture_output=True,
            text=True,
            env=subprocess_env(API_KEY),
            timeout=120,
        )
        assert again.returncode == 0, again.stderr
        assert len(fake.calls("POST", "/v1/tts")) == len(lines) - cached
    scan = SecretScan(API_KEY)
    scan.add(out, err, again.stdout, again.stderr)
    scan.check(tmp_path)
