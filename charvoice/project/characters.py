"""characters/*.toml -> Character, validated all at once."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from charvoice.errors import InputError, Problem
from charvoice.project.config import ProjectConfig
from charvoice.project.lines import id_problem
from charvoice.project.schema import Field, MapOf, Table, TomlFile, validate

SAMPLE_EXTENSIONS = (".wav", ".mp3", ".m4a", ".opus", ".ogg", ".flac")
COVER_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")
MAX_SAMPLES = 20  # POST /model takes at most 20 voice files (API reference: voices maxItems)
MAX_SAMPLE_MB = 50  # minutes of studio-quality WAV; instant clones send every sample with every line

SCHEMA = Table(
    {
        "name": Field(str),
        "description": Field(str, ""),
        "voice": Table(
            {
                "model_id": Field(str, ""),
                "samples": Field(list, [], items=str),
                "texts": Field(list, [], items=str),
                "scratch": Field(bool, False),  # no real voice yet: always the offline scratch voice
                "clone": Field(str, "persistent", choices=("persistent", "instant")),
                "title": Field(str, ""),
                "description": Field(str, ""),
                "tags": Field(list, [], items=str),
                "visibility": Field(str, "private", choices=("private", "unlist", "public")),
                "cover_image": Field(str, ""),  # required by Fish Audio for a public model
                "enhance_audio_quality": Field(bool, True),
            },
        ),
        "speech": Table(
            {
                "speed": Field(float, 1.0, minimum=0.5, maximum=2.0),
                "volume": Field(float, 0.0, minimum=-20.0, maximum=20.0),
                "temperature": Field(float, 0.7, minimum=0.0, maximum=1.0),
                "top_p": Field(float, 0.7, minimum=0.0, maximum=1.0),
            }
        ),
        "scratch": Table(
            {
                "voice": Field(str, ""),
                "pitch": Field(int, -1, minimum=0, maximum=99),  # -1 (unset): derived from the id
                "rate": Field(int, 0, minimum=0, maximum=450),
            }
        ),
        "lexicon": MapOf(Field(str)),
    }
)


@dataclass(frozen=True)
class Voice:
    """Where a character's real voice comes from: exactly one of model_id, samples, scratch."""

    model_id: str = ""
    samples: tuple[Path, ...] = ()
    texts: tuple[str, ...] = ()
    scratch: bool = False
    clone: str = "persistent"
    title: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    visibility: str = "private"
    enhance_audio_quality: bool = True
    cover_image: Path | None = None  # the public model's picture on fish.audio

    @property
    def source(self) -> str:
        if self.model_id:
            return "model"
        if self.samples:
            return f"{self.clone} clone"
        return "scratch"


@dataclass(frozen=True)
class Speech:
    speed: float = 1.0
    volume: float = 0.0
    temperature: float = 0.7
    top_p: float = 0.7


@dataclass(frozen=True)
class Scratch:
    """The offline engine's voice; empty voice / pitch -1 mean "derive from the character id"."""

    voice: str = ""
    pitch: int = -1
    rate: int = 0


@dataclass(frozen=True)
class Character:
    id: str
    name: str
    file: str  # relative to the project root
    voice: Voice
    speech: Speech = Speech()
    scratch: Scratch = Scratch()
    lexicon: dict[str, str] = field(default_factory=dict)


