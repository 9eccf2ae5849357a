"""A power cut right after a build (issue 22, item 7). The simulated disk keeps a file's data
only if it was fsynced after its last write (a renamed but unsynced file comes back zero-filled,
at its full size: the case an atomic rename alone does not cover, and a size check cannot see).
The manifest must survive, and never name a damaged asset: `check` passes, or names each one."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import LINES, csv_text

from charvoice.pipeline.cache import unseal


class PowerCut:
    """Remembers which files' data reached the disk (fsync), and on `cut` zero-fills the rest.
    A context manager: os.fsync is watched inside it."""

    def __init__(self) -> None:
        self.synced: set[tuple[int, int, int, int]] = set()
        self._real = os.fsync

    def __enter__(self) -> PowerCut:
        def fsync(fd: int) -> None:
            self.synced.add(self._identity(os.fstat(fd)))
            self._real(fd)

        os.fsync = fsync
        return self

    def __exit__(self, *exc: object) -> None:
        os.fsync = self._real

    @staticmethod
    def _identity(stat: os.stat_result) -> tuple[int, int, int, int]:
        return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)

    def settle(self, *folders: Path) -> None:
        """Files already there: long since on the disk."""
        for path in self._files(folders):
            self.synced.add(self._identity(path.stat()))

    def cut(self, *folders: Path) -> list[Path]:
        lost = [path for path in self._files(folders) if self._identity(path.stat()) not in self.synced]
        for path in lost:
            path.write_bytes(bytes(path.stat().st_size))
        return lost

    @staticmethod
    def _files(folders) -> list[Path]:
        return [p for folder in folders if folder.exists() for p in sorted(folder.rglob("*")) if p.is_file()]


def _build_then_cut(project, ending: str) -> list[Path]:
    """Build every line anew (text + `ending`), then cut the power: the files that lost their data."""
    with PowerCut() as power:
        power.settle(project.root)
        project.write("dialogue/intro.csv", csv_text([(i, c, t + ending) for i, c, t in LINES]))
        power.settle(project.root / "dialogue")
        assert project.run("build").exit_code == 0
        return power.cut(project.output, project.root / ".charvoice/cache")


def test_after_a_power_cut_the_manifest_names_no_damaged_asset(project):
    assert project.run("build").exit_code == 0
    lost = _build_then_cut(project, " Again.")
    manifest = json.loads(project.manifest.read_text())  # whole: it was synced
    assert all(line["audio"]["en"]["text"].endswith("Again.") for line in manifest["lines"].values())
    for line in manifest["lines"].values():
        assert not any(path.name == Path(line["audio"]["en"]["path"]).name for path in lost)
    for entry in (project.root / ".charvoice/cache").rglob("*.audio"):
        assert unseal(entry.read_bytes()) is not None  # paid-for audio survives too
    result = project.run("check")
    assert result.exit_code == 0, result.output
    published = json.loads((project.output / ".charvoice-published.json").read_text())
    assert len(published["files"]) >= len(LINES)


def test_without_asset_fsync_check_names_every_damaged_asset(project):
    """The setting off (a scratch build on a slow share): the cut damages assets, the manifest
    still loads, and `check` fails naming each damaged file rather than passing it."""
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text().replace("[project]\n", "[project]\nfsync_assets = false\n", 1))
    assert project.run("build").exit_code == 0
    damaged = [p for p in _build_then_cut(project, " Once more.") if p.suffix == ".ogg"]
    assert len(damaged) == len(LINES)
    json.loads(project.manifest.read_text())  # the manifest itself is always synced
    result = project.run("check")
    assert result.exit_code == 1
    for path in damaged:
        assert path.stem in result.output
    assert "differs from the manifest" in result.output


@pytest.mark.parametrize("durable", [True, False])
def test_a_manifest_write_is_synced_before_and_after_its_rename(tmp_path, monkeypatch, durable):
    from charvoice.pipeline.manifest import Manifest

    calls: list[str] = []
    real = os.fsync

    def fsync(fd):
        calls.append("folder" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    manifest = Manifest(tmp_path / "voice_manifest.json", durable=durable)
    manifest.publish([])
    assert calls == (["file", "folder"] if durable else [])
