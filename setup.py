"""Build hook: wheels carry the Godot addon as package data (everything else is in pyproject.toml).

The addon's one source is plugin_godot/addons/charvoice, where Godot developers expect it.
setuptools packages only files inside a package, so build_py copies the addon into the build tree
as charvoice/godot_addon. A source checkout or an editable install reads the repository folder
instead (charvoice.godot.install.addon_source), so there is never a second copy to keep in step.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ADDON = Path(__file__).resolve().parent / "plugin_godot" / "addons" / "charvoice"


class BuildPyWithGodotAddon(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads plugin_godot/ in place
        target = Path(self.build_lib) / "charvoice" / "godot_addon"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(ADDON, target, ignore=shutil.ignore_patterns(".*", "*.uid", "*.import", "__pycache__"))


setup(cmdclass={"build_py": BuildPyWithGodotAddon})
