"""charvoice watch: a real watchdog observer on real files, with a short debounce."""

from __future__ import annotations

import json
import threading
import time

import pytest
from conftest import LINES, csv_text

from charvoice.watch import Watcher


class Running:
    """A watcher on its own thread, and the events it reported."""

    def __init__(self, project, **options) -> None:
        self.events = []
        self.stop = threading.Event()
        self.watcher = Watcher(project.root, self.events.append, debounce=0.2, **options)
        self.thread = threading.Thread(target=self.watcher.run, args=(self.stop,))

    def __enter__(self):
        self.thread.start()
        self.wait_for(lambda: self.events, "the first build")
        time.sleep(0.3)  # let the observer settle after the first build's writes
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()

    def wait_for(self, predicate, what: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; events: {[e.to_json() for e in self.events]}")

    def next_event(self, after: int, what: str, kinds=("rebuild", "error")):
        self.wait_for(lambda: any(e.kind in kinds for e in self.events[after:]), what)
        return next(e for e in self.events[after:] if e.kind in kinds)


def test_one_save_rebuilds_exactly_the_changed_line(project, engine_calls):
    with Running(project) as watch:
        ready = watch.events[0]
        assert ready.kind == "ready" and len(ready.regenerated) == len(LINES)
        before = len(watch.events)
        engine_calls.clear()
        edited = [list(row) for row in LINES]
        edited[1][2] = "Thanks. The crossing was rough."
        project.write("dialogue/intro.csv", csv_text(edited))
        event = watch.next_event(before, "the rebuild")
        time.sleep(0.5)  # no second rebuild may follow for the same save
        rebuilds = [e for e in watch.events[before:] if e.kind == "rebuild"]
    assert len(rebuilds) == 1
    assert event.regenerated == ["intro.reply"] and event.files == ["dialogue/intro.csv"]
    assert engine_calls == ["Thanks. The crossing was rough."]
    manifest = json.loads(project.manifest.read_text())
    assert manifest["changed"] == ["intro.reply"]
    assert manifest["lines"]["intro.reply"]["audio"]["en"]["text"] == "Thanks. The crossing was rough."
    assert watch.events[-1].kind == "stopped"


def test_fifty_quick_saves_publish_the_final_text(project):
    published: list[str] = []
    with Running(project) as watch:

        def sample_manifest():
            while not watch.stop.is_set():
                try:
                    text = json.loads(project.manifest.read_text())["lines"]["intro.ask"]["audio"]["en"]["text"]
                except (OSError, ValueError, KeyError):
                    continue  # never happens with atomic writes, but do not let the sampler die
                if not published or published[-1] != text:
                    published.append(text)
                time.sleep(0.01)

        sampler = threading.Thread(target=sample_manifest)
        sampler.start()
        for version in range(50):
            edited = [list(row) for row in LINES]
            edited[2][2] = f"Did you bring letter number {version}?"
            project.write("dialogue/intro.csv", csv_text(edited))
            time.sleep(0.02)
        watch.wait_for(lambda: published and published[-1] == "Did you bring letter number 49?", "the final text")
        time.sleep(0.8)
        watch.stop.set()
        sampler.join()
    versions = [int(text.split()[-1].rstrip("?")) for text in published[1:]]
    assert versions == sorted(versions), f"an older take was published after a newer one: {versions}"
    assert published[-1] == "Did you bring letter number 49?"
    assert project.run("check").exit_code == 0


def test_syntax_error_keeps_assets_and_watching(project):
    with Running(project) as watch:
        stamps = {p: p.stat().st_mtime_ns for p in project.assets()}
        before = len(watch.events)
        project.write("dialogue/intro.csv", "id,speaker\nintro.greet,Aria\n")
        error = watch.next_event(before, "the error")
        assert error.kind == "error" and "dialogue/intro.csv:1:1: header row lacks column(s) text" in error.message
        assert {p: p.stat().st_mtime_ns for p in project.assets()} == stamps

        before = len(watch.events)
        edited = [list(row) for row in LINES]
        edited[0][2] = "Hello, traveller. Welcome home."
        project.write("dialogue/intro.csv", csv_text(edited))
        fixed = watch.next_event(before, "the rebuild after the fix")
    assert fixed.kind == "rebuild" and fixed.regenerated == ["intro.greet"]


def test_renamed_and_deleted_scripts(project):
    project.write("dialogue/harbour.csv", csv_text([("harbour.bell", "Bram", "Listen. The harbour bell is ringing.")]))
    with Running(project) as watch:
        assert (project.output / "en/bram/harbour.bell.ogg").is_file()
        before = len(watch.events)
        (project.root / "dialogue/intro.csv").rename(project.root / "dialogue/chapter1.csv")
        watch.wait_for(lambda: any(e.kind == "rebuild" for e in watch.events[before:]), "the rename")
        watch.wait_for(
            lambda: (
                json.loads(project.manifest.read_text())["lines"]["intro.greet"]["source"] == "dialogue/chapter1.csv:2"
            ),
            "the new source",
        )
        assert (
            sum(len(e.regenerated) for e in watch.events[before:] if e.kind == "rebuild") == 0
        )  # same lines, same audio

        before = len(watch.events)
        (project.root / "dialogue/harbour.csv").unlink()
        watch.wait_for(lambda: any(e.removed for e in watch.events[before:]), "the removal")
    assert not (project.output / "en/bram/harbour.bell.ogg").exists()
    assert "harbour.bell" not in json.loads(project.manifest.read_text())["lines"]
    assert project.run("check").exit_code == 0


def test_engine_failures_do_not_stop_the_watcher(project, monkeypatch):
    from charvoice.engines.offline import OfflineEngine
    from charvoice.errors import EngineError

    original = OfflineEngine.synthesize
    broken = threading.Event()

    def flaky(self, request):
        if broken.is_set():
            raise EngineError("connection refused")
        return original(self, request)

    monkeypatch.setattr(OfflineEngine, "synthesize", flaky)
    with Running(project, retry_delays=(0.5,)) as watch:
        broken.set()
        before = len(watch.events)
        edited = [list(row) for row in LINES]
        edited[3][2] = "Every one of them, sealed and bone dry."
        project.write("dialogue/intro.csv", csv_text(edited))
        failed = watch.next_event(before, "the failure")
        assert (
            failed.failed
            and failed.failed[0]["id"] == "intro.answer"
            and "connection refused" in failed.failed[0]["error"]
        )
        broken.clear()  # the network is back: the watcher retries on its own
        watch.wait_for(lambda: any("intro.answer" in e.regenerated for e in watch.events[before:]), "the retry")
    assert project.run("check").exit_code == 0


def test_ignores_its_own_output_and_editor_files(project):
    with Running(project) as watch:
        before = len(watch.events)
        (project.root / "dialogue/.intro.csv.swp").write_text("vim swap")
        (project.root / "dialogue/intro.csv~").write_text("backup")
        (project.output / "en/notes.txt").write_text("in the output folder")
        time.sleep(1.0)
        assert [e for e in watch.events[before:] if e.kind != "stopped"] == []


@pytest.mark.parametrize("how", ["deleted", "renamed away"])
def test_an_asset_removed_while_watching_is_rebuilt_by_the_next_save(project, engine_calls, how):
    """The watcher vouches for untouched scripts without looking at their files; a file removed
    or changed behind its back must still be noticed (through the observer, not by a stat of
    every asset on every save)."""
    project.write("dialogue/extra.csv", csv_text([("extra.one", "Aria", "One more line.")]))
    with Running(project) as watch:
        before = len(watch.events)
        project.write("dialogue/extra.csv", csv_text([("extra.one", "Aria", "One more line, edited.")]))
        first = watch.next_event(before, "the first save")
        assert first.regenerated == ["extra.one"]  # every other script was judged up to date here
        engine_calls.clear()
        asset = next(path for path in project.assets() if path.stem == "intro.ask")
        if how == "deleted":
            asset.unlink()
        else:
            asset.rename(asset.with_name("intro.ask.bak"))
        time.sleep(0.5)  # the deletion alone starts no rebuild: the output folder is the build's
        before = len(watch.events)
        project.write("dialogue/extra.csv", csv_text([("extra.one", "Aria", "One more line, again.")]))
        event = watch.next_event(before, "the second save")
    assert sorted(event.regenerated) == ["extra.one", "intro.ask"]
    assert engine_calls == ["One more line, again."]  # intro.ask came back from the cache
    assert project.run("check").exit_code == 0


def test_cli_json_events_and_ctrl_c(project):
    import os
    import signal
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "charvoice", "watch", "--project", str(project.root), "--json", "--debounce", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "FISH_API_KEY": ""},
    )  # fmt: skip
    try:
        ready = json.loads(process.stdout.readline())
        assert ready["event"] == "ready" and ready["lines"] == len(LINES)
        time.sleep(0.3)
        edited = [list(row) for row in LINES]
        edited[0][2] = "Hello there. Mind the nets."
        project.write("dialogue/intro.csv", csv_text(edited))
        rebuild = json.loads(process.stdout.readline())
        assert (
            rebuild["event"] == "rebuild"
            and rebuild["regenerated"] == ["intro.greet"]
            and rebuild["files"] == ["dialogue/intro.csv"]
        )
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1])["event"] == "stopped"
    assert "Traceback" not in err
    assert not list(project.root.rglob("*.tmp"))
