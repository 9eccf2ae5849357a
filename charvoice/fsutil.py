"""Atomic file writes and the project lock.

Every file charvoice publishes is written to a hidden temporary name in the same folder and
then renamed over the target, so a build killed at any moment leaves either the old file or
the new one, never half of one, and the Godot editor never imports a partial file (it skips
hidden files).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

TEMP_SUFFIX = ".tmp"
# A write that failed without saying why (libsndfile's "System error") on a disk with less than
# this left is put down to the full disk: an encoded line is rarely bigger.
NEARLY_FULL_BYTES = 4 << 20
# On Windows a file another process holds open (the Godot editor or a running game reading the
# manifest) cannot be replaced: os.replace raises PermissionError until the reader closes it,
# which takes milliseconds. Retry for about a second before giving up.
REPLACE_ATTEMPTS = 20
REPLACE_DELAY_S = 0.05


def temp_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}")


@contextlib.contextmanager
def atomic_target(target: Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `target`, on failure it is removed.
    `durable`: the data reaches the disk before the rename, and the rename before returning, so
    a power cut leaves the old file or the new one, never an empty or zero-filled one.

    A failure to write is an OSError naming `target` (not the hidden temporary name), also when
    a C library (libsndfile) reports a full disk or a read-only folder as a bare "System error"."""
    temp = temp_path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        yield temp
        if durable:
            fsync_file(temp)
        replace(temp, target)
        if durable:
            fsync_folder(target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from None
    except Exception:
        cause = write_failure(target.parent)
        if cause is not None:
            raise OSError(cause, os.strerror(cause), str(target)) from None
        raise
    finally:
        with contextlib.suppress(OSError):
            temp.unlink()


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_folder(folder: Path) -> None:
    """Make the names in `folder` (a rename into it) durable. POSIX only: Windows cannot open a
    folder, and NTFS journals the rename; a file system without folder fsync (EINVAL) is skipped."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def sync_files(paths: Iterable[Path]) -> None:
    """Flush files already renamed into place, then their folders (one pass over a batch; the
    alternative to a durable write of each file that bench/fsync.py measures)."""
    folders: dict[Path, None] = {}
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            fsync_file(path)
            folders[path.parent] = None
    for folder in folders:
        fsync_folder(folder)


def write_failure(folder: Path) -> int | None:
    """The errno that explains a failed write into `folder` (a full disk, a read-only file
    system, no permission), or None when the folder looks writable."""
    try:
        stats = os.statvfs(folder)
    except (OSError, AttributeError):  # no statvfs on Windows
        return None
    if stats.f_flag & getattr(os, "ST_RDONLY", 1):
        return errno.EROFS
    if stats.f_bavail * stats.f_frsize < NEARLY_FULL_BYTES:
        return errno.ENOSPC
    if not os.access(folder, os.W_OK):
        return errno.EACCES
    return None


def probe_writable(folder: Path) -> None:
    """Create `folder` and a file in it, then remove the file: a read-only, full or missing
    folder (or a file where the folder should be) fails here, before any work is done."""
    try:
        with atomic_target(folder / ".charvoice-probe") as temp:
            temp.write_bytes(b"")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(folder)) from None
    with contextlib.suppress(OSError):
        (folder / ".charvoice-probe").unlink()


def text_sha256(text: str) -> str:
    """The hex sha256 of `text` as UTF-8: cache keys, ids derived from text, approved texts."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_file_hashes: dict[tuple[str, int, int], str] = {}
_file_hashes_lock = threading.Lock()


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's bytes, remembered for this process while its size and mtime stay."""
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    with _file_hashes_lock:
        known = _file_hashes.get(key)
    if known is None:
        known = file_digest(path)[1]
        with _file_hashes_lock:
            _file_hashes[key] = known
    return known


def file_digest(path: Path) -> tuple[int, str]:
    """(size in bytes, sha256) of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def replace(source: Path, target: Path) -> None:
    """os.replace, retried briefly while another process holds `target` open (Windows)."""
    attempts = max(1, REPLACE_ATTEMPTS)
    for attempt in range(attempts):
        try:
            os.replace(source, target)
            return
        except PermissionError:
            if attempt == attempts - 1:
                raise
            time.sleep(REPLACE_DELAY_S)


def atomic_write_bytes(target: Path, data: bytes, *, durable: bool = False) -> None:
    with atomic_target(target, durable=durable) as temp, open(temp, "wb") as handle:
        handle.write(data)


def atomic_write_text(target: Path, text: str, *, durable: bool = False) -> None:
    atomic_write_bytes(target, text.encode("utf-8"), durable=durable)


def remove_stale_temps(folder: Path) -> int:
    """Delete temporary files a killed process left behind (call only while holding the lock)."""
    removed = 0
    if folder.is_dir():
        for temp in folder.rglob(f".*{TEMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                temp.unlink()
                removed += 1
    return removed


class ProjectLock:
    """An exclusive lock on the project (.charvoice/lock) so two builds never interleave writes."""

    def __init__(self, path: Path, on_wait: Callable[[], object] | None = None) -> None:
        self.path = path
        self.on_wait = on_wait
        self._handle: IO[str] | None = None

    def _try(self) -> bool:
        assert self._handle is not None
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            try:
                msvcrt.locking(self._handle.fileno(), msvcrt.LK_NBLCK, 1)
                return True
            except OSError:
                return False
        import fcntl

        try:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def acquire(self, on_wait: Callable[[], object] | None = None) -> None:
        """Wait for the lock as long as it takes (another build finishes); `on_wait` says so once."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.path, "a+")  # noqa: SIM115 - held open while locked, closed in release()
        waited = False
        while not self._try():
            if not waited and on_wait is not None:
                on_wait()
            waited = True
            time.sleep(0.1)

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the lock
            self._handle = None

    def __enter__(self) -> ProjectLock:
        self.acquire(self.on_wait)
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
