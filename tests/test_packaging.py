"""The release a user installs: `python -m build` makes an sdist and, from it, a wheel that carries
everything `charvoice` needs at run time; installed alone in a fresh venv, it starts a project in
an empty Godot game, voices it and installs the addon (all built and run for real)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest
from conftest import REPO

ADDON = REPO / "plugin_godot" / "addons" / "charvoice"
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """`python -m build` of a clean copy (no build/, egg-info or venv of an editable install)."""
    pytest.importorskip("build", reason="the build frontend is not installed (pip install -e '.[test]')")
    root = tmp_path_factory.mktemp("release")
    source = root / "src"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in listed.splitlines():
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    run = subprocess.run(
        [sys.executable, "-m", "build", "-o", str(root / "dist"), str(source)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return root / "dist"


def test_build_makes_an_sdist_and_a_wheel_at_the_package_version(dist):
    assert sorted(p.name for p in dist.iterdir()) == [
        f"charvoice-{VERSION}-py3-none-any.whl",
        f"charvoice-{VERSION}.tar.gz",
    ]
    with tarfile.open(dist / f"charvoice-{VERSION}.tar.gz") as sdist:
        names = set(sdist.getnames())
    top = f"charvoice-{VERSION}"
    assert {f"{top}/plugin_godot/addons/charvoice/plugin.cfg", f"{top}/LICENSE", f"{top}/pyproject.toml"} <= names


def test_the_wheel_ships_the_godot_addon_templates_and_type_marker(dist):
    (wheel,) = dist.glob("charvoice-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    addon = {
        f"charvoice/godot_addon/{path.relative_to(ADDON).as_posix()}"
        for path in ADDON.rglob("*")
        if path.is_file() and path.suffix not in (".uid", ".import")
    }
    assert addon and addon <= names, sorted(addon - names)
    assert {"charvoice/py.typed", "charvoice/manifest.schema.json", "charvoice/templates/charvoice.toml"} <= names
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    modules = {name for name in tracked.splitlines() if name.startswith("charvoice/") and name.endswith(".py")}
    assert modules and modules <= names, sorted(modules - names)  # every package is listed in pyproject.toml
    assert any(name.endswith("licenses/LICENSE") for name in names)
    assert not [name for name in names if name.startswith("tests/") or "/.venv/" in name]


def test_the_wheel_alone_in_a_fresh_venv_voices_an_empty_godot_game(dist, tmp_path):
    (wheel,) = dist.glob("charvoice-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # The dependencies come from this test's environment (no download): its site-packages goes on
    # the path after the venv's own, as a plain folder, so its .pth files (the editable install
    # of the repository among them) are not run and `charvoice` can only come from the wheel.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    install = [
        sys.executable,
        "-m",
        "pip",
        "--python",
        str(python),
        "install",
        "-q",
        "--no-deps",
        "--no-index",
        str(wheel),
    ]
    done = subprocess.run(install, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

    game = tmp_path / "game"
    game.mkdir()
    (game / "project.godot").write_text("config_version=5\n")
    env = {k: v for k, v in os.environ.items() if k not in ("FISH_API_KEY", "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"

    def charvoice(*args: str) -> str:
        done = subprocess.run(["charvoice", *args], cwd=game, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"charvoice {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    assert charvoice("--version").strip() == f"charvoice, version {VERSION}"
    where = subprocess.run(
        [str(python), "-c", "import charvoice; print(charvoice.__file__)"],
        cwd=game,
        env=env,
        capture_output=True,
        text=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr

    charvoice("init", ".")
    assert (game / "charvoice.toml").is_file()
    built = charvoice("build")
    assert "Built" in built
    manifest = game / "voice" / "voice_manifest.json"
    assert manifest.is_file() and list((game / "voice").rglob("*.ogg"))
    installed = charvoice("godot", "install", ".")
    assert f"CharVoice addon {VERSION} installed" in installed
    assert (game / "addons" / "charvoice" / "plugin.cfg").is_file()
    packaged = charvoice("godot", "package", "-o", str(tmp_path / "dist"))  # the licence from the wheel's metadata
    assert f"charvoice-godot-{VERSION}.zip" in packaged
    assert "addons/charvoice/LICENSE" in "".join(
        zipfile.ZipFile(tmp_path / "dist" / f"charvoice-godot-{VERSION}.zip").namelist()
    )
