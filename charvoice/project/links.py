"""Symbolic links under the dialogue folders: one rule.

A link whose target is inside the project is followed (a file or a whole folder), and the
script is known by its target's path in the project. A link out of the project is refused with
one message naming the link: following it put the machine's absolute path into the manifest
the game ships. A broken link with a script's name is an error too (a script the writer expects
to be voiced would be skipped in silence). No message names a link's target.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path

from charvoice.errors import Problem


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def followed(path: Path, root: Path, problems: list[Problem]) -> Path | None:
    """`path` (under `root`) with links resolved, or None (and a problem) when it is a link out
    of the project or a broken link. `root` is resolved."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):  # missing, or a loop of links
        problems.append(Problem(_shown(path, root), "a broken link (its target does not exist); remove it or fix it"))
        return None
    if not _inside(target, root):
        problems.append(
            Problem(
                _shown(path, root),
                "a link to a place outside the project: links out of the project are not followed "
                "(copy the script into the project, or link the other way)",
            )
        )
        return None
    return target


def walk(folder: Path, root: Path, extensions: Collection[str], problems: list[Problem]) -> Iterator[Path]:
    """Every script under `folder` (resolved, inside `root`), in a stable order, following links
    that stay inside the project (each folder once, so a link loop ends)."""
    seen: set[Path] = set()
    pending = [folder]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            entries = sorted(os.scandir(current), key=lambda entry: entry.name)
        except OSError:
            continue
        folders = []
        for entry in entries:
            if entry.name.startswith("."):  # editor swap, lock and temp files (Emacs locks are broken links)
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                is_script = Path(entry.name).suffix.lower() in extensions
                if not is_script and not os.path.isdir(path) and os.path.exists(path):
                    continue  # a link to some other kind of file: not ours to judge
                target = followed(path, root, problems)
                if target is None:
                    continue
                if target.is_dir():
                    folders.append(target)
                elif is_script:
                    yield target
            elif entry.is_dir(follow_symlinks=False):
                folders.append(path)
            elif Path(entry.name).suffix.lower() in extensions and entry.is_file(follow_symlinks=False):
                yield path
        pending.extend(reversed(folders))  # depth first, in name order


def _shown(path: Path, root: Path) -> str:
    """The link as the user names it: relative to the project, never absolute."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return os.path.relpath(path, root).replace(os.sep, "/")
