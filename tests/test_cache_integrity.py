"""The local cache checks what it returns: a truncated, damaged or unverifiable entry is a miss.

The situation from the field: truncated cache files made `build --force` publish 0.001 s assets
over good ones, and `check` passed. Now the damaged entries are voiced again and the assets keep
their real length.
"""

from __future__ import annotations

import json

import audio_check
import pytest

from charvoice.pipeline.cache import MAGIC, AudioCache, seal, unseal


def durations(project) -> dict[str, float]:
    return {path.name: audio_check.duration(path) for path in project.assets()}


def test_truncated_cache_entries_are_voiced_again_not_published(project, engine_calls):
    assert project.run("build").exit_code == 0
    before = durations(project)
    assert len(before) == 4 and min(before.values()) > 1.0
    entries = project.cache_entries()
    assert len(entries) == 4
    for entry in entries:  # a disk that filled up, a copy cut short
        entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 3])
    engine_calls.clear()

    forced = project.run("build", "--force")

    assert forced.exit_code == 0, forced.output
    assert len(engine_calls) == 4  # every damaged entry was a miss, voiced again
    assert forced.output.count("discarded a damaged cache entry") == 1  # one warning, not one per line
    after = durations(project)
    for name, seconds in before.items():
        assert after[name] == pytest.approx(seconds, abs=0.05), name
    # The cache holds good entries again, and the manifest agrees with the assets.
    assert all(unseal(entry.read_bytes()) is not None for entry in project.cache_entries())
    lines = json.loads(project.manifest.read_text())["lines"]
    assert all(entry["audio"]["en"]["duration_s"] > 1.0 for entry in lines.values())
    assert project.run("check").exit_code == 0


def test_a_flipped_byte_is_a_miss_and_the_entry_is_removed(tmp_path):
    cache = AudioCache(tmp_path / "cache")
    audio = bytes(range(256)) * 40
    cache.put("ab" + "0" * 62, audio)
    path = cache.path("ab" + "0" * 62)
    assert cache.get("ab" + "0" * 62) == audio
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    path.write_bytes(bytes(blob))
    assert cache.get("ab" + "0" * 62) is None
    assert not path.exists() and cache.discarded == 1
    assert len(cache.warnings) == 1 and "damaged cache entry" in cache.warnings[0]


def test_an_entry_without_a_checksum_is_not_trusted(tmp_path):
    """Entries from before checksums (raw audio alone) cannot be verified: voiced again once."""
    cache = AudioCache(tmp_path / "cache")
    key = "cd" + "1" * 62
    cache.path(key).parent.mkdir(parents=True)
    cache.path(key).write_bytes(b"RIFF" + b"\0" * 2000)
    assert cache.get(key) is None and not cache.path(key).exists()


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        MAGIC,  # header cut short
        seal(b"audio bytes")[:-1],  # last byte missing
        seal(b"audio bytes") + b"x",  # trailing garbage
        b"CVCACHE9" + seal(b"audio bytes")[8:],  # an unknown format version
    ],
)
def test_unseal_refuses_anything_but_a_whole_entry(blob):
    assert unseal(blob) is None


def test_sealed_entries_round_trip_empty_and_large_audio():
    for audio in (b"", b"\x00" * 5_000_000):
        assert unseal(seal(audio)) == audio
