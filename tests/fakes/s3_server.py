"""A real S3-protocol server on loopback for the shared-cache tests: moto's standalone server
(the way s3fs tests itself), with a boto3 client to set up buckets and tamper with objects."""

from __future__ import annotations

import logging
import secrets

import pytest

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
