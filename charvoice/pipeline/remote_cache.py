"""The team's shared voice cache: `[cache] remote` in charvoice.toml.

Two backends hold the same sealed entries as the local cache (pipeline/cache.py), under the
same names (`ab/abc....audio`):

- a folder (a network share, or any mounted path);
- an object store URL (`s3://bucket/prefix`, `gs://`, `az://`), through obstore (the optional
  `cloud` extra). Credentials come from obstore's usual environment variables (AWS_*, GOOGLE_*,
  AZURE_*; instance and web-identity credentials too) and never from charvoice.toml.

Entries are content-addressed and written only if absent, so any number of machines may write
the same key at once: the first copy stays, and every copy is a valid voicing of that key.
Every read is verified by the entry's checksum; a damaged or partial object is a miss (and is
replaced by the next upload of that key). The first failure to reach the store (network, auth,
missing folder) is reported once and the rest of the command runs on the local cache alone.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from charvoice.errors import CharvoiceError
from charvoice.fsutil import atomic_target, temp_path
from charvoice.pipeline.entries import entry_name, seal, unseal
from charvoice.pipeline.remote_check import RemoteCacheError, explain, first_line, profile_config

OBJECT_SCHEMES = ("s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "adl")
HEAD_THREADS = 16  # existence checks in flight for `build --dry-run` and planning
# Above this many keys, list the entries' folders (at most 256, a page per 1,000 entries)
# instead of asking about each key: 100,000 lines are ~400 requests instead of 100,000.
LIST_ABOVE = 256


# A write the share refused while it can still be read: a read-only mount (EROFS is an
# OSError, not a PermissionError), no permission, a full share or quota.
WRITE_REFUSALS = frozenset(
    code
    for code in (errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EFBIG)
    if code is not None
)


class Unreachable(Exception):
    """The store could not be used (network, credentials, missing folder): its cause, safe to print."""


class WriteRefused(Exception):
    """The store refused a write (read-only credentials or share) but may still be read."""


class Backend(Protocol):
    description: str  # how the user named it (never with credentials)

    def read(self, name: str) -> bytes | None: ...  # None: absent; raises Unreachable

    def write_if_absent(self, name: str, blob: bytes) -> bool: ...  # False: another copy was there

    def overwrite(self, name: str, blob: bytes) -> None: ...

    def exists(self, name: str) -> bool: ...

    def names_in(self, folder: str) -> set[str]: ...  # the entry names under `folder/`

    def probe(self) -> None: ...  # one cheap request; raises RemoteCacheError saying what is wrong


class FolderBackend:
    """A folder shared by the team. Entries appear whole: written to a temporary name, then
    hard-linked into place, which fails if another machine got there first."""

    def __init__(self, folder: Path, description: str) -> None:
        self.folder = folder
        self.description = description

    def _check(self) -> None:
        if not self.folder.is_dir():  # an unmounted share: never write into the bare mount point
            raise Unreachable(f"{self.folder} is not a folder (is the share mounted?)")

    def probe(self) -> None:
        if not self.folder.is_dir():
            raise RemoteCacheError(f"shared cache {self.description} is not a folder (is the share mounted?)")

    def read(self, name: str) -> bytes | None:
        self._check()
        try:
            return (self.folder / name).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise Unreachable(_os_cause(error)) from None

    def exists(self, name: str) -> bool:
        self._check()
        return (self.folder / name).is_file()

    def names_in(self, folder: str) -> set[str]:
        self._check()
        try:
            return {
                f"{folder}/{entry.name}" for entry in os.scandir(self.folder / folder) if not entry.name.startswith(".")
            }
        except FileNotFoundError:
            return set()
        except OSError as error:
            raise Unreachable(_os_cause(error)) from None

    def write_if_absent(self, name: str, blob: bytes) -> bool:
        self._check()
        target = self.folder / name
        temp = temp_path(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(blob)
            try:
                os.link(temp, target)  # atomic, and fails when the name is taken
                return True
            except FileExistsError:
                return False
            except OSError as error:
                if error.errno not in (
                    errno.EPERM,
                    errno.ENOTSUP,
                    errno.EOPNOTSUPP,
                    errno.EXDEV,
                    errno.EMLINK,
                ):
                    raise
                # A share without hard links: an atomic rename (the last equal-key copy wins).
                os.replace(temp, target)
                return True
        except OSError as error:
            raise _folder_write_error(error) from None
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def overwrite(self, name: str, blob: bytes) -> None:
        self._check()
        try:
            with atomic_target(self.folder / name) as temp:
                temp.write_bytes(blob)
        except OSError as error:
            raise _folder_write_error(error) from None


class ObjectBackend:
    """An object store through obstore (S3 and S3-compatible, GCS, Azure)."""

    def __init__(self, url: str, endpoint: str) -> None:
        try:
            import obstore
            from obstore.store import from_url
        except ImportError:
            raise CharvoiceError(
                f"[cache] remote = {url!r} needs the object-store extra: pip install 'charvoice[cloud]'"
            ) from None
        self._obstore = obstore
        self.description = url
        self.endpoint = endpoint
        config: dict[str, Any] = {"endpoint": endpoint} if endpoint else {}
        config.update(profile_config(url))
        # Fail fast when the store is away: a build goes on locally instead of waiting minutes.
        retry = {
            "max_retries": 2,
            "retry_timeout": timedelta(seconds=10),
            "backoff": {
                "init_backoff": timedelta(milliseconds=100),
                "max_backoff": timedelta(seconds=1),
                "base": 2,
            },
        }
        options = {
            "connect_timeout": "5 seconds",
            "timeout": "120 seconds",
            "allow_http": endpoint.startswith("http://"),
        }
        try:
            self._store = from_url(url, config=config, client_options=options, retry_config=retry)  # type: ignore[call-overload]
        except Exception as error:  # obstore's own message: a bad URL or configuration key
            raise CharvoiceError(f"[cache] remote {url!r}: {first_line(error)}") from None

    def probe(self) -> None:
        """List one key: a missing bucket, missing credentials and a silent endpoint all fail here."""
        try:
            next(iter(self._obstore.list(self._store, chunk_size=1)), None)
        except Exception as error:
            raise RemoteCacheError(
                f"shared cache {self.description}: {explain(error, self.description, self.endpoint)}"
            ) from None

    def read(self, name: str) -> bytes | None:
        from obstore.exceptions import NotFoundError

        try:
            return bytes(self._obstore.get(self._store, name).bytes())
        except (NotFoundError, FileNotFoundError):  # obstore raises either, by operation
            return None
        except Exception as error:
            raise Unreachable(first_line(error)) from None

    def exists(self, name: str) -> bool:
        from obstore.exceptions import NotFoundError

        try:
            self._obstore.head(self._store, name)
            return True
        except (NotFoundError, FileNotFoundError):  # obstore raises either, by operation
            return False
        except Exception as error:
            raise Unreachable(first_line(error)) from None

    def names_in(self, folder: str) -> set[str]:
        try:
            return {meta["path"] for batch in self._obstore.list(self._store, prefix=f"{folder}/") for meta in batch}
        except Exception as error:
            raise Unreachable(first_line(error)) from None

    def write_if_absent(self, name: str, blob: bytes) -> bool:
        from obstore.exceptions import AlreadyExistsError, NotSupportedError, PreconditionError

        try:
            self._obstore.put(self._store, name, blob, mode="create")  # If-None-Match: * on S3
            return True
        except (AlreadyExistsError, PreconditionError, FileExistsError):
            return False
        except NotSupportedError:  # a store without conditional writes: equal keys, equal worth
            self.overwrite(name, blob)
            return True
        except Exception as error:
            raise _write_error(error) from None

    def overwrite(self, name: str, blob: bytes) -> None:
        try:
            self._obstore.put(self._store, name, blob)
        except Exception as error:
            raise _write_error(error) from None


def _folder_write_error(error: OSError) -> Exception:
    refused = isinstance(error, PermissionError) or error.errno in WRITE_REFUSALS
    return (WriteRefused if refused else Unreachable)(_os_cause(error))


def _write_error(error: BaseException) -> Exception:
    """An upload's failure: a refusal (403, read-only credentials, a policy denying writes)
    leaves the store readable; anything else is the store being away."""
    from obstore.exceptions import PermissionDeniedError, UnauthenticatedError

    refused = isinstance(error, (PermissionDeniedError, UnauthenticatedError, PermissionError))
    refused = refused or "403 Forbidden" in str(error).split("<", 1)[0]
    return (WriteRefused if refused else Unreachable)(first_line(error))


_first_line = first_line  # the store's message, short and safe to print (remote_check.py)


def _os_cause(error: OSError) -> str:
    return f"{error.strerror or error} ({error.filename})" if error.filename else str(error)


class RemoteCache:
    """A backend, verified and fault-tolerant: nothing here raises into a build."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.warn: Callable[[str], None] = lambda message: None
        self.down = False
        self.read_only = False  # the store refused a write: go on reading from it
        self.uploaded = 0
        self.refused = 0  # damaged objects read (and treated as misses)
        self._damaged: set[str] = set()  # objects that failed their checksum: replaced on put
        self._lock = threading.Lock()

    @property
    def description(self) -> str:
        return self.backend.description

    def preflight(self) -> None:
        """Before a build pays for anything: the store answers (RemoteCacheError otherwise)."""
        self.backend.probe()

    def get(self, key: str, kind: str = "audio") -> bytes | None:
        """The verified entry for `key` (its audio, or its timings), or None (absent, damaged,
        or the store is down)."""
        name = entry_name(key, kind)
        blob = self._call(self.backend.read, name)
        if blob is None:
            return None
        data = unseal(blob)
        if data is None:
            with self._lock:
                self.refused += 1
                self._damaged.add(name)
            then = "voicing its line again" if kind == "audio" else "its word timings are made again"
            self.warn(f"shared cache {self.description}: refused a damaged entry {name} (checksum mismatch); {then}")
        return data

    def put(self, key: str, data: bytes, kind: str = "audio") -> None:
        name = entry_name(key, kind)
        with self._lock:
            damaged = name in self._damaged
            if self.read_only:
                return
        if damaged:  # a write-if-absent would keep the damaged copy
            done = self._call(self.backend.overwrite, name, seal(data), failed=False) is not False
        else:
            done = bool(self._call(self.backend.write_if_absent, name, seal(data), failed=False))
        if done:
            with self._lock:
                self.uploaded += kind == "audio"  # what users count: lines' audio
                self._damaged.discard(name)

    def put_entry(self, key: str, audio: bytes, timings: bytes | None) -> None:
        """One cache entry: its timings first, so a teammate who finds the audio finds them too."""
        if timings is not None:
            self.put(key, timings, "timings")
        self.put(key, audio)

    def holds(self, keys: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted or self.down:
            return set()

        if len(wanted) > LIST_ABOVE:
            folders = sorted({key[:2] for key in wanted})

            def listing(folder: str) -> set[str]:
                return self._call(self.backend.names_in, folder, failed=set())

            with ThreadPoolExecutor(max_workers=min(HEAD_THREADS, len(folders))) as pool:
                names = set().union(*pool.map(listing, folders))
            return {key for key in wanted if entry_name(key) in names}

        def check(key: str) -> bool:
            return bool(self._call(self.backend.exists, entry_name(key), failed=False))

        with ThreadPoolExecutor(max_workers=min(HEAD_THREADS, len(wanted))) as pool:
            return {key for key, held in zip(wanted, pool.map(check, wanted), strict=True) if held}

    def _call(self, operation: Callable[..., Any], *args: Any, failed: Any = None) -> Any:
        if self.down:
            return failed
        try:
            return operation(*args)
        except WriteRefused as error:
            with self._lock:
                first = not self.read_only
                self.read_only = True
            if first:
                self.warn(f"shared cache {self.description} refused an upload ({error}); reading from it only")
            return failed
        except Unreachable as error:
            with self._lock:
                first = not self.down
                self.down = True
            if first:
                self.warn(
                    f"shared cache {self.description} is unreachable ({error}); going on with the local cache only"
                )
            return failed


def open_remote(remote: str, endpoint: str, root: Path) -> RemoteCache | None:
    """The remote named by `[cache] remote` ('' = none); a relative folder is relative to `root`."""
    if not remote:
        return None
    scheme = remote.split("://", 1)[0].lower() if "://" in remote else ""
    if scheme in OBJECT_SCHEMES:
        return RemoteCache(ObjectBackend(remote, endpoint))
    folder = Path(remote.removeprefix("file://")) if scheme in ("", "file") else None
    if folder is None:
        raise CharvoiceError(f"[cache] remote {remote!r}: unsupported scheme {scheme!r}")
    with contextlib.suppress(OSError):
        folder = (root / folder).resolve() if not folder.is_absolute() else folder
    return RemoteCache(FolderBackend(folder, remote))
