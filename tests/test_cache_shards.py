"""`build --shard I/N`: a CI matrix of N jobs warms the shared cache, a final plain build
assembles everything from it with no engine call, and the result equals one ordinary build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.shared_cache import assets, copy_project, manifest_lines, team_project, tts_texts

from charvoice.pipeline.plan import in_shard
from charvoice.project.lines import Line

SPEAKERS = ("Bram", "Cleo", "Dax")
LINES = [(f"market.{i:02d}", SPEAKERS[i % 3], f"Market line {i}: fish, bread and rope for sale.") for i in range(24)]
FISH_TEXTS = sorted(text for _, speaker, text in LINES if speaker != "Dax")


def test_four_shards_and_an_assembly_equal_one_build_with_each_line_voiced_once(tmp_path, fish, fish_env, remote):
    repo = team_project(tmp_path / "repo", fish, remote, lines=LINES)
    reference = copy_project(repo, tmp_path / "reference")  # the same project, built the usual way
    config = reference.root / "charvoice.toml"
    config.write_text(config.read_text().split("[cache]")[0])
    assert reference.run("build").exit_code == 0
    fish.reset_calls()

    voiced: dict[int, set[str]] = {}
    shard_assets: dict[str, bytes] = {}
    for index in range(1, 5):  # four CI runners, each with an empty local cache
        runner = copy_project(repo, tmp_path / f"runner{index}")
        result = runner.run("build", "--shard", f"{index}/4")
        assert result.exit_code == 0, result.output
        voiced[index] = set(manifest_lines(runner))
        shard_assets |= assets(runner)
    assert sorted(tts_texts(fish)) == FISH_TEXTS  # API calls = Fish lines, each exactly once
    assert all(voiced.values()) and sum(len(ids) for ids in voiced.values()) == len(LINES)
    assert set().union(*voiced.values()) == {line_id for line_id, _, _ in LINES}

    fish.reset_calls()
    final = copy_project(repo, tmp_path / "assemble")
    preview = final.run("build", "--dry-run")
    assert f"already holds {len(LINES)} of the lines to build" in preview.output
    assembled = final.run("build")
    assert assembled.exit_code == 0, assembled.output
    assert fish.calls() == []  # assembled from the cache: zero engine calls
    assert f"{len(LINES)} of them from the shared cache" in assembled.output
    # Byte for byte what the shards voiced; the same files and entries as the one-build reference
    # (whose own engine calls may sound a hair different: TTS is not deterministic).
    assert assets(final) == shard_assets and set(shard_assets) == set(assets(reference))
    assert without_measures(manifest_lines(final)) == without_measures(manifest_lines(reference))
    assert final.run("check").exit_code == 0


def without_measures(lines: dict) -> dict:
    for entry in lines.values():
        for audio in entry["audio"].values():
            assert audio.pop("duration_s") > 1.0 and audio.pop("lufs") == pytest.approx(-18.0, abs=1.0)
            # of the files: they differ wherever the audio does
            audio.pop("size"), audio.pop("sha256"), audio.pop("timings_size")
    return lines


def lines_of(ids: list[str], locale: str = "en", text: str = "x") -> list[Line]:
    return [
        Line(id=line_id, character="aria", text=text, locale=locale, file="d.csv", line_number=n)
        for n, line_id in enumerate(ids, 2)
    ]


def test_a_line_keeps_its_shard_whatever_changes_elsewhere():
    ids = [f"scene{i // 10}.line{i}" for i in range(400)]
    before = {line.id: next(i for i in range(1, 5) if in_shard(line, i, 4)) for line in lines_of(ids)}
    assert all(sum(in_shard(line, i, 4) for i in range(1, 5)) == 1 for line in lines_of(ids))  # exactly one shard each
    sizes = [list(before.values()).count(i) for i in range(1, 5)]
    assert all(70 <= size <= 130 for size in sizes), sizes  # about a quarter each
    edited = lines_of(
        [*ids[::2], *(f"new.{i}" for i in range(90))], text="rewritten"
    )  # half removed, some added, all edited
    after = {line.id: next(i for i in range(1, 5) if in_shard(line, i, 4)) for line in edited}
    assert all(after[line_id] == shard for line_id, shard in before.items() if line_id in after)
    french = {line.id: next(i for i in range(1, 5) if in_shard(line, i, 4)) for line in lines_of(ids, locale="fr")}
    assert french != before  # locales of one line are spread too (a 10-locale game is not 1 shard in 10)


@pytest.mark.parametrize("value", ["0/4", "5/4", "1/0", "a/b", "2", "-1/4"])
def test_a_bad_shard_is_an_error(tmp_path, fish, value):
    project = team_project(tmp_path / "p", fish, None, lines=LINES[:2])
    result = project.run("build", "--shard", value)
    assert result.exit_code == 2 and "is not I/N" in result.output
    assert not (project.root / "game").exists()


def test_a_shard_without_a_remote_says_its_work_stays_local(tmp_path, fish, fish_env):
    project = team_project(tmp_path / "p", fish, None, lines=LINES[:6])
    result = project.run("build", "--shard", "1/2")
    assert result.exit_code == 0 and "--shard without [cache] remote" in result.output
    built = json.loads((project.root / "game/voice/voice_manifest.json").read_text())["lines"]
    assert 0 < len(built) < 6


def test_shard_ids_with_unicode_and_slashes_are_stable(tmp_path: Path):
    lines = lines_of(["intro/greet", "NPC:Mara:01", "café.1", "intro/Greet"])
    assert [next(i for i in range(1, 4) if in_shard(line, i, 3)) for line in lines] == [
        next(i for i in range(1, 4) if in_shard(line, i, 3))
        for line in lines_of(["intro/greet", "NPC:Mara:01", "café.1", "intro/Greet"])
    ]
