"""`charvoice init`: a starting project in an existing game folder, never overwriting a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from charvoice.errors import CharvoiceError


@dataclass
class InitReport:
    created: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)  # already there, left alone
    skipped: list[Path] = field(default_factory=list)  # examples not added beside the team's own files
    existing_project: bool = False  # the folder already had charvoice.toml: nothing was added


def _holds_user_files(folder: Path, relative: Path) -> bool:
    """An example goes only into an empty characters/ or dialogue/ folder: next to a team's own
    characters and scripts it would be voiced (or clash with their narrator)."""
    return (
        relative.parent != Path(".") and folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir())
    )


def _template(name: str) -> str:
    return resources.files("charvoice.templates").joinpath(name).read_text(encoding="utf-8")


def init_project(folder: Path, output: str | None = None) -> InitReport:
    if not folder.is_dir():
        raise CharvoiceError(f"{folder} is not a folder (charvoice init works in an existing game folder)")
    godot = (folder / "project.godot").is_file()
    output = output or ("voice" if godot else "game/voice")
    files = {
        Path("charvoice.toml"): _template("charvoice.toml")
        .replace("{output}", output)
        .replace("{godot_project}", "." if godot else ""),
        Path("characters/narrator.toml"): _template("narrator.toml"),
        Path("dialogue/example.csv"): _template("example.csv"),
    }
    report = InitReport()
    if (folder / "charvoice.toml").exists():
        # Already a project: an example character or script would be voiced with its real lines.
        report.kept.append(Path("charvoice.toml"))
        report.existing_project = True
        return report
    for relative, text in files.items():
        target = folder / relative
        if target.exists():
            report.kept.append(relative)
            continue
        if _holds_user_files(target.parent, relative):
            report.skipped.append(relative)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:  # "x": never replace a file
            handle.write(text)
        report.created.append(relative)
    return report
