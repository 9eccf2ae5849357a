"""The layout's import rules, read from the code itself: the pipeline's layers only import
downwards (cli -> api -> release/watch -> pipeline -> timings -> engines -> project -> foundations), and
nothing outside engines/ reaches into a particular engine (the Fish-only `voices` commands aside),
so a new engine touches engines/ only."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "charvoice"

# Each layer and the layers it may import (foundations: the modules at the package's top).
LAYERS = ["cli", "api", "release", "watch", "pipeline", "engines", "godot", "timings", "project"]
MAY_IMPORT = {
    "cli": set(LAYERS),
    "api": {"release", "watch", "pipeline", "engines", "godot", "timings", "project"},
    "release": {"pipeline", "engines", "timings", "project"},
    "watch": {"pipeline", "engines", "project"},
    "pipeline": {"engines", "timings", "project"},
    "engines": {"project"},
    "godot": {"project"},
    "timings": {"engines", "project"},  # the engines' raw timings (engines/base.py) are its input
    "project": set(),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return [(line, name) for line, name in found if name.startswith("charvoice.")]


def _layer(parts: tuple[str, ...]) -> str | None:
    top = parts[0].removesuffix(".py")
    return top if top in MAY_IMPORT else None


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_run_downwards(path):
    layer = _layer(path.relative_to(PACKAGE).parts)
    if layer is None:  # a foundation (errors, fsutil, audio...) or the package's front door
        return
    wrong = []
    for line, name in _imports(path):
        target = _layer(tuple(name.split(".")[1:]) or ("",))
        if target is not None and target != layer and target not in MAY_IMPORT[layer]:
            wrong.append(f"{path.relative_to(PACKAGE)}:{line} ({layer}) imports {name} ({target})")
    assert not wrong, "\n".join(wrong)


def test_only_engines_and_the_voices_commands_know_a_particular_engine():
    wrong = []
    for path in MODULES:
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "engines" or relative.as_posix() == "cli/voices.py":
            continue
        for line, name in _imports(path):
            if name.startswith(("charvoice.engines.fish", "charvoice.engines.offline")):
                wrong.append(f"{relative}:{line} imports {name}")
    assert not wrong, "\n".join(wrong)
