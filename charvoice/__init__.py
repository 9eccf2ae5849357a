"""charvoice: cloned voices for game characters, kept in step with the dialogue scripts.

The Python API (charvoice/api/): `with charvoice.open_project(path) as project: project.build()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = [
    "BuildResult",
    "CharvoiceError",
    "CheckResult",
    "CleanResult",
    "FailedLine",
    "LineToBuild",
    "PlanReport",
    "VoiceProject",
    "open_project",
]

if TYPE_CHECKING:
    from charvoice.api import (
        BuildResult,
        CheckResult,
        CleanResult,
        FailedLine,
        LineToBuild,
        PlanReport,
        VoiceProject,
        open_project,
    )
    from charvoice.errors import CharvoiceError


def __getattr__(name: str) -> Any:
    """The API loads on first use: the command line's no-op paths never pay for its imports.
    The version lives in one place, pyproject.toml, read from the package's metadata when asked."""
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("charvoice")
        except PackageNotFoundError:  # a source tree run without installing it
            return "0+unknown"
    if name == "CharvoiceError":
        from charvoice.errors import CharvoiceError

        return CharvoiceError
    if name in __all__:
        from charvoice import api

        return getattr(api, name)
    raise AttributeError(f"module 'charvoice' has no attribute {name!r}")
