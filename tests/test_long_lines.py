"""Lines of any length encode: a one-minute monologue builds, a ten-minute take writes in every format."""

from __future__ import annotations

import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from audio_check import duration, loudness
from conftest import csv_text

MONOLOGUE = " ".join(
    [
        "The lighthouse keeper climbed the stairs every evening, counting each step aloud, "
        "because his father had counted them before him and his grandfather before that."
    ]
    * 8
)


def _ffmpeg_duration(path) -> float:
    """Decode with ffmpeg (a second decoder) and count the samples."""
    pcm = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            "44100",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    return len(pcm) / 4 / 44100


@pytest.mark.parametrize("fmt", ["ogg", "wav", "mp3"])
def test_a_ten_minute_line_encodes_and_decodes_back_whole(tmp_path, fmt):
    rate = 44100
    t = np.arange(rate * 600, dtype=np.float32) / rate
    tone = (0.1 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))).astype(np.float32)
    target = tmp_path / f"long.{fmt}"
    # In a child process: before the fix this was a segmentation fault that would kill pytest itself.
    code = (
        "import numpy as np, sys; from pathlib import Path\n"
        "from charvoice.audio import Processed, encode\nfrom charvoice.project.config import AudioSettings\n"
        f"s = np.load({str(tmp_path / 'tone.npy')!r})\n"
        f"encode(Processed(samples=s, sample_rate=44100, lufs=-18.0), Path({str(target)!r}), AudioSettings(format={fmt!r}))\n"
    )
    np.save(tmp_path / "tone.npy", tone)
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert abs(_ffmpeg_duration(target) - 600.0) < 0.2
    if fmt != "mp3":
        assert abs(duration(target) - 600.0) < 0.01
        assert abs(loudness(target) - loudness_of(tone, rate)) < 1.0
    assert not list(tmp_path.glob(".*.tmp"))


def loudness_of(samples, rate) -> float:
    import pyloudnorm

    return pyloudnorm.Meter(rate).integrated_loudness(samples.astype(np.float64))


def test_a_one_minute_monologue_builds_with_the_other_lines(project):
    assert len(MONOLOGUE) > 1200
    project.write(
        "dialogue/intro.csv",
        csv_text(
            [
                ("keeper.short", "Aria", "Good evening."),
                ("keeper.monologue", "Aria", MONOLOGUE),
            ]
        ),
    )
    result = project.run("build")
    assert result.exit_code == 0, result.output
    long_asset = project.output / "en" / "aria" / "keeper.monologue.ogg"
    assert duration(long_asset) > 50.0
    assert abs(loudness(long_asset) - (-18.0)) <= 1.0
    assert (project.output / "en" / "aria" / "keeper.short.ogg").is_file()
    assert project.run("check").exit_code == 0


def test_temporary_files_of_a_killed_run_are_swept(project):
    assert project.run("build").exit_code == 0
    leftovers = [
        project.output / "en" / "aria" / ".intro.greet.ogg.4242-deadbeef.tmp",
        project.root / ".charvoice" / "cache" / ".ab" / ".x.audio.4242-deadbeef.tmp",
        project.output / ".voice_manifest.json.4242-deadbeef.tmp",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"half a file")
    result = project.run("clean")
    assert result.exit_code == 0, result.output
    assert not [p for p in leftovers if p.exists()]
    assert project.run("check").exit_code == 0
