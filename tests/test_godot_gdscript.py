"""Every GDScript file of the addon and of the demo project parses and lints clean (gdtoolkit's
gdparse and gdlint, default rules), and the addon follows Godot's conventions: snake_case file
names, `##` documentation on every public member, runtime scripts free of editor classes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ADDON = REPO / "plugin_godot/addons/charvoice"
GAME = REPO / "game"


def _gd_files() -> list[Path]:
    addon = sorted((REPO / "plugin_godot").rglob("*.gd"))
    # game/addons/ holds installed copies (charvoice, GUT), game/.godot/ the editor's cache.
    game = sorted(p for p in GAME.rglob("*.gd") if p.relative_to(GAME).parts[0] not in ("addons", ".godot"))
    return addon + game


GD_FILES = _gd_files()


def _run(module: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", module, *[str(p.relative_to(REPO)) for p in GD_FILES]]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_expected_scripts_are_checked():
    names = {p.relative_to(REPO).as_posix() for p in GD_FILES}
    assert {
        "plugin_godot/addons/charvoice/plugin.gd",
        "plugin_godot/addons/charvoice/runtime/charvoice.gd",
        "plugin_godot/addons/charvoice/editor/manifest_import_watcher.gd",
        "game/main.gd",
        "game/test/test_charvoice_manifest.gd",
    } <= names


def test_gdparse_accepts_every_file():
    result = _run("gdtoolkit.parser")
    assert result.returncode == 0, result.stdout + result.stderr


def test_gdlint_finds_no_problem():
    result = _run("gdtoolkit.linter")
    assert result.returncode == 0, result.stdout + result.stderr


def test_addon_file_names_are_snake_case():
    for path in ADDON.rglob("*"):
        if path.is_file() and path.suffix in (".gd", ".tscn", ".tres", ".cfg"):
            assert re.fullmatch(r"[a-z0-9_]+\.(gd|tscn|tres|cfg)", path.name), path


_DECLARATION = re.compile(r"^(?:@export\w*(?:\([^)]*\))?\s+)?(?:static\s+)?(func|signal|var|const)\s+([A-Za-z]\w*)")


@pytest.mark.parametrize("script", sorted(ADDON.rglob("*.gd")), ids=lambda p: p.relative_to(ADDON).as_posix())
def test_every_public_member_of_the_addon_has_a_doc_comment(script):
    lines = script.read_text(encoding="utf-8").splitlines()
    assert any(line.startswith("## ") for line in lines[:6]), f"{script.name}: no `##` class description at the top"
    undocumented = []
    for number, line in enumerate(lines):
        match = _DECLARATION.match(line)
        if not match or "preload(" in line:  # preloaded scripts are local aliases, not API
            continue
        previous = lines[number - 1] if number else ""
        if not previous.startswith("##") and "##" not in line:
            undocumented.append(f"{number + 1}: {line.strip()}")
    assert not undocumented, f"{script.name}: public members without a `##` comment:\n" + "\n".join(undocumented)


def test_runtime_scripts_use_no_editor_classes():
    for folder in ("runtime", "integrations"):
        for script in (ADDON / folder).rglob("*.gd"):
            text = script.read_text(encoding="utf-8")
            # @tool is allowed (configuration warnings, inspector hints); editor classes are not.
            assert not re.search(r"\bEditor\w+", text), f"{script.name} must run in exported games"


def test_signals_describe_past_events():
    for script in ADDON.rglob("*.gd"):
        for name in re.findall(r"^signal\s+(\w+)", script.read_text(encoding="utf-8"), re.MULTILINE):
            assert name.endswith("ed"), f"{script.name}: signal {name} should be in the past tense"


def test_the_readme_points_to_the_engine_api_fact_sheet():
    """Engine names are checked by tests/test_godot_api.py against a fact sheet from Godot's
    class reference; the README says so and says which versions each part was checked against."""
    readme = (ADDON / "README.md").read_text(encoding="utf-8")
    assert "tests/data/godot_4_3_api.json" in readme
    versions = readme.split("## Versions\n", 1)[1].split("\n## ", 1)[0]
    rows = [row for row in versions.splitlines() if row.startswith("| ") and not row.startswith(("| Part", "| ---"))]
    assert rows and all(
        ("ran in 4.6" in row or "read against 4." in row or "rule in" in row or "gdtoolkit" in row) for row in rows
    )
    assert "tests/test_godot_gut.py" in readme  # how to run the suite in the engine
