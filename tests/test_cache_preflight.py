"""Before the first engine call, `build` asks the shared cache one cheap question (issue 22,
item 3): a misspelled bucket, missing credentials or a silent endpoint stop the build with one
message, nothing paid for and nothing written; `--dry-run` says the same."""

from __future__ import annotations

import json

import pytest
from fakes.fixtures import API_KEY
from fakes.shared_cache import ACCESS_KEY, FISH_LINES, SECRET_KEY, team_project, tts_texts, use_credentials


def _with_remote(project, remote: str, endpoint: str) -> None:
    config = project.root / "charvoice.toml"
    config.write_text(config.read_text() + f'[cache]\nremote = "{remote}"\nendpoint = "{endpoint}"\n')


def _no_aws_credentials(monkeypatch, tmp_path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.aws of the developer's
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def _assert_stopped_before_paying(project, fish, message: str) -> None:
    for args in (("build",), ("build", "--dry-run")):
        result = project.run(*args)
        assert result.exit_code == 2, result.output
        assert result.output.strip() == f"error: {message}"
        assert "169.254" not in result.output and SECRET_KEY not in result.output and API_KEY not in result.output
    as_json = project.run("build", "--json")
    assert as_json.exit_code == 2 and message in json.loads(as_json.stdout)["error"]
    assert tts_texts(fish) == [] and fish.calls() == []  # not one request reached Fish
    assert not (project.root / "game/voice").exists()  # nothing written


def test_a_misspelled_bucket_stops_the_build_before_any_engine_call(tmp_path, fish, fish_env, s3, monkeypatch):
    use_credentials(monkeypatch)
    project = team_project(tmp_path / "p", fish, None)
    _with_remote(project, "s3://no-such-bucket/team", s3.endpoint)
    _assert_stopped_before_paying(
        project, fish, f"shared cache s3://no-such-bucket/team: bucket `no-such-bucket` does not exist at {s3.endpoint}"
    )


def test_no_credentials_are_named_as_such_not_as_a_metadata_address(tmp_path, fish, fish_env, s3, monkeypatch):
    _no_aws_credentials(monkeypatch, tmp_path)
    project = team_project(tmp_path / "p", fish, None)
    _with_remote(project, f"s3://{s3.new_bucket()}/team", s3.endpoint)
    remote = project.root.joinpath("charvoice.toml").read_text().split('remote = "')[1].split('"')[0]
    _assert_stopped_before_paying(
        project,
        fish,
        f"shared cache {remote}: no credentials for s3 (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)",
    )


def test_an_endpoint_that_does_not_answer_stops_the_build(tmp_path, fish, fish_env, monkeypatch):
    use_credentials(monkeypatch)
    project = team_project(tmp_path / "p", fish, None)
    _with_remote(project, "s3://voices/team", "http://127.0.0.1:9")  # nothing listens
    result = project.run("build")
    assert result.exit_code == 2
    assert result.output.startswith("error: shared cache s3://voices/team: endpoint unreachable: http://127.0.0.1:9")
    assert fish.calls() == [] and not (project.root / "game/voice").exists()
    assert SECRET_KEY not in result.output and SECRET_KEY not in project.every_file_text()


def test_an_unmounted_share_stops_the_build(tmp_path, fish, fish_env):
    project = team_project(tmp_path / "p", fish, None)
    share = tmp_path / "unmounted-share"
    _with_remote(project, share.as_posix(), "")
    _assert_stopped_before_paying(
        project, fish, f"shared cache {share.as_posix()} is not a folder (is the share mounted?)"
    )


def test_a_named_aws_profile_is_read(tmp_path, fish, fish_env, s3, monkeypatch):
    _no_aws_credentials(monkeypatch, tmp_path)
    aws = tmp_path / "home/.aws"
    aws.mkdir(parents=True)
    (aws / "credentials").write_text(
        f"[voice]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n"
    )
    (aws / "config").write_text("[profile voice]\nregion = us-east-1\n")
    bucket = s3.new_bucket()
    monkeypatch.setenv("AWS_PROFILE", "voice")
    project = team_project(tmp_path / "p", fish, None)
    _with_remote(project, f"s3://{bucket}/team", s3.endpoint)
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert len(tts_texts(fish)) == len(FISH_LINES) and "0 uploaded" not in result.output
    monkeypatch.delenv("AWS_PROFILE")  # for the test's own boto3 client
    assert any(key.endswith(".audio") for key in s3.keys(bucket))


def test_a_profile_without_keys_says_what_is_read(tmp_path, fish, fish_env, s3, monkeypatch):
    _no_aws_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_PROFILE", "sso-only")
    project = team_project(tmp_path / "p", fish, None)
    _with_remote(project, "s3://voices/team", s3.endpoint)
    result = project.run("build")
    assert result.exit_code == 2 and "AWS_PROFILE=sso-only has no aws_access_key_id" in result.output
    assert fish.calls() == []


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Generic S3 error: Error performing PUT http://169.254.169.254/latest/api/token in 1ms", "no credentials"),
        ("Error performing GET http://h/b in 2ms - Server returned non-2xx status code: 404 Not Found: "
         "<Error><Code>NoSuchBucket</Code></Error>", "does not exist"),
    ],
)  # fmt: skip
def test_mid_build_warnings_never_name_the_metadata_service(text, shown):
    from charvoice.pipeline.remote_check import explain, first_line

    assert "169.254" not in first_line(RuntimeError(text))
    assert shown in explain(RuntimeError(text), "s3://b/team", "http://h")
