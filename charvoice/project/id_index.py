"""Which line ids the scripts share, kept script by script.

Two project-wide rules need every script at once: an (id, locale) is voiced once in the whole
project, and ids that differ only by case name their audio files with a hash (file systems on
Windows and macOS would mix them up). `watch` keeps one IdIndex between saves and updates it
with the scripts a save changed, so these checks cost what changed, not the project.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol


class ScriptIds(Protocol):
    """What the index needs of a script read (loader.ScriptLines)."""

    @property
    def ids(self) -> frozenset[str]: ...

    @property
    def keys(self) -> frozenset[tuple[str, str]]: ...


class IdIndex:
    def __init__(self) -> None:
        self._scripts: dict[Path, ScriptIds] = {}
        self._keys: Counter[tuple[str, str]] = Counter()  # (id, locale) -> how many scripts voice it
        self._twice: set[tuple[str, str]] = set()  # voiced by two scripts or more
        self._ids: Counter[str] = Counter()  # id -> how many scripts hold it (a line and its translations)
        self._spellings: dict[str, set[str]] = {}  # lower-cased id -> the ids spelled so
        self._colliding: set[str] = set()  # lower-cased ids with two spellings or more

    def update(self, scripts: Mapping[Path, ScriptIds]) -> None:
        """Take the project's scripts as they read now; unchanged ones (the same object) cost nothing."""
        for path in [path for path in self._scripts if path not in scripts]:
            self._remove(path)
        for path, script in scripts.items():
            known = self._scripts.get(path)
            if known is script:
                continue
            if known is not None:
                self._remove(path)
            self._add(path, script)

    @property
    def shared_keys(self) -> bool:
        """Whether some (id, locale) is voiced by more than one script."""
        return bool(self._twice)

    @property
    def colliding(self) -> set[str]:
        """The lower-cased ids that two or more distinct ids share."""
        return set(self._colliding)

    def _add(self, path: Path, script: ScriptIds) -> None:
        self._scripts[path] = script
        for key in script.keys:
            self._keys[key] += 1
            if self._keys[key] == 2:
                self._twice.add(key)
        for line_id in script.ids:
            self._ids[line_id] += 1
            if self._ids[line_id] == 1:
                spellings = self._spellings.setdefault(line_id.lower(), set())
                spellings.add(line_id)
                if len(spellings) == 2:
                    self._colliding.add(line_id.lower())

    def _remove(self, path: Path) -> None:
        script = self._scripts.pop(path)
        for key in script.keys:
            self._keys[key] -= 1
            if self._keys[key] == 1:
                self._twice.discard(key)
            elif self._keys[key] == 0:
                del self._keys[key]
        for line_id in script.ids:
            self._ids[line_id] -= 1
            if self._ids[line_id] == 0:
                del self._ids[line_id]
                folded = line_id.lower()
                spellings = self._spellings[folded]
                spellings.discard(line_id)
                if len(spellings) < 2:
                    self._colliding.discard(folded)
                if not spellings:
                    del self._spellings[folded]
