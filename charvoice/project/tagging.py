"""`charvoice tag`: write the missing line ids into the scripts, in place.

Each untagged line gets the id it already uses provisionally (`<file>.<node>.<6 hex>`), so
tagging changes no audio. The id is written once (`#line:` in Yarn, `[ID:]` in Dialogue
Manager, the id cell in CSV/TSV, adding an `id` column when there is none) and from then on
editing the line's text never changes it. Only those characters are inserted: line endings,
a byte-order mark, trailing whitespace and everything else stay byte for byte. A script that
needs nothing is not rewritten, so a second run changes nothing. Nothing is written when any
script has a syntax error.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.errors import CharvoiceError, InputError, Problem
from charvoice.fsutil import atomic_target
from charvoice.project.config import load_config
from charvoice.project.formats import scan_file
from charvoice.project.formats.common import IdSite
from charvoice.project.loader import find_scripts, id_stems, script_context


@dataclass
class FileTags:
    path: Path
    display: str
    added: list[tuple[int, str]] = field(default_factory=list)  # (line number, id)


@dataclass
class TagReport:
    files: list[FileTags] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(f.added) for f in self.files)


def tag_project(root: Path, only: list[Path] | None = None, dry_run: bool = False) -> TagReport:
    """Tag every script of the project at `root` (or only the scripts in `only`)."""
    config = load_config(root)
    scripts = find_scripts(config)
    if only is not None:  # paths from the current folder, or from the project's
        wanted = {(path if path.exists() else config.root / path).resolve() for path in only}
        outside = [path for path in wanted if path not in scripts]
        if outside:
            raise CharvoiceError(
                f"{config.relative(outside[0])} is not one of the project's scripts (see project.dialogue in charvoice.toml)"
            )
    problems: list[Problem] = []
    scanned = []
    taken: set[str] = set()  # every id in the project, lower case: new ids must not collide
    stems = id_stems(config, scripts)
    for script in scripts:
        context = script_context(config, script, stems.get(script, ""))
        try:
            bom, text, result = scan_file(context)
        except InputError as error:
            problems.extend(error.problems)
            continue
        taken |= result.ids
        if only is None or script in wanted:
            scanned.append((context, bom, text, result.sites))
    if problems:
        raise InputError(problems)

    report = TagReport()
    for context, bom, text, sites in scanned:
        if not any(site.provisional for site in sites):
            continue
        tags = FileTags(context.path, context.display)
        inserts: list[tuple[int, str]] = []
        for site in sites:
            if not site.provisional:  # structure, such as a new `id` column header
                inserts.append((site.offset, site.template))
                continue
            new_id = _free_id(site, taken)
            taken.add(new_id.lower())
            tags.added.append((site.line, new_id))
            inserts.append((site.offset, site.template.replace("{id}", new_id)))
        if not dry_run:
            _write(
                context.path, bom + text.encode("utf-8"), bom + _insert(text, inserts).encode("utf-8"), context.display
            )
        report.files.append(tags)
    return report


def _free_id(site: IdSite, taken: set[str]) -> str:
    """The site's provisional id, unless another line already has it (then another suffix)."""
    candidate, salt = site.provisional, 0
    prefix = site.provisional.rpartition(".")[0]
    while candidate.lower() in taken:
        salt += 1
        suffix = hashlib.sha256(f"{site.provisional}\0{salt}".encode()).hexdigest()[:6]
        candidate = f"{prefix}.{suffix}" if prefix else suffix
    return candidate


def _write(path: Path, read: bytes, tagged: bytes, display: str) -> None:
    """Replace the script atomically, keeping its permissions; never over an edit made meanwhile."""
    with atomic_target(path) as temp:
        temp.write_bytes(tagged)
        shutil.copymode(path, temp)
        if path.read_bytes() != read:
            raise CharvoiceError(f"{display} changed while it was being tagged; run `charvoice tag` again")


def _insert(text: str, inserts: list[tuple[int, str]]) -> str:
    pieces = []
    previous = 0
    for offset, value in sorted(inserts, key=lambda item: item[0]):
        pieces.append(text[previous:offset])
        pieces.append(value)
        previous = offset
    pieces.append(text[previous:])
    return "".join(pieces)
