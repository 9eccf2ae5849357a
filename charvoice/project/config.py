"""charvoice.toml -> ProjectConfig, validated all at once."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from charvoice.errors import InputError, Problem, ProjectNotFound
from charvoice.locales import normalize_locale
from charvoice.project.formats.dm_version import dialogue_manager_version
from charvoice.project.schema import Field, MapOf, Table, TomlFile, validate
from charvoice.project.speakers import SPEAKERS_SCHEMA, SpeakerRules, speaker_rules

CONFIG_NAME = "charvoice.toml"
AUDIO_FORMATS = ("ogg", "wav", "mp3")
# engine.name: checked here with the rest of charvoice.toml, so every mistake is reported at once
# and the no-op fast path needs no engine code; engines.register adds a name for a new engine.
ENGINE_NAMES: tuple[str, ...] = ("auto", "fish", "offline")

SCHEMA = Table(
    {
        "project": Table(
            {
                "characters": Field(str, "characters"),
                "dialogue": Field((list, str), ["dialogue"], items=None),
                "output": Field(str, "voice"),
                "godot_project": Field(str, ""),
                "locales": Field(list, ["en"], items=str),
                "default_locale": Field(str, "en"),
                "player_character": Field(str, "player"),
                "narrator": Field(str, "narrator"),
                "recordings": Field(str, "recordings"),
                "approved": Field(str, "approved"),
                # fsync each asset before the manifest names it (docs/how-builds-work.md, power loss)
                "fsync_assets": Field(bool, True),
            }
        ),
        "engine": Table(
            {
                "name": Field(str, "auto", choices=ENGINE_NAMES),
                "jobs": Field(int, 5, minimum=1, maximum=64),
            }
        ),
        "audio": Table(
            {
                "format": Field(str, "ogg", choices=AUDIO_FORMATS),
                "sample_rate": Field(int, 44100, choices=(22050, 32000, 44100, 48000)),
                "loudness_lufs": Field(float, -18.0, minimum=-40.0, maximum=-5.0),
                "true_peak_db": Field(float, -1.5, minimum=-12.0, maximum=0.0),
                "trim_silence": Field(bool, True),
                "pad_ms": Field(int, 100, minimum=0, maximum=2000),
                "quality": Field(int, 5, minimum=0, maximum=10),
            }
        ),
        "cache": Table(  # the team's shared cache (pipeline/remote_cache.py)
            {
                "remote": Field(str, ""),  # a folder, or s3:// gs:// az:// URL; "" = none
                "endpoint": Field(str, ""),  # an S3-compatible service's URL (MinIO, R2, Ceph)
            }
        ),
        "lexicon": MapOf(Field(str)),
        "direction": MapOf(Field(str)),
        "speakers": SPEAKERS_SCHEMA,  # how written speaker names map to characters
        "qa": Table(  # `charvoice qa`: what counts as a bad asset
            {
                "loudness_tolerance_lu": Field(float, 1.0, minimum=0.1, maximum=20.0),
                "true_peak_tolerance_db": Field(float, 0.5, minimum=0.0, maximum=6.0),
                "clip_level_db": Field(float, -0.1, minimum=-6.0, maximum=0.0),
                "clip_samples": Field(int, 3, minimum=1, maximum=100000),
                "max_silence_ms": Field(int, 500, minimum=10, maximum=60000),
                "asr": Field(str, "auto", choices=("auto", "on", "off")),
                "max_wer": Field(float, 0.25, minimum=0.0, maximum=1.0),
                "chars_per_second": MapOf(Field(list)),  # locale -> [slowest, fastest]
            }
        ),
    }
)


def allow_engine_names(names: tuple[str, ...]) -> None:
    """engine.name may be one of `names` ("auto" and the engines registered; engines.register)."""
    global ENGINE_NAMES
    ENGINE_NAMES = names
    engine = SCHEMA.fields["engine"]
    assert isinstance(engine, Table)
    field_ = engine.fields["name"]
    assert isinstance(field_, Field)
    engine.fields["name"] = replace(field_, choices=names)


@dataclass(frozen=True)
class AudioSettings:
    format: str = "ogg"
    sample_rate: int = 44100
    loudness_lufs: float = -18.0
    true_peak_db: float = -1.5
    trim_silence: bool = True
    pad_ms: int = 100
    quality: int = 5  # Vorbis -q / LAME VBR quality


@dataclass(frozen=True)
class QASettings:
    """Thresholds of `charvoice qa` (see charvoice/qa.py)."""

    loudness_tolerance_lu: float = 1.0  # +- around audio.loudness_lufs
    true_peak_tolerance_db: float = 0.5  # above audio.true_peak_db (lossy encoders overshoot a little)
    clip_level_db: float = -0.1  # a sample this close to full scale counts as clipped
    clip_samples: int = 3  # this many clipped samples flag a line
    max_silence_ms: int = 500  # leading or trailing silence
    asr: str = "auto"  # auto: ASR round trip when the engine is Fish | on | off
    max_wer: float = 0.25  # word error rate of the transcript against the line's text
    chars_per_second: dict[str, tuple[float, float]] = field(default_factory=dict)  # locale -> (slowest, fastest)


@dataclass(frozen=True)
class CacheSettings:
    remote: str = ""  # shared by the team; credentials come from the environment, never from here
    endpoint: str = ""


REMOTE_SCHEMES = ("s3", "s3a", "gs", "az", "azure", "abfs", "abfss", "adl", "file")
# Overrides [cache] remote: a CI job (the GitHub Action's cache-remote input) names the team's
# remote without editing the committed file. Empty means unset.
CACHE_REMOTE_ENV = "CHARVOICE_CACHE_REMOTE"


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    characters_dir: Path
    dialogue: tuple[str, ...]
    output_dir: Path
    godot_project: Path | None
    locales: tuple[str, ...]
    default_locale: str
    player_character: str
    engine: str
    jobs: int
    audio: AudioSettings
    lexicon: dict[str, str] = field(default_factory=dict)
    narrator: str = "narrator"  # who speaks script lines that name no speaker
    recordings_dir: Path | None = None  # actors' recordings that replace synthesis, by line id
    approved_dir: Path | None = None  # raw audio of approved takes (committed, so CI reproduces them)
    direction: dict[str, str] = field(default_factory=dict)  # tag -> cue; speech_text has the defaults
    qa: QASettings = field(default_factory=QASettings)  # `charvoice qa` thresholds
    cache: CacheSettings = field(default_factory=CacheSettings)
    dialogue_line: int | None = None  # where project.dialogue is set in charvoice.toml (for messages)
    fsync_assets: bool = True  # each asset reaches the disk before the manifest names it
    speakers: SpeakerRules = field(default_factory=SpeakerRules)
    dialogue_manager: tuple[int, ...] | None = None  # addons/dialogue_manager/plugin.cfg (None: the newest)
    # Each engine's own table under [engine] ([engine.fish]), as written: the engine validates it
    # with its own schema (engines/fish/settings.py), against `doc` for file:line in messages.
    engine_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    doc: TomlFile | None = field(default=None, compare=False, repr=False)

    @property
    def cache_dir(self) -> Path:
        return self.root / ".charvoice" / "cache"

    @property
    def state_dir(self) -> Path:
        return self.root / ".charvoice"

    @property
    def manifest_path(self) -> Path:
        return self.output_dir / "voice_manifest.json"

    def relative(self, path: Path) -> str:
        """A path as the user sees it: relative to the project root, with forward slashes."""
        try:
            return path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:  # outside the project: `../x`, never the machine's absolute path
            try:
                return Path(os.path.relpath(path.resolve(), self.root.resolve())).as_posix()
            except ValueError:  # another drive (Windows): the name alone
                return path.name


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` that holds charvoice.toml."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise ProjectNotFound(start)


def load_config(root: Path) -> ProjectConfig:
    problems: list[Problem] = []
    doc = TomlFile.load(root / CONFIG_NAME, CONFIG_NAME, problems)
    if doc is None:
        raise InputError(problems)
    # Sub-tables of [engine] belong to their engines, which validate them; the rest is ours.
    written = doc.data.get("engine")
    tables = {k: v for k, v in written.items() if isinstance(v, dict)} if isinstance(written, dict) else {}
    own = {k: v for k, v in written.items() if k not in tables} if isinstance(written, dict) else written
    values = validate(doc, SCHEMA, problems, {**doc.data, "engine": own} if "engine" in doc.data else None)
    project, engine, audio = values["project"], values["engine"], values["audio"]

    dialogue = project["dialogue"]
    if isinstance(dialogue, str):
        dialogue = [dialogue]
    if any(not isinstance(item, str) for item in dialogue):
        problems.append(doc.problem(("project",), "dialogue", "project.dialogue must be a list of folders or globs"))
        dialogue = []
    locales = project["locales"] or ["en"]
    if project["default_locale"] not in locales:
        problems.append(
            doc.problem(
                ("project",),
                "default_locale",
                f"default_locale {project['default_locale']!r} is not in locales {locales}",
            )
        )
    locales = _check_locales(doc, locales, problems)
    _check_folders(doc, root, project, dialogue, problems)
    qa = _qa_settings(doc, values["qa"], problems)
    cache = _cache_settings(doc, values["cache"], problems)
    speakers = speaker_rules(doc, values["speakers"], problems)
    if problems:
        raise InputError(problems)

    return ProjectConfig(
        root=root,
        characters_dir=root / project["characters"],
        dialogue=tuple(dialogue),
        output_dir=root / project["output"],
        godot_project=root / project["godot_project"] if project["godot_project"] else None,
        locales=tuple(locales),
        default_locale=project["default_locale"],
        player_character=project["player_character"],
        engine=engine["name"],
        jobs=engine["jobs"],
        engine_tables=tables,
        doc=doc,
        audio=AudioSettings(**audio),
        lexicon=dict(values["lexicon"]),
        narrator=project["narrator"],
        recordings_dir=root / project["recordings"],
        approved_dir=root / project["approved"],
        direction={tag.lower(): cue for tag, cue in values["direction"].items()},
        qa=qa,
        cache=cache,
        dialogue_line=doc.line_of(("project",), "dialogue"),
        fsync_assets=project["fsync_assets"],
        speakers=speakers,
        dialogue_manager=dialogue_manager_version(root / project["godot_project"]),  # "": the project root
    )


# A language tag as Godot and BCP 47 write them: `en`, `pt-BR`, `zh-Hans`, `es-419`, `fr_CA`.
# Locales become folder names, so nothing else (no '/', '..' or spaces) may get through.
_LOCALE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")
_PATH_KEYS = ("characters", "output", "godot_project", "recordings", "approved")


def _check_locales(doc: TomlFile, locales: list[str], problems: list[Problem]) -> list[str]:
    seen: dict[str, str] = {}
    for locale in locales:
        if not _LOCALE.fullmatch(locale):
            message = f"project.locales: {locale!r} is not a language tag such as 'en', 'pt-BR' or 'zh-Hans'"
            problems.append(doc.problem(("project",), "locales", message))
            continue
        folded = normalize_locale(locale)
        if folded in seen:
            message = f"project.locales lists {seen[folded]!r} and {locale!r}: they differ only in case or separator"
            problems.append(doc.problem(("project",), "locales", message))
        seen.setdefault(folded, locale)
    return locales


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _check_folders(
    doc: TomlFile,
    root: Path,
    project: dict,
    dialogue: list[str],
    problems: list[Problem],
) -> None:
    """Folders the build reads from or writes to: inside the project, folders (not files), and
    never overlapping where a write could clobber a script, a character or a recording."""

    def bad(key: str, why: str) -> None:
        problems.append(doc.problem(("project",), key, f"project.{key} {why}, not {project[key]!r}"))

    root = root.resolve()
    folders: dict[str, Path] = {}
    for key in _PATH_KEYS:
        value = project[key]
        if not value:
            continue
        if "\x00" in value or Path(value).is_absolute() or ".." in Path(value).parts:
            bad(key, "must be a folder inside the project")
            continue
        folder = (root / value).resolve()
        if not _inside(folder, root):  # a symbolic link out of the project
            bad(key, "must be a folder inside the project")
        elif folder.exists() and not folder.is_dir():
            bad(key, "must be a folder, and that path is a file")
        elif _inside(folder, root / ".charvoice"):
            bad(key, "may not be inside .charvoice/ (charvoice's own cache)")
        else:
            folders[key] = folder
    output = folders.get("output")
    if output is None:
        return
    scripts = [(root / entry).resolve() for entry in dialogue if not any(ch in entry for ch in "*?[")]
    if output == root:
        bad(
            "output",
            "may not be the project root (assets would mix with the project's own files)",
        )
    elif output in scripts:  # inside one is fine: dialogue = ["game"] with output = "game/voice"
        bad("output", "may not be a dialogue folder (project.dialogue)")
    for key, what in (
        ("characters", "character files"),
        ("recordings", "actors' recordings"),
        ("approved", "approved takes"),
    ):
        folder = folders.get(key)
        if folder is None:
            continue
        if key == "characters" and folder == root:
            bad(
                key,
                "may not be the project root (every .toml there would be read as a character)",
            )
        elif _inside(output, folder) or _inside(folder, output):
            bad(
                "output",
                f"may not be or overlap the folder of {what} (project.{key} = {project[key]!r})",
            )
    godot = folders.get("godot_project")
    if godot is not None and godot.is_dir() and (godot / "project.godot").is_file() and not _inside(output, godot):
        bad(
            "output",
            f"must be inside the Godot project {project['godot_project']!r} (the game loads assets by res:// path)",
        )


def _cache_settings(doc: TomlFile, values: dict, problems: list[Problem]) -> CacheSettings:
    """[cache], with the remote from CHARVOICE_CACHE_REMOTE when that is set (its problems name it)."""
    remote = os.environ.get(CACHE_REMOTE_ENV, "")
    if not remote:
        _check_cache(doc, values, problems)
        return CacheSettings(**values)
    found: list[Problem] = []
    _check_cache(doc, {**values, "remote": remote}, found)
    for problem in found:
        if "cache.remote" in problem.message:
            problem = Problem("environment", problem.message.replace("cache.remote", CACHE_REMOTE_ENV))
        problems.append(problem)
    return CacheSettings(remote=remote, endpoint=values["endpoint"])


def _check_cache(doc: TomlFile, values: dict, problems: list[Problem]) -> None:
    """A remote is a folder or a known store URL, and neither it nor the endpoint holds
    credentials (charvoice.toml is committed: keys belong in the environment)."""
    remote, endpoint = values["remote"], values["endpoint"]
    scheme = remote.split("://", 1)[0].lower() if "://" in remote else ""
    if scheme:
        rest = remote.split("://", 1)[1]
        if scheme not in REMOTE_SCHEMES:
            known = ", ".join(f"{s}://" for s in REMOTE_SCHEMES)
            problems.append(
                doc.problem(
                    ("cache",), "remote", f"cache.remote: unsupported scheme {scheme!r} (use a folder, or {known})"
                )
            )
        elif "@" in rest.split("/", 1)[0] or "?" in rest:
            message = "cache.remote must not hold credentials or options: set them in the environment (AWS_ACCESS_KEY_ID, ...)"
            problems.append(doc.problem(("cache",), "remote", message))
        elif scheme != "file" and not rest.split("/", 1)[0]:
            problems.append(doc.problem(("cache",), "remote", f"cache.remote {remote!r} names no bucket"))
    elif "\x00" in remote:
        problems.append(doc.problem(("cache",), "remote", "cache.remote must be a folder or a URL"))
    if endpoint:
        kind, _, rest = endpoint.partition("://")
        if kind.lower() not in ("http", "https") or not rest:
            problems.append(
                doc.problem(
                    ("cache",), "endpoint", f"cache.endpoint must be an http:// or https:// URL, not {endpoint!r}"
                )
            )
        elif "@" in rest.split("/", 1)[0]:
            problems.append(
                doc.problem(
                    ("cache",), "endpoint", "cache.endpoint must not hold credentials: set them in the environment"
                )
            )
        elif scheme not in ("s3", "s3a"):
            problems.append(doc.problem(("cache",), "endpoint", "cache.endpoint applies to an s3:// remote only"))


def _qa_settings(doc: TomlFile, values: dict, problems: list[Problem]) -> QASettings:
    rates: dict[str, tuple[float, float]] = {}
    for locale, pair in values.pop("chars_per_second").items():
        numbers = [x for x in pair if isinstance(x, (int, float)) and not isinstance(x, bool)]
        if len(pair) != 2 or len(numbers) != 2 or not 0 < numbers[0] < numbers[1]:
            message = f"qa.chars_per_second.{locale} must be [slowest, fastest] (two numbers, 0 < slowest < fastest), not {pair!r}"
            problems.append(doc.problem(("qa", "chars_per_second"), locale, message))
            continue
        rates[locale] = (float(numbers[0]), float(numbers[1]))
    return QASettings(**values, chars_per_second=rates)


def api_key() -> str | None:
    """The Fish Audio key, only ever from the environment."""
    return os.environ.get("FISH_API_KEY") or None
