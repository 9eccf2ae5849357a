"""`charvoice qa`: listen to every published asset the way an audio lead would, with numbers.

For each asset in the manifest (each line, each locale) it measures the decoded file and flags:

- `silent`       nothing above the noise floor at all
- `clipping`     at least `qa.clip_samples` samples at or above `qa.clip_level_db` (full scale)
- `true_peak`    a true peak more than `qa.true_peak_tolerance_db` over `audio.true_peak_db`
- `loudness`     integrated loudness further than `qa.loudness_tolerance_lu` from `audio.loudness_lufs`
- `leading_silence` / `trailing_silence`  more than `qa.max_silence_ms` of silence at an end
- `duration`     a speaking rate (letters and digits per second of speech) outside the plausible
                 range for the locale (`[qa.chars_per_second]`, with defaults per language)
- `asr`          with Fish configured, the transcript of a `POST /v1/asr` round trip differs from
                 the line's text by more than `qa.max_wer` (word error rate)
- `timings`      the line's word timings do not cover its speech: the first word starts too
                 late, the last one ends after the audio, words out of order or not the text's
                 (release/coverage.py), speech no word covers, or the
                 timings file is missing or unreadable
- `missing`      the manifest lists a file that is not there (`unreadable`: one that does not decode)

The results are written into the manifest (an additive `qa` object in each audio entry, tied to
the asset key and the file's hash, so a rebuilt line never shows an old verdict) and returned
as a QAReport for the command's table or JSON. Measuring needs no lock; the manifest is updated
under the project lock, and only for entries whose asset is still the one measured.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from charvoice.engines import Engines
from charvoice.engines.capabilities import Transcription, TranscriptionUnavailable
from charvoice.errors import AudioError, CharvoiceError, EngineError, FatalEngineError
from charvoice.locales import language_of
from charvoice.pipeline.manifest import AudioEntry, LineEntry
from charvoice.project.config import AudioSettings, ProjectConfig, QASettings
from charvoice.release.qa_report import FLAG_CODES, Flag, LineQA, QAReport
from charvoice.release.wer import word_error_rate

__all__ = ["FLAG_CODES", "Flag", "LineQA", "QAReport", "run_qa"]

if TYPE_CHECKING:
    from charvoice.pipeline.workspace import Workspace

_SILENCE_FLOOR_DB = -60.0  # a frame quieter than this is silence, however quiet the line
_SILENCE_BELOW_LOUDEST_DB = 40.0  # ... and so is one this far under the line's loudest frame
_ASR_RATE = 16000  # speech recognisers work at 16 kHz; a WAV at that rate is small and universal
_SHORT_SLACK_S = 0.3  # a short line may be this much quicker than the fastest rate allows
_LONG_SLACK_S = 0.6  # ... or this much slower than the slowest (breaths, a dramatic pause)

# Plausible speaking rates, letters and digits per second of speech, for languages whose
# writing differs a lot from the alphabetic default. `[qa.chars_per_second]` overrides them.
DEFAULT_RATES: dict[str, tuple[float, float]] = {
    "*": (4.0, 25.0),
    "ja": (2.0, 14.0),
    "zh": (1.5, 10.0),
    "yue": (1.5, 10.0),
    "ko": (2.0, 14.0),
    "th": (4.0, 25.0),
}


# --- measuring -------------------------------------------------------------------------------


def _finite(value: float, digits: int = 2) -> float | None:
    return round(value, digits) if math.isfinite(value) else None


def rate_range(locale: str, settings: QASettings) -> tuple[float, float]:
    """The plausible (slowest, fastest) letters-and-digits per second for a locale."""
    language = language_of(locale)
    for table in (settings.chars_per_second, DEFAULT_RATES):
        for name in (locale, language):
            if name in table:
                return table[name]
    return settings.chars_per_second.get("*", DEFAULT_RATES["*"])


def spoken_characters(text: str) -> int:
    return sum(1 for char in text if char.isalnum())


def edge_silence(samples: np.ndarray, rate: int) -> tuple[float, float] | None:
    """Seconds of silence before the first and after the last sound; None when all is silence."""
    from charvoice import audio as dsp

    span = dsp.voiced_span(samples, rate, _SILENCE_FLOOR_DB, _SILENCE_BELOW_LOUDEST_DB)
    if span is None:
        return None
    return span[0] / rate, max(0.0, (len(samples) - span[1]) / rate)


def measure(
    samples: np.ndarray, rate: int, text: str, locale: str, audio: AudioSettings, settings: QASettings
) -> tuple[dict[str, Any], list[Flag]]:
    """Every signal check on decoded mono samples: (measurements, flags)."""
    from charvoice import audio as dsp

    duration = len(samples) / rate
    values: dict[str, Any] = {"duration_s": round(duration, 3)}
    peak = float(np.abs(samples).max(initial=0.0))
    edges = edge_silence(samples, rate) if peak > 0 else None
    lufs = dsp.integrated_loudness(samples, rate) if len(samples) else -math.inf
    values["lufs"] = _finite(lufs)
    if edges is None or not math.isfinite(lufs) or 20 * math.log10(max(peak, 1e-12)) < _SILENCE_FLOOR_DB:
        values.update(
            true_peak_db=None,
            clipped_samples=0,
            leading_silence_s=round(duration, 3),
            trailing_silence_s=0.0,
            speech_s=0.0,
            chars_per_second=None,
        )
        return values, [
            Flag("silent", f"the audio is silent ({duration:.2f} s with nothing above {_SILENCE_FLOOR_DB:g} dBFS)")
        ]

    flags: list[Flag] = []
    clip_level = 10 ** (settings.clip_level_db / 20)
    clipped = int(np.count_nonzero(np.abs(samples) >= clip_level))
    true_peak = dsp.true_peak_db(samples)
    values.update(true_peak_db=_finite(true_peak), clipped_samples=clipped)
    if clipped >= settings.clip_samples:
        flags.append(
            Flag(
                "clipping",
                f"{clipped} samples at full scale (at or above {settings.clip_level_db:g} dBFS): the audio is clipped",
            )
        )
    ceiling = audio.true_peak_db + settings.true_peak_tolerance_db
    if true_peak > ceiling:
        flags.append(
            Flag(
                "true_peak",
                f"true peak {true_peak:.2f} dBTP is over the {audio.true_peak_db:g} dBTP ceiling "
                f"(tolerance {settings.true_peak_tolerance_db:g} dB)",
            )
        )

    off = lufs - audio.loudness_lufs
    if abs(off) > settings.loudness_tolerance_lu:
        how = "too quiet" if off < 0 else "too loud"
        flags.append(
            Flag(
                "loudness",
                f"{how}: {lufs:.1f} LUFS is {abs(off):.1f} LU from the {audio.loudness_lufs:g} LUFS target "
                f"(tolerance ±{settings.loudness_tolerance_lu:g} LU)",
            )
        )

    lead, trail = edges
    values.update(leading_silence_s=round(lead, 3), trailing_silence_s=round(trail, 3))
    limit_s = settings.max_silence_ms / 1000
    if lead > limit_s:
        flags.append(
            Flag(
                "leading_silence",
                f"{lead * 1000:.0f} ms of silence before the speech (more than {settings.max_silence_ms} ms)",
            )
        )
    if trail > limit_s:
        flags.append(
            Flag(
                "trailing_silence",
                f"{trail * 1000:.0f} ms of silence after the speech (more than {settings.max_silence_ms} ms)",
            )
        )

    speech = max(0.0, duration - lead - trail)
    characters = spoken_characters(text)
    values["speech_s"] = round(speech, 3)
    values["chars_per_second"] = round(characters / speech, 2) if speech > 0 and characters else None
    if characters:
        slowest, fastest = rate_range(locale, settings)
        shortest, longest = characters / fastest - _SHORT_SLACK_S, characters / slowest + _LONG_SLACK_S
        if speech < shortest or speech > longest:
            what = "too short" if speech < shortest else "too long"
            flags.append(
                Flag(
                    "duration",
                    f"{what} for the text: {speech:.2f} s of speech for {characters} letters "
                    f"({characters / max(speech, 1e-3):.1f}/s; plausible for {locale}: {slowest:g} to {fastest:g}/s)",
                )
            )
    return values, flags


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    """Mono 16-bit PCM WAV at the ASR rate."""
    from charvoice import audio as dsp

    if rate != _ASR_RATE:
        samples = dsp.resample(samples, rate, _ASR_RATE)
    return dsp.wav_bytes(samples, _ASR_RATE)


# --- the run ---------------------------------------------------------------------------------


@dataclass
class _Asr:
    """The ASR side of a run: the client, and what stopped it if anything did."""

    client: Transcription
    required: bool = False  # asked for explicitly: a server without ASR is an error, not a note
    calls: int = 0
    stopped: str = ""
    fatal: FatalEngineError | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def _asr_client(workspace: Workspace, mode: str) -> tuple[_Asr | None, str]:
    """The client to transcribe with, or None and why not."""
    if mode == "off":
        return None, 'ASR is off (qa.asr = "off" or --no-asr)'
    client = workspace.engines.transcription(required=mode == "on")
    if client is None:
        return None, 'ASR needs the Fish engine (set FISH_API_KEY, or engine.name = "fish")'
    return _Asr(client, required=mode == "on"), ""


def run_qa(
    workspace: Workspace,
    *,
    asr: str | None = None,
    only: set[tuple[str, str]] | None = None,
    on_progress: Callable[[LineQA], None] = lambda result: None,
    on_wait: Callable[[], object] | None = None,
    jobs: int | None = None,
) -> QAReport:
    """Check every asset of the manifest (or the (id, locale) pairs in `only`) and record the results.

    `asr` overrides qa.asr ("auto", "on", "off").
    """
    started = time.monotonic()
    config: ProjectConfig = workspace.project.config
    settings = config.qa
    workspace.reload_manifest()
    manifest = workspace.manifest
    entries = [
        (line_id, locale, manifest.lines[line_id], entry)
        for line_id, locale, entry in manifest.entries()
        if only is None or (line_id, locale) in only
    ]
    report = QAReport()
    recognizer, report.asr_note = _asr_client(workspace, asr or settings.asr)
    report.asr = recognizer is not None

    def check(item: tuple[str, str, LineEntry, AudioEntry]) -> LineQA:
        line_id, locale, line, entry = item
        result = LineQA(line_id, locale, line.character, line.source, entry.path, entry.key, entry.engine, entry.text)
        path = manifest.path.parent / result.path
        try:
            data = path.read_bytes()
        except OSError:
            result.flags.append(Flag("missing", f"{config.relative(path)} is missing (run `charvoice build`)"))
            return result
        result.sha256 = hashlib.sha256(data).hexdigest()
        try:
            samples = _decode(data, config.audio.sample_rate)
        except AudioError as error:
            result.flags.append(Flag("unreadable", f"{config.relative(path)} cannot be decoded: {error}"))
            return result
        result.values, result.flags = measure(
            samples, config.audio.sample_rate, result.text, locale, config.audio, settings
        )
        if not any(flag.code == "silent" for flag in result.flags):  # no speech: nothing for timings to cover
            result.flags.extend(
                _timing_flags(entry, manifest.path.parent, samples, config.audio.sample_rate, result.text)
            )
        if recognizer is not None:
            _recognise(result, samples, config.audio.sample_rate, entry, recognizer, settings, workspace.engines)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs or config.jobs), thread_name_prefix="charvoice-qa") as pool:
        for result in pool.map(check, entries):
            report.results.append(result)
            on_progress(result)

    if recognizer is not None:
        report.asr_calls = recognizer.calls
        if recognizer.stopped:
            report.asr_note = recognizer.stopped
        recognizer.client.close()  # a client of its own only: the engine's stays open
    report.written = _record(workspace, report, on_wait)
    report.seconds = time.monotonic() - started
    if recognizer is not None and recognizer.fatal is not None:
        raise recognizer.fatal  # bad key or no credit: every measurement is saved, then say so
    return report


def _timing_flags(entry: AudioEntry, folder: Path, samples: np.ndarray, rate: int, text: str) -> list[Flag]:
    from charvoice.release.coverage import coverage_problems, uncovered_speech
    from charvoice.timings.format import LineTimings

    name = entry.timings
    if not name:
        return []  # built before timings existed (or by a tool that makes none): nothing to check
    try:
        timings = LineTimings.load(folder / name)
    except OSError:
        return [Flag("timings", f"{name} is missing (run `charvoice build`)")]
    except ValueError as error:
        return [Flag("timings", f"{name} cannot be read: {error}")]
    flags = [Flag("timings", problem) for problem in coverage_problems(timings, text, samples, rate)]
    for start, end in uncovered_speech([(word.start_s, word.end_s) for word in timings.words], samples, rate):
        flags.append(Flag("timings", f"speech at {start:.2f}-{end:.2f} s is covered by no word (a symbol read aloud?)"))
    return flags


def _decode(data: bytes, rate: int) -> np.ndarray:
    from charvoice import audio as dsp

    return dsp.decode(data, rate)


def _recognise(
    result: LineQA,
    samples: np.ndarray,
    rate: int,
    entry: AudioEntry,
    recognizer: _Asr,
    settings: QASettings,
    engines: Engines,
) -> None:
    if engines.is_scratch(result.engine):
        result.asr_note = "scratch voice: not sent for ASR"
        return
    if any(flag.code == "silent" for flag in result.flags):
        result.asr_note = "silent: not sent for ASR"
        return
    previous = entry.qa or {}
    if previous.get("sha256") == result.sha256 and isinstance(previous.get("transcript"), str):
        transcript = previous["transcript"]  # the same file was transcribed before: no second charge
    else:
        with recognizer.lock:
            stopped, failed = recognizer.stopped, recognizer.fatal is not None or recognizer.required
        if stopped:
            result.asr_note, result.asr_error = stopped, failed
            return
        try:
            transcript = recognizer.client.transcribe(wav_bytes(samples, rate), result.locale).text
        except TranscriptionUnavailable as error:
            with recognizer.lock:
                recognizer.stopped = recognizer.stopped or str(error)
            result.asr_note, result.asr_error = str(error), recognizer.required
            return
        except FatalEngineError as error:
            with recognizer.lock:
                recognizer.fatal = recognizer.fatal or error
                recognizer.stopped = recognizer.stopped or error.format_message()
            result.asr_note, result.asr_error = error.format_message(), True
            return
        except (EngineError, CharvoiceError) as error:
            result.asr_note, result.asr_error = str(error), True
            return
        with recognizer.lock:
            recognizer.calls += 1
    result.transcript = transcript
    result.wer = round(word_error_rate(result.text, transcript, result.locale), 3)
    if result.wer > settings.max_wer:
        result.flags.append(
            Flag(
                "asr",
                f"the speech recogniser heard {transcript!r}: word error rate {result.wer:.0%} (more than {settings.max_wer:.0%})",
            )
        )


def _record(workspace: Workspace, report: QAReport, on_wait: Callable[[], object] | None) -> int:
    """Write each verdict into the manifest entry it was measured for (under the project lock)."""
    written = 0
    with workspace.lock(on_wait):
        workspace.reload_manifest()
        manifest = workspace.manifest
        for result in report.results:
            entry = manifest.entry(result.line_id, result.locale)
            if entry is None or entry.key != result.key or entry.path != result.path:
                continue  # rebuilt (or removed) while we listened: this verdict is not about it
            if result.sha256:
                try:
                    now = hashlib.sha256((manifest.path.parent / result.path).read_bytes()).hexdigest()
                except OSError:
                    now = ""
                if now != result.sha256:
                    continue
            if manifest.set_qa(result.line_id, result.locale, result.to_manifest()):
                written += 1
        if written:
            manifest.publish([])
    return written
