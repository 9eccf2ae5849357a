"""A character's voice samples: what identifies them, and whether they will clone well.

The identity (sha256 of every sample file and transcript) keys both the audio cache and
charvoice.lock, so it is computed from local files only: `check` and `build --dry-run` never
need the network. Hashes are cached by (path, size, mtime) because every line of a character
asks for them.
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

from charvoice.engines.fish.reference_cut import Hear, Piece, fit
from charvoice.errors import AudioError, CharvoiceError
from charvoice.fsutil import file_sha256, text_sha256
from charvoice.project.characters import Character

MIN_SECONDS = 10.0  # Fish Audio advises at least 10 s of speech per sample
# An instant clone's samples travel with every line, so each is prepared once: mono, silence
# trimmed, at most REFERENCE_MAX_S (the reference's ReferenceAudio: "10-30 seconds of clear
# speech"; cut where a sentence ends, reference_cut.py), as MP3 (one of its listed formats: WAV, MP3, FLAC). REFERENCE_FORMAT names the
# recipe in the cache key, so changing it re-voices the lines it shaped.
REFERENCE_MAX_S = 30.0
REFERENCE_RATE = 44100
REFERENCE_BITRATE = "128k"
REFERENCE_FORMAT = "mp3-mono-trim-30s-128k"
MIN_SAMPLE_RATE = 16000  # below this (telephone audio) a clone loses the voice's detail
_ANALYSIS_RATE = 16000


def voice_fingerprint(character: Character) -> dict[str, Any]:
    """What makes a character's voice sound as it does (part of every line's cache key).

    A persistent clone is identified by its samples, not by its model id: changed samples show
    up as stale lines at once (even before `voices sync`), and re-creating a model from the same
    samples does not throw the audio cache away.
    """
    voice = character.voice
    if voice.model_id:
        return {"model_id": voice.model_id}
    try:
        hashes = [file_sha256(path) for path in voice.samples]
    except OSError as exc:
        raise CharvoiceError(f"{character.file}: cannot read voice sample {exc.filename}: {exc.strerror}") from None
    fingerprint: dict[str, Any] = {"clone": voice.clone, "samples": hashes, "texts": list(voice.texts)}
    if voice.clone == "persistent":
        fingerprint["enhance_audio_quality"] = voice.enhance_audio_quality
    else:  # without texts, each sample's transcript comes from speech to text: a function of its hash
        fingerprint["reference"] = REFERENCE_FORMAT
    return fingerprint


def prepare_reference(
    path: Path, sha: str, cache_dir: Path, text: str = "", hear: Hear | None = None
) -> tuple[bytes, str, str]:
    """A sample as an instant clone sends it: mono, trimmed, MP3, at most REFERENCE_MAX_S (cut
    where a sentence ends: reference_cut.fit); made once and kept under `cache_dir` by the
    sample's and transcript's sha256. Returns (audio, the transcript of what it holds: `text`,
    or fewer sentences when cut, and why it was cut: "" when whole)."""
    from charvoice.audio import _run_ffmpeg, decode_file, trim, wav_bytes
    from charvoice.fsutil import atomic_write_bytes, atomic_write_text

    stem = f"{sha}-{text_sha256(text)[:12]}-{REFERENCE_FORMAT}"
    cached, said = cache_dir / f"{stem}.mp3", cache_dir / f"{stem}.json"
    if cached.is_file() and cached.stat().st_size > 0 and said.is_file():
        with contextlib.suppress(OSError, ValueError, KeyError):
            known = json.loads(said.read_text(encoding="utf-8"))
            return cached.read_bytes(), str(known["text"]), str(known["note"])
    try:
        pcm = decode_file(path, REFERENCE_RATE)
    except AudioError as exc:
        raise CharvoiceError(f"voice sample {path.name} cannot be decoded ({exc})") from None
    pcm = trim(pcm, REFERENCE_RATE, 200)
    if len(pcm) == 0:
        raise CharvoiceError(f"voice sample {path.name} holds no sound")
    piece = fit(pcm, REFERENCE_RATE, text, REFERENCE_MAX_S, hear, lambda part: wav_bytes(part, REFERENCE_RATE))
    if piece is None:  # no sentence ends in time: the opening 30 s, as the transcript cannot be matched
        piece = Piece(pcm[: int(REFERENCE_MAX_S * REFERENCE_RATE)], text, "is longer than 30 s and no sentence ends "
                      "within them: cut at 30 s, so its transcript says more than the model hears; trim the sample")  # fmt: skip
    args = ["-f", "f32le", "-ar", str(REFERENCE_RATE), "-ac", "1", "-i", "pipe:0"]
    try:
        data = _run_ffmpeg(
            [*args, "-c:a", "libmp3lame", "-b:a", REFERENCE_BITRATE, "-f", "mp3", "pipe:1"],
            piece.pcm.astype("<f4").tobytes(),
        )
    except AudioError as exc:
        raise CharvoiceError(f"cannot prepare voice sample {path.name}: {exc}") from None
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the same work next time
        atomic_write_bytes(cached, data)
        atomic_write_text(said, json.dumps({"text": piece.text, "note": piece.note}))
    return data, piece.text, piece.note


def stream_format(path: Path) -> tuple[int | None, int | None]:
    """(channels, sample rate) of a file; None for what it cannot tell."""
    from charvoice.audio import ffmpeg, wav_format

    if path.suffix.lower() == ".wav" and (known := wav_format(path)) is not None:
        return known  # plain PCM; anything else: ask ffmpeg

    # `ffmpeg -i` with no output describes the input on stderr and exits 1; that is all we need.
    result = subprocess.run([ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)], capture_output=True, check=False)
    match = re.search(r"Audio: [^\n]*?, (\d+) Hz, ([^,\n]+)", result.stderr.decode("utf-8", "replace"))
    if not match:
        return None, None
    rate, layout = int(match.group(1)), match.group(2).strip()
    named = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}
    if layout.split("(")[0] in named:
        return named[layout.split("(")[0]], rate
    count = re.match(r"(\d+) channels", layout)
    return (int(count.group(1)) if count else None), rate


def decode_problem(path: Path) -> str | None:
    """Why a sample cannot be used as audio at all (None when it decodes to some sound)."""
    from charvoice.audio import decode_file

    try:
        pcm = decode_file(path, _ANALYSIS_RATE)
    except AudioError as exc:
        return str(exc)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None if len(pcm) else "it holds no audio"


def sample_warnings(path: Path) -> list[str]:
    """Why a sample may clone badly (empty when it looks fine); CharvoiceError if it is not audio."""
    from charvoice.audio import decode_file

    try:
        pcm = decode_file(path, _ANALYSIS_RATE)
    except AudioError as exc:
        raise CharvoiceError(f"voice sample {path.name} cannot be decoded ({exc})") from None
    notes = []
    seconds = len(pcm) / _ANALYSIS_RATE
    if seconds < MIN_SECONDS:
        notes.append(f"is only {seconds:.1f} s long; Fish Audio advises at least {MIN_SECONDS:.0f} s of clear speech")
    channels, rate = stream_format(path)
    if channels is not None and channels > 1:
        notes.append(f"has {channels} channels; a mono recording of one voice clones best")
    if rate is not None and rate < MIN_SAMPLE_RATE:
        notes.append(f"is recorded at {rate} Hz; {MIN_SAMPLE_RATE // 1000} kHz or more keeps the voice's detail")
    notes.extend(_speech_notes(pcm))
    return notes


def _speech_notes(pcm: Any) -> list[str]:
    """Speech is loud in bursts with pauses between; silence or a steady drone is not."""
    import numpy as np

    frame = _ANALYSIS_RATE * 30 // 1000
    count = len(pcm) // frame
    if count == 0:
        return ["holds no audio"]
    rms = np.sqrt(np.mean(pcm[: count * frame].reshape(count, frame).astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(np.maximum(rms, 1e-10))
    if level.max() < -50:
        return ["is silent or nearly so"]
    voiced = level > max(-50.0, level.max() - 35.0)
    if voiced.mean() < 0.3:
        return [f"is mostly silence ({voiced.mean():.0%} of it has sound)"]
    if np.std(level[voiced]) < 1.5:
        return ["sounds like a steady tone or noise rather than speech"]
    return []


def apply_prosody(audio: bytes, speed: float, volume: float) -> bytes:
    """Speed (tempo, pitch kept: ffmpeg atempo) and volume (dB) applied to WAV audio, for a
    server that ignores `prosody` (self-hosted Fish Speech). Returns 16-bit mono WAV."""
    if speed == 1.0 and volume == 0.0:
        return audio
    from charvoice.audio import _run_ffmpeg

    filters = [f"atempo={speed:g}"] if speed != 1.0 else []  # 0.5..2.0, the range [speech] speed allows
    if volume:
        filters.append(f"volume={volume:g}dB")
    return _run_ffmpeg(
        ["-i", "pipe:0", "-af", ",".join(filters), "-ac", "1", "-c:a", "pcm_s16le", "-f", "wav", "pipe:1"], audio
    )


def joined_reference(paths: list[Path], texts: list[str], hear: Hear | None = None) -> tuple[bytes, str, list[str]]:
    """Several samples as one reference (a Fish Speech server stores one audio and one
    transcript per id): each trimmed, joined with short pauses while they fit in
    REFERENCE_MAX_S, the one that does not fit cut where a sentence ends, the rest left out.
    Returns (16-bit mono WAV, the transcripts of what it holds, one note per sample cut or left out)."""

    import numpy as np

    from charvoice.audio import decode_file, trim, wav_bytes

    pause = np.zeros(int(0.4 * REFERENCE_RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    said: list[str] = []
    notes: list[str] = []
    room = REFERENCE_MAX_S
    for index, path in enumerate(paths):
        try:
            pcm = trim(decode_file(path, REFERENCE_RATE), REFERENCE_RATE, 100)
        except AudioError as exc:
            raise CharvoiceError(f"voice sample {path.name} cannot be decoded ({exc})") from None
        text = texts[index] if index < len(texts) else ""
        piece = (
            fit(pcm, REFERENCE_RATE, text, room, hear, lambda part: wav_bytes(part, REFERENCE_RATE))
            if room > 0
            else None
        )
        if piece is None:
            notes.append(f"sample {path.name} is left out: the reference already holds {REFERENCE_MAX_S - room:.1f} s")
            continue
        if piece.note:
            notes.append(f"sample {path.name} {piece.note}")
        parts += [piece.pcm, pause]
        said.append(piece.text)
        room -= (len(piece.pcm) + len(pause)) / REFERENCE_RATE
    pcm = np.concatenate(parts[:-1]) if parts else pause
    return wav_bytes(np.clip(pcm, -1.0, 1.0), REFERENCE_RATE), " ".join(t for t in said if t), notes
