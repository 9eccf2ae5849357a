"""Where each line stands, in the words of the people who review it.

One LineStatus per line and locale (shadow lines excepted: they play another line's audio),
in script order, built from the plan (fresh / stale / missing and why), the manifest entry
(which engine made the asset, its QA verdict, review marks) and nothing else: no audio is
read and no engine is called. `export-script`, `review` and the CI gate all use it, so a line
has the same status everywhere.

Keywords (for `--status` filters and the review page): fresh, stale, missing, scratch (the
offline scratch voice made it), qa (QA flagged it), unchecked (no QA verdict for the current
audio), needs-approval, approved, recorded, text-changed (a recording made for older text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from charvoice.pipeline.manifest import AudioEntry, ReviewMarks
from charvoice.pipeline.plan import Job, Plan
from charvoice.project.lines import Line

if TYPE_CHECKING:
    from charvoice.pipeline.workspace import Workspace

KEYWORDS = (
    "fresh",
    "stale",
    "missing",
    "scratch",
    "qa",
    "unchecked",
    "needs-approval",
    "approved",
    "recorded",
    "text-changed",
)
_MISSING_REASONS = ("new line", "audio file missing")


@dataclass
class LineStatus:
    line: Line
    job: Job
    entry: AudioEntry | None  # the manifest's audio entry for this line and locale
    state: str  # fresh | stale | missing
    reason: str  # why it is stale or missing ("" when fresh)
    engine: str  # the engine that made the audio there is (or will make it)
    origin: str = "engine"  # engine | approved | recorded
    qa: dict[str, Any] | None = None  # the QA verdict on the current audio
    marks: ReviewMarks = field(default_factory=ReviewMarks)  # review marks (needs_approval, take, ...)
    scratch: bool = False  # the engine is a placeholder voice (capabilities.scratch)

    @property
    def qa_flags(self) -> list[dict[str, str]]:
        return list(self.qa.get("flags", [])) if self.qa else []

    @property
    def keywords(self) -> list[str]:
        words = [self.state]
        if self.scratch:
            words.append("scratch")
        if self.qa_flags:
            words.append("qa")
        elif self.qa is None and self.entry is not None:
            words.append("unchecked")
        if self.marks.needs_approval:
            words.append("needs-approval")
        if self.origin == "approved":
            words.append("approved")
        if self.origin == "recorded":
            words.append("recorded")
        if self.marks.text_changed_since_recording:
            words.append("text-changed")
        return words

    @property
    def label(self) -> str:
        """One human-readable status: `stale (text changed); scratch voice; QA flagged: loudness`."""
        parts = [self.state if self.state != "stale" else f"stale ({self.reason})"]
        if self.state == "missing" and self.reason and self.reason != "new line":
            parts[0] = f"missing ({self.reason})"
        if self.scratch:
            parts.append("scratch voice")
        if self.marks.needs_approval:
            parts.append("needs approval")
        if self.origin == "approved":
            parts.append(f"approved take {self.marks.take}" if self.marks.take else "approved")
        if self.origin == "recorded":
            parts.append("recorded")
        if self.marks.text_changed_since_recording:
            parts.append("text changed since recording")
        if self.qa_flags:
            parts.append("QA flagged: " + ", ".join(flag.get("code", "?") for flag in self.qa_flags))
        return "; ".join(parts)

    def matches(self, keywords: set[str]) -> bool:
        return not keywords or bool(keywords & set(self.keywords))


def current_qa(entry: AudioEntry | None) -> dict[str, Any] | None:
    """The `charvoice qa` verdict on the asset an entry names; None when it was never checked, or
    was checked before the asset last changed (the verdict's key is not the entry's)."""
    if entry is None or entry.qa is None or entry.qa.get("key") != entry.key:
        return None
    return entry.qa


def line_statuses(workspace: Workspace, plan: Plan | None = None) -> list[LineStatus]:
    """Every voiced line of the project with its status, in script order."""
    plan = plan or workspace.plan()
    jobs = {(job.line.id, job.line.locale): job for job in [*plan.todo, *plan.fresh]}
    out: list[LineStatus] = []
    for line in workspace.project.lines:
        job = jobs.get((line.id, line.locale))
        if job is None:
            continue  # a shadow line
        entry = workspace.manifest.entry(line.id, line.locale)
        if not job.reason:
            state = "fresh"
        elif job.reason in _MISSING_REASONS or entry is None:
            state = "missing"
        else:
            state = "stale"
        origin = job.origin
        engine = (entry.engine if entry else "") or ("recording" if origin == "recorded" else job.request.engine)
        marks = entry.marks if entry is not None and state == "fresh" else job.marks
        scratch = workspace.engines.is_scratch(engine)
        out.append(LineStatus(line, job, entry, state, job.reason, engine, origin, current_qa(entry), marks, scratch))
    return out
