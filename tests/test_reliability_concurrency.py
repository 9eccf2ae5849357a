"""`charvoice watch` and two `charvoice build` processes on one project at once never interleave
their writes.

tests/test_crash_safety.py shows a second build waiting for a first. Here a watcher and two
builds run side by side while a writer keeps saving, each as its own process, and each is
observed from the inside (tests/helpers_reliability.py `spy`): every acquire and release of the
project lock and every file published (os.replace) is logged with its time and process. The
log must show the lock held by one process at a time, and every file each process published
written while that process held the lock. Afterwards the manifest, the assets and the scripts
agree (`check` passes) and the newest text of every line is the one published.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import threading
import time

from fakes.fish_server import FakeFishServer
from fakes.fixtures import API_KEY, make_project
from helpers_reliability import (
    SecretScan,
    cli_command,
    decodes,
    read_spy_log,
    spy_command,
    subprocess_env,
)

VOICES = {
    "bram": 'name = "Bram"\n[voice]\nmodel_id = "{bram_model}"\n',
    "dax": 'name = "Dax"\n[voice]\nscratch = true\n',  # the offline voice: watch and build use both engines
}


def scene_texts(scene: str, count: int, version: int) -> dict[str, str]:
    return {f"{scene}.{i:02d}": f"{scene.title()} line {i}, take {version}." for i in range(count)}


def write_scene(project, scene: str, count: int, version: int) -> None:
    rows = "".join(
        f'{line_id},{"Dax" if i % 5 == 0 else "Bram"},"{text}"\n'
        for i, (line_id, text) in enumerate(scene_texts(scene, count, version).items())
    )
    project.write(f"dialogue/{scene}.csv", "id,character,text\n" + rows)


class Reader:
    """Collects a process's output lines on a thread (so its pipe never fills)."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=lambda: self.lines.extend(iter(stream.readline, "")), daemon=True)
        self.thread.start()

    def text(self) -> str:
        self.thread.join(timeout=10)
        return "".join(self.lines)


def holds(log: list[dict]) -> dict[int, list[tuple[float, float]]]:
    """Project-lock hold intervals, per process."""
    held: dict[int, list[tuple[float, float]]] = {}
    since: dict[int, float] = {}
    for event in log:
        if event.get("lock") != "lock":
            continue
        if event["event"] == "acquire":
            assert event["pid"] not in since, "a process took the lock twice"
            since[event["pid"]] = event["t"]
        elif event["event"] == "release":
            held.setdefault(event["pid"], []).append((since.pop(event["pid"]), event["t"]))
    assert since == {}, f"processes still held the lock at the end: {since}"
    return held


