"""Speech engines: each turns a SpeechRequest into audio and its timings (see base.py), and
declares what else it can do (capabilities.py).

`select_engines` decides which engine voices each character: the configured one (`auto`: Fish
Audio when FISH_API_KEY is set, else offline), except that characters with `[voice] scratch =
true` always use the scratch voice (`offline`). Engines are made through ENGINES, name ->
factory; the pipeline reaches them, and their capabilities, only through the Engines object.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field

from charvoice.engines.base import SpeechRequest
from charvoice.engines.capabilities import Billing, Capabilities, Direction, Engine, Transcription
from charvoice.errors import CharvoiceError, InputError, Problem
from charvoice.project import config as project_config
from charvoice.project.characters import Character
from charvoice.project.config import CONFIG_NAME, ProjectConfig, api_key
from charvoice.project.loader import Project


def _offline(config: ProjectConfig) -> Engine:
    from charvoice.engines.offline import OfflineEngine

    return OfflineEngine()


def _fish(config: ProjectConfig) -> Engine:
    from charvoice.engines.fish.engine import FishEngine  # httpx loads only when Fish is used

    return FishEngine.from_config(config, api_key())


def _fish_keyless(config: ProjectConfig) -> Engine:
    from charvoice.engines.fish.engine import FishEngine

    return FishEngine.from_config(config, None)


# name -> how to make it from the project's settings. "offline" is also the scratch voice.
ENGINES: dict[str, Callable[[ProjectConfig], Engine]] = {"fish": _fish, "offline": _offline}


def register(name: str, factory: Callable[[ProjectConfig], Engine]) -> Callable[[], None]:
    """Add an engine: `engine.name = "<name>"` in charvoice.toml (or --engine) then makes it with
    `factory`. Returns what undoes it (for tests)."""
    before = ENGINES.get(name)
    ENGINES[name] = factory
    names = ("auto", *ENGINES)
    project_config.allow_engine_names(names)

    def undo() -> None:
        if before is None:
            ENGINES.pop(name, None)
        else:
            ENGINES[name] = before
        project_config.allow_engine_names(("auto", *ENGINES))

    return undo


def _fish_transcription(config: ProjectConfig) -> Transcription:
    from charvoice.engines.fish.asr import FishTranscription
    from charvoice.engines.fish.client import FishClient

    return FishTranscription(FishClient.from_config(config, api_key(), require_key=True), owned=True)


def _fish_billing(config: ProjectConfig) -> Billing:
    from charvoice.engines.fish.cost import FishBilling

    return FishBilling(config, None, billed=False)


def _fish_direction(config: ProjectConfig) -> Direction:
    from charvoice.engines.fish.direction import FishDirection

    return FishDirection(config)


def _offline_checks(project: Project, problems: list[Problem]) -> None:
    from charvoice.engines.offline import check_project

    check_project(project, problems)


def _fish_checks(project: Project, problems: list[Problem]) -> None:
    from charvoice.engines.fish.checks import check_project
    from charvoice.engines.fish.settings import check_settings

    check_settings(project.config, problems)  # [engine.fish]: Fish's own table, its own schema
    check_project(project, problems)


# What each engine checks in a project's files before any build, whichever engine runs: a
# scratch voice espeak-ng lacks, a damaged charvoice.lock, a sample that is not audio.
CHECKS: dict[str, Callable[[Project, list[Problem]], None]] = {"offline": _offline_checks, "fish": _fish_checks}


# Services the pipeline may use though their engine does not voice this build: speech to text
# for `qa --asr on` with the offline voice, and what the lines would cost on a paid engine.
TRANSCRIPTION: Callable[[ProjectConfig], Transcription] = _fish_transcription
PRICE_LIST: Callable[[ProjectConfig], Billing] = _fish_billing
# ...and how the paid engine would voice the writers' direction, so the scratch voice warns
# about the same tags the real voice will drop.
DIRECTION: Callable[[ProjectConfig], Direction] = _fish_direction


@dataclass
class Engines:
    primary: Engine
    offline: Engine  # the scratch voice
    notice: str = ""  # one line to show the user about the choice
    # Engines whose audio, once built, still counts as up to date though new audio comes from
    # `primary`: without a key, lines Fish already voiced are kept, not replaced by scratch.
    kept: tuple[Engine, ...] = ()
    config: ProjectConfig | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def for_character(self, character: Character) -> Engine:
        return self.offline if character.voice.scratch else self.primary

    def all(self) -> list[Engine]:
        return list({id(e): e for e in (self.primary, self.offline, *self.kept)}.values())

    def named(self, name: str) -> Engine | None:
        """The engine that made requests of `name`, if this build has it."""
        return next((engine for engine in self.all() if engine.name == name), None)

    def capabilities_of(self, request: SpeechRequest) -> Capabilities:
        return self.capabilities_of_name(request.engine)

    def is_scratch(self, name: str) -> bool:
        """Whether audio made by engine `name` is a placeholder (the offline scratch voice)."""
        return self.capabilities_of_name(name).scratch

    def describe(self, name: str) -> str:
        """How messages name engine `name` ("the offline scratch voice", "the fish engine")."""
        return self.capabilities_of_name(name).description or f"the {name} engine"

    def capabilities_of_name(self, name: str) -> Capabilities:
        engine = self.named(name)
        return engine.capabilities if engine is not None else Capabilities()

    def phonemes(self, text: str, locale: str) -> list[str]:
        """IPA phonemes of a word for mouth shapes: the scratch voice's, else the primary's, else none."""
        for engine in (self.offline, self.primary):
            known = engine.capabilities.phonemes
            if known is not None:
                return known.phonemes(text, locale)
        return []

    def transcription(self, *, required: bool = False) -> Transcription | None:
        """Speech to text through the engine in use (None when it has none, or cannot run now);
        `required`: from the speech-to-text service even when its engine does not voice this build."""
        found = self.primary.capabilities.transcription
        if found is not None:
            return found
        if required and self.config is not None:
            return TRANSCRIPTION(self.config)
        return None

    def direction(self) -> Direction | None:
        """The rule for direction of the engine the project is voiced with: the primary's, or
        the paid engine's (DIRECTION) while the scratch voice stands in; None: the project's
        [direction] table decides alone."""
        for engine in (self.primary, *self.kept):
            rule = engine.capabilities.direction
            if rule is not None:
                return rule
        return DIRECTION(self.config) if self.config is not None else None

    def billing(self) -> Billing | None:
        """What the build costs: the primary engine's bill, or what a paid engine would charge."""
        billed = self.primary.capabilities.billing
        if billed is not None:
            return billed
        return PRICE_LIST(self.config) if self.config is not None else None

    def check_project(self, project: Project) -> None:
        """Every engine's pre-build checks (CHECKS); InputError naming file and line when one fails."""
        problems: list[Problem] = []
        config = project.config
        for table in sorted(set(config.engine_tables) - set(ENGINES)):
            close = difflib.get_close_matches(table, list(ENGINES), n=1)
            hint = f" (did you mean [engine.{close[0]}]?)" if close else ""
            message = f"unknown table [engine.{table}]: no engine is called {table!r}{hint}"
            problems.append(
                Problem(CONFIG_NAME, message, config.doc.line_of(("engine", table)) if config.doc else None)
            )
        for check in CHECKS.values():
            check(project, problems)
        if problems:
            raise InputError(problems)

    def close(self) -> None:
        if not self._closed:
            for engine in self.all():
                engine.close()  # the kept Fish engine holds an HTTP client too
            self._closed = True


def _check_name(config: ProjectConfig, asked: str | None) -> str:
    """The engine to use: `asked` (--engine) or engine.name, which must be "auto" or one of ENGINES."""
    name = asked or config.engine
    known = ("auto", *ENGINES)
    if name in known:
        return name
    options = ", ".join(repr(option) for option in known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    if asked:
        raise CharvoiceError(f"--engine must be one of {options}, not {name!r}{hint}")
    line = config.doc.line_of(("engine",), "name") if config.doc else None
    raise InputError([Problem(CONFIG_NAME, f"engine.name must be one of {options}, not {name!r}{hint}", line)])


def select_engines(config: ProjectConfig, engine_name: str | None = None) -> Engines:
    name = _check_name(config, engine_name)
    offline = ENGINES["offline"](config)
    if name == "auto":
        if api_key():
            name = "fish"
        else:
            notice = (
                "FISH_API_KEY is not set: new and changed lines get the offline scratch voice (espeak-ng); "
                "lines Fish Audio already voiced are kept"
            )
            return Engines(offline, offline, notice, kept=(_fish_keyless(config),), config=config)
    if name == "offline":
        return Engines(offline, offline, config=config)
    return Engines(ENGINES[name](config), offline, config=config)
