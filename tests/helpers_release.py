"""Helpers for the release-workflow tests (qa, gate, export, review): built projects to copy, and
assets deliberately spoiled the way real ones go wrong (clipped, too quiet, silent, padded)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import soundfile
from conftest import BASIC_CONFIG, CHARACTERS, LINES, ProjectDir, csv_text

__all__ = [
    "BASIC_CONFIG",
    "CHARACTERS",
    "LINES",
    "asset",
    "clipped",
    "copy_project",
    "csv_text",
    "decoded",
    "entry",
    "manifest",
    "new_project",
    "quieter",
    "silence",
    "write_ogg",
]

RATE = 44100


def new_project(root: Path, rows=LINES, config: str = BASIC_CONFIG, script: str = "dialogue/intro.csv") -> ProjectDir:
    """The conftest `project` (four lines, Aria and Bram, offline engine), at any path."""
    project = ProjectDir(root)
    project.write("charvoice.toml", config)
    for name, text in CHARACTERS.items():
        project.write(f"characters/{name}.toml", text)
    project.write(script, csv_text(rows))
    return project


def copy_project(source: ProjectDir, target: Path) -> ProjectDir:
    """A copy of a built project (assets, manifest and cache), to spoil without rebuilding."""
    shutil.copytree(source.root, target, ignore=shutil.ignore_patterns("lock"))
    return ProjectDir(target)


def manifest(project) -> dict:
    return json.loads((project.root / "game/voice/voice_manifest.json").read_text(encoding="utf-8"))


def entry(project, line_id: str, locale: str = "en") -> dict:
    return manifest(project)["lines"][line_id]["audio"][locale]


def asset(project, line_id: str, locale: str = "en") -> Path:
    return project.root / "game/voice" / entry(project, line_id, locale)["path"]


def decoded(path: Path) -> np.ndarray:
    """The asset's samples as libsndfile reads them (an independent decoder)."""
    data, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    assert rate == RATE
    return data[:, 0]


def write_ogg(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    """Overwrite an asset with these samples, as Ogg Vorbis (what charvoice publishes)."""
    command = [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "f32le",
        "-ar",
        str(rate),
        "-ac",
        "1",
        "-i",
        "pipe:0",
        "-c:a",
        "libvorbis",
        "-q:a",
        "5",
        str(path),
    ]
    subprocess.run(command, input=np.asarray(samples, dtype="<f4").tobytes(), check=True, capture_output=True)
    _as_if_built(path)


def _as_if_built(path: Path) -> None:
    """Record the new file's size and hash in the manifest, as a build that made this audio would
    (otherwise `build` and `check` rightly see an asset changed on disk)."""
    import hashlib

    for folder in path.parents:
        manifest_path = folder / "voice_manifest.json"
        if manifest_path.is_file():
            break
    else:
        return
    data = json.loads(manifest_path.read_text(encoding="utf-8"))
    relative = path.relative_to(manifest_path.parent).as_posix()
    body = path.read_bytes()
    for line in data["lines"].values():
        for audio in line["audio"].values():
            if audio["path"] == relative:
                audio["size"], audio["sha256"] = len(body), hashlib.sha256(body).hexdigest()
    manifest_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def clipped(samples: np.ndarray) -> np.ndarray:
    """Driven 18 dB too hot into a hard limit at full scale: flat-topped waves."""
    return np.clip(samples * 8.0, -1.0, 1.0)


def quieter(samples: np.ndarray, db: float = 12.0) -> np.ndarray:
    return samples * 10 ** (-db / 20)


def silence(seconds: float = 2.0) -> np.ndarray:
    return np.zeros(int(seconds * RATE), dtype=np.float32)
