"""The team's shared cache (`[cache] remote`), tested for real: a folder in tmp_path, and an S3
bucket on moto's standalone server on 127.0.0.1. Engine calls are counted at the loopback fake
Fish server, so "zero API calls" means no request reached it.
"""

from __future__ import annotations

import errno
import json
import os
import threading
from pathlib import Path

import audio_check
import pytest
from fakes.shared_cache import (
    FISH_LINES,
    LINES,
    Remote,
    S3Server,
    assets,
    copy_project,
    manifest_lines,
    team_project,
    tts_texts,
    use_credentials,
)

from charvoice.pipeline.cache import seal, unseal
from charvoice.pipeline.remote_cache import FolderBackend, RemoteCache


def test_a_second_machine_builds_from_the_shared_cache_with_no_api_call(tmp_path, fish, fish_env, remote):
    first = team_project(tmp_path / "alice", fish, remote)
    built = first.run("build")
    assert built.exit_code == 0, built.output
    assert sorted(tts_texts(fish)) == sorted(text for _, _, text in FISH_LINES)
    assert len(remote.names()) == len(LINES)  # every line's raw audio, the scratch voice's too
    assert all(unseal(remote.read(name)) is not None for name in remote.names())
    # ... and the word timings the engine gave with it (the scratch voice here), which a second
    # machine could only guess at
    kept = sorted(path.stem for path in (first.root / ".charvoice/cache/timings").rglob("*.json"))
    assert kept and [name.split("/")[1].removesuffix(".timings") for name in remote.names("timings")] == kept
    assert all(unseal(remote.read(name)) is not None for name in remote.names("timings"))
    assert "6 uploaded" in built.output

    second = copy_project(first, tmp_path / "bob")  # another machine: its own, empty, local cache
    fish.reset_calls()
    preview = second.run("build", "--dry-run")
    assert preview.exit_code == 0, preview.output
    assert (
        "already holds 6 of the lines to build" in preview.output and "nothing to send to Fish Audio" in preview.output
    )
    assert json.loads(second.run("build", "--dry-run", "--json").stdout)["shared_cache"] == 6

    again = second.run("build")
    assert again.exit_code == 0, again.output
    assert fish.calls() == []  # not one API call: no TTS, no model look-up
    assert "6 of them from the shared cache" in again.output
    assert assets(second) == assets(first)
    assert manifest_lines(second) == manifest_lines(first)
    assert len(timings_files(first)) == len(LINES) and timings_files(second) == timings_files(
        first
    )  # lip-sync from the engine's timings, not an estimate
    assert len(list((second.root / ".charvoice/cache").rglob("*.audio"))) == 6  # kept locally too


def timings_files(project) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (project.root / "game/voice").rglob("*.timings.json")}


