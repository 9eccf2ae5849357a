"""Filesystem failures and damaged assets (issue 11, items 4 and 5).

A full disk, a read-only or unwritable folder, a file where the output folder should be: one
message naming the path and the cause, exit status 2, no traceback, no temporary file left, and
never a manifest that disagrees with the assets unnoticed: every entry records its file's size
and sha256, `build` rebuilds a file whose size changed, and `check` fails one whose hash did.

Some tests mount a tiny tmpfs (a really full disk, a really read-only folder); they skip where
mounting is not allowed. The others inject the OSError a full or read-only disk raises, at the
one place every published file passes through (os.replace), so they run everywhere.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
import soundfile
from conftest import LINES, csv_text

MORE_LINES = [
    *LINES,
    *[
        (
            f"dock.{n}",
            "Aria" if n % 2 else "Bram",
            f"Line {n}: the boats come in one by one, slow and heavy with the catch of the day.",
        )
        for n in range(1, 13)
    ],
]


def manifest_of(project) -> dict:
    return json.loads(project.manifest.read_text(encoding="utf-8"))


def assert_manifest_matches_assets(project) -> int:
    """Every entry names a whole file with the recorded size and hash; every asset has an entry."""
    data = manifest_of(project)
    listed = set()
    for line in data["lines"].values():
        for audio in line["audio"].values():
            path = project.output / audio["path"]
            body = path.read_bytes()
            assert len(body) == audio["size"] and hashlib.sha256(body).hexdigest() == audio["sha256"], path
            info = soundfile.info(str(path))
            assert abs(info.frames / info.samplerate - audio["duration_s"]) < 0.05, path
            listed.add(path)
    assert set(project.assets()) == listed
    assert not list(project.root.rglob("*.tmp")) and not list(project.root.rglob(".charvoice-probe"))
    return len(listed)


def fail_replace(monkeypatch, code: int, when) -> list[str]:
    """os.replace raises OSError(code) for targets `when(target)` accepts (as a full or read-only
    disk does when a file is published); returns the targets it refused."""
    refused: list[str] = []
    original = os.replace

    def replace(source, target, *args, **kwargs):
        if when(str(target)):
            refused.append(str(target))
            raise OSError(code, os.strerror(code))
        return original(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return refused


def one_error(output: str) -> str:
    assert "Traceback" not in output
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


# --- item 5: size and hash in the manifest ------------------------------------------------------


def test_manifest_records_each_assets_size_and_sha256(project):
    assert project.run("build").exit_code == 0
    assert assert_manifest_matches_assets(project) == len(LINES)


def test_check_finds_an_asset_damaged_on_disk_and_build_force_repairs_it(project):
    assert project.run("build").exit_code == 0
    greet = project.output / manifest_of(project)["lines"]["intro.greet"]["audio"]["en"]["path"]
    body = bytearray(greet.read_bytes())
    body[len(body) // 2 : len(body) // 2 + 64] = bytes(64)  # same size, damaged in the middle
    greet.write_bytes(bytes(body))

    result = project.run("check")
    assert result.exit_code == 1, result.output
    assert "dialogue/intro.csv:2: intro.greet [en]: the audio file differs from the manifest" in result.output
    assert "charvoice build --force intro.greet" in result.output
    report = json.loads(project.run("check", "--json").stdout)
    failures = [case for case in report["gate"]["cases"] if not case["ok"]]
    assert [(case["id"], case["failures"][0]["check"]) for case in failures] == [("intro.greet", "damaged")]

    assert project.run("build", "--force", "intro.greet").exit_code == 0
    assert project.run("check").exit_code == 0
    assert_manifest_matches_assets(project)


def test_an_asset_whose_size_changed_is_rebuilt(project, engine_calls):
    assert project.run("build").exit_code == 0
    reply = project.output / manifest_of(project)["lines"]["intro.reply"]["audio"]["en"]["path"]
    reply.write_bytes(reply.read_bytes()[:100])  # truncated
    check = project.run("check")
    assert check.exit_code == 1 and "intro.reply [en]: audio file changed on disk" in check.output
    engine_calls.clear()
    rebuilt = json.loads(project.run("build", "--json").stdout)
    assert rebuilt["built"] == 1 and rebuilt["from_cache"] == 1 and engine_calls == []  # from the cache, no new call
    assert assert_manifest_matches_assets(project) == len(LINES)


# --- item 4: injected failures (always run) -------------------------------------------------------


def test_disk_full_mid_build_stops_with_one_message_and_keeps_what_finished(project, monkeypatch):
    project.write("dialogue/intro.csv", csv_text(MORE_LINES))
    published: list[str] = []
    original = os.replace

    def replace(source, target, *args, **kwargs):  # the 5th asset finds the disk full, and so does everything after
        if str(target).endswith(".ogg"):
            if len(published) >= 4:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            published.append(str(target))
        return original(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    result = project.run("build")
    assert result.exit_code == 2, result.output
    error = one_error(result.output)
    assert (
        "error: no space left on device while writing game/voice/en/" in error
        and "(free some space and build again)" in error
    )
    assert "line(s) were not built; 4 finished and were kept" in result.output
    assert "failed:" not in result.output  # not one failure per line
    assert assert_manifest_matches_assets(project) == 4

    monkeypatch.setattr(os, "replace", original)
    resumed = json.loads(project.run("build", "--json").stdout)
    assert resumed["up_to_date"] == 4 and resumed["built"] == len(MORE_LINES) - 4
    assert assert_manifest_matches_assets(project) == len(MORE_LINES)


@pytest.mark.parametrize("code, cause", [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only file system")])
def test_unwritable_output_folder_is_one_message_before_any_work(project, monkeypatch, engine_calls, code, cause):
    output = str(project.output)
    fail_replace(monkeypatch, code, lambda target: target.startswith(output))
    result = project.run("build")
    assert result.exit_code == 2
    assert one_error(result.output).startswith(f"error: {cause} while writing game/voice")
    assert engine_calls == [] and not project.assets() and not project.manifest.exists()
    json_result = project.run("build", "--json")
    assert json_result.exit_code == 2 and cause in json.loads(json_result.stdout)["problems"][0]["message"]


def test_unwritable_manifest_never_leaves_an_asset_under_an_older_entry_unnoticed(project, monkeypatch):
    assert project.run("build").exit_code == 0
    before = manifest_of(project)
    rows = [list(row) for row in LINES]
    rows[0][2] = "Hello there, traveller. Welcome to the harbour, and mind the nets."
    project.write("dialogue/intro.csv", csv_text(rows))
    refused = fail_replace(monkeypatch, errno.EACCES, lambda target: target.endswith("voice_manifest.json"))

    result = project.run("build")
    assert result.exit_code == 2, result.output
    assert one_error(result.output).startswith("error: permission denied while writing game/voice/voice_manifest.json")
    assert refused and manifest_of(project) == before  # the old manifest, whole

    monkeypatch.undo()
    project.write("dialogue/intro.csv", csv_text(LINES))  # the script says what the old entry says again
    check = project.run("check")
    assert check.exit_code == 1, "the asset on disk is the new text's audio: check must not pass"
    assert "intro.greet [en]: audio file changed on disk" in check.output
    assert project.run("build").exit_code == 0 and project.run("check").exit_code == 0
    assert_manifest_matches_assets(project)


def test_output_under_a_file_is_one_message(project):
    (project.root / "game").write_text("not a folder\n")
    result = project.run("build")
    assert result.exit_code == 2
    assert (
        one_error(result.output)
        == "error: not a directory while writing game/voice (a file stands where a folder should be)"
    )
    assert (project.root / "game").read_text() == "not a folder\n"


def test_read_only_project_folder_is_one_message(project, monkeypatch):
    """Even the lock file cannot be created: still one message, no traceback."""
    import builtins

    original = builtins.open

    def guarded(file, mode="r", *args, **kwargs):
        if str(file).endswith(os.path.join(".charvoice", "lock")):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(file))
        return original(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded)
    result = project.run("build")
    assert result.exit_code == 2
    assert one_error(result.output).endswith(
        ".charvoice/lock: permission denied (make the folder writable, or choose another project.output)"
    )


# --- item 4 on a real tiny disk (skips where mounting is not allowed) ----------------------------


@pytest.fixture
def tiny_disk(tmp_path):
    """Mount a tmpfs of `size` at a folder; unmounted afterwards."""
    mounted: list[Path] = []

    def mount(folder: Path, size: str, read_only: bool = False) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        options = f"size={size}" + (",ro" if read_only else "")
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, f"charvoice-test-{uuid.uuid4().hex[:6]}", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(
                f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'}); the injected-failure tests cover this"
            )
        mounted.append(folder)
        return folder

    yield mount
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def test_really_full_disk(project, tiny_disk):
    project.write("dialogue/intro.csv", csv_text(MORE_LINES))
    tiny_disk(project.output, "160k")
    result = project.run("build")
    assert result.exit_code == 2, result.output
    error = one_error(result.output)
    assert "no space left on device while writing game/voice/" in error, error
    listed = assert_manifest_matches_assets(project) if project.manifest.exists() else 0
    assert listed < len(MORE_LINES)
    check = project.run("check")
    assert check.exit_code == 1 and "differs from the manifest" not in check.output


def test_really_read_only_output(project, tiny_disk):
    tiny_disk(project.output, "1m", read_only=True)
    result = project.run("build")
    assert result.exit_code == 2
    assert one_error(result.output).startswith("error: read-only file system while writing game/voice")


def test_build_force_never_publishes_truncated_cache_audio_over_a_good_asset(project, engine_calls):
    assert project.run("build").exit_code == 0
    good = {line_id: line["audio"]["en"]["duration_s"] for line_id, line in manifest_of(project)["lines"].items()}
    for entry in project.cache_entries():
        entry.write_bytes(entry.read_bytes()[:2000])  # a WAV header and a few milliseconds
    engine_calls.clear()
    result = project.run("build", "--force")
    assert result.exit_code == 0, result.output
    after = {line_id: line["audio"]["en"]["duration_s"] for line_id, line in manifest_of(project)["lines"].items()}
    for line_id, seconds in good.items():
        assert abs(after[line_id] - seconds) < 0.05, (line_id, seconds, after[line_id])
    assert len(engine_calls) == len(LINES)  # each damaged entry was voiced again, and replaced
    assert all(entry.stat().st_size > 2000 for entry in project.cache_entries())
    assert project.run("check").exit_code == 0
    assert_manifest_matches_assets(project)


# --- libsndfile's Ogg writer fails silently: the length is read back from the last page ---------


def _encoded_ogg(tmp_path, seconds: float = 3.0):
    from charvoice.audio import Processed, encode
    from charvoice.project.config import AudioSettings

    t = np.arange(int(44100 * seconds), dtype=np.float32) / 44100
    processed = Processed(samples=(0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), sample_rate=44100, lufs=-18)
    target = tmp_path / "line.ogg"
    encode(processed, target, AudioSettings(format="ogg"))
    return processed, target


def test_an_ogg_file_cut_short_anywhere_is_told_from_a_whole_one(tmp_path):
    from charvoice.audio import ogg_length

    processed, target = _encoded_ogg(tmp_path)
    body = target.read_bytes()
    assert ogg_length(target) == soundfile.info(str(target)).frames == len(processed.samples)
    cut = tmp_path / "cut.ogg"
    for size in (0, 20, 4000, len(body) // 2, len(body) - 300, len(body) - 1):
        cut.write_bytes(body[:size])
        assert ogg_length(cut) < len(processed.samples), size


def test_an_ogg_writer_that_stops_writing_publishes_nothing(tmp_path, monkeypatch):
    """As libsndfile does when the disk fills up: no error, a short file that ends properly."""
    processed, target = _encoded_ogg(tmp_path)
    target.unlink()
    written = soundfile.SoundFile.write
    calls: list[int] = []

    def write_once(self, data):
        calls.append(len(data))
        if len(calls) == 1:
            written(self, data)

    monkeypatch.setattr(soundfile.SoundFile, "write", write_once)
    from charvoice.audio import encode
    from charvoice.project.config import AudioSettings

    with pytest.raises(OSError) as failure:
        encode(processed, target, AudioSettings(format="ogg"))
    assert failure.value.filename == str(target) and len(calls) > 1
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))
