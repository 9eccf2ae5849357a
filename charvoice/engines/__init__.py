"""Speech engines: each turns a SpeechRequest into audio and its timings (see base.py), and
declares what else it can do (capabilities.py).

`select_engines` decides which engine voices each character: the configured one (`auto`: Fish
Audio when FISH_API_KEY is set, else offline), except that characters with `[voice] scratch =
true` always use the scratch voice (`offline`). Engines are made through ENGINES, name ->
factory; the pipeline reaches them, and their capabilities, only through the Engines object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from charvoice.engines.base import SpeechRequest
from charvoice.engines.capabilities import Billing, Capabilities, Engine, Transcription
from charvoice.errors import CharvoiceError, InputError, Problem
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig, api_key
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
ENGINES: dict[str, Callable[[ProjectConfig], Engine]] = {"offline": _offline, "fish": _fish}


def _fish_transcription(config: ProjectConfig) -> Transcription:
    from charvoice.engines.fish.asr import FishTranscription
    from charvoice.engines.fish.client import FishClient

    return FishTranscription(FishClient.from_config(config, api_key(), require_key=True), owned=True)


def _fish_billing(config: ProjectConfig) -> Billing:
    from charvoice.engines.fish.cost import FishBilling

    return FishBilling(config, None, billed=False)


def _offline_checks(project: Project, problems: list[Problem]) -> None:
    from charvoice.engines.offline import check_project

    check_project(project, problems)


def _fish_checks(project: Project, problems: list[Problem]) -> None:
    from charvoice.engines.fish.checks import check_project

    check_project(project, problems)


# What each engine checks in a project's files before any build, whichever engine runs: a
# scratch voice espeak-ng lacks, a damaged charvoice.lock, a sample that is not audio.
CHECKS: dict[str, Callable[[Project, list[Problem]], None]] = {"offline": _offline_checks, "fish": _fish_checks}


# Services the pipeline may use though their engine does not voice this build: speech to text
# for `qa --asr on` with the offline voice, and what the lines would cost on a paid engine.
TRANSCRIPTION: Callable[[ProjectConfig], Transcription] = _fish_transcription
PRICE_LIST: Callable[[ProjectConfig], Billing] = _fish_billing


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

    def billing(self) -> Billing | None:
        """What the build costs: the primary engine's bill, or what a paid engine would charge."""
        billed = self.primary.capabilities.billing
        if billed is not None:
            return billed
        return PRICE_LIST(self.config) if self.config is not None else None

    def check_project(self, project: Project) -> None:
        """Every engine's pre-build checks (CHECKS); InputError naming file and line when one fails."""
        problems: list[Problem] = []
        for check in CHECKS.values():
            check(project, problems)
        if problems:
            raise InputError(problems)

    def close(self) -> None:
        if not self._closed:
            for engine in self.all():
                engine.close()  # the kept Fish engine holds an HTTP client too
            self._closed = True


def select_engines(config: ProjectConfig, engine_name: str | None = None) -> Engines:
    name = engine_name or config.engine
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
    factory = ENGINES.get(name)
    if factory is None:
        names = [f'"{known}"' for known in ("auto", *sorted(ENGINES))]
        raise CharvoiceError(f"unknown engine {name!r}; use {', '.join(names[:-1])} or {names[-1]}")
    return Engines(factory(config), offline, config=config)
