"""What `charvoice qa` finds: a flag, the verdict on one asset, and the report of a run (the
JSON `qa --json` prints, and the object the manifest's `qa` entries hold)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FLAG_CODES = (
    "missing",
    "unreadable",
    "silent",
    "clipping",
    "true_peak",
    "loudness",
    "leading_silence",
    "trailing_silence",
    "duration",
    "asr",
    "timings",
)


@dataclass(frozen=True)
class Flag:
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass
class LineQA:
    """The verdict on one asset."""

    line_id: str
    locale: str
    character: str
    source: str
    path: str  # relative to the manifest
    key: str  # the asset key measured (from the manifest entry)
    engine: str
    text: str
    sha256: str = ""
    flags: list[Flag] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # measurements
    transcript: str | None = None
    wer: float | None = None
    asr_note: str = ""  # why there is no transcript (scratch voice, ...), or the ASR error
    asr_error: bool = False

    @property
    def label(self) -> str:
        return f"{self.line_id} [{self.locale}]"

    def to_manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "sha256": self.sha256,
            "flags": [flag.to_json() for flag in self.flags],
            **self.values,
        }
        if self.transcript is not None:
            data["transcript"] = self.transcript
            data["wer"] = self.wer
        return data

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.line_id, "locale": self.locale, "character": self.character, "source": self.source,
            "path": self.path, "engine": self.engine, "ok": not self.flags,
            "flags": [flag.to_json() for flag in self.flags], **self.values,
            "transcript": self.transcript, "wer": self.wer, "asr_note": self.asr_note or None,
        }  # fmt: skip


@dataclass
class QAReport:
    results: list[LineQA] = field(default_factory=list)
    asr: bool = False  # whether the ASR round trip ran
    asr_note: str = ""  # why it did not, or what stopped it
    asr_calls: int = 0
    written: int = 0  # manifest entries whose `qa` changed
    seconds: float = 0.0

    @property
    def flagged(self) -> list[LineQA]:
        return [result for result in self.results if result.flags]

    @property
    def asr_errors(self) -> list[LineQA]:
        return [result for result in self.results if result.asr_error]

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": not self.flagged and not self.asr_errors,
            "checked": len(self.results),
            "flagged": len(self.flagged),
            "asr": self.asr,
            "asr_note": self.asr_note or None,
            "asr_calls": self.asr_calls,
            "seconds": round(self.seconds, 3),
            "lines": [result.to_json() for result in self.results],
        }
