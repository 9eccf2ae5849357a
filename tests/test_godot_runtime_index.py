"""The runtime form of the manifest (pipeline/runtime_index.py): what the game loads lazily.

Every publish writes it beside voice_manifest.json; it must say what the manifest says for every
line and locale, be written atomically (chunks before the index that names them), drop what no
index names, and cost what changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_formats import make_project

from charvoice.pipeline import runtime_index
from charvoice.pipeline.manifest import AudioEntry, Manifest
from charvoice.pipeline.runtime_index import HISTORY_IDS, chunk_count, chunk_name, chunk_of, runtime_dir

REPO = Path(__file__).resolve().parent.parent
CASES = REPO / "game/test/data/runtime_chunk_cases.json"
FIXTURE = REPO / "game/test/data/fixture_manifest.json"
FIXTURE_RUNTIME = REPO / "game/test/data/fixture_manifest.runtime"

EN = "title: Quay\n---\nMara: The tide is turning. #line:quay.tide\nTobin: Then we row. #line:quay.row\n===\n"
FR = "title: Quay\n---\nMara: La marée tourne. #line:quay.tide\n===\n"


def _index(manifest_path: Path) -> dict:
    return json.loads((runtime_dir(manifest_path) / "index.json").read_text(encoding="utf-8"))


def _history(manifest_path: Path) -> dict:
    return json.loads((runtime_dir(manifest_path) / "history.json").read_text(encoding="utf-8"))


def _lookup(manifest_path: Path, line_id: str, locale: str) -> list | None:
    """A line's entry as the addon finds it: its chunk by FNV-1a, the chunk's hash in the index's
    string for the locale, then the chunk file."""
    index = _index(manifest_path)
    number = chunk_of(line_id, index["chunks"])
    hashes = index["locales"].get(locale, "").split()
    if not hashes or hashes[number] == "-":
        return None
    assert len(hashes) == index["chunks"]
    chunk = runtime_dir(manifest_path) / locale / chunk_name(number, hashes[number])
    return json.loads(chunk.read_text(encoding="utf-8")).get(line_id)


def _files(folder: Path) -> dict[str, int]:
    return {
        str(path.relative_to(folder)): path.stat().st_mtime_ns for path in sorted(folder.rglob("*")) if path.is_file()
    }


def _entry(line_id: str, locale: str, text: str = "Hi.", key: str = "k") -> AudioEntry:
    return AudioEntry(f"{locale}/a/{line_id}.ogg", text, 1.5, key * 64 if len(key) == 1 else key, timings="")


def _manifest(tmp_path: Path, count: int, locales: tuple[str, ...] = ("en", "fr")) -> Manifest:
    manifest = Manifest(tmp_path / "voice" / "voice_manifest.json", locales=list(locales))
    manifest.characters = {"aria": "Aria"}
    for number in range(count):
        for locale in locales:
            manifest.set_entry(f"l{number}", "aria", "d.csv:1", locale, _entry(f"l{number}", locale))
    return manifest


def test_chunk_cases_shared_with_the_addon_match_the_writer():
    """game/test/data/runtime_chunk_cases.json: the GUT suite runs the GDScript hash on the same rows."""
    cases = json.loads(CASES.read_text(encoding="utf-8"))["cases"]
    assert len(cases) >= 8 and any(not case["id"].isascii() for case in cases)
    for case in cases:
        assert chunk_of(case["id"], case["count"]) == case["chunk"], case


def test_chunk_count_grows_in_powers_of_two_with_the_dialogue():
    assert [chunk_count(n) for n in (0, 1, 512, 513, 1024, 50_000)] == [1, 1, 1, 2, 2, 128]


def test_a_build_writes_the_runtime_form_that_says_what_the_manifest_says(tmp_path):
    project = make_project(tmp_path / "p", {"quay.yarn": EN, "quay.fr.yarn": FR}, locales=("en", "fr"))
    result = project.run("build")
    assert result.exit_code == 0, result.output
    manifest = json.loads(project.manifest.read_text(encoding="utf-8"))
    index = _index(project.manifest)
    assert (index["format"], index["version"], index["revision"]) == ("charvoice-runtime", 1, manifest["revision"])
    assert index["default_locale"] == "en" and index["characters"] == {"mara": "Mara", "tobin": "Tobin"} | {
        cid: c["name"] for cid, c in manifest["characters"].items()
    }
    assert sorted(index["locales"]) == ["en", "fr"]
    for line_id, line in manifest["lines"].items():
        for locale, audio in line["audio"].items():
            expected = [line["character"], audio["path"], audio["duration_s"], audio["key"], audio["text"]]
            assert _lookup(project.manifest, line_id, locale) == [*expected, audio.get("timings", "")]
    # quay.row has no French text: the French chunk says which locale's audio it plays.
    assert _lookup(project.manifest, "quay.row", "fr") == ["tobin", "en"]
    # The revision is among the first lines, where the addon's poller looks for it.
    head = (runtime_dir(project.manifest) / "index.json").read_text(encoding="utf-8").splitlines()[:16]
    assert any(f'"revision": {manifest["revision"]}' in line for line in head)


def test_a_publish_rewrites_only_the_chunk_that_changed_and_removes_the_old_file(tmp_path):
    manifest = _manifest(tmp_path, 1500)  # 4 chunks per locale
    manifest.publish([f"l{n}" for n in range(1500)])
    folder = runtime_dir(manifest.path)
    before = _files(folder)
    assert len(before) == 2 + 2 * 4  # index, history, 4 chunks in each locale
    manifest.set_entry("l7", "aria", "d.csv:1", "fr", _entry("l7", "fr", "Salut.", "z"))
    manifest.publish(["l7"])
    after = _files(folder)
    gone, new = set(before) - set(after), set(after) - set(before)
    chunk = chunk_of("l7", 4)
    assert len(gone) == 1 and len(new) == 1, (gone, new)
    assert next(iter(new)).startswith(f"fr/{chunk:04d}-") and next(iter(gone)).startswith(f"fr/{chunk:04d}-")
    assert _lookup(manifest.path, "l7", "fr")[4] == "Salut."
    assert _history(manifest.path)["history"][-1] == [2, ["l7"]]
    assert _history(manifest.path)["revision"] == 2
    assert not [p for p in folder.rglob(".*")], "no temporary file is left"


def test_removed_lines_and_locales_leave_the_runtime_form(tmp_path):
    manifest = _manifest(tmp_path, 3)
    manifest.publish(["l0", "l1", "l2"])
    manifest.remove_entry("l1", "en")
    manifest.remove_entry("l1", "fr")
    for number in (0, 2):
        manifest.remove_entry(f"l{number}", "fr")
    manifest.publish(["l0", "l1", "l2"])
    assert _lookup(manifest.path, "l1", "en") is None
    assert _lookup(manifest.path, "l0", "en") is not None
    assert list(_index(manifest.path)["locales"]) == ["en"]
    assert not (runtime_dir(manifest.path) / "fr").exists()


def test_growing_past_a_chunk_boundary_rewrites_every_chunk_and_leaves_no_stale_file(tmp_path):
    manifest = _manifest(tmp_path, 512, locales=("en",))
    manifest.publish(["l0"])
    assert _index(manifest.path)["chunks"] == 1
    manifest.set_entry("l512", "aria", "d.csv:1", "en", _entry("l512", "en"))
    manifest.publish(["l512"])
    index = _index(manifest.path)
    assert index["chunks"] == 2
    named = [chunk_name(n, h) for n, h in enumerate(index["locales"]["en"].split())]
    assert sorted(p.name for p in (runtime_dir(manifest.path) / "en").iterdir()) == sorted(named)
    for number in range(513):
        assert _lookup(manifest.path, f"l{number}", "en") is not None


def test_a_publish_that_fails_writing_the_index_leaves_the_old_form_whole_and_the_next_heals(tmp_path, monkeypatch):
    manifest = _manifest(tmp_path, 1500)
    manifest.publish(["l0"])
    old_index = _index(manifest.path)
    real = runtime_index.atomic_target

    def failing(target: Path):
        if target.name == "index.json":
            raise OSError(28, "No space left on device", str(target))
        return real(target)

    monkeypatch.setattr(runtime_index, "atomic_target", failing)
    manifest.set_entry("l9", "aria", "d.csv:1", "en", _entry("l9", "en", "Changed.", "y"))
    with pytest.raises(OSError, match="No space left"):
        manifest.publish(["l9"])
    assert _index(manifest.path) == old_index  # every file it names is still there
    assert _lookup(manifest.path, "l9", "en")[4] == "Hi."
    monkeypatch.setattr(runtime_index, "atomic_target", real)
    manifest.publish(["l9"])  # the state on disk is older than this manifest: every chunk is redone
    assert _lookup(manifest.path, "l9", "en")[4] == "Changed."
    assert _index(manifest.path)["revision"] == manifest.revision


def test_a_build_restores_a_missing_runtime_form_without_a_new_revision(tmp_path):
    project = make_project(tmp_path / "p", {"quay.yarn": EN}, locales=("en",))
    assert project.run("build").exit_code == 0
    revision = json.loads(project.manifest.read_text(encoding="utf-8"))["revision"]
    folder = runtime_dir(project.manifest)
    for path in sorted(folder.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    folder.rmdir()
    result = project.run("build")
    assert result.exit_code == 0, result.output
    assert json.loads(project.manifest.read_text(encoding="utf-8"))["revision"] == revision
    assert _index(project.manifest)["revision"] == revision
    assert _lookup(project.manifest, "quay.tide", "en")[4] == "The tide is turning."


def test_the_addon_fixture_runtime_form_is_what_the_writer_makes_of_the_fixture_manifest(tmp_path):
    """game/test/data/fixture_manifest.runtime is read by the GUT suite: it must not drift."""
    target = tmp_path / "fixture_manifest.json"
    target.write_bytes(FIXTURE.read_bytes())
    manifest = Manifest.load(target, "fixture_manifest.json")
    manifest.ensure_runtime()
    assert _files_text(runtime_dir(target)) == _files_text(FIXTURE_RUNTIME)


def _files_text(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_index_stays_small_and_a_huge_publish_empties_the_history(tmp_path):
    """The game reads the index at every start: its size must not grow with the lines' count
    beyond one short hash per chunk, and no list of changed ids goes into it."""
    manifest = _manifest(tmp_path, 5000, locales=("en",))
    manifest.publish([f"l{n}" for n in range(5000)])  # a first build: every line changed
    index_text = (runtime_dir(manifest.path) / "index.json").read_text(encoding="utf-8")
    assert len(index_text) < 1000 and "l4999" not in index_text
    assert HISTORY_IDS < 5000  # the first build changed more lines than the history keeps
    history = _history(manifest.path)
    assert history["history"] == [] and history["history_from"] == manifest.revision
    manifest.set_entry("l5", "aria", "d.csv:1", "en", _entry("l5", "en", "New.", "n"))
    manifest.publish(["l5"])
    history = _history(manifest.path)
    assert history["history"] == [[2, ["l5"]]] and history["history_from"] == 1
