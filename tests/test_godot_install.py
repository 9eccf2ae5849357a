"""`charvoice godot install PATH`: copies the addon into a Godot project, updates its own files,
and never overwrites a file the user changed unless told to with --force."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from click.testing import CliRunner
from conftest import BASIC_CONFIG

from charvoice.cli import cli
from charvoice.godot import install as godot

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "plugin_godot/addons/charvoice"


def _install(path: Path, *options: str):
    return CliRunner().invoke(cli, ["godot", "install", str(path), *options], catch_exceptions=False)


def _godot_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "project.godot").write_text("config_version=5\n", encoding="utf-8")
    return root


def _addon(project: Path) -> Path:
    return project / "addons" / "charvoice"


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_ships_the_repository_addon_and_nothing_else():
    assert godot.addon_source() == SOURCE  # a checkout reads the one source of truth in place
    files = godot.shipped_files()
    assert {"plugin.cfg", "plugin.gd", "README.md", "runtime/charvoice.gd", "runtime/voice_line_player.gd"} <= set(
        files
    )
    assert all(not name.endswith((".uid", ".import")) and "/." not in f"/{name}" for name in files)
    assert godot.addon_version(files) == "0.2.0"


def test_refuses_a_folder_without_project_godot(tmp_path):
    result = _install(tmp_path)
    assert result.exit_code == 2
    assert "not a Godot project" in result.output and "project.godot" in result.output
    assert not (tmp_path / "addons").exists()


def test_fresh_install_copies_every_file_and_records_them(tmp_path):
    project = _godot_project(tmp_path / "game")
    result = _install(project)
    assert result.exit_code == 0, result.output
    installed = _snapshot(_addon(project))
    record = json.loads(installed.pop(godot.RECORD_NAME))
    assert installed == godot.shipped_files()
    assert record["files"] == {name: hashlib.sha256(data).hexdigest() for name, data in installed.items()}
    assert "added    addons/charvoice/plugin.cfg" in result.output
    assert "Project Settings > Plugins" in result.output
    assert not list(project.rglob("*.tmp"))

    again = _install(project)
    assert again.exit_code == 0 and "already up to date" in again.output


def test_update_replaces_untouched_files_and_drops_retired_ones(tmp_path):
    project = _godot_project(tmp_path / "game")
    _install(project)
    addon = _addon(project)
    # Pretend an older addon was installed: another plugin.gd, and a file this version retired.
    old_plugin, retired = b"# old plugin\n", b"# retired\n"
    (addon / "plugin.gd").write_bytes(old_plugin)
    (addon / "runtime/retired.gd").write_bytes(retired)
    record = json.loads((addon / godot.RECORD_NAME).read_text())
    record["files"]["plugin.gd"] = hashlib.sha256(old_plugin).hexdigest()
    record["files"]["runtime/retired.gd"] = hashlib.sha256(retired).hexdigest()
    (addon / godot.RECORD_NAME).write_text(json.dumps(record))

    result = _install(project)
    assert result.exit_code == 0, result.output
    assert "updated  addons/charvoice/plugin.gd" in result.output
    assert "removed  addons/charvoice/runtime/retired.gd" in result.output
    assert (addon / "plugin.gd").read_bytes() == (SOURCE / "plugin.gd").read_bytes()
    assert not (addon / "runtime/retired.gd").exists()


def test_local_changes_are_refused_without_force_and_nothing_is_written(tmp_path):
    project = _godot_project(tmp_path / "game")
    _install(project)
    addon = _addon(project)
    edited = addon / "runtime/charvoice.gd"
    edited.write_text(edited.read_text() + "\n# my tweak\n")
    (addon / "plugin.cfg").unlink()  # would be re-added by an install that went ahead
    (addon / "runtime/charvoice.gd.uid").write_text("uid://abc\n")  # Godot 4.4's own file: not ours
    (addon / "notes.txt").write_text("mine\n")
    before = _snapshot(addon)

    refused = _install(project)
    assert refused.exit_code == 2
    assert "addons/charvoice/runtime/charvoice.gd" in refused.output and "--force" in refused.output
    assert "charvoice.gd.uid" not in refused.output and "notes.txt" not in refused.output
    assert _snapshot(addon) == before

    forced = _install(project, "--force")
    assert forced.exit_code == 0, forced.output
    assert "replaced addons/charvoice/runtime/charvoice.gd" in forced.output
    assert "added    addons/charvoice/plugin.cfg" in forced.output
    assert edited.read_bytes() == (SOURCE / "runtime/charvoice.gd").read_bytes()
    assert (addon / "notes.txt").read_text() == "mine\n" and (addon / "runtime/charvoice.gd.uid").exists()


def test_a_copy_without_a_record_is_only_safe_where_identical(tmp_path):
    project = _godot_project(tmp_path / "game")
    addon = _addon(project)
    (addon / "runtime").mkdir(parents=True)
    (addon / "plugin.gd").write_bytes((SOURCE / "plugin.gd").read_bytes())  # copied by hand, same
    assert _install(project).exit_code == 0

    other = _godot_project(tmp_path / "other")
    (_addon(other) / "runtime").mkdir(parents=True)
    (_addon(other) / "plugin.gd").write_text("# somebody else's plugin.gd\n")
    assert _install(other).exit_code == 2


def test_points_at_the_manifest_when_the_output_is_not_the_default(tmp_path):
    root = tmp_path / "studio"
    game = _godot_project(root / "game")
    (root / "charvoice.toml").write_text(BASIC_CONFIG.replace('output = "game/voice"', 'output = "game/audio/lines"'))
    result = _install(game)
    assert result.exit_code == 0, result.output
    assert "charvoice/general/manifest_path to res://audio/lines/voice_manifest.json" in result.output

    (root / "charvoice.toml").write_text(BASIC_CONFIG.replace('output = "game/voice"', 'output = "voice_out"'))
    outside = _install(game, "--force")
    assert "outside this Godot project" in outside.output

    (root / "charvoice.toml").write_text(BASIC_CONFIG)  # game/voice: the addon's default
    (_addon(game) / "plugin.gd").unlink()
    default = _install(game)
    assert "manifest_path" not in default.output and "outside" not in default.output


def test_init_in_a_godot_project_matches_the_addon_default(tmp_path):
    """`charvoice init` in a Godot project writes the voice where the addon looks by default."""
    game = _godot_project(tmp_path / "game")
    init = CliRunner().invoke(cli, ["init", str(game)], catch_exceptions=False)
    assert init.exit_code == 0, init.output
    assert godot.manifest_hint(game) is None
    result = _install(game)
    assert result.exit_code == 0 and "manifest_path" not in result.output
