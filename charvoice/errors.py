"""One error family for everything a user can get wrong.

Every user-facing error is a CharvoiceError: click prints its message (no traceback) and exits
with status 2. Validation collects every problem it finds into one error, so a user fixes a
file in one pass instead of one complaint at a time.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import click


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place in one file."""

    file: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class CharvoiceError(click.ClickException):
    """A mistake the user can fix; printed without a traceback, exit status 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def show(self, file: IO[Any] | None = None) -> None:  # click's signature
        click.secho(f"error: {self.format_message()}", err=True, fg="red")


class InputError(CharvoiceError):
    """One or more problems in the project's files (config, characters, scripts)."""

    def __init__(self, problems: list[Problem]) -> None:
        # Grouped by file, top to bottom, so fixing them is one pass through each file.
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.column or 0))
        if len(self.problems) == 1:
            text = str(self.problems[0])
        else:
            text = f"{len(self.problems)} problems:\n" + "\n".join(f"  {p}" for p in self.problems)
        super().__init__(text)


class ProjectNotFound(CharvoiceError):
    def __init__(self, start: Path) -> None:
        super().__init__(
            f"no charvoice.toml in {start} or any folder above it "
            "(run `charvoice init` to create one, or pass --project)"
        )


class EngineError(Exception):
    """An engine failed to produce audio for one line (the build goes on with the others)."""


class FatalEngineError(CharvoiceError):
    """An engine failure that dooms every remaining line (bad key, no credit): stop at once."""


class Interrupted(CharvoiceError):
    """Ctrl-C: what finished is kept and recorded; exit status 130, as a shell reports SIGINT
    (1 means "some lines failed")."""

    exit_code = 130

    def __init__(self, kept: int | None = 0, left: int | None = None) -> None:
        """`kept` None: a command that builds nothing, so no count to give."""
        if kept is None:
            super().__init__("interrupted")
            return
        lines = "line was" if kept == 1 else "lines were"
        rest = "" if left is None else f", {left} left to build"
        super().__init__(
            f"interrupted: {kept} {lines} built and kept{rest}; the next `charvoice build` resumes from there"
        )


# Write failures that doom every later write as well: stop at once with one message.
_MACHINE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR, errno.EIO}
_REMEDY = {
    errno.ENOSPC: "free some space and build again",
    errno.EDQUOT: "free some space (disk quota) and build again",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "make the folder writable, or choose another project.output",
    errno.EPERM: "make the folder writable, or choose another project.output",
    errno.ENOTDIR: "a file stands where a folder should be",
}


class FileSystemError(CharvoiceError):
    """The machine refused a write (disk full, read-only folder, no permission, a file where a
    folder should be): one message naming the path and the cause, never a traceback."""

    @classmethod
    def of(cls, error: OSError, show: Callable[[Path], str] | None = None, doing: str = "writing") -> FileSystemError:
        """`doing` names the operation ("writing"); empty when unknown: `path: cause`."""
        path = error.filename
        where = (show(Path(path)) if show else str(path)) if path else ""
        cause = error.strerror or str(error)
        cause = cause[:1].lower() + cause[1:]
        remedy = _REMEDY.get(error.errno or 0, "")
        text = cause
        if where:
            text = f"{cause} while {doing} {where}" if doing else f"{where}: {cause}"
        return cls(f"{text} ({remedy})" if remedy else text)

    @staticmethod
    def dooms_the_rest(error: OSError) -> bool:
        return error.errno in _MACHINE_ERRNOS


class AudioError(Exception):
    """ffmpeg could not decode or encode a line's audio."""


def looks_like_utf16(raw: bytes) -> bool:
    """UTF-16 without a byte-order mark decodes as "valid" UTF-8 full of NUL bytes; real text
    (even with a stray NUL) has almost none."""
    head = raw[:4096]
    return len(head) >= 4 and head.count(0) * 4 >= len(head)


UTF16_HINT = "not UTF-8 text: it looks like UTF-16 (save the file as UTF-8)"
