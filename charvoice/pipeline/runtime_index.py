"""The runtime form of the manifest: what a game needs to play a line, split so it loads lazily.

`voice_manifest.json` holds everything (review marks, QA, hashes) and is read by tools and the
editor. A game only needs, per line and locale, the file, its length, its text, its timings file,
the speaker and the asset key; reading the whole manifest at every start costs time that grows
with the dialogue (a 50,000-line manifest takes over a second to parse in the engine). So every
publish also writes, beside the manifest:

  voice_manifest.runtime/index.json       small: revision, default locale, characters, chunk hashes
  voice_manifest.runtime/<locale>/<n>-<hash>.json   the lines of chunk n in that locale
  voice_manifest.runtime/history.json     the ids recent publishes changed (read by hot reload only)

The index stays small whatever the dialogue's size (it is read at every game start): per locale
one string of the chunks' content hashes ("-" for a chunk without lines), from which the file
names follow.

A line id's chunk is FNV-1a (32 bit) of its UTF-8 bytes modulo the chunk count, a power of two
chosen from the number of lines; the addon (runtime/charvoice_runtime_index.gd) computes the same
and reads only the chunks of the lines it plays. A chunk maps id -> [character, path, duration_s,
key, text, timings] (audio in that locale) or [character, locale] (no text in that locale: it
plays that locale's audio, the manifest's `fallback`). Paths are relative to the manifest's folder.

Chunk files are named by their content, so the index never names a file that is not yet
complete: new chunks first, then the history, then the index (each atomically), then files no
index names are removed. The history keeps the ids each recent publish changed, so a running game
learns exactly which lines changed even when it missed a publish; a publish that changed more than
HISTORY_IDS lines empties it (the game then compares chunks).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charvoice.fsutil import TEMP_SUFFIX, atomic_target

if TYPE_CHECKING:
    from charvoice.pipeline.manifest_entries import LineEntry

FORMAT = "charvoice-runtime"
VERSION = 1
INDEX_NAME = "index.json"
HISTORY_NAME = "history.json"
NO_CHUNK = "-"
LINES_PER_CHUNK = 512  # a chunk parses in about a millisecond in the engine
HISTORY_IDS = 4096  # changed ids kept across recent publishes (older publishes: compare chunks)


def runtime_dir(manifest_path: Path) -> Path:
    """The folder of the runtime form: `voice_manifest.runtime` beside `voice_manifest.json`."""
    return manifest_path.with_name(manifest_path.stem + ".runtime")


def chunk_count(lines: int) -> int:
    """The chunks for `lines` lines: the smallest power of two with at most LINES_PER_CHUNK each."""
    count = 1
    while count * LINES_PER_CHUNK < lines:
        count *= 2
    return count


def chunk_of(line_id: str, count: int) -> int:
    """The chunk of `line_id` among `count` (a power of two): FNV-1a 32 of its UTF-8 bytes."""
    value = 0x811C9DC5
    for byte in line_id.encode("utf-8"):
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value & (count - 1)


def chunk_name(chunk: int, content_hash: str) -> str:
    """The file of chunk `chunk` whose content hashes to `content_hash` (in its locale's folder)."""
    return f"{chunk:04d}-{content_hash}.json"


def _hash_of(name: str) -> str:
    return name[5:-5] if name else NO_CHUNK


def runtime_entry(line: LineEntry, locale: str) -> list[Any] | None:
    """What a chunk holds for `line` in `locale`, or None when the line has nothing there."""
    audio = line.audio.get(locale)
    if audio is not None:
        return [line.character, audio.path, audio.duration_s, audio.key, audio.text, audio.timings]
    lender = line.fallback.get(locale)
    return [line.character, lender] if lender is not None else None


@dataclass
class _State:
    """What the last write left on disk, so the next one rewrites only the chunks that changed."""

    revision: int
    count: int
    files: dict[str, list[str]]  # locale -> file name per chunk ("" for a chunk with no lines)
    history: list[list[Any]]  # [revision, [ids]] of recent publishes, oldest first
    members: list[set[str]] = field(default_factory=list)  # chunk -> line ids (filled on demand)


class RuntimeIndex:
    """Writes the runtime form for one manifest; kept with it so a publish costs what changed."""

    def __init__(self, manifest_path: Path) -> None:
        self.folder = runtime_dir(manifest_path)
        self.index_path = self.folder / INDEX_NAME
        self._state: _State | None = None

    def current(self, revision: int) -> bool:
        """Whether the runtime form on disk is the one of manifest `revision`."""
        state = self._state or self._read_state()
        return state is not None and state.revision == revision and self._files_present(state)

    def write(
        self,
        lines: Mapping[str, LineEntry],
        *,
        revision: int,
        previous_revision: int,
        default_locale: str,
        characters: Mapping[str, str],
        changed: Iterable[str],
        dirty: Iterable[str] | None,
        silent: Iterable[str] = (),
    ) -> None:
        """Write the runtime form of `lines` as `revision`. `dirty` names the lines edited since
        the form of `previous_revision` was written (None: rewrite every chunk)."""
        state = self._state or self._read_state()
        count = chunk_count(len(lines))
        locales = sorted({locale for line in lines.values() for locale in (*line.audio, *line.fallback)})
        if state is None or state.revision != previous_revision or state.count != count or dirty is None:
            state = _State(previous_revision, count, {}, state.history if state else [])
            todo = set(range(count))
        else:
            todo = {chunk_of(line_id, count) for line_id in dirty}
        if not state.members:
            state.members = [set() for _ in range(count)]
            for line_id in lines:
                state.members[chunk_of(line_id, count)].add(line_id)
        elif dirty is not None:
            for line_id in dirty:
                members = state.members[chunk_of(line_id, count)]
                (members.add if line_id in lines else members.discard)(line_id)
        files = {locale: list(state.files.get(locale, [""] * count)) for locale in locales}
        for chunk in sorted(todo):
            ids = sorted(state.members[chunk])
            for locale in locales:
                files[locale][chunk] = self._write_chunk(lines, ids, locale, chunk)
        changed_ids = sorted(set(changed))
        history = [*state.history, [revision, changed_ids]] if changed_ids else list(state.history)
        while history and sum(len(ids) for _, ids in history) > HISTORY_IDS:
            history.pop(0)
        # The oldest revision `history` covers completely: a reader at an older one compares chunks.
        covered_from = history[0][0] - 1 if history else revision
        if changed_ids and not history:  # this publish alone was too big to list
            covered_from = revision
        log = {"revision": revision, "history_from": covered_from, "history": history}
        with atomic_target(self.folder / HISTORY_NAME) as temp:
            temp.write_text(json.dumps(log, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        index = {
            "format": FORMAT,
            "version": VERSION,
            "revision": revision,
            "default_locale": default_locale,
            "chunks": count,
            "characters": dict(sorted(characters.items())),
            "silent": sorted(silent),  # lines with no voice on purpose (`...`): few, so kept in the index
            "locales": {locale: " ".join(_hash_of(name) for name in names) for locale, names in files.items()},
        }
        text = "{\n" + ",\n".join(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in index.items())
        with atomic_target(self.index_path) as temp:
            temp.write_text(text + "\n}\n", encoding="utf-8")
        self._state = _State(revision, count, files, history, state.members)
        self._remove_unnamed(files)

    def _write_chunk(self, lines: Mapping[str, LineEntry], ids: list[str], locale: str, chunk: int) -> str:
        entries = {line_id: entry for line_id in ids if (entry := runtime_entry(lines[line_id], locale)) is not None}
        if not entries:
            return ""
        data = json.dumps(entries, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        name = chunk_name(chunk, hashlib.sha256(data).hexdigest()[:12])
        target = self.folder / locale / name
        if not target.is_file() or target.stat().st_size != len(data):
            with atomic_target(target) as temp:
                temp.write_bytes(data)
        return name

    def _remove_unnamed(self, files: Mapping[str, list[str]]) -> None:
        """Remove chunk files and locale folders the index just written does not name."""
        for entry in os.scandir(self.folder):
            if not entry.is_dir() or entry.name.startswith("."):  # index.json, history.json
                continue
            named = set(files.get(entry.name, ()))
            for chunk in os.scandir(entry.path):
                if chunk.name not in named and not chunk.name.endswith(TEMP_SUFFIX):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(chunk.path)
            if entry.name not in files:
                with contextlib.suppress(OSError):
                    os.rmdir(entry.path)

    def _read_state(self) -> _State | None:
        """The state of the index on disk, or None when there is none usable."""
        try:
            data = json.loads(self.index_path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                return None
            files = {
                str(locale): [chunk_name(n, h) if h != NO_CHUNK else "" for n, h in enumerate(hashes.split())]
                for locale, hashes in data["locales"].items()
            }
            count = int(data["chunks"])
            if any(len(names) != count for names in files.values()):
                return None
            log = json.loads((self.folder / HISTORY_NAME).read_text(encoding="utf-8"))
            history = list(log.get("history", [])) if log.get("revision") == data["revision"] else []
            return _State(int(data["revision"]), count, files, history)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _files_present(self, state: _State) -> bool:
        return all(
            (self.folder / locale / name).is_file() for locale, names in state.files.items() for name in names if name
        )


__all__ = ["RuntimeIndex", "chunk_count", "chunk_name", "chunk_of", "runtime_dir", "runtime_entry"]