def test_a_damaged_remote_object_is_refused_and_replaced(tmp_path, fish, fish_env, remote):
    first = team_project(tmp_path / "alice", fish, remote)
    assert first.run("build").exit_code == 0
    duration_before = audio_check.duration(first.root / "game/voice/en/cleo/pier.2.wav")
    key = json.loads((first.root / "game/voice/voice_manifest.json").read_text())["lines"]["pier.2"]["audio"]["en"][
        "source_key"
    ]
    name = f"{key[:2]}/{key}.audio"
    good = remote.read(name)
    remote.write(name, good[: len(good) // 2])  # an upload cut short, a disk error on the share

    second = copy_project(first, tmp_path / "bob")
    fish.reset_calls()
    result = second.run("build")

    assert result.exit_code == 0, result.output
    assert tts_texts(fish) == ["I saw a light on the old pier."]  # only the damaged line is voiced again
    assert "refused a damaged entry" in result.output
    assert audio_check.duration(second.root / "game/voice/en/cleo/pier.2.wav") == pytest.approx(
        duration_before, abs=0.05
    )
    assert unseal(remote.read(name)) is not None  # the next upload replaced the damaged copy


def test_damaged_remote_timings_are_refused_and_made_again_without_an_engine_call(tmp_path, fish, fish_env, remote):
    first = team_project(tmp_path / "alice", fish, remote)
    assert first.run("build").exit_code == 0
    (name,) = remote.names("timings")  # the scratch voice's line (pier.3)
    remote.write(name, remote.read(name)[:-20])

    second = copy_project(first, tmp_path / "bob")
    fish.reset_calls()
    result = second.run("build")

    assert result.exit_code == 0, result.output
    assert fish.calls() == []
    assert f"refused a damaged entry {name} (checksum mismatch); its word timings are made again" in result.output
    assert timings_files(second).keys() == timings_files(first).keys()
    assert second.run("check").exit_code == 0


@pytest.mark.parametrize("kind", ["folder", "s3"])
def test_the_remote_going_down_mid_build_loses_nothing(tmp_path, fish, fish_env, monkeypatch, kind):
    use_credentials(monkeypatch)
    lines = [
        (f"quay.{i:02d}", "Bram" if i % 2 else "Cleo", f"Quay line {i}: the nets are drying in the sun.")
        for i in range(12)
    ]
    with S3Server() as own:  # a server of its own: this test stops it
        shared = Remote(kind, tmp_path, own)
        project = team_project(tmp_path / "alice", fish, shared, lines=lines, jobs=2)
        uploads: list[str] = []
        original = RemoteCache.put

        def put_then_fail(self, key, audio):
            original(self, key, audio)
            uploads.append(key)
            if len(uploads) == 3:  # the network drops, or the share goes away, after 3 uploads
                own.stop() if kind == "s3" else shared.folder.rename(tmp_path / "unmounted")

        monkeypatch.setattr(RemoteCache, "put", put_then_fail)
        result = project.run("build")

    assert result.exit_code == 0, result.output
    assert result.output.count("is unreachable") == 1  # warned once, then on with the local cache
    assert len(tts_texts(fish)) == 12 and len(manifest_lines(project)) == 12
    for line_id, character, _ in lines:
        assert audio_check.duration(project.root / f"game/voice/en/{character.lower()}/{line_id}.wav") > 1.0
    local = list((project.root / ".charvoice/cache").rglob("*.audio"))
    assert len(local) == 12 and all(unseal(p.read_bytes()) is not None for p in local)
    fish.reset_calls()
    assert project.run("check").exit_code == 0 and fish.calls() == []  # nothing to redo
    again = project.run("build")  # the store still away at the start of a build: stop before paying
    assert again.exit_code == 2 and ("endpoint unreachable" in again.output or "is the share mounted" in again.output)
    assert fish.calls() == []


def test_concurrent_writers_of_one_key_leave_one_whole_entry(remote):
    key = "ef" + "2" * 62
    caches = [RemoteCache(remote.backend()) for _ in range(8)]
    candidates = [bytes([i]) * 50_000 for i in range(8)]  # the same line, voiced on eight machines
    start = threading.Barrier(8)

    def write(i: int) -> None:
        start.wait()
        caches[i].put(key, candidates[i])

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not any(cache.down for cache in caches)
    assert sum(cache.uploaded for cache in caches) == 1  # write-if-absent: the first copy stays
    stored = unseal(remote.read(f"ef/{key}.audio"))
    assert stored in candidates
    assert all(cache.get(key) == stored for cache in caches)
    assert remote.names() == [f"ef/{key}.audio"]  # no temporary file left beside it


@pytest.mark.parametrize("list_above", [256, 0], ids=["asks-each-key", "lists-folders"])
def test_the_dry_run_counts_only_what_the_remote_really_holds(
    tmp_path, fish, fish_env, remote, monkeypatch, list_above
):
    from charvoice.pipeline import remote_cache

    monkeypatch.setattr(remote_cache, "LIST_ABOVE", list_above)
    project = team_project(tmp_path / "alice", fish, remote)
    backend = RemoteCache(remote.backend())
    from charvoice.pipeline.workspace import Workspace

    workspace = Workspace.open(project.root)
    plan = workspace.plan()
    workspace.close()
    held = [job for job in plan.todo[:2]]
    for job in held:
        backend.put(job.cache_key, b"raw audio of " + job.cache_key.encode())
    data = json.loads(project.run("build", "--dry-run", "--json").stdout)
    assert data["shared_cache"] == 2 and data["to_synthesize"] == len(LINES) - 2
    assert [r.path for r in fish.calls()] == [
        "/wallet/self/api-credit"
    ]  # the credit beside the preview; nothing voiced


@pytest.mark.parametrize(
    ("section", "key", "message"),
    [
        ('remote = "ftp://example.org/voices"', "remote", "unsupported scheme 'ftp'"),
        ('remote = "s3://AKIAXX:hunter2@bucket/prefix"', "remote", "must not hold credentials"),
        ('remote = "s3://bucket/prefix?secret=hunter2"', "remote", "must not hold credentials"),
        ('remote = "s3:///prefix"', "remote", "names no bucket"),
        ('remote = "/mnt/share"\nendpoint = "http://minio:9000"', "endpoint", "applies to an s3:// remote only"),
        ('remote = "s3://bucket/p"\nendpoint = "minio:9000"', "endpoint", "must be an http:// or https:// URL"),
        ('remote = "s3://bucket/p"\nendpoint = "https://u:hunter2@minio"', "endpoint", "must not hold credentials"),
        ("remote = 5", "remote", "cache.remote"),
    ],
)
def test_a_bad_cache_section_is_an_error_naming_file_and_line(tmp_path, fish, section, key, message):
    project = team_project(tmp_path / "alice", fish, None)
    config = project.root / "charvoice.toml"
    text = config.read_text() + "\n[cache]\n" + section + "\n"
    config.write_text(text)
    number = next(i for i, row in enumerate(text.splitlines(), 1) if row.startswith(f"{key} ="))
    result = project.run("build")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert message in result.output and f"charvoice.toml:{number}" in result.output
    assert "hunter2" not in result.output
    assert not (project.root / "game").exists()  # nothing written


def test_an_object_store_remote_without_the_extra_says_how_to_install_it(tmp_path, fish, monkeypatch):
    project = team_project(tmp_path / "alice", fish, None)
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + '[cache]\nremote = "s3://voices/team"\n')
    monkeypatch.setitem(__import__("sys").modules, "obstore", None)  # as if the extra were not installed
    result = project.run("build")
    assert (
        result.exit_code == 2 and "pip install 'charvoice[cloud]'" in result.output and "Traceback" not in result.output
    )


def test_seal_is_shared_by_local_and_remote_entries(tmp_path):
    backend = FolderBackend(tmp_path, str(tmp_path))
    cache = RemoteCache(backend)
    cache.put("aa" + "3" * 62, b"audio")
    assert (tmp_path / "aa" / ("aa" + "3" * 62 + ".audio")).read_bytes() == seal(b"audio")


def test_a_share_without_hard_links_still_takes_entries(tmp_path, monkeypatch):
    import errno
    import os

    def no_links(*_args):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)  # SMB and some NAS mounts
    cache = RemoteCache(FolderBackend(tmp_path, str(tmp_path)))
    key = "bb" + "4" * 62
    cache.put(key, b"first")
    cache.put(key, b"second")  # no create-if-absent there: an atomic replace, either copy is whole
    assert not cache.down and cache.uploaded == 2
    assert cache.get(key) in (b"first", b"second")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{key}.audio"]


