"""`charvoice godot package`: the addon as a zip laid out for the Godot Asset Library, at the
package's version."""

from __future__ import annotations

import importlib.metadata
import io
import shutil
import tomllib
import zipfile

from click.testing import CliRunner
from conftest import REPO

from charvoice.cli import cli
from charvoice.godot.install import install_addon, shipped_files

ADDON = REPO / "plugin_godot" / "addons" / "charvoice"


def package(tmp_path, *extra: str):
    return CliRunner().invoke(cli, ["godot", "package", "-o", str(tmp_path / "dist"), *extra], catch_exceptions=False)


def installed_paths(names: list[str]) -> dict[str, str]:
    """What the editor's asset installer makes of the zip's names (editor_asset_installer.cpp):
    the entries, intermediate folders included, in sorted order; when the first is a folder that
    every other entry starts with, that top-level folder is skipped (the Asset Library does)."""
    entries = set(names)
    for name in names:
        parts = name.split("/")
        entries |= {"/".join(parts[:depth]) + "/" for depth in range(1, len(parts))}
    ordered = sorted(entries)
    top = ordered[0]
    assert top.endswith("/") and all(entry.startswith(top) for entry in ordered[1:]), "no single top-level folder"
    return {entry: entry.removeprefix(top) for entry in ordered[1:]}


def test_the_zip_holds_the_addon_under_one_top_level_folder_at_the_package_version(tmp_path):
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]

    result = package(tmp_path)

    assert result.exit_code == 0, result.output
    path = tmp_path / "dist" / f"charvoice-godot-{version}.zip"
    assert f"wrote {path.as_posix()}" in result.output
    archive = zipfile.ZipFile(path)
    assert archive.testzip() is None
    mapped = installed_paths(archive.namelist())
    files = {mapped[name]: archive.read(name) for name in archive.namelist() if not name.endswith("/")}
    expected = {f"addons/charvoice/{relative}": data for relative, data in shipped_files(ADDON).items()}
    expected["addons/charvoice/LICENSE"] = (REPO / "LICENSE").read_bytes()
    assert files == expected
    assert not [name for name in files if name.endswith((".uid", ".import"))]
    plugin_cfg = files["addons/charvoice/plugin.cfg"].decode()
    assert f'\nversion="{version}"\n' in plugin_cfg
    assert importlib.metadata.version("charvoice") == version  # `charvoice --version` reads this


def test_the_same_addon_always_gives_the_same_bytes(tmp_path):
    assert package(tmp_path).exit_code == 0
    (first,) = (tmp_path / "dist").glob("*.zip")
    data = first.read_bytes()
    first.unlink()

    assert package(tmp_path).exit_code == 0
    assert first.read_bytes() == data


def test_unzipped_into_a_game_it_is_the_addon_godot_install_writes(tmp_path):
    assert package(tmp_path).exit_code == 0
    (path,) = (tmp_path / "dist").glob("*.zip")
    by_zip = tmp_path / "zip_game"
    by_zip.mkdir()
    archive = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    for name, target in installed_paths(archive.namelist()).items():
        if not name.endswith("/"):
            (by_zip / target).parent.mkdir(parents=True, exist_ok=True)
            (by_zip / target).write_bytes(archive.read(name))
    by_install = tmp_path / "installed_game"
    by_install.mkdir()
    (by_install / "project.godot").write_text("config_version=5\n")

    install_addon(by_install)

    def files(root):
        addon = root / "addons" / "charvoice"
        return {p.relative_to(addon).as_posix(): p.read_bytes() for p in addon.rglob("*") if p.is_file()}

    zipped, installed = files(by_zip), files(by_install)
    assert set(zipped) - set(installed) == {"LICENSE"}
    assert set(installed) - set(zipped) == {".charvoice-install.json"}  # install's record of what it wrote
    assert all(zipped[name] == installed[name] for name in set(zipped) & set(installed))


def test_an_addon_at_another_version_is_refused_and_nothing_is_written(tmp_path, monkeypatch):
    copy = tmp_path / "addon"
    shutil.copytree(ADDON, copy)
    cfg = copy / "plugin.cfg"
    cfg.write_text(cfg.read_text().replace('version="', 'version="9.9.9-', 1))
    monkeypatch.setattr("charvoice.godot.package.addon_source", lambda: copy)

    result = package(tmp_path)

    assert result.exit_code == 2
    assert "plugin.cfg says version '9.9.9-" in result.output and "before packaging" in result.output
    assert not (tmp_path / "dist").exists()
