"""Fixtures for the Fish Audio tests: the fake server, and small projects pointed at it.

Import them explicitly in a test module: `from fakes.fixtures import fish, fish_env, ...`.
"""

from __future__ import annotations

import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from fakes.fish_server import FakeFishServer

# Distinctive, so a test can scan every output for it.
API_KEY = "sk-fake-5f1c0ffee-DO-NOT-LEAK-7a9"


@pytest.fixture
def fish():
    """A fake Fish Audio server that accepts API_KEY."""
    with FakeFishServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def fast_retries(monkeypatch):
    """Backoff and polling in milliseconds instead of seconds (same logic, shorter waits)."""
    from charvoice.engines.fish import retry as fish_retry
    from charvoice.engines.fish import voices

    monkeypatch.setattr(fish_retry, "BACKOFF_BASE_S", 0.005)
    monkeypatch.setattr(fish_retry, "BACKOFF_CAP_S", 0.04)
    monkeypatch.setattr(voices, "POLL_INTERVAL_S", 0.02)
    monkeypatch.setattr(voices, "POLL_INTERVAL_MAX_S", 0.05)


@pytest.fixture
def fish_env(monkeypatch, fast_retries):
    monkeypatch.setenv("FISH_API_KEY", API_KEY)


def write_sample(path: Path, seconds: float = 11.0, pitch: float = 150.0, channels: int = 1, rate: int = 16000) -> Path:
    """A speech-like WAV: a harmonic tone in syllable-length bursts with pauses."""
    t = np.arange(int(seconds * rate)) / rate
    envelope = np.clip(np.sin(2 * np.pi * 3.3 * t), 0, None) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.4 * t) ** 2)
    tone = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in (1, 2, 3)) * envelope * 0.25
    pcm = np.clip(tone * 32767, -32768, 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, axis=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


CONFIG = """\
[project]
characters = "characters"
dialogue = ["dialogue"]
output = "game/voice"
locales = ["en"]
default_locale = "en"

[engine]
name = "{engine}"
jobs = {jobs}

[engine.fish]
base_url = "{url}"
model = "s1"
retries = {retries}
timeout = {timeout}
train_timeout = {train_timeout}

[audio]
format = "wav"
sample_rate = 22050
"""

# aria: persistent clone; bram: an existing model; cleo: instant clone; dax: scratch (always offline)
CHARACTERS = {
    "aria": 'name = "Aria"\n[voice]\nsamples = ["voices/aria/01.wav", "voices/aria/02.wav"]\ntexts = ["The tide is early today.", "Keep the lamp lit."]\n[speech]\nspeed = 1.1\n',
    "bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n',
    "cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\ntexts = ["I was never here."]\nclone = "instant"\n',
    "dax": 'name = "Dax"\n[voice]\nscratch = true\n',
}

LINES = [
    ("harbour.1", "Aria", "Good evening. The ferry is late again."),
    ("harbour.2", "Bram", "It always is, when the wind turns north."),
    ("harbour.3", "Cleo", "I saw a light on the old pier."),
    ("harbour.4", "Dax", "Nobody goes out there any more."),
    ("harbour.5", "Aria", "Then who lit the lamp?"),
    ("harbour.6", "Bram", "Café owners, mostly. Or ghosts."),
]


@dataclass
class Run:
    exit_code: int
    output: str  # stdout and stderr as a user sees them
    stdout: str
    stderr: str
    seconds: float


class FishProject:
    """A project on disk whose Fish engine points at the fake server, and the CLI to run in it."""

    def __init__(self, root: Path, fake: FakeFishServer) -> None:
        self.root = root
        self.fake = fake

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def write_lines(self, rows: list[tuple[str, str, str]]) -> None:
        body = "".join(f'{line_id},{character},"{text}"\n' for line_id, character, text in rows)
        self.write("dialogue/lines.csv", "id,character,text\n" + body)

    def run(self, *args: str, input: str | None = None) -> Run:
        import time

        from charvoice.cli import cli

        started = time.monotonic()
        result = CliRunner().invoke(cli, [*args, "--project", str(self.root)], input=input, catch_exceptions=False)
        return Run(result.exit_code, result.output, result.stdout, result.stderr, time.monotonic() - started)

    @property
    def lock_path(self) -> Path:
        return self.root / "charvoice.lock"

    def every_file_text(self) -> str:
        """Every file the project holds, as text (binary files decoded leniently)."""
        return "\n".join(
            path.read_bytes().decode("utf-8", "replace") for path in self.root.rglob("*") if path.is_file()
        )


def make_project(
    root: Path,
    fake: FakeFishServer,
    *,
    characters: dict[str, str] | None = None,
    lines: list[tuple[str, str, str]] | None = None,
    jobs: int = 4,
    retries: int = 6,
    timeout: float = 10.0,
    train_timeout: float = 30.0,
    engine: str = "fish",
    fish_settings: str = "",
) -> FishProject:
    """`fish_settings`: more lines for [engine.fish] (such as 'busy_wait = 2')."""
    project = FishProject(root, fake)
    project.write(
        "charvoice.toml",
        CONFIG.format(
            engine=engine, jobs=jobs, url=fake.url, retries=retries, timeout=timeout, train_timeout=train_timeout
        ).replace("\n[audio]", f"{fish_settings}\n\n[audio]" if fish_settings else "\n[audio]"),
    )
    chosen = CHARACTERS if characters is None else characters
    bram_model = fake.add_model("Bram the bosun", owner="someone-else", visibility="public") if "bram" in chosen else ""
    for character_id, text in chosen.items():
        project.write(f"characters/{character_id}.toml", text.replace("{bram_model}", bram_model))
    write_sample(root / "characters/voices/aria/01.wav", pitch=140)
    write_sample(root / "characters/voices/aria/02.wav", pitch=150)
    write_sample(root / "characters/voices/cleo/01.wav", pitch=220)
    project.write_lines(LINES if lines is None else lines)
    return project
