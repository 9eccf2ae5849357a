"""Audio files a script names for a line itself: Dialogue Manager's `[#voice=res://...]` or
`[#voice=uid://...]` (3.9+: dropping an audio file on a line writes the tag; the example balloon
plays the file). charvoice does not synthesise such a line; it checks that the file exists.

A `uid://` is resolved the way the Godot editor records it: the `uid="uid://..."` of a
`<file>.import` (imported audio) or the contents of a `<file>.uid` (Godot 4.4+).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_UID = re.compile(r'^\s*uid\s*=\s*"(uid://[^"]+)"', re.MULTILINE)
_SKIP = {".godot", ".git", ".charvoice", ".import"}


class VoiceFiles:
    """Resolves res:// and uid:// paths inside one Godot project (uids read once, again on a miss)."""

    def __init__(self, godot_root: Path) -> None:
        self.root = godot_root
        self._uids: dict[str, Path] | None = None

    def _scan(self) -> dict[str, Path]:
        uids: dict[str, Path] = {}
        for folder, dirs, files in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in _SKIP and not d.startswith(".")]
            for name in files:
                if not name.endswith((".import", ".uid")):
                    continue
                path = Path(folder) / name
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                match = _UID.search(text) if name.endswith(".import") else None
                uid = match.group(1) if match else text.strip() if name.endswith(".uid") else ""
                if uid.startswith("uid://"):
                    uids[uid] = path.with_suffix("")  # `line.ogg.import` -> `line.ogg`
        return uids

    def resolve(self, reference: str) -> Path | None:
        """The file a `res://` or `uid://` reference names, if it exists."""
        if reference.startswith("res://"):
            path = self.root / reference[len("res://") :]
            return path if path.is_file() else None
        if not reference.startswith("uid://"):
            return None
        if self._uids is None or reference not in self._uids:
            self._uids = self._scan()
        found = self._uids.get(reference)
        return found if found is not None and found.is_file() else None
