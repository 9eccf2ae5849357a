"""Shared fixtures: small real projects in tmp_path, and the CLI run the way a user runs it."""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from charvoice.cli import cli

# Fixtures that live beside their helpers: the loopback Fish server, the in-memory engine, the
# headless browser, and Godot 4.6 running in it.
pytest_plugins = ["fakes.fixtures", "fakes.shared_cache", "fakes.fake_engine", "browser", "godot_engine"]

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def shared(relative: str) -> Path:
    """A file of ../shared beside the repository (CI has it; a user's clone does not): else skip, saying so."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"../shared/{relative} is not beside the repository (the real-world corpus is only in CI)")
    return path


def corpus(relative: str) -> Path:
    """A script from ../shared/corpus (real Yarn Spinner and Dialogue Manager files), or skip."""
    return shared(f"corpus/{relative}")


BASIC_CONFIG = """\
[project]
characters = "characters"
dialogue = ["dialogue"]
output = "game/voice"
locales = ["en"]
default_locale = "en"

[engine]
name = "offline"
jobs = 2
"""

CHARACTERS = {
    "aria": 'name = "Aria"\n[voice]\nscratch = true\n[scratch]\nvoice = "en-us+f2"\npitch = 60\n',
    "bram": 'name = "Bram"\n[voice]\nscratch = true\n',
}

LINES = [
    ("intro.greet", "Aria", "Hello there, traveller. Welcome to the harbour."),
    ("intro.reply", "Bram", "Thank you. The crossing was longer than I hoped."),
    ("intro.ask", "Aria", "Did you bring the letters from the mainland?"),
    ("intro.answer", "Bram", "Every one of them, sealed and dry."),
]


def csv_text(rows) -> str:
    out = ["id,character,text"]
    for row in rows:
        out.append(",".join(f'"{cell}"' if "," in cell else cell for cell in row))
    return "\n".join(out) + "\n"


@dataclass
class Result:
    exit_code: int
    output: str  # stdout and stderr together, as a user sees them
    stdout: str


class ProjectDir:
    """A charvoice project on disk, and the CLI pointed at it."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text) if text.startswith("\n") else text, encoding="utf-8")
        return path

    def run(self, *args: str) -> Result:
        # --project belongs to each command, after its name; `init` takes a folder instead.
        command, rest = args[0], list(args[1:])
        argv = [command, *rest] if command == "init" else [command, "--project", str(self.root), *rest]
        result = CliRunner().invoke(cli, argv, catch_exceptions=False)
        return Result(result.exit_code, result.output, result.stdout)

    @property
    def output(self) -> Path:
        return self.root / "game" / "voice"

    @property
    def manifest(self) -> Path:
        return self.output / "voice_manifest.json"

    def assets(self) -> list[Path]:
        return sorted(p for p in self.output.rglob("*") if p.suffix in (".ogg", ".wav", ".mp3"))

    def cache_entries(self) -> list[Path]:
        return sorted((self.root / ".charvoice" / "cache").rglob("*.audio"))


@pytest.fixture
def project(tmp_path: Path) -> ProjectDir:
    """A four-line, two-character project on the offline engine."""
    proj = ProjectDir(tmp_path / "game_project")
    proj.write("charvoice.toml", BASIC_CONFIG)
    for name, text in CHARACTERS.items():
        proj.write(f"characters/{name}.toml", text)
    proj.write("dialogue/intro.csv", csv_text(LINES))
    return proj


@pytest.fixture
def demo(tmp_path: Path) -> ProjectDir:
    """A copy of the demo project at the repository root."""
    root = tmp_path / "demo"
    root.mkdir()
    shutil.copy(REPO / "charvoice.toml", root / "charvoice.toml")
    shutil.copytree(REPO / "characters", root / "characters")
    shutil.copytree(REPO / "dialogue", root / "dialogue")
    return ProjectDir(root)


@pytest.fixture
def engine_calls(monkeypatch) -> list[str]:
    """Every text the offline engine is asked to speak, in order."""
    from charvoice.engines.offline import OfflineEngine

    calls: list[str] = []
    original = OfflineEngine.synthesize

    def counting(self, request):
        calls.append(request.text)
        return original(self, request)

    monkeypatch.setattr(OfflineEngine, "synthesize", counting)
    return calls


@pytest.fixture(autouse=True)
def _no_fish_key(monkeypatch):
    """Tests choose their engine explicitly; a developer's real key must never leak into one."""
    monkeypatch.delenv("FISH_API_KEY", raising=False)


# --- a built release project, shared by the release tools' tests (qa, gate, export) --------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The four-line offline project, built once per module; tests work on copies. A module may
    override it with its own project (test_export.py does)."""
    from helpers_release import new_project

    project = new_project(tmp_path_factory.mktemp("release") / "p")
    result = project.run("build")
    assert result.exit_code == 0, result.output
    return project


@pytest.fixture
def copy(built, tmp_path):
    """A private copy of `built`, to edit and rebuild."""
    from helpers_release import copy_project

    return copy_project(built, tmp_path / "p")