def test_store_errors_are_shown_without_the_response_body():
    from charvoice.pipeline.remote_cache import _first_line

    error = RuntimeError(
        "Error performing PUT http://127.0.0.1:9000/b/k in 3ms - Server returned non-2xx status code: 403 Forbidden: "
        "<?xml version='1.0'?><Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAEXAMPLE</AWSAccessKeyId></Error>\nmore"
    )
    shown = _first_line(error)
    assert "403 Forbidden" in shown and "AKIAEXAMPLE" not in shown and "<" not in shown


def test_read_only_credentials_still_read_the_shared_cache(tmp_path, fish, fish_env, monkeypatch):
    """Writers upload; a machine whose credentials (or share) refuse writes still reads."""
    shared = Remote("folder", tmp_path, None)
    first = team_project(tmp_path / "alice", fish, shared, lines=LINES[:3])
    assert first.run("build").exit_code == 0
    before = shared.names()

    import errno
    import os

    def refused(*_args):
        raise PermissionError(errno.EACCES, "Permission denied", str(shared.folder))

    monkeypatch.setattr(os, "link", refused)
    second = copy_project(first, tmp_path / "bob")
    second.write_lines(LINES)  # three more lines than the share holds
    fish.reset_calls()
    result = second.run("build")
    assert result.exit_code == 0, result.output
    assert sorted(tts_texts(fish)) == sorted(
        text for _, who, text in LINES[3:] if who != "Dax"
    )  # the first three were read
    assert "3 of them from the shared cache" in result.output
    assert result.output.count("refused an upload") == 1 and "unreachable" not in result.output
    assert shared.names() == before


def test_watch_reports_a_shared_cache_that_went_away(project):
    """`watch` rebuilds through the same cache: its events carry the cache's warning."""
    from charvoice.watch import Watcher

    config = project.root / "charvoice.toml"
    config.write_text(
        config.read_text() + f'[cache]\nremote = "{(project.root.parent / "unmounted-share").as_posix()}"\n'
    )
    events: list = []
    watcher = Watcher(project.root, events.append, debounce=0.2)
    event = watcher.rebuild({project.root / "dialogue/intro.csv"})
    assert event.kind == "rebuild" and len(event.regenerated) == 4
    assert (
        len(event.warnings) == 1
        and "is unreachable" in event.warnings[0]
        and "is the share mounted?" in event.warnings[0]
    )
    assert event.to_json()["warnings"] == event.warnings


