"""A corpus of malformed and hostile input, each against a real project on the Fish engine.

Every case breaks one thing in an otherwise good project (charvoice.toml, a character file,
charvoice.lock, a script of each format, a voice sample, or a name) and runs `charvoice build`
with the key set and the loopback fake as the server. A mistake must end with exit status 2
and one message naming the file (and the line, where the file has lines), with no traceback
(the CLI runs in-process with exceptions propagating), no API call (bad input costs nothing),
and nothing written: the only files a refused build may leave are the empty lock files under
.charvoice/. Input that is legal but dubious (a 0.2 s sample, 6 channels, 8 kHz) builds with
a warning. The API key never shows up in any output or file.

tests/test_bad_input.py holds the first, basic cases; this corpus adds to them, not repeats.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fakes.fixtures import API_KEY, make_project, write_sample
from helpers_reliability import SecretScan, Snapshot

LOCK_FILES = {
    "project/.charvoice/lock",
    "project/.charvoice/voices.lock",
}  # empty lock files: allowed in a refused build


@dataclass
class Expect:
    code: int = 2
    says: tuple[str, ...] = ()  # substrings of the output (file:line:col ...)
    warns: tuple[str, ...] = ()  # for legal but dubious input (code 0)
    command: tuple[str, ...] = ("build",)


@dataclass
class Case:
    name: str
    setup: object  # callable(project)
    expect: Expect = field(default_factory=Expect)


# --- small editors ---------------------------------------------------------------------------


def outside_of(project) -> str:
    """The folder beside the project (the test creates it): nothing may ever land there."""
    return (project.root.parent / "outside").as_posix()


def replace_in(relative: str, old: str, new: str):
    def setup(project):
        path = project.root / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {relative}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return setup


def append_to(relative: str, extra: str):
    def setup(project):
        path = project.root / relative
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")

    return setup


def write_text(relative: str, text: str, remove: str | None = None):
    def setup(project):
        if remove:
            (project.root / remove).unlink()
        project.write(relative, text)

    return setup


def write_bytes(relative: str, data: bytes):
    def setup(project):
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return setup


def character_file(file_name: str, name: str = "Zed"):
    """A new, otherwise valid character (a scratch voice) under a hostile file name."""
    return write_text(f"characters/{file_name}", f'name = "{name}"\n[voice]\nscratch = true\n')


def csv_row(line_id: str, character: str = "Bram", text: str = "A line with a hostile id."):
    """A seventh row (line 8 of dialogue/lines.csv)."""
    return append_to("dialogue/lines.csv", f'{line_id},{character},"{text}"\n')


def cleo_sample(name: str, make):
    """Cleo (an instant clone) gets a new sample file, made by `make(path)`."""

    def setup(project):
        path = project.root / "characters/voices/cleo" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        make(path)
        toml = project.root / "characters/cleo.toml"
        toml.write_text(
            toml.read_text().replace('samples = ["voices/cleo/01.wav"]', f'samples = ["voices/cleo/{name}"]')
        )

    return setup


def sparse(size: int):
    def make(path: Path) -> None:
        with open(path, "wb") as handle:
            handle.truncate(size)  # no blocks on disk: instant, and reading it is cheap too

    return make


def wav(seconds: float = 11.0, channels: int = 1, rate: int = 16000):
    return lambda path: write_sample(path, seconds=seconds, channels=channels, rate=rate)


LOCK_HEAD = "# charvoice.lock\nversion = 1\n"
ARIA_ENTRY = '[voices.aria]\nmodel_id = "0123456789abcdef0123456789abcdef"\nstate = "trained"\n'

# Line numbers below are those of fakes.fixtures.CONFIG: [engine] jobs is line 10, [engine.fish]
# model 14, retries 15, timeout 16, [audio] sample_rate 21; dialogue/lines.csv has a header
# and six rows, so an appended row is line 8.
CASES = [
    # --- charvoice.toml -----------------------------------------------------------------------
    Case(
        "toml-duplicate-key",
        replace_in("charvoice.toml", "jobs = 4\n", "jobs = 4\njobs = 5\n"),
        Expect(says=("charvoice.toml:11:", "invalid TOML")),
    ),
    Case(
        "toml-not-utf8",
        write_bytes("charvoice.toml", b'[project]\noutput = "game/voice" # caf\xe9\n'),
        Expect(says=("charvoice.toml", "not UTF-8")),
    ),
    Case(
        "toml-binary", write_bytes("charvoice.toml", random.Random(8).randbytes(512)), Expect(says=("charvoice.toml",))
    ),
    Case("toml-nul-byte", append_to("charvoice.toml", "\x00\n"), Expect(says=("charvoice.toml:22:", "invalid TOML"))),
    Case(
        "toml-table-is-a-value",
        replace_in("charvoice.toml", '[audio]\nformat = "wav"\nsample_rate = 22050\n', 'audio = "wav"\n'),
        Expect(says=("charvoice.toml:19: unknown key 'audio' in [engine.fish]",)),
    ),
    Case(
        "toml-array-of-tables",
        append_to("charvoice.toml", '[[audio]]\nformat = "ogg"\n'),
        Expect(says=("charvoice.toml:22:", "invalid TOML")),
    ),
    Case(
        "toml-unknown-table",
        append_to("charvoice.toml", '[engin]\nname = "fish"\n'),
        Expect(says=("charvoice.toml:22: unknown key 'engin' in the top level (did you mean 'engine'?)",)),
    ),
    Case(
        "output-absolute",
        lambda project: replace_in("charvoice.toml", 'output = "game/voice"', f'output = "{outside_of(project)}"')(
            project
        ),
        Expect(says=("charvoice.toml:4:", "project.output must be a folder inside the project")),
    ),
    Case(
        "output-parent",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "../outside/voice"'),
        Expect(says=("charvoice.toml:4:", "project.output must be a folder inside the project")),
    ),
    Case(
        "output-nul",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "game\\u0000voice"'),
        Expect(says=("charvoice.toml:4:", "project.output")),
    ),
    Case(
        "characters-parent",
        replace_in("charvoice.toml", 'characters = "characters"', 'characters = "../../etc"'),
        Expect(says=("charvoice.toml:2:", "project.characters must be a folder inside the project")),
    ),
    Case(
        "characters-nul",
        replace_in("charvoice.toml", 'characters = "characters"', 'characters = "chara\\u0000cters"'),
        Expect(says=("charvoice.toml:2:", "project.characters")),
    ),
    # --- config values that become paths: checked before anything is read or written --------------
    Case(
        "locale-escapes",
        replace_in("charvoice.toml", 'locales = ["en"]', 'locales = ["en", "../../../x"]'),
        Expect(says=("charvoice.toml:5:", "'../../../x' is not a language tag")),
    ),
    Case(
        "locale-with-slash",
        replace_in("charvoice.toml", 'locales = ["en"]', 'locales = ["en", "fr/ca"]'),
        Expect(says=("charvoice.toml:5:", "'fr/ca' is not a language tag")),
    ),
    Case(
        "locale-empty",
        replace_in("charvoice.toml", 'locales = ["en"]', 'locales = ["en", ""]'),
        Expect(says=("charvoice.toml:5:", "'' is not a language tag")),
    ),
    Case(
        "locale-case-duplicate",
        replace_in("charvoice.toml", 'locales = ["en"]', 'locales = ["en", "pt-BR", "pt-br"]'),
        Expect(says=("charvoice.toml:5:", "'pt-BR' and 'pt-br': they differ only in case")),
    ),
    Case(
        "output-root",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "."'),
        Expect(says=("charvoice.toml:4: project.output may not be the project root",)),
    ),
    Case(
        "output-dialogue-folder",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "dialogue"'),
        Expect(says=("charvoice.toml:4: project.output may not be a dialogue folder",)),
    ),
    Case(
        "output-characters-folder",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "characters/voice"'),
        Expect(says=("charvoice.toml:4: project.output may not be or overlap the folder of character files",)),
    ),
    Case(
        "output-is-a-file",
        lambda project: (
            project.write("notes.txt", "my notes\n"),
            replace_in("charvoice.toml", 'output = "game/voice"', 'output = "notes.txt"')(project),
        ),
        Expect(says=("charvoice.toml:4: project.output must be a folder, and that path is a file",)),
    ),
    Case(
        "output-in-cache",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = ".charvoice/voice"'),
        Expect(says=("charvoice.toml:4: project.output may not be inside .charvoice/",)),
    ),
    Case(
        "output-symlink-outside",
        lambda project: (
            (project.root / "out").symlink_to(project.root.parent / "outside"),
            replace_in("charvoice.toml", 'output = "game/voice"', 'output = "out/voice"')(project),
        ),
        Expect(says=("charvoice.toml:4: project.output must be a folder inside the project",)),
    ),
    Case(
        "output-outside-godot-project",
        lambda project: (
            project.write("game/project.godot", "config_version=5\n"),
            replace_in("charvoice.toml", 'output = "game/voice"', 'output = "voice"\ngodot_project = "game"')(project),
        ),
        Expect(says=("charvoice.toml:4: project.output must be inside the Godot project 'game'",)),
    ),
    Case(
        "recordings-inside-output",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "game/voice"\nrecordings = "game/voice/en"'),
        Expect(says=("charvoice.toml:4: project.output may not be or overlap the folder of actors' recordings",)),
    ),
    Case(
        "recordings-escapes",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "game/voice"\nrecordings = "../outside"'),
        Expect(says=("charvoice.toml:5: project.recordings must be a folder inside the project",)),
    ),
    Case(
        "approved-is-a-file",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "game/voice"\napproved = "dialogue/lines.csv"'),
        Expect(says=("charvoice.toml:5: project.approved must be a folder, and that path is a file",)),
    ),
    Case(
        "approved-holds-output",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "game/voice"\napproved = "game"'),
        Expect(says=("charvoice.toml:4: project.output may not be or overlap the folder of approved takes",)),
    ),
    Case(
        "godot-project-is-a-file",
        replace_in(
            "charvoice.toml", 'output = "game/voice"', 'output = "game/voice"\ngodot_project = "dialogue/lines.csv"'
        ),
        Expect(says=("charvoice.toml:5: project.godot_project must be a folder, and that path is a file",)),
    ),
    Case(
        "characters-root",
        replace_in("charvoice.toml", 'characters = "characters"', 'characters = "."'),
        Expect(says=("charvoice.toml:2: project.characters may not be the project root",)),
    ),
    Case(
        "characters-is-a-file",
        replace_in("charvoice.toml", 'characters = "characters"', 'characters = "dialogue/lines.csv"'),
        Expect(says=("charvoice.toml:2: project.characters must be a folder, and that path is a file",)),
    ),
    Case(
        "dialogue-missing",
        replace_in("charvoice.toml", 'dialogue = ["dialogue"]', 'dialogue = ["nowhere"]'),
        Expect(says=("charvoice.toml", "dialogue entry 'nowhere' is not a folder, file or glob that exists")),
    ),
    Case(
        "dialogue-not-strings",
        replace_in("charvoice.toml", 'dialogue = ["dialogue"]', "dialogue = [1, 2]"),
        Expect(says=("charvoice.toml:3:", "project.dialogue")),
    ),
    Case(
        "sample-rate-8000",
        replace_in("charvoice.toml", "sample_rate = 22050", "sample_rate = 8000"),
        Expect(says=("charvoice.toml:21: audio.sample_rate must be one of",)),
    ),
    Case(
        "jobs-zero",
        replace_in("charvoice.toml", "jobs = 4", "jobs = 0"),
        Expect(says=("charvoice.toml:10: engine.jobs must be between",)),
    ),
    Case(
        "jobs-huge",
        replace_in("charvoice.toml", "jobs = 4", "jobs = 1000000000000000000000000000000"),
        Expect(says=("charvoice.toml:10: engine.jobs must be between",)),
    ),
    Case(
        "locale-not-listed",
        replace_in("charvoice.toml", 'locales = ["en"]', 'locales = ["fr"]'),
        Expect(says=("charvoice.toml:6:", "default_locale 'en' is not in locales")),
    ),
    Case(
        "base-url-scheme",
        replace_in("charvoice.toml", 'base_url = "', 'base_url = "ftp://example.invalid/'),
        Expect(says=("charvoice.toml", "engine.fish.base_url must start with http:// or https://")),
    ),
    Case(
        "model-header-injection",
        replace_in("charvoice.toml", 'model = "s1"', 'model = "s1\\r\\nX-Injected: 1"'),
        Expect(says=("charvoice.toml:14:", "engine.fish.model")),
    ),
    Case(
        "timeout-negative",
        replace_in("charvoice.toml", "timeout = 10.0", "timeout = -1.0"),
        Expect(says=("charvoice.toml:16: engine.fish.timeout must be between",)),
    ),
    Case(
        "retries-string",
        replace_in("charvoice.toml", "retries = 6", 'retries = "many"'),
        Expect(says=("charvoice.toml:15: engine.fish.retries must be an integer",)),
    ),
    Case(
        "lexicon-not-string",
        append_to("charvoice.toml", "[lexicon]\nKerrowan = 5\n"),
        Expect(says=("charvoice.toml:23:", "lexicon.Kerrowan must be a string")),
    ),
    # --- characters/*.toml --------------------------------------------------------------------
    Case(
        "character-invalid-toml",
        replace_in("characters/bram.toml", 'name = "Bram"', 'name = "Bram'),
        Expect(says=("characters/bram.toml:1:", "invalid TOML")),
    ),
    Case(
        "character-nul-byte",
        append_to("characters/bram.toml", "\x00\n"),
        Expect(says=("characters/bram.toml:4:", "invalid TOML")),
    ),
    Case(
        "character-not-utf8",
        write_bytes("characters/bram.toml", b'name = "Br\xe2m"\n[voice]\nscratch = true\n'),
        Expect(says=("characters/bram.toml", "not UTF-8")),
    ),
    Case(
        "character-name-not-string",
        replace_in("characters/bram.toml", 'name = "Bram"', "name = 42"),
        Expect(says=("characters/bram.toml:1: name must be a string",)),
    ),
    Case(
        "character-speed-range",
        append_to("characters/bram.toml", "[speech]\nspeed = 5.0\n"),
        Expect(says=("characters/bram.toml:5: speech.speed must be between",)),
    ),
    Case(
        "character-clone-kind",
        replace_in("characters/cleo.toml", 'clone = "instant"', 'clone = "forever"'),
        Expect(says=("characters/cleo.toml:5: voice.clone must be one of",)),
    ),
    Case(
        "character-texts-count",
        replace_in("characters/cleo.toml", 'texts = ["I was never here."]', 'texts = ["One.", "Two."]'),
        Expect(says=("characters/cleo.toml:4: texts has 2 transcripts for 1 samples",)),
    ),
    Case(
        "character-same-name",
        character_file("bram2.toml", name="BRAM"),
        Expect(says=("characters/bram2.toml", "character 'bram' is also defined by characters/bram.toml")),
    ),
    Case(
        "character-file-CON",
        character_file("CON.toml"),
        Expect(says=("characters/CON.toml", "reserved file name on Windows")),
    ),
    Case(
        "character-file-aux",
        character_file("aux.toml"),
        Expect(says=("characters/aux.toml", "reserved file name on Windows")),
    ),
    Case(
        "character-file-nul-ext",
        character_file("nul.zed.toml"),
        Expect(says=("characters/nul.zed.toml", "reserved file name on Windows")),
    ),
    Case(
        "character-file-dotdot",
        character_file("a..b.toml"),
        Expect(says=("characters/a..b.toml", "may not start or end with '.' or contain '..'")),
    ),
    Case("character-file-hidden-dots", character_file("...toml"), Expect(says=("characters/...toml", "character id"))),
    Case(
        "character-file-very-long",
        character_file("z" * 200 + ".toml"),
        Expect(says=("characters/" + "z" * 200 + ".toml", "1 to 128")),
    ),
    Case(
        "character-file-space",
        character_file("mr zed.toml"),
        Expect(says=("characters/mr zed.toml", "may only use letters")),
    ),
    Case(
        "character-file-unicode",
        character_file("ñandú.toml"),
        Expect(says=("characters/ñandú.toml", "may only use letters")),
    ),
    # --- voice samples -------------------------------------------------------------------------
    Case(
        "sample-absolute-path",
        replace_in("characters/cleo.toml", '"voices/cleo/01.wav"', '"/etc/passwd"'),
        Expect(says=("characters/cleo.toml:3:", "'/etc/passwd' is not a supported audio file")),
    ),
    Case(
        "sample-parent-path",
        replace_in("characters/cleo.toml", '"voices/cleo/01.wav"', '"../../../../../../etc/missing.wav"'),
        Expect(says=("characters/cleo.toml:3: sample file '../../../../../../etc/missing.wav' not found",)),
    ),
    Case(
        "sample-nul-in-path",
        replace_in("characters/cleo.toml", '"voices/cleo/01.wav"', '"voices/cleo/0\\u00001.wav"'),
        Expect(says=("characters/cleo.toml:3:", "sample")),
    ),
    Case(
        "sample-is-a-folder",
        replace_in("characters/cleo.toml", '"voices/cleo/01.wav"', '"voices/cleo"'),
        Expect(says=("characters/cleo.toml:3:", "not a supported audio file")),
    ),
    Case(
        "sample-wrong-extension",
        cleo_sample("01.txt", wav()),
        Expect(says=("characters/cleo.toml:3:", "'voices/cleo/01.txt' is not a supported audio file")),
    ),
    Case(
        "sample-empty",
        cleo_sample("empty.wav", lambda path: path.write_bytes(b"")),
        Expect(says=("characters/cleo.toml", "voice sample empty.wav", "cannot be decoded")),
    ),
    Case(
        "sample-not-audio",
        cleo_sample("notes.wav", lambda path: path.write_text("these are my notes, not a recording\n" * 50)),
        Expect(says=("characters/cleo.toml", "voice sample notes.wav cannot be decoded")),
    ),
    Case(
        "sample-persistent-not-audio",
        write_bytes("characters/voices/aria/02.wav", b"RIFF\x00\x00\x00\x00WAVEjunk" * 100),
        Expect(says=("characters/aria.toml", "voice sample 02.wav cannot be decoded")),
    ),
    Case(
        "sample-huge",
        cleo_sample("huge.wav", sparse(300 * 1024 * 1024)),
        Expect(says=("characters/cleo.toml:3:", "voices/cleo/huge.wav", "MB")),
    ),
    Case(
        "sample-0.2-seconds",
        cleo_sample("short.wav", wav(seconds=0.2)),
        Expect(code=0, warns=("characters/cleo.toml: sample short.wav is only 0.2 s long",)),
    ),
    Case(
        "sample-6-channels",
        cleo_sample("surround.wav", wav(channels=6)),
        Expect(code=0, warns=("characters/cleo.toml: sample surround.wav has 6 channels",)),
    ),
    Case(
        "sample-8-khz",
        cleo_sample("phone.wav", wav(rate=8000)),
        Expect(code=0, warns=("characters/cleo.toml: sample phone.wav", "8000 Hz")),
    ),
    # --- charvoice.lock (Aria is a persistent clone: the build reads the lock) ---------------------
    Case(
        "lock-invalid-toml",
        write_text("charvoice.lock", LOCK_HEAD + "[voices.aria\n"),
        Expect(says=("charvoice.lock:3:", "invalid TOML")),
    ),
    Case(
        "lock-not-utf8",
        write_bytes("charvoice.lock", b"# caf\xe9\nversion = 1\n"),
        Expect(says=("charvoice.lock", "not UTF-8")),
    ),
    Case(
        "lock-version",
        write_text("charvoice.lock", "version = 99\n"),
        Expect(says=("charvoice.lock:1: lock version 99 is not supported",)),
    ),
    Case(
        "lock-voices-not-table",
        write_text("charvoice.lock", LOCK_HEAD + 'voices = "aria"\n'),
        Expect(says=("charvoice.lock:3: voices must be a table of characters",)),
    ),
    Case(
        "lock-entry-wrong-type",
        write_text("charvoice.lock", LOCK_HEAD + "[voices.aria]\nmodel_id = 5\n"),
        Expect(says=("charvoice.lock:3: voices.aria is not a valid entry (model_id must be a str)",)),
    ),
    Case(
        "lock-entry-incomplete",
        write_text("charvoice.lock", LOCK_HEAD + ARIA_ENTRY),
        Expect(says=("charvoice.lock:3: voices.aria is not a valid entry (missing sample_sha256)",)),
    ),
    Case(
        "lock-binary-garbage",
        write_bytes("charvoice.lock", bytes(range(256)) * 4),
        Expect(says=("charvoice.lock", "not UTF-8")),
    ),
    Case(
        "lock-utf16",
        write_bytes("charvoice.lock", (LOCK_HEAD + ARIA_ENTRY).encode("utf-16-le")),
        Expect(says=("charvoice.lock:1:1: not UTF-8 text: it looks like UTF-16",)),
    ),
    # --- issue 11, item 9: silent fallbacks and misleading messages ---------------------------------
    Case(
        "scratch-voice-unknown",
        append_to("characters/dax.toml", '[scratch]\nvoice = "robot"\n'),
        Expect(says=("characters/dax.toml:5: unknown scratch voice 'robot'", "variants: m1")),
    ),
    Case(
        "scratch-variant-unknown",
        append_to("characters/dax.toml", '[scratch]\nvoice = "en-us+m99"\n'),
        Expect(says=("characters/dax.toml:5:", "no voice variant 'm99'")),
    ),
    Case(
        "scratch-pitch-negative",
        append_to("characters/dax.toml", "[scratch]\npitch = -1\n"),
        Expect(says=("characters/dax.toml:5: scratch.pitch must be between 0 and 99",)),
    ),
    Case(
        "character-utf16",
        write_bytes("characters/dax.toml", 'name = "Dax"\n[voice]\nscratch = true\n'.encode("utf-16-le")),
        Expect(says=("characters/dax.toml:1:1: not UTF-8 text: it looks like UTF-16",)),
    ),
    Case(
        "csv-utf16-no-bom",
        write_bytes("dialogue/lines.csv", "id,character,text\nx.1,Bram,Hello\n".encode("utf-16-le")),
        Expect(says=("dialogue/lines.csv:1:1: not UTF-8 text: it looks like UTF-16",)),
    ),
    Case(
        "yarn-utf16-no-bom",
        write_bytes("dialogue/scene.yarn", "title: Dock\n---\nBram: Hello. #line:dock.1\n===\n".encode("utf-16-be")),
        Expect(says=("dialogue/scene.yarn:1:1: not UTF-8 text: it looks like UTF-16",)),
    ),
    Case(
        "dialogue-glob-matches-nothing",
        replace_in("charvoice.toml", 'dialogue = ["dialogue"]', 'dialogue = ["dialogue", "scenes/*.yarn"]'),
        Expect(code=0, warns=("charvoice.toml:3: dialogue entry 'scenes/*.yarn' matches no script",)),
    ),
    # --- CSV / TSV -----------------------------------------------------------------------------
    Case(
        "csv-unclosed-quote",
        append_to("dialogue/lines.csv", 'x.1,Bram,"never closed\n'),
        Expect(says=("dialogue/lines.csv:8:10: quoted cell is never closed",)),
    ),
    Case(
        "csv-stray-quote",
        append_to("dialogue/lines.csv", 'x.1,Bram,"closed" too early\n'),
        Expect(says=("dialogue/lines.csv:8:18: unexpected",)),
    ),
    Case(
        "csv-utf16",
        write_bytes("dialogue/lines.csv", "id,character,text\nx.1,Bram,Hello\n".encode("utf-16")),
        Expect(says=("dialogue/lines.csv:1:1: not UTF-8 text",)),
    ),
    Case(
        "csv-no-character",
        csv_row("x.1", character=""),
        Expect(says=("dialogue/lines.csv:8:", "no character for this line")),
    ),
    Case(
        "csv-tsv-with-commas",
        write_text("dialogue/more.tsv", "id,character,text\nx.1,Bram,Hello\n"),
        Expect(says=("dialogue/more.tsv:1:1: header row lacks column(s)",)),
    ),
    Case("id-nul", csv_row("x\x001"), Expect(says=("dialogue/lines.csv:8:1: line id",))),
    # --- Yarn ----------------------------------------------------------------------------------
    Case(
        "yarn-no-body-separator",
        write_text("dialogue/scene.yarn", "title: Dock\nBram: Hello. #line:dock.1\n===\n"),
        Expect(says=("dialogue/scene.yarn:1:1: node headers are not followed by ---",)),
    ),
    Case(
        "yarn-node-never-closed",
        write_text("dialogue/scene.yarn", "title: Dock\n---\nBram: Hello. #line:dock.1\n"),
        Expect(says=("dialogue/scene.yarn:1:1: node 'Dock' is never closed with ===",)),
    ),
    Case(
        "yarn-unclosed-command",
        write_text("dialogue/scene.yarn", "title: Dock\n---\n<<if $ready\nBram: Hello. #line:dock.1\n===\n"),
        Expect(says=("dialogue/scene.yarn:3:", "'<<' is never closed")),
    ),
    Case(
        "yarn-duplicate-id",
        write_text(
            "dialogue/scene.yarn", "title: Dock\n---\nBram: Hello. #line:dock.1\nBram: Again. #line:dock.1\n===\n"
        ),
        Expect(says=("dialogue/scene.yarn:4: duplicate line id 'dock.1': also at dialogue/scene.yarn:3",)),
    ),
    Case(
        "yarn-unknown-speaker",
        write_text("dialogue/scene.yarn", "title: Dock\n---\nBrahm: Hello. #line:dock.1\n===\n"),
        Expect(says=("dialogue/scene.yarn:3: unknown character 'Brahm' (did you mean 'Bram'?)",)),
    ),
    # --- Godot Dialogue Manager ----------------------------------------------------------------
    # Ids with '/', '..', Unicode or Windows device names are valid (Yarn Spinner and Dialogue Manager take them): see test_formats_ids.py.
    Case(
        "dialogue-id-control",
        write_text("dialogue/scene.dialogue", "~ dock\nBram: Hello. [ID:a\x1bb]\n"),
        Expect(says=("dialogue/scene.dialogue:2:", "control character")),
    ),
    Case(
        "dialogue-id-empty",
        write_text("dialogue/scene.dialogue", "~ dock\nBram: Hello. [ID:]\n"),
        Expect(says=("dialogue/scene.dialogue:2:", "line id")),
    ),
    Case(
        "dialogue-unclosed-alternatives",
        write_text("dialogue/scene.dialogue", "~ dock\nBram: [[Hi|Hello. [ID:dock.1]\n"),
        Expect(says=("dialogue/scene.dialogue:2:", "never closed")),
    ),
    Case(
        "dialogue-unclosed-bracket",
        write_text("dialogue/scene.dialogue", "~ dock\nBram: Hello [b. [ID:dock.1\n"),
        Expect(says=("dialogue/scene.dialogue:2:", "never closed")),
    ),
    Case(
        "dialogue-title-without-name",
        write_text("dialogue/scene.dialogue", "~\nBram: Hello. [ID:dock.1]\n"),
        Expect(says=("dialogue/scene.dialogue:1:", "a title line needs a name")),
    ),
    Case(
        "dialogue-unknown-speaker",
        write_text("dialogue/scene.dialogue", "~ dock\nCoco: Fresh fish! [ID:dock.1]\n"),
        Expect(says=("dialogue/scene.dialogue:2: unknown character 'Coco'",)),
    ),
    # --- the same mistakes seen by `check` ----------------------------------------------------------
    Case(
        "check-output-nul",
        replace_in("charvoice.toml", 'output = "game/voice"', 'output = "game\\u0000voice"'),
        Expect(says=("charvoice.toml:4:",), command=("check",)),
    ),
    Case(
        "check-sample-nul",
        replace_in("characters/cleo.toml", '"voices/cleo/01.wav"', '"voices/cleo/0\\u00001.wav"'),
        Expect(says=("characters/cleo.toml:3:",), command=("check",)),
    ),
    Case(
        "check-sample-huge",
        cleo_sample("huge.wav", sparse(300 * 1024 * 1024)),
        Expect(says=("characters/cleo.toml:3:", "MB"), command=("check",)),
    ),
]


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 40 and len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input(case: Case, tmp_path, fish, fish_env):
    project = make_project(tmp_path / "project", fish)
    (tmp_path / "outside").mkdir()
    case.setup(project)
    before = Snapshot.take(tmp_path)  # the project and the folder beside it

    result = project.run(*case.expect.command)  # catch_exceptions=False: a traceback fails the test

    output = result.output
    assert result.exit_code == case.expect.code, output
    assert "Traceback" not in output
    for text in case.expect.says + case.expect.warns:
        assert text in output, f"{text!r} not in:\n{output}"
    changed = before.changes(Snapshot.take(tmp_path))
    if case.expect.code == 2:
        assert output.count("error:") == 1, output
        assert set(changed) <= LOCK_FILES, f"a refused build wrote {changed}"
        assert fish.calls() == [], "bad input must not cost an API call"
    else:
        assert output.count("warning:") >= 1
        allowed = ("project/game/voice/", "project/.charvoice/", "project/charvoice.lock")
        assert all(path.startswith(allowed) for path in changed), changed
        assert (project.root / "game/voice/voice_manifest.json").is_file()
    scan = SecretScan(API_KEY)
    scan.add(output)
    assert scan.check(tmp_path) > 0
