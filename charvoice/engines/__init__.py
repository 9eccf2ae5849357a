"""Speech engines: each turns a SpeechRequest into audio bytes (see base.py).

`select_engines` decides which engine voices each character: the configured one (`auto`: Fish
Audio when FISH_API_KEY is set, else offline), except that characters with `[voice] scratch =
true` always use the offline voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from charvoice.engines.base import Engine
from charvoice.engines.offline import OfflineEngine
from charvoice.errors import CharvoiceError
from charvoice.project.characters import Character
from charvoice.project.config import ProjectConfig, api_key


@dataclass
class Engines:
    primary: Engine
    offline: Engine
    notice: str = ""  # one line to show the user about the choice
    # Engines whose audio, once built, still counts as up to date though new audio comes from
    # `primary`: without a key, lines Fish already voiced are kept, not replaced by scratch.
    kept: tuple[Engine, ...] = ()
    _closed: bool = field(default=False, repr=False)

    def for_character(self, character: Character) -> Engine:
        return self.offline if character.voice.scratch else self.primary

    def close(self) -> None:
        if not self._closed:
            for engine in {id(e): e for e in (self.primary, self.offline, *self.kept)}.values():
                engine.close()  # the kept Fish engine holds an HTTP client too
            self._closed = True


def select_engines(config: ProjectConfig, engine_name: str | None = None) -> Engines:
    name = engine_name or config.engine
    offline = OfflineEngine()
    if name == "auto":
        if api_key():
            name = "fish"
        else:
            from charvoice.engines.fish.engine import FishEngine

            notice = (
                "FISH_API_KEY is not set: new and changed lines get the offline scratch voice (espeak-ng); "
                "lines Fish Audio already voiced are kept"
            )
            return Engines(offline, offline, notice, kept=(FishEngine.from_config(config, None),))
    if name == "offline":
        return Engines(offline, offline)
    if name == "fish":
        from charvoice.engines.fish.engine import (
            FishEngine,  # httpx loads only when Fish is used
        )

        return Engines(FishEngine.from_config(config, api_key()), offline)
    raise CharvoiceError(f'unknown engine {name!r}; use "auto", "fish" or "offline"')
