"""charvoice's Python API: `open_project` and the reports its methods return (see project.py).
The names here are the public surface; tests/test_api.py pins them."""

from __future__ import annotations

from charvoice.api.project import VoiceProject, open_project
from charvoice.api.reports import BuildResult, CheckResult, CleanResult, FailedLine, LineToBuild, PlanReport

__all__ = [
    "BuildResult",
    "CheckResult",
    "CleanResult",
    "FailedLine",
    "LineToBuild",
    "PlanReport",
    "VoiceProject",
    "open_project",
]
