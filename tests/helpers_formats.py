"""Helpers for the dialogue-format tests: parse a script file, or build a small project around some."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ProjectDir, corpus

from charvoice.project.formats import scan_file, script_locale
from charvoice.project.formats.common import ParseContext, Scan
from charvoice.project.lines import Line

DATA = Path(__file__).resolve().parent / "data"
__all__ = ["DATA", "L", "assert_rejected", "corpus", "make_project", "scan"]  # corpus: re-exported for the tests

CHARACTER_NAMES = ("Wren", "Mara", "Tobin", "Mei", "Narrator", "Coco", "Nathan", "Sally", "Player")


def scan(path: Path, display: str | None = None, *, locales: tuple[str, ...] = ("en",), player: str = "wren") -> Scan:
    """Scan a script as the project would, showing it as `dialogue/<name>` unless told otherwise."""
    locale = script_locale(path, locales, locales[0])
    context = ParseContext(path.resolve(), display or f"dialogue/{path.name}", locale, player, "narrator", locales)
    return scan_file(context)[2]


def L(
    line_id: str,
    character: str,
    text: str,
    source: str,
    *direction: str,
    locale: str = "en",
    provisional: bool = False,
    audio_of: str | None = None,
    notes: str = "",
    comment: str = "",
) -> Line:
    """A Line, written compactly for the expected lists; `comment` is a Yarn trailing `// comment`
    (the line's notes and its direction note)."""
    file, _, number = source.rpartition(":")
    return Line(
        line_id,
        character,
        text,
        locale,
        file,
        int(number),
        tuple(direction),
        notes or comment,
        provisional,
        audio_of,
        comment,
    )


def make_project(
    root: Path,
    scripts: dict[str, Path | bytes | str],
    *,
    locales: tuple[str, ...] = ("en",),
    player: str = "wren",
    extra: str = "",
) -> ProjectDir:
    """A project on the offline engine with every test character and the given scripts under dialogue/."""
    project = ProjectDir(root)
    project.write(
        "charvoice.toml",
        "[project]\n"
        'characters = "characters"\n'
        'dialogue = ["dialogue"]\n'
        'output = "game/voice"\n'
        f"locales = {list(locales)!r}\n".replace("'", '"')
        + f'default_locale = "{locales[0]}"\n'
        f'player_character = "{player}"\n'
        "\n[engine]\n"
        'name = "offline"\n'
        "jobs = 2\n" + extra,
    )
    for name in CHARACTER_NAMES:
        project.write(f"characters/{name.lower()}.toml", f'name = "{name}"\n[voice]\nscratch = true\n')
    for relative, content in scripts.items():
        target = root / "dialogue" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, target)
        elif isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8", newline="")
    return project


def assert_rejected(project: ProjectDir, *expected: str, command: tuple[str, ...] = ("build",)) -> str:
    """Exit status 2, every expected text in the one message, no traceback, nothing written."""
    before = {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file()}
    result = project.run(*command)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.count("error:") == 1, result.output
    for text in expected:
        assert text in result.output, result.output
    assert not project.output.exists() and not (project.root / ".charvoice").exists(), "nothing may be written"
    assert {p: p.read_bytes() for p in project.root.rglob("*") if p.is_file()} == before, "no script may change"
    return result.output
