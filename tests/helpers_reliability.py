"""Shared pieces of the reliability tests (tests/test_reliability_*.py).

- `decodes`: a file really is audio (libsndfile opens it and finds frames); `entry_decodes`:
  a cache entry passes its checksum and holds such audio (`entry_audio`: its audio bytes).
- `Snapshot`: every file under a folder (size, mtime) so a test can tell what a command wrote.
- `SecretScan`: collects every output a scenario printed and scans it, every file (name and
  content) under the folders it names, for the API key, whole or in part.
- `cli_command`, `subprocess_env`: `python -m charvoice ...` the way a user runs it.
- `quiesce`: wait until the fake Fish server has answered every request it holds, so
  requests a killed process left on the wire are counted with the run that sent them.
- Run as a script (`python tests/helpers_reliability.py spy LOG -- build --project P`), it is the
  charvoice CLI with two observers: every acquire/release of the project lock and every file
  published (os.replace) is appended to LOG as one JSON line with the time and the pid.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent


def decodes(path: Path | io.BytesIO) -> bool:
    import soundfile

    try:
        return soundfile.info(path if isinstance(path, io.BytesIO) else str(path)).frames > 0
    except Exception:
        return False


def entry_audio(path: Path) -> bytes | None:
    """The raw audio of a cache entry, or None when it fails its checksum."""
    from charvoice.pipeline.cache import unseal

    return unseal(path.read_bytes())


def entry_decodes(path: Path) -> bool:
    audio = entry_audio(path)
    return audio is not None and decodes(io.BytesIO(audio))


# --- what a command wrote -----------------------------------------------------------------------


@dataclass
class Snapshot:
    root: Path
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # relative path -> (size, mtime_ns)

    @classmethod
    def take(cls, root: Path) -> Snapshot:
        files = {}
        for dirpath, dirnames, filenames in os.walk(root):
            for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
                path = Path(dirpath, name)
                stat = path.lstat()
                files[path.relative_to(root).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return cls(root, files)

    def changes(self, later: Snapshot) -> list[str]:
        """Paths created, changed or removed between this snapshot and `later`."""
        names = set(self.files) | set(later.files)
        return sorted(name for name in names if self.files.get(name) != later.files.get(name))


# --- secrets ------------------------------------------------------------------------------------


class SecretScan:
    """Everything a scenario printed, and the folders it wrote, checked for the key."""

    def __init__(self, key: str) -> None:
        self.key = key
        # A leak may be partial (a truncated header, a key cut to fit a message): look for a
        # long inner piece too.
        middle = len(key) // 4
        self.needles = [key, key[middle : middle + max(12, len(key) // 2)]]
        self.outputs: list[str] = []

    def add(self, *texts: str | bytes | None) -> None:
        for text in texts:
            if text is None:
                continue
            self.outputs.append(text.decode("utf-8", "replace") if isinstance(text, bytes) else text)

    def check(self, *roots: Path) -> int:
        """Assert the key is nowhere; returns how many files were scanned (so a test can tell
        the scan looked at something)."""
        for index, text in enumerate(self.outputs):
            for needle in self.needles:
                assert needle not in text, f"the API key leaked into output #{index}: ...{_around(text, needle)}..."
        scanned = 0
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                for name in dirnames + filenames:
                    for needle in self.needles:
                        assert needle not in name, f"the API key is in a file name: {Path(dirpath, name)}"
                for name in filenames:
                    path = Path(dirpath, name)
                    if path.is_symlink() or not path.is_file():
                        continue
                    self._scan_file(path)
                    scanned += 1
        return scanned

    def _scan_file(self, path: Path) -> None:
        overlap = max(len(n) for n in self.needles) - 1
        tail = b""
        needles = [n.encode() for n in self.needles]
        with open(path, "rb") as handle:
            while True:
                chunk = handle.read(1 << 20)
                if not chunk:
                    return
                window = tail + chunk
                for needle in needles:
                    assert needle not in window, f"the API key leaked into {path}"
                tail = window[-overlap:]


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 60) : at + len(needle) + 60].replace(needle, "<KEY>")


# --- running the CLI as a user does -------------------------------------------------------------


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "charvoice", *args]


def spy_command(log: Path, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "spy", str(log), "--", *args]


def subprocess_env(key: str | None) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name != "FISH_API_KEY"}
    if key is not None:
        env["FISH_API_KEY"] = key
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), env.get("PYTHONPATH", "")]))
    return env


def quiesce(fake, timeout: float = 5.0) -> None:
    """Wait until the fake holds no request (a killed client's last request is answered or dropped)."""
    deadline = time.monotonic() + timeout
    time.sleep(0.02)
    while time.monotonic() < deadline:
        with fake._lock:
            if fake._in_flight == 0:
                return
        time.sleep(0.01)
    raise AssertionError("the fake server still holds requests")


# --- the spy: lock holds and file publications, from any process --------------------------------


def read_spy_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _install_spy(log: Path) -> None:
    from charvoice import fsutil

    def note(**event) -> None:
        event.update(pid=os.getpid(), t=time.time())
        line = (json.dumps(event) + "\n").encode()
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)  # O_APPEND: one line per write, whole, whoever else writes
        finally:
            os.close(fd)

    acquire, release, replace = fsutil.ProjectLock.acquire, fsutil.ProjectLock.release, os.replace

    def spied_acquire(self, *args, **kwargs):
        acquire(self, *args, **kwargs)
        note(event="acquire", lock=self.path.name)

    def spied_release(self):
        if self._handle is not None:
            note(event="release", lock=self.path.name)
        release(self)

    def spied_replace(source, target, *args, **kwargs):
        replace(source, target, *args, **kwargs)
        note(event="publish", path=str(target))

    fsutil.ProjectLock.acquire = spied_acquire
    fsutil.ProjectLock.release = spied_release
    os.replace = spied_replace


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[1] != "spy" or argv[3] != "--":
        raise SystemExit("usage: helpers_reliability.py spy LOG -- CHARVOICE-ARGS...")
    _install_spy(Path(argv[2]))
    from charvoice.cli import cli

    cli.main(argv[4:], prog_name="charvoice")


if __name__ == "__main__":
    main(sys.argv)
