"""charvoice: cloned voices for game characters, kept in step with the dialogue scripts."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # The version lives in one place, pyproject.toml; it is read from the installed package's
    # metadata only when asked for, so a no-op build does not pay for importlib.metadata.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("charvoice")
        except PackageNotFoundError:  # a source tree run without installing it
            return "0+unknown"
    raise AttributeError(f"module 'charvoice' has no attribute {name!r}")
