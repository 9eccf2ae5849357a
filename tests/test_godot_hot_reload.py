"""Hot reload stays where it belongs, checked on the scripts' structure (no Godot binary runs
here): games run from the editor only, never an import request while the editor imports, and no
preload from before a reload bringing back the audio the reload replaced."""

from __future__ import annotations

import re
from pathlib import Path

ADDON = Path(__file__).resolve().parent.parent / "plugin_godot/addons/charvoice"
RUNTIME = ADDON / "runtime/charvoice.gd"
WATCHER = ADDON / "editor/manifest_import_watcher.gd"


def _body(path: Path, function: str) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^(?:static )?func {function}\(.*?(?=^\S)", text + "\nEND\n", re.MULTILINE | re.DOTALL)
    assert match, f"{path.name} has no func {function}"
    return match.group(0)


def test_hot_reload_runs_only_in_games_started_from_the_editor():
    assert 'return OS.has_feature("editor")' in _body(RUNTIME, "hot_reload_allowed")
    for script in (ADDON / "runtime").glob("*.gd"):
        assert "is_debug_build" not in script.read_text(encoding="utf-8"), (
            f"{script.name}: exported debug builds must not hot-reload"
        )
    assert "hot_reload_allowed() and" in _body(RUNTIME, "_init")
    # Raw files are read for lines a reload changed, else only where no import exists (a file the
    # editor has not imported, a voice pack in user://); the engine tests (game/test) play both.
    load = _body(RUNTIME, "_load_stream")
    assert load.index("if _from_files.has(line_id):") < load.index("ResourceLoader.exists(path)")
    assert load.index("ResourceLoader.exists(path)") < load.rindex("_load_from_file(path)")


def test_no_import_request_while_the_editor_imports():
    flush = _body(WATCHER, "_flush")
    guard = flush.index("if filesystem.is_scanning() or _importing or _in_call:")
    assert flush[guard:].split("\n")[1].strip().startswith("return  #")
    for call in ("filesystem.scan()", "filesystem.reimport_files("):
        assert flush.index(call) > guard, f"{call} before the import guard"
    # Godot 4.3 has no resources_reimporting: a tick inside our own reimport_files() (the import's
    # progress dialog runs timers) must find the guard set, so the call is never re-entered.
    call = flush.index("filesystem.reimport_files(")
    assert flush.rindex("_in_call = true", 0, call) < call < flush.index("_in_call = false", call)
    assert "_importing = true" in _body(WATCHER, "_on_reimporting")
    assert "_importing = false" in _body(WATCHER, "_on_reimported")
    ready = _body(WATCHER, "_ready")
    assert "resources_reimported.connect(_on_reimported)" in ready
    assert 'if filesystem.has_signal(&"resources_reimporting"):' in ready  # Godot 4.4+, by name


def test_a_preload_from_before_a_reload_is_dropped():
    assert "_reload_generation += 1" in _body(RUNTIME, "reload_manifest")
    assert "_preloading[path] = [line_id, resolved, _reload_generation]" in _body(RUNTIME, "preload_lines")
    take = _body(RUNTIME, "_take_threaded")
    stale = take.index("if int(entry[2]) != _reload_generation and _from_files.has(entry[0]):")
    assert (
        take[stale:].split("\n")[1].strip()
        == "return null  # requested before a reload replaced this line: the old audio"
    )
    assert take.index("_cache(") > stale