def wait_until(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_watch_and_two_builds_never_interleave_writes(tmp_path):
    log = tmp_path / "spy.log"
    env = subprocess_env(API_KEY)
    scan = SecretScan(API_KEY)
    # 200 ms a request: the watcher's first build (41 lines, 3 in flight) still holds the lock
    # when the two builds arrive, however fast the audio processing is
    with FakeFishServer(api_key=API_KEY, latency=0.2, audio="tone") as fake:
        project = make_project(
            tmp_path / "project", fake, characters=VOICES, lines=[("intro.00", "Bram", "Welcome aboard.")], jobs=3
        )
        root = project.root
        for scene in ("deck", "hold"):
            write_scene(project, scene, 20, version=1)

        watcher = subprocess.Popen(
            spy_command(log, "watch", "--project", str(root), "--json", "--debounce", "0.2"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        events, watch_err = Reader(watcher.stdout), Reader(watcher.stderr)
        try:
            # The watcher's first build holds the lock: a writer saves, and two builds start.
            wait_until(
                lambda: any(e["pid"] == watcher.pid and e["event"] == "acquire" for e in read_spy_log(log)),
                "the watcher's first build",
            )
            write_scene(project, "deck", 20, version=2)
            builds = [
                subprocess.Popen(
                    spy_command(log, "build", "--project", str(root), "--json"),
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    env=env,
                )
                for _ in range(2)
            ]
            time.sleep(1.5)
            write_scene(project, "hold", 22, version=3)  # while they wait or build: more lines, new text
            results = [build.communicate(timeout=120) for build in builds]
            for build, (out, err) in zip(builds, results, strict=False):
                assert build.returncode == 0, err
                scan.add(out, err)
            assert (
                sum("Another charvoice process is writing to this project; waiting" in err for _, err in results) >= 1
            )

            # The watcher catches up with the last save, then stops cleanly on Ctrl-C.
            def all_current() -> bool:
                try:
                    lines = json.loads((root / "game/voice/voice_manifest.json").read_text())["lines"]
                except (OSError, ValueError):
                    return False
                texts = {line_id: entry["audio"]["en"]["text"] for line_id, entry in lines.items()}
                return all(texts.get(line_id) == text for line_id, text in current.items())

            current = {**scene_texts("deck", 20, 2), **scene_texts("hold", 22, 3)}
            wait_until(all_current, "every line's newest text to be published", timeout=30)
            time.sleep(0.5)
            watcher.send_signal(signal.SIGINT)
            watcher.wait(timeout=30)
        finally:
            watcher.kill()
        assert watcher.returncode == 0, watch_err.text()
        scan.add(events.text(), watch_err.text())

    spied = read_spy_log(log)
    held = holds(spied)
    pids = {watcher.pid, *(build.pid for build in builds)}
    assert set(held) <= pids and watcher.pid in held and len(held) >= 2, held
    intervals = sorted((start, end, pid) for pid, spans in held.items() for start, end in spans)
    for (_start, end, pid), (next_start, _, next_pid) in itertools.pairwise(intervals):
        assert end <= next_start, f"process {next_pid} took the lock at {next_start} while {pid} held it until {end}"
    assert len({pid for _, _, pid in intervals}) >= 2 and len(intervals) >= 3  # the lock really changed hands

    writes = [e for e in spied if e["event"] == "publish" and e["path"].startswith(str(root))]
    assert len(writes) >= 62  # every asset at least once, and manifests
    for write in writes:
        assert any(start <= write["t"] <= end for start, end in held.get(write["pid"], [])), (
            f"{write['path']} was written by {write['pid']} without the lock"
        )

    # The end state is consistent: every line, its newest text, whole audio.
    manifest = json.loads((root / "game/voice/voice_manifest.json").read_text())
    assert len(manifest["lines"]) == 1 + 20 + 22
    assert all(decodes(root / "game/voice" / entry["audio"]["en"]["path"]) for entry in manifest["lines"].values())
    assert not list(root.rglob("*.tmp"))
    check = subprocess.run(cli_command("check", "--project", str(root)), capture_output=True, text=True, env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    scan.add(check.stdout, check.stderr)
    assert scan.check(tmp_path) > 40


def test_a_build_that_opened_the_project_before_another_published_never_publishes_older_text(project, engine_calls):
    """A build reads the scripts, then takes the lock; meanwhile another process built newer
    scripts. The first must not publish the text it read over the newer audio (nor, in `clean`,
    remove lines it never saw): under the lock it reads the project again."""
    from conftest import LINES, csv_text

    from charvoice.pipeline.workspace import Workspace

    assert project.run("build").exit_code == 0
    stale = Workspace.open(project.root)  # reads the scripts as they are now...
    newer = [list(row) for row in LINES]
    newer[0][2] = "Hello again, traveller. The harbour is yours."
    newer.append(["intro.extra", "Bram", "One more thing before you go."])
    project.write("dialogue/intro.csv", csv_text(newer))
    assert project.run("build").exit_code == 0  # ...another process builds the edit and publishes it
    engine_calls.clear()
    try:
        _, report = stale.build(jobs=1)  # then the first one gets the lock
        removed = stale.clean(dry_run=False)
    finally:
        stale.close()
    assert engine_calls == [] and report.built == [] and removed.entries == []
    manifest = json.loads(project.manifest.read_text())
    assert manifest["lines"]["intro.greet"]["audio"]["en"]["text"] == "Hello again, traveller. The harbour is yours."
    assert "intro.extra" in manifest["lines"]
    assert project.run("check").exit_code == 0
