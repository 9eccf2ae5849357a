"""The wheel a user installs carries everything `charvoice` needs at run time (built for real)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile

from conftest import REPO

ADDON = REPO / "plugin_godot" / "addons" / "charvoice"


def test_the_wheel_ships_the_godot_addon_templates_and_type_marker(tmp_path):
    source = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in tracked.splitlines():  # a clean copy: no build/ or egg-info from an editable install
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    run = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("charvoice-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    addon = {
        f"charvoice/godot_addon/{path.relative_to(ADDON).as_posix()}"
        for path in ADDON.rglob("*")
        if path.is_file() and path.suffix not in (".uid", ".import")
    }
    assert addon and addon <= names, sorted(addon - names)
    assert {"charvoice/py.typed", "charvoice/manifest.schema.json", "charvoice/templates/charvoice.toml"} <= names
    modules = {name for name in tracked.splitlines() if name.startswith("charvoice/") and name.endswith(".py")}
    assert modules and modules <= names, sorted(modules - names)  # every package is listed in pyproject.toml
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert not [name for name in names if name.startswith("tests/") or "/.venv/" in name]
