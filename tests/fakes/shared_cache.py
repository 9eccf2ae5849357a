"""The shared-cache tests' world: a real S3-protocol server on loopback (moto's standalone server,
the way s3fs tests itself) or a temporary folder as the team's remote, and small Fish projects
(fakes.fixtures) that use it. Registered as a pytest plugin in conftest."""

from __future__ import annotations

import json
import logging
import secrets
import shutil
from pathlib import Path

import pytest

from charvoice.pipeline.remote_cache import FolderBackend, ObjectBackend
from fakes.fixtures import make_project

# Distinctive, so a test can scan every output for it.
SECRET_KEY = "s3-secret-0ddba11-NEVER-PRINT-3c4"
ACCESS_KEY = "AKIACHARVOICETEST01"


class S3Server:
    def __init__(self) -> None:
        server = pytest.importorskip(
            "moto.server", reason="moto[server] is a test dependency (pip install -e '.[test]')"
        )
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
        self._server = server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.running = False

    def start(self) -> S3Server:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:
            self.running = False
            self._server.stop()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def new_bucket(self) -> str:
        name = f"voices-{secrets.token_hex(4)}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def write(self, bucket: str, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)


def use_credentials(monkeypatch) -> None:
    """The environment a CI job gives obstore: keys and region, nothing in charvoice.toml."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_REGION", "us-east-1")


# No persistent clone: every request is a TTS call, so calls can be counted line for line.
CHARACTERS = {
    "bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n',
    "cleo": 'name = "Cleo"\n[voice]\nsamples = ["voices/cleo/01.wav"]\ntexts = ["I was never here."]\nclone = "instant"\n',
    "dax": 'name = "Dax"\n[voice]\nscratch = true\n',
}
LINES = [
    ("pier.1", "Bram", "The tide is turning, and the boats are late."),
    ("pier.2", "Cleo", "I saw a light on the old pier."),
    ("pier.3", "Dax", "Nobody goes out there any more."),
    ("pier.4", "Bram", "Then who lit the lamp?"),
    ("pier.5", "Cleo", "Someone who wanted to be found."),
    ("pier.6", "Bram", "Or someone who wanted us to look."),
]
FISH_LINES = [line for line in LINES if line[1] != "Dax"]


@pytest.fixture(scope="module")
def s3():
    """One S3 server for a test module; each test gets a bucket of its own (`remote`)."""
    with S3Server() as server:
        yield server


class Remote:
    """One shared store, as a backend kind sees it: its [cache] section, and its raw objects."""

    def __init__(self, kind: str, tmp_path: Path, s3: S3Server | None) -> None:
        self.kind = kind
        if kind == "folder":
            self.folder = tmp_path / "team-share"
            self.folder.mkdir()
            self.section = f'[cache]\nremote = "{self.folder.as_posix()}"\n'
        else:
            assert s3 is not None
            self.s3, self.bucket = s3, s3.new_bucket()
            self.section = f'[cache]\nremote = "s3://{self.bucket}/team"\nendpoint = "{s3.endpoint}"\n'

    def names(self, kind: str = "audio") -> list[str]:
        """The store's objects of one kind: lines' raw audio, or ("timings") their word timings."""
        if self.kind == "folder":
            return sorted(p.relative_to(self.folder).as_posix() for p in self.folder.rglob(f"*.{kind}"))
        return [key.removeprefix("team/") for key in self.s3.keys(self.bucket) if key.endswith(f".{kind}")]

    def read(self, name: str) -> bytes:
        return (self.folder / name).read_bytes() if self.kind == "folder" else self.s3.read(self.bucket, f"team/{name}")

    def write(self, name: str, data: bytes) -> None:
        if self.kind == "folder":
            (self.folder / name).write_bytes(data)
        else:
            self.s3.write(self.bucket, f"team/{name}", data)

    def backend(self):
        if self.kind == "folder":
            return FolderBackend(self.folder, str(self.folder))
        return ObjectBackend(f"s3://{self.bucket}/team", self.s3.endpoint)


@pytest.fixture(params=["folder", "s3"])
def remote(request, tmp_path, monkeypatch) -> Remote:
    use_credentials(monkeypatch)
    return Remote(request.param, tmp_path, request.getfixturevalue("s3") if request.param == "s3" else None)


def team_project(root: Path, fish, remote: Remote | None, lines=LINES, jobs: int = 3):
    project = make_project(root, fish, characters=CHARACTERS, lines=lines, jobs=jobs)
    if remote is not None:
        config = root / "charvoice.toml"
        config.write_text(config.read_text() + remote.section)
    return project


def copy_project(source, root: Path):
    """The same repository checked out on another machine: no .charvoice/, no built audio."""
    shutil.copytree(source.root, root, ignore=shutil.ignore_patterns(".charvoice", "game"))
    return type(source)(root, source.fake)


def tts_texts(fish) -> list[str]:
    return [record.body["text"] for record in fish.calls("POST", "/v1/tts")]


def assets(project) -> dict[str, bytes]:
    folder = project.root / "game/voice"
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*.wav"))}


def manifest_lines(project) -> dict:
    return json.loads((project.root / "game/voice/voice_manifest.json").read_text())["lines"]