@pytest.mark.parametrize(
    "code",
    [errno.EROFS, errno.EACCES, errno.ENOSPC],
    ids=["read-only-mount", "no-permission", "share-full"],
)
def test_a_share_that_refuses_writes_is_still_read(tmp_path, fish, fish_env, monkeypatch, code):
    """A read-only mount fails with EROFS, an OSError that is not a PermissionError: after the
    first refused upload every line the share holds is still read, not voiced (and paid) again."""
    shared = Remote("folder", tmp_path, None)
    first = team_project(tmp_path / "alice", fish, shared, lines=LINES[:5])
    assert first.run("build").exit_code == 0
    before = shared.names()
    real_write, real_mkdir = Path.write_bytes, Path.mkdir

    def write_bytes(self, data):
        if shared.folder in self.parents:
            raise OSError(code, os.strerror(code), str(self))
        return real_write(self, data)

    def mkdir(self, *args, **kwargs):
        if shared.folder in self.parents and not self.is_dir():
            raise OSError(code, os.strerror(code), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    monkeypatch.setattr(Path, "mkdir", mkdir)
    second = copy_project(first, tmp_path / "bob")
    second.write_lines(LINES)  # pier.6 is new: its upload is refused before the others are read
    fish.reset_calls()
    result = second.run("build")
    assert result.exit_code == 0, result.output
    assert tts_texts(fish) == [LINES[5][2]]  # only the line the share does not hold
    assert "5 of them from the shared cache" in result.output
    assert result.output.count("refused an upload") == 1 and "unreachable" not in result.output
    assert shared.names() == before
    assert len(manifest_lines(second)) == 6 and second.run("check").exit_code == 0


def test_a_bucket_whose_policy_denies_writes_is_still_read(tmp_path, fish, fish_env, s3, monkeypatch):
    """S3 answers 403 to every PUT (an IAM policy denying s3:PutObject, enforced by moto): the
    entries already in the bucket are still read."""
    import boto3
    import moto.settings

    shared = Remote("s3", tmp_path, s3)
    use_credentials(monkeypatch)
    first = team_project(tmp_path / "alice", fish, shared, lines=LINES[:5])
    assert first.run("build").exit_code == 0
    before = shared.names()
    admin = dict(endpoint_url=s3.endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    iam = boto3.client("iam", **admin)
    user = f"reader-{shared.bucket}"
    iam.create_user(UserName=user)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"},
        ],
    }
    iam.put_user_policy(UserName=user, PolicyName="read-only", PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # from now on moto checks IAM

    second = copy_project(first, tmp_path / "bob")
    second.write_lines(LINES)
    fish.reset_calls()
    result = second.run("build")
    assert result.exit_code == 0, result.output
    assert tts_texts(fish) == [LINES[5][2]]
    assert "5 of them from the shared cache" in result.output
    assert result.output.count("refused an upload") == 1 and "unreachable" not in result.output
    assert "lacked the necessary privileges" in result.output and key["SecretAccessKey"] not in result.output
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", float("inf"))
    assert shared.names() == before


def test_an_entry_is_its_audio_and_timings_together_on_every_machine(tmp_path):
    """One put keeps both; a second machine reading the shared folder gets both, and the
    timings reach the share before the audio that announces the entry."""
    from charvoice.engines.base import EngineTimings, SpokenWord
    from charvoice.pipeline.cache import AudioCache

    written: list[str] = []
    (tmp_path / "share").mkdir()
    backend = FolderBackend(tmp_path / "share", str(tmp_path / "share"))
    original = backend.write_if_absent

    def recording(name, blob):
        written.append(name.rpartition(".")[2])
        return original(name, blob)

    backend.write_if_absent = recording
    key = "cc" + "5" * 62
    timings = EngineTimings("engine", [SpokenWord(0.1, 0.4, "Yes.", 0, 4)], [(0.1, "j"), (0.4, "")])
    AudioCache(tmp_path / "alice", RemoteCache(backend)).put(key, b"RIFF audio", timings)
    assert written == ["timings", "audio"]
    entry = AudioCache(tmp_path / "bob", RemoteCache(backend)).get_timed(key)
    assert entry is not None and entry.audio == b"RIFF audio" and entry.timings == timings
