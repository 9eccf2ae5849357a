"""A build killed at any moment loses nothing that finished and leaves nothing corrupt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import soundfile
from conftest import csv_text

from charvoice.pipeline.cache import unseal


def _decodes(path) -> bool:
    try:
        return soundfile.info(str(path)).frames > 0
    except Exception:
        return False


def test_sigkill_mid_build_then_resume(project):
    rows = [
        (f"scene.line{i:02d}", "Aria" if i % 2 else "Bram", f"This is line number {i}, spoken for the crash test.")
        for i in range(30)
    ]
    project.write("dialogue/intro.csv", csv_text(rows))
    command = [sys.executable, "-m", "charvoice", "build", "--project", str(project.root), "--jobs", "2"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "FISH_API_KEY": ""}
    )
    deadline = time.monotonic() + 60
    while len(project.assets()) < 8 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert 0 < len(project.assets()) < len(rows), "the kill must land part way through"

    # Everything present is whole.
    assert all(_decodes(path) for path in project.assets())
    cached = {path.stem for path in project.cache_entries()}
    assert all(unseal(path.read_bytes()) is not None for path in project.cache_entries())
    if project.manifest.exists():
        json.loads(project.manifest.read_text())

    # A killed process can leave a hidden temporary file mid-rename; the next build sweeps it.
    stray = project.output / "en" / "aria" / ".scene.line01.ogg.4242-deadbeef.tmp"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"OggS half a file")

    result = subprocess.run([*command, "--json"], capture_output=True, text=True, check=True)
    report = json.loads(result.stdout)
    assert report["synthesized"] == len(rows) - len(cached)  # only what never reached the cache
    assert report["built"] + report["up_to_date"] == len(rows) and report["failed"] == []
    assert len(project.assets()) == len(rows) and all(_decodes(path) for path in project.assets())
    assert not list(project.root.rglob("*.tmp")), "temporary files of the killed build are swept"
    check = subprocess.run(
        [sys.executable, "-m", "charvoice", "check", "--project", str(project.root)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_second_build_waits_for_the_first(project):
    # enough lines that the first build still holds the lock when the second has started up
    rows = [
        (f"queue.line{i:02d}", "Aria" if i % 2 else "Bram", f"Line {i} of a build that takes a moment.")
        for i in range(60)
    ]
    project.write("dialogue/intro.csv", csv_text(rows))
    command = [sys.executable, "-m", "charvoice", "build", "--project", str(project.root), "--jobs", "1", "--json"]
    env = {**os.environ, "FISH_API_KEY": ""}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    while not project.assets() and time.monotonic() < deadline:
        time.sleep(0.02)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    first_out, _ = first.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert "Another charvoice process is writing to this project; waiting" in second.stderr
    assert json.loads(first_out)["synthesized"] == len(rows)
    report = json.loads(second.stdout)
    assert report["synthesized"] == 0 and report["up_to_date"] == len(rows)  # it saw the first build's result