def _load_one(path: Path, config: ProjectConfig, problems: list[Problem]) -> Character | None:
    display = config.relative(path)
    found: list[Problem] = []
    doc = TomlFile.load(path, display, found)
    if doc is None:
        problems.extend(found)
        return None
    values = validate(doc, SCHEMA, found)
    bad_id = id_problem(path.stem, "character id (the file name)")
    if bad_id:
        found.append(Problem(display, bad_id))
    voice = values["voice"]
    sources = [key for key in ("model_id", "samples") if voice[key]] + (["scratch"] if voice["scratch"] else [])
    if len(sources) != 1:
        what = "no voice source" if not sources else f"more than one voice source ({', '.join(sources)})"
        found.append(
            doc.problem(("voice",), None, f"{what}: set exactly one of [voice] model_id, samples, or scratch = true")
        )
    samples: list[Path] = []
    for _index, sample in enumerate(voice["samples"]):
        if "\x00" in sample:
            found.append(
                doc.problem(("voice",), "samples", f"sample {sample!r} is not a file name (it holds a NUL character)")
            )
            continue
        sample_path = (path.parent / sample).resolve()
        if sample_path.suffix.lower() not in SAMPLE_EXTENSIONS:
            found.append(
                doc.problem(
                    ("voice",),
                    "samples",
                    f"sample {sample!r} is not a supported audio file ({', '.join(SAMPLE_EXTENSIONS)})",
                )
            )
        elif not sample_path.is_file():
            found.append(
                doc.problem(
                    ("voice",),
                    "samples",
                    f"sample file {sample!r} not found (looked in {config.relative(sample_path.parent)})",
                )
            )
        elif sample_path.stat().st_size > MAX_SAMPLE_MB * 1_000_000:
            size = sample_path.stat().st_size / 1_000_000
            found.append(
                doc.problem(
                    ("voice",),
                    "samples",
                    f"sample {sample!r} is {size:.0f} MB; a voice sample is a clip of speech (10 to 45 s), at most {MAX_SAMPLE_MB} MB",
                )
            )
        samples.append(sample_path)
    if len(voice["samples"]) > MAX_SAMPLES and voice["clone"] == "persistent":
        message = f"{len(voice['samples'])} samples; Fish Audio clones a voice from at most {MAX_SAMPLES} files"
        found.append(doc.problem(("voice",), "samples", message))
    cover = _cover_image(doc, path, voice, config, found)
    if voice["texts"] and len(voice["texts"]) != len(voice["samples"]):
        found.append(
            doc.problem(
                ("voice",),
                "texts",
                f"texts has {len(voice['texts'])} transcripts for {len(voice['samples'])} samples; give one per sample or none",
            )
        )
    problems.extend(found)
    if found:
        return None
    return Character(
        id=path.stem,
        name=values["name"],
        file=display,
        voice=Voice(
            model_id=voice["model_id"],
            samples=tuple(samples),
            texts=tuple(voice["texts"]),
            scratch=voice["scratch"],
            clone=voice["clone"],
            title=voice["title"] or values["name"],
            description=voice["description"],
            tags=tuple(voice["tags"]),
            visibility=voice["visibility"],
            enhance_audio_quality=voice["enhance_audio_quality"],
            cover_image=cover,
        ),
        speech=Speech(**values["speech"]),
        scratch=Scratch(**values["scratch"]),
        lexicon=dict(values["lexicon"]),
    )


def _cover_image(doc: TomlFile, path: Path, voice: dict, config: ProjectConfig, found: list[Problem]) -> Path | None:
    """The cover picture of a public persistent clone, which Fish Audio requires (checked here,
    before any sample is uploaded)."""
    name = voice["cover_image"]
    if not name:
        if voice["visibility"] == "public" and voice["samples"] and voice["clone"] == "persistent":
            message = (
                'visibility = "public" needs a cover picture: Fish Audio refuses a public model without one. '
                'Add [voice] cover_image = "voices/<name>.png", or use visibility = "unlist" or "private"'
            )
            found.append(doc.problem(("voice",), "visibility", message))
        return None
    if "\x00" in name:
        found.append(doc.problem(("voice",), "cover_image", f"cover_image {name!r} is not a file name"))
        return None
    cover = (path.parent / name).resolve()
    if cover.suffix.lower() not in COVER_EXTENSIONS:
        found.append(
            doc.problem(
                ("voice",), "cover_image", f"cover_image {name!r} must be a picture ({', '.join(COVER_EXTENSIONS)})"
            )
        )
    elif not cover.is_file():
        found.append(
            doc.problem(
                ("voice",), "cover_image", f"cover_image {name!r} not found (looked in {config.relative(cover.parent)})"
            )
        )
    return cover


def load_characters(config: ProjectConfig) -> dict[str, Character]:
    """Every character in the characters folder, by id; InputError lists every problem found."""
    folder = config.characters_dir
    if not folder.is_dir():
        raise InputError(
            [Problem(config.relative(folder), "characters folder not found (set project.characters in charvoice.toml)")]
        )
    problems: list[Problem] = []
    characters: dict[str, Character] = {}
    seen: dict[str, Character] = {}
    for path in sorted(folder.glob("*.toml")):
        character = _load_one(path, config, problems)
        if character is None:
            continue
        for key in {character.id.lower(), character.name.lower()}:
            other = seen.get(key)
            if other is not None and other.id != character.id:
                problems.append(Problem(character.file, f"character {key!r} is also defined by {other.file}"))
            seen[key] = character
        characters[character.id] = character
    if problems:
        raise InputError(problems)
    return characters


class CharacterIndex:
    """Finds a character by id or display name, case-insensitively (scripts use either)."""

    def __init__(self, characters: dict[str, Character]) -> None:
        self.characters = characters
        self._by_key = {}
        for character in characters.values():
            self._by_key[character.name.lower()] = character
            self._by_key[character.id.lower()] = character

    def find(self, name: str) -> Character | None:
        return self._by_key.get(name.strip().lower())

    def suggestion(self, name: str) -> str:
        match = difflib.get_close_matches(name.lower(), list(self._by_key), n=1)
        return f" (did you mean {self._by_key[match[0]].name!r}?)" if match else ""
