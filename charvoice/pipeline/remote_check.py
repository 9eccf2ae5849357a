"""What the shared cache's failures mean to a user, and one cheap request before a build pays.

`build` (and `build --dry-run`) lists one key of the store before the first engine call, so a
misspelled bucket, missing credentials or an endpoint that does not answer stop the build with
one message instead of every line being voiced and every upload failing. A store that fails
later, mid-build, stays a warning (remote_cache.RemoteCache).

obstore reports a missing credential as a failed request to the EC2 instance metadata service;
that address means nothing to a user and never reaches a message. Named AWS profiles are read
here (obstore reads only the environment): `AWS_PROFILE` with `~/.aws/credentials` (or
`AWS_SHARED_CREDENTIALS_FILE`) and the region from `~/.aws/config` (or `AWS_CONFIG_FILE`).
"""

from __future__ import annotations

import configparser
import os
from pathlib import Path

from charvoice.errors import CharvoiceError

METADATA_HOSTS = ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "metadata.google.internal")
CREDENTIAL_HINTS = {
    "s3": "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS",
    "az": "set AZURE_STORAGE_ACCOUNT_NAME and AZURE_STORAGE_ACCOUNT_KEY",
}
_MISSING_BUCKET = ("NoSuchBucket", "bucket does not exist", "ContainerNotFound", "BucketNotFound")
_UNREACHABLE = ("error sending request", "connection refused", "dns error", "timed out", "operation timed out")
_REFUSED = ("403 Forbidden", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "401 Unauthorized")


class RemoteCacheError(CharvoiceError):
    """The shared cache cannot be used at all, found before anything was paid for."""


def kind_of(url: str) -> str:
    scheme = url.split("://", 1)[0].lower()
    return {"s3a": "s3", "azure": "az", "abfs": "az", "abfss": "az", "adl": "az"}.get(scheme, scheme)


def bucket_of(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0] if "://" in url else url


def endpoint_of(url: str, endpoint: str) -> str:
    if endpoint:
        return endpoint
    kind = kind_of(url)
    if kind == "s3":
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return f"https://s3.{region}.amazonaws.com" if region else "https://s3.amazonaws.com"
    return {"gs": "https://storage.googleapis.com"}.get(kind, f"the {kind} service")


def first_line(error: BaseException | str) -> str:
    """The store's message, short: its first line, without the response body (an S3 error body
    can echo the access key id and the request it signed), and never a metadata address."""
    text = str(error).strip().splitlines()
    first = (text[0] if text else "").split("<", 1)[0].strip(" :-")
    if any(host in first for host in METADATA_HOSTS):
        return "no credentials found"
    return first[:300] or type(error).__name__


def explain(error: BaseException, url: str, endpoint: str) -> str:
    """One sentence for a failed request to the store, as the user can act on it."""
    text = str(error)
    kind = kind_of(url)
    if any(host in text for host in METADATA_HOSTS) or "credential" in text.lower().split("debug source")[0]:
        return f"no credentials for {kind} ({CREDENTIAL_HINTS.get(kind, 'see docs/teams-and-ci.md')})"
    if any(marker in text for marker in _MISSING_BUCKET):
        return f"bucket `{bucket_of(url)}` does not exist at {endpoint_of(url, endpoint)}"
    if any(marker in text.lower() for marker in _UNREACHABLE):
        return f"endpoint unreachable: {endpoint_of(url, endpoint)} ({first_line(error)})"
    if any(marker in text for marker in _REFUSED):
        return f"the credentials for {kind} were refused at {endpoint_of(url, endpoint)} (403)"
    return first_line(error)


def profile_config(url: str) -> dict[str, str]:
    """Credentials (and region) of the named AWS profile, when `AWS_PROFILE` is set and the
    environment holds no keys; {} otherwise."""
    profile = os.environ.get("AWS_PROFILE")
    if kind_of(url) != "s3" or not profile or os.environ.get("AWS_ACCESS_KEY_ID"):
        return {}
    home = Path.home() / ".aws"
    credentials = _ini(os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or home / "credentials")
    config = _ini(os.environ.get("AWS_CONFIG_FILE") or home / "config")
    keys = credentials.get(profile, {})
    settings = config.get(f"profile {profile}", config.get(profile, {}))
    if not keys.get("aws_access_key_id") or not keys.get("aws_secret_access_key"):
        raise RemoteCacheError(
            f"[cache] remote {url}: AWS_PROFILE={profile} has no aws_access_key_id/aws_secret_access_key in "
            "~/.aws/credentials (SSO and credential_process profiles are not read: export the keys, e.g. "
            '`eval "$(aws configure export-credentials --format env)"`)'
        )
    out = {"access_key_id": keys["aws_access_key_id"], "secret_access_key": keys["aws_secret_access_key"]}
    if keys.get("aws_session_token"):
        out["token"] = keys["aws_session_token"]
    region = os.environ.get("AWS_REGION") or settings.get("region") or keys.get("region")
    if region:
        out["region"] = region
    return out


def _ini(path: str | Path) -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return {}
    return {section: dict(parser[section]) for section in parser.sections()}
