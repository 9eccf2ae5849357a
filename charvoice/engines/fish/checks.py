"""What Fish's files ask of a project, checked before any build whichever engine runs
(capabilities: pre-build checks): charvoice.lock reads, and every voice sample decodes as audio
(a sample that is not audio otherwise passes every keyless build and fails only in CI)."""

from __future__ import annotations

import contextlib
import json

from charvoice.engines.fish import samples
from charvoice.engines.fish.voices import LOCK_NAME, VoiceLock
from charvoice.errors import InputError, Problem
from charvoice.fsutil import atomic_write_text, file_sha256
from charvoice.project.loader import Project
from charvoice.project.schema import TomlFile

SAMPLES_CHECKED = "samples-decoded.json"  # sha256 of every voice sample that decoded, under .charvoice/


def check_project(project: Project, problems: list[Problem]) -> None:
    """A damaged charvoice.lock; then, when nothing else is wrong, samples that do not decode."""
    if (project.config.root / LOCK_NAME).exists():
        try:
            VoiceLock.load(project.config)
        except InputError as error:
            problems.extend(error.problems)
    if not problems:
        _samples_decode(project, problems)


def _samples_decode(project: Project, problems: list[Problem]) -> None:
    """Every voice sample decodes as audio, whichever engine runs (a sample that is not audio
    otherwise passes every keyless build and fails only in CI). Samples that decoded are
    remembered by content hash in .charvoice/, so each file is decoded once, not every build;
    a refused build writes nothing."""
    config = project.config
    record = config.state_dir / SAMPLES_CHECKED
    try:
        known = set(json.loads(record.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        known = set()  # missing or damaged: check again
    added = False
    for character in project.characters.values():
        for path in character.voice.samples:
            try:
                digest = file_sha256(path)
            except OSError as exc:
                problems.append(Problem(character.file, f"cannot read voice sample {path.name}: {exc.strerror}"))
                continue
            if digest in known:
                continue
            why = samples.decode_problem(path)
            if why is not None:
                doc = TomlFile.load(config.root / character.file, character.file, [])
                line = doc.line_of(("voice",), "samples") if doc else None
                problems.append(Problem(character.file, f"voice sample {path.name} cannot be decoded ({why})", line))
                continue
            known.add(digest)
            added = True
    if added and not problems:
        with contextlib.suppress(OSError):  # only a memo: a read-only project checks again next time
            atomic_write_text(record, json.dumps(sorted(known), indent=0))
