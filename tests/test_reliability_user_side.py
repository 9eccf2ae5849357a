"""The user's side of long work (issue 11, item 10): Ctrl-C, progress in a CI log, warnings
said once and only where they matter, and `charvoice init` that knows who speaks narration."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, make_project
from helpers_reliability import cli_command, quiesce, subprocess_env

# Only [direction]-mapped cues, so an unmapped tag is reported (on S2 it is otherwise a free-form cue).
MAPPED_CUES_ONLY = '\n[engine.fish]\ncues = "mapped"\n'

BRAM = {"bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n'}
LINES = [(f"pier.{n}", "Bram", f"Line number {n} of a long evening on the pier.") for n in range(1, 25)]


def _published(root) -> dict:
    manifest = root / "game/voice/voice_manifest.json"
    return json.loads(manifest.read_text())["lines"] if manifest.exists() else {}


def test_ctrl_c_exits_130_keeps_what_finished_and_the_next_build_resumes(tmp_path):
    with FakeFishServer(api_key=API_KEY, latency=0.25, audio="tone") as fake:
        project = make_project(tmp_path / "project", fake, characters=BRAM, lines=LINES, jobs=2)
        root = project.root
        env = subprocess_env(API_KEY)
        process = subprocess.Popen(
            cli_command("build", "--project", str(root)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        deadline = time.monotonic() + 60
        while len(list((root / ".charvoice/cache").rglob("*.audio"))) < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert process.poll() is None, "the build finished before Ctrl-C: too few lines"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        quiesce(fake)

        assert process.returncode == 130, out + err
        assert "Traceback" not in err and "Aborted" not in err
        kept = len(_published(root))
        assert 0 < kept < len(LINES)
        message = f"interrupted: {kept} lines were built and kept, {len(LINES) - kept} left to build; the next `charvoice build` resumes"
        assert message in err, err
        # Every asset on disk is in the manifest, and no asset exists without an entry.
        on_disk = {path.stem for path in (root / "game/voice/en").rglob("*.wav")}
        assert on_disk == set(_published(root))
        assert not list(root.rglob("*.tmp"))

        sent = len(fake.calls("POST", "/v1/tts"))
        resumed = subprocess.run(
            [*cli_command("build", "--project", str(root)), "--json"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert resumed.returncode == 0, resumed.stderr
        report = json.loads(resumed.stdout)
        assert report["up_to_date"] == kept and report["built"] == len(LINES) - kept
        assert len(fake.calls("POST", "/v1/tts")) - sent == report["synthesized"] <= len(LINES) - kept


def test_progress_outside_a_terminal_is_plain_periodic_lines(tmp_path, monkeypatch):
    from charvoice.cli import progress

    monkeypatch.setattr(progress, "PLAIN_EVERY_SECONDS", 0.2)
    with FakeFishServer(api_key=API_KEY, latency=0.15, audio="tone") as fake:
        monkeypatch.setenv("FISH_API_KEY", API_KEY)
        project = make_project(tmp_path / "project", fake, characters=BRAM, lines=LINES[:12], jobs=1)
        result = project.run("build")
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "voicing 12 lines" in lines
    periodic = [line for line in lines if line.startswith("voiced ")]
    assert len(periodic) >= 3, result.stderr
    for line in periodic:
        assert re.fullmatch(r"voiced ([1-9]|1[01])/12 lines, \d+:\d\d elapsed, about \d+:\d\d left", line), line
    counts = [int(line.split()[1].split("/")[0]) for line in periodic]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)
    assert "\r" not in result.stderr and "Voicing lines" not in result.stderr


def test_key_notice_and_direction_warnings_once_and_only_where_lines_are_voiced(project):
    """Without a key: `build` says which voice new lines get, once; `check`, `clean` and
    `export-script` voice nothing, so they say nothing about it (nor about unvoiced cues)."""
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('name = "offline"', 'name = "auto"') + MAPPED_CUES_ONLY)
    project.write(
        "dialogue/scene.yarn",
        "title: Dock\n---\nAria: Get off my boat. #line:dock.1 #grumpy\nBram: Fine. #line:dock.2 #grumpy\n===\n",
    )
    notice, cue = "FISH_API_KEY is not set", "direction tag 'grumpy'"
    built = project.run("build")
    assert built.exit_code == 0, built.output
    assert built.output.count(notice) == 1 and built.output.count(cue) == 1, built.output
    for command in ("check", "clean", "export-script"):
        result = project.run(command)
        assert result.exit_code == 0, result.output
        assert notice not in result.output and cue not in result.output, f"{command}: {result.output}"
    took = project.run("take", "dock.1", "-n", "1")
    assert took.exit_code == 0 and took.output.count(notice) == 1 and took.output.count(cue) == 1, took.output


def test_ctrl_c_in_any_command_exits_130_without_a_traceback(project, monkeypatch):
    from charvoice.release import export

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "to_csv", interrupted)
    result = project.run("export-script")
    assert result.exit_code == 130 and "error: interrupted" in result.output and "Aborted" not in result.output


def test_watch_says_the_key_notice_and_cue_warnings_once_at_the_start(project):
    import sys

    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace('name = "offline"', 'name = "auto"') + MAPPED_CUES_ONLY)
    project.write("dialogue/scene.yarn", "title: Dock\n---\nAria: Get off my boat. #line:dock.1 #grumpy\n===\n")
    env = subprocess_env(None)
    command = [sys.executable, "-m", "charvoice", "watch", "--project", str(project.root), "--debounce", "0.2"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        while not project.manifest.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        (project.root / "dialogue/scene.yarn").write_text(
            "title: Dock\n---\nAria: Off my boat, now. #line:dock.1 #grumpy\n===\n"
        )
        time.sleep(2.0)  # a rebuild: it must not repeat the warnings
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert err.count("FISH_API_KEY is not set") == 1 and err.count("direction tag 'grumpy'") == 1, err
    assert "1 line regenerated" in out, out


def test_ctrl_c_between_two_steps_of_the_build_counts_what_was_kept(project, monkeypatch):
    """Issue 22, item 4: Ctrl-C landing just after a line was recorded (or inside the progress
    bar, or a manifest write) raised KeyboardInterrupt there, and the build said "0 lines were
    built and kept" while several were. SIGINT is sent from inside the main loop's step, at
    the worst moment: right after the third line is recorded, before it is counted."""
    import os

    from conftest import csv_text

    from charvoice.pipeline import build

    lines = [(f"quay.{n:02d}", "Bram", f"Quay line {n}: the nets are drying.") for n in range(12)]
    project.write("dialogue/intro.csv", csv_text(lines))
    recorded = []
    original = build.record

    def record_then_ctrl_c(manifest, result):
        original(manifest, result)
        recorded.append(result.job.line.id)
        if len(recorded) == 3:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(build, "record", record_then_ctrl_c)
    result = project.run("build")
    assert result.exit_code == 130, result.output
    kept = len(_published(project.root))
    assert kept >= 3 and kept == len(recorded) < len(lines)
    assert f"interrupted: {kept} lines were built and kept, {len(lines) - kept} left to build" in result.output
    on_disk = {path.stem for path in (project.output / "en").rglob("*.ogg")}
    assert on_disk == set(_published(project.root))  # no asset without its entry
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    resumed = project.run("build")
    assert resumed.exit_code == 0 and f"{kept} up to date" in resumed.output
