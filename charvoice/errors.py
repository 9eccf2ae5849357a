"""One error family for everything a user can get wrong.

Every user-facing error is a CharvoiceError: click prints its message (no traceback) and exits
with status 2. Validation collects every problem it finds into one error, so a user fixes a
file in one pass instead of one complaint at a time.
"""

from __future__ import annotations

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


class AudioError(Exception):
    """ffmpeg could not decode or encode a line's audio."""
