"""The release gate behind `charvoice check`: is every line's audio shippable?

Always: a line whose audio is missing or stale fails. On request:

- `require_engine` (`--require-engine fish`): a line voiced by another engine fails (scratch
  voices, typically). Actors' recordings (origin "recorded") are always accepted.
- `qa` (`--qa`): a line whose current audio QA flagged fails, and so does one `charvoice qa`
  has not checked since the audio last changed (an unchecked release is not a clean one).
- `missing_locales` (`--missing-locales`): a line with no text in some locale, which plays
  another locale's audio there (the manifest's `fallback`), fails for that locale.
- `require_approval` (`--require-approval`): a line marked "needs approval" (its text changed
  after a take was approved, see charvoice/approvals.py) fails until a take is approved again,
  and so does an actor's recording made for older text than the script's.

Always, too: a fresh line whose file on disk no longer has the sha256 the manifest recorded
(changed by hand, damaged, or written by a build whose manifest write failed) fails, and so
does one whose timings file the manifest names but is missing or not the size it recorded.

Each line and locale is one test case in the reports: JUnit XML (CI systems show it as a
test run) and JSON. Nothing is synthesised and no audio is decoded (files are only hashed).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from charvoice.fsutil import atomic_write_text, file_digest
from charvoice.pipeline.plan import Plan
from charvoice.pipeline.timings import timings_problem
from charvoice.release.status import LineStatus, line_statuses

if TYPE_CHECKING:
    from charvoice.pipeline.workspace import Workspace

ACCEPTED_ORIGINS = ("recorded",)  # pass --require-engine whatever made them
BUILD_CHECKS = ("stale", "missing")  # what `check` has always failed on


@dataclass(frozen=True)
class GateOptions:
    require_engine: str | None = None
    qa: bool = False
    missing_locales: bool = False
    require_approval: bool = False

    @property
    def checks(self) -> list[str]:
        names = ["up_to_date"]
        if self.require_engine:
            names.append(f"engine={self.require_engine}")
        if self.qa:
            names.append("qa")
        if self.missing_locales:
            names.append("locales")
        if self.require_approval:
            names.append("approval")
        return names


@dataclass
class GateProblem:
    check: str  # stale | missing | engine | qa | locale
    message: str


@dataclass
class Case:
    """One line in one locale."""

    line_id: str
    locale: str
    character: str
    file: str  # the script, relative to the project root ("" when no script has the line)
    line_number: int
    problems: list[GateProblem] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line_number}" if self.file else ""

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def label(self) -> str:
        return f"{self.line_id} [{self.locale}]"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.line_id, "locale": self.locale, "character": self.character, "source": self.source, "ok": self.ok,
            "failures": [{"check": problem.check, "message": problem.message} for problem in self.problems],
        }  # fmt: skip


@dataclass
class GateReport:
    options: GateOptions
    cases: list[Case]
    plan: Plan

    @property
    def failed(self) -> list[Case]:
        return [case for case in self.cases if not case.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def gates(self) -> list[str]:
        """The checks asked for beyond "up to date"."""
        return self.options.checks[1:]

    @property
    def gate_failures(self) -> list[tuple[Case, GateProblem]]:
        """Failures of those checks (stale and missing lines are the plan's to report)."""
        return [
            (case, problem) for case in self.failed for problem in case.problems if problem.check not in BUILD_CHECKS
        ]

    def to_json(self) -> dict[str, Any]:
        by_check: dict[str, int] = {}
        for case in self.failed:
            for problem in case.problems:
                by_check[problem.check] = by_check.get(problem.check, 0) + 1
        return {
            "ok": self.ok,
            "checks": self.options.checks,
            "total": len(self.cases),
            "passed": len(self.cases) - len(self.failed),
            "failed": len(self.failed),
            "failures_by_check": by_check,
            "cases": [case.to_json() for case in self.cases],
        }

    def junit_xml(self) -> str:
        suite = ET.Element(
            "testsuite",
            name="charvoice",
            tests=str(len(self.cases)),
            failures=str(len(self.failed)),
            errors="0",
            skipped="0",
        )
        properties = ET.SubElement(suite, "properties")
        ET.SubElement(properties, "property", name="checks", value=" ".join(self.options.checks))
        for case in self.cases:
            attributes = {"classname": f"charvoice.{case.character}", "name": case.label, "file": case.file}
            if case.file:
                attributes["line"] = str(case.line_number)
            element = ET.SubElement(suite, "testcase", attributes)
            if case.problems:
                message = "; ".join(problem.message for problem in case.problems)
                failure = ET.SubElement(
                    element, "failure", message=message, type=",".join(dict.fromkeys(p.check for p in case.problems))
                )
                failure.text = (
                    "\n".join(f"{problem.check}: {problem.message}" for problem in case.problems)
                    + f"\n(at {case.source})"
                )
        root = ET.Element(
            "testsuites", name="charvoice check", tests=str(len(self.cases)), failures=str(len(self.failed)), errors="0"
        )
        root.append(suite)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

    def write_junit(self, path: Path) -> None:
        atomic_write_text(path, self.junit_xml())

    def write_json(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n")


def _problems(status: LineStatus, options: GateOptions, describe: Callable[[str], str]) -> list[GateProblem]:
    problems: list[GateProblem] = []
    if status.state != "fresh":
        problems.append(GateProblem(status.state, f"audio is {status.state}: {status.reason} (run `charvoice build`)"))
    entry = status.entry
    if (
        status.state == "fresh"
        and entry is not None
        and entry.sha256
        and not _intact(status.job.asset_path, entry.sha256)
    ):
        message = f"the audio file differs from the manifest (changed or damaged on disk): run `charvoice build --force {status.line.id}`"
        problems.append(GateProblem("damaged", message))
    if status.state == "fresh" and entry is not None and entry.timings:  # one the manifest promises the game
        timings = timings_problem(entry, status.job.asset_path)
        if timings:
            problems.append(GateProblem("damaged", f"{timings}: run `charvoice build --force {status.line.id}`"))
    if options.require_engine and entry is not None and status.origin not in ACCEPTED_ORIGINS:
        engine = entry.engine or "?"
        if engine != options.require_engine:
            what = describe(engine)
            problems.append(GateProblem("engine", f"voiced by {what}, not {options.require_engine}"))
    if options.require_approval and status.marks.needs_approval:
        problems.append(
            GateProblem("approval", "needs approval: the text changed since a take was approved (`charvoice approve`)")
        )
    if options.require_approval and status.marks.text_changed_since_recording:
        problems.append(
            GateProblem(
                "approval", "the recording was made for older text: record it again (or remove it to synthesise)"
            )
        )
    if options.qa and entry is not None:
        if status.qa is None:
            problems.append(GateProblem("qa", "not checked by `charvoice qa` since the audio last changed"))
        for flag in status.qa_flags:
            problems.append(GateProblem("qa", f"QA {flag.get('code', '?')}: {flag.get('message', '')}"))
    return problems


def _intact(path: Path, sha256: str) -> bool:
    try:
        return file_digest(path)[1] == sha256
    except OSError:
        return False


def run_gate(workspace: Workspace, options: GateOptions, plan: Plan | None = None) -> GateReport:
    plan = plan or workspace.plan()
    cases: list[Case] = []
    for status in line_statuses(workspace, plan):
        line = status.line
        cases.append(
            Case(
                line.id,
                line.locale,
                line.character,
                line.file,
                line.line_number,
                _problems(status, options, workspace.engines.describe),
            )
        )
    if options.missing_locales:
        sources = {
            line.id: line
            for line in workspace.project.lines
            if line.audio_of is None and line.locale == workspace.project.config.default_locale
        }
        for line_id, borrowed in sorted(workspace.project.fallbacks.items()):
            source = sources.get(line_id)
            for locale, used in sorted(borrowed.items()):
                message = f"no {locale!r} text: the game plays the {used!r} audio instead"
                where = (source.character, source.file, source.line_number) if source else ("", "", 0)
                cases.append(Case(line_id, locale, *where, [GateProblem("locale", message)]))
    return GateReport(options, cases, plan)
