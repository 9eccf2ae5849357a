"""Publishing the manifest while Godot reads it: on Windows the editor or a running game holds
voice_manifest.json open for a moment, and os.replace then fails with PermissionError (WinError
5/32). charvoice retries briefly instead of failing the build; the error is simulated here."""

from __future__ import annotations

import os

import pytest

from charvoice import fsutil


def _flaky_replace(monkeypatch, failures: int) -> list[str]:
    real = os.replace
    calls: list[str] = []

    def replace(source, target, *args, **kwargs):
        calls.append(str(target))
        if len(calls) <= failures:
            raise PermissionError(
                13,
                "The process cannot access the file because it is being used by another process",
                str(target),
            )
        real(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setattr(fsutil, "REPLACE_DELAY_S", 0.001)
    return calls


def test_a_manifest_held_open_for_a_moment_is_still_published(tmp_path, monkeypatch):
    manifest = tmp_path / "voice_manifest.json"
    manifest.write_text('{"revision": 1}', encoding="utf-8")
    calls = _flaky_replace(monkeypatch, failures=3)
    fsutil.atomic_write_text(manifest, '{"revision": 2}')
    assert manifest.read_text(encoding="utf-8") == '{"revision": 2}'
    assert len(calls) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["voice_manifest.json"]  # no temp file left


def test_a_file_held_open_for_good_fails_with_the_old_file_intact(tmp_path, monkeypatch):
    manifest = tmp_path / "voice_manifest.json"
    manifest.write_text('{"revision": 1}', encoding="utf-8")
    calls = _flaky_replace(monkeypatch, failures=10_000)
    with pytest.raises(PermissionError):
        fsutil.atomic_write_text(manifest, '{"revision": 2}')
    assert len(calls) == fsutil.REPLACE_ATTEMPTS
    assert manifest.read_text(encoding="utf-8") == '{"revision": 1}'
    assert [p.name for p in tmp_path.iterdir()] == ["voice_manifest.json"]


def test_other_errors_are_not_retried(tmp_path, monkeypatch):
    calls: list[str] = []

    def replace(source, target):
        calls.append(str(target))
        raise IsADirectoryError(21, "Is a directory", str(target))

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(IsADirectoryError):
        fsutil.atomic_write_text(tmp_path / "x.json", "{}")
    assert len(calls) == 1
