"""`charvoice take` and `charvoice approve`: alternative takes of a line, and pinning one.

Take 0 is the line's regular take (what `build` makes). Takes 1, 2, ... ask the engine for
another reading (SpeechRequest.take: a different sampling run for Fish, a different pitch and
rate for the offline voice). Their raw audio is kept side by side in the cache; a processed
copy to listen to goes to .charvoice/takes/<locale>/<line id>/take-<k>.<format>.

Approving copies the take's raw audio into the committed approved/ folder and records it in
charvoice.approvals.toml (see approvals.py), then publishes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from charvoice.engines.base import Notify
from charvoice.errors import CharvoiceError
from charvoice.fsutil import atomic_write_bytes, atomic_write_text
from charvoice.pipeline.approvals import Approvals
from charvoice.pipeline.build import voice_to_file
from charvoice.pipeline.plan import speech_request
from charvoice.pipeline.workspace import Workspace
from charvoice.project.lines import Line, file_stem


@dataclass
class Take:
    number: int
    path: Path  # processed copy to listen to
    synthesized: bool
    duration_s: float


def find_line(workspace: Workspace, line_id: str, locale: str | None) -> Line:
    locale = locale or workspace.project.config.default_locale
    candidates = [line for line in workspace.project.lines if line.locale == locale and line.audio_of is None]
    exact = [line for line in candidates if line.id == line_id]
    folded = [line for line in candidates if line.id.lower() == line_id.lower()]
    if exact or len(folded) == 1:  # any case will do unless two ids differ only in case
        return (exact or folded)[0]
    raise CharvoiceError(f"no line {line_id!r} in locale {locale!r}")


def _takes_dir(workspace: Workspace, line: Line) -> Path:
    return workspace.project.config.state_dir / "takes" / line.locale / _stem(workspace, line)


def _stem(workspace: Workspace, line: Line) -> str:
    """The file name a line's takes and approvals get (its id may not be a safe file name)."""
    return file_stem(line.id, line.id.lower() in workspace.project.colliding)  # as the plan names its audio


def _index(folder: Path) -> dict[str, dict]:
    try:
        return json.loads((folder / "takes.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def make_takes(workspace: Workspace, line: Line, count: int) -> list[Take]:
    """`count` new takes of `line`, numbered after the ones it already has."""
    config, project = workspace.project.config, workspace.project
    engine = workspace.engines.for_character(project.characters[line.character])
    folder = _takes_dir(workspace, line)
    index = _index(folder)
    first = max([int(number) for number in index] + [0]) + 1
    takes = []
    with workspace.lock():
        for number in range(first, first + count):
            request = speech_request(project, workspace.engines, line, take=number)
            if number == first:
                engine.prepare([request], 1, Notify())
            path = folder / f"take-{number}.{config.audio.format}"
            voiced = voice_to_file(request, engine, workspace.cache, config.audio, path)
            index[str(number)] = {"key": request.cache_key, "text": line.text, "engine": request.engine}
            atomic_write_text(folder / "takes.json", json.dumps(index, indent=1))
            takes.append(Take(number, path, voiced.synthesized, voiced.duration_s))
    return takes


TAKE_EXTENSIONS = ("wav", "ogg", "mp3", "audio")  # what _extension names an approved take


def _extension(raw: bytes) -> str:
    if raw[:4] == b"RIFF":
        return "wav"
    if raw[:4] == b"OggS":
        return "ogg"
    if raw[:3] == b"ID3" or raw[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "mp3"
    return "audio"


def approve(workspace: Workspace, line: Line, take: int | None) -> tuple[int, Path]:
    """Pin a take of `line` (default: the one published now); returns (take, approved file)."""
    config, project = workspace.project.config, workspace.project
    if take is None:
        entry = workspace.manifest.entry(line.id, line.locale)
        take = (entry.marks.take or 0) if entry is not None and entry.origin == "approved" else 0
    request = speech_request(project, workspace.engines, line, take=take)
    raw = workspace.cache.get(request.cache_key)
    if raw is None:
        hint = "run `charvoice build` first" if take == 0 else f"run `charvoice take {line.id}` to make it"
        raise CharvoiceError(f"take {take} of {line.id} [{line.locale}] is not in the cache ({hint})")
    stem = _stem(workspace, line)
    assert config.approved_dir is not None  # always set when the project loads
    target = config.approved_dir / line.locale / f"{stem}.{_extension(raw)}"
    with workspace.lock():
        for extension in TAKE_EXTENSIONS:  # an earlier approval in another format; nothing else of that name
            stale = target.with_name(f"{stem}.{extension}")
            if stale != target and stale.is_file():
                stale.unlink()
        atomic_write_bytes(target, raw)
        approvals = Approvals.load(config)
        approvals.approve(line.id, line.locale, take, line.text, request.cache_key, config.relative(target))
        approvals.save()
    return take, target
