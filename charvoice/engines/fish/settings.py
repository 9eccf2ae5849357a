"""Fish's own table in charvoice.toml, `[engine.fish]`: its schema, the typed settings, the
models it knows (and their cue syntax) and its price. The project's config keeps the table as
written; this module validates it (errors name charvoice.toml and the line), as a plugin owns its
config class.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from charvoice.errors import InputError, Problem
from charvoice.project.config import CONFIG_NAME, ProjectConfig
from charvoice.project.schema import Field, Table, TomlFile, validate

# Fish Audio's TTS models (the `model` header's enum in the API reference, docs.fish.audio
# "Models Overview") -> the cue syntax each one reads ("Emotion Control"): S1 `(cue)` at a
# sentence start, the S2 family `[cue]` anywhere, in free words. The service voices any other
# name with its default model without a word, so charvoice refuses names it does not know
# unless engine.fish.allow_unlisted_model says the name is newer than this charvoice.
FISH_MODELS = {"s2.1-pro": "bracket", "s2.1-pro-free": "bracket", "s2-pro": "bracket", "s1": "paren"}
FISH_DEFAULT_MODEL = "s2.1-pro"  # "our recommended production TTS model"
FISH_RETIRED_MODELS = {"speech-1.5": "2026-02-28", "speech-1.6": "2026-02-28"}  # "Model Deprecations"
FISH_LATENCIES = ("normal", "balanced", "low")
FISH_FREE_MODELS = ("s2.1-pro-free",)  # "$0.00 / M UTF-8 bytes" ("Pricing & Rate Limits")
# What answers at engine.fish.base_url: Fish Audio's API (the default, also for a proxy or the
# tests' fake) or a self-hosted Fish Speech server (its own request schema and references API).
FISH_SERVERS = ("fish-audio", "fish-speech")
FISH_CUES = ("free", "mapped", "off")  # engine.fish.cues (engines/fish/direction.py)


def fish_cue_style(model: str) -> str:
    """The cue syntax: "paren" for S1, "bracket" for the S2 family and (unlisted) newer models."""
    return FISH_MODELS.get(model, "bracket")


SCHEMA = Table(
    {
        "base_url": Field(str, "https://api.fish.audio"),
        "model": Field(str, FISH_DEFAULT_MODEL),
        "allow_unlisted_model": Field(bool, False),
        "server": Field(str, "fish-audio", choices=FISH_SERVERS),
        "price_per_million_bytes": Field(float, 15.0, minimum=0),
        "latency": Field(str, "normal", choices=FISH_LATENCIES),
        "timeout": Field(float, 120.0, minimum=1.0, maximum=3600.0),
        "retries": Field(int, 6, minimum=0, maximum=20),
        "busy_wait": Field(float, 300.0, minimum=0.0, maximum=86400.0),
        "paid_retries": Field(int, 2, minimum=0, maximum=20),
        "cues": Field(str, "free", choices=FISH_CUES),
        "train_timeout": Field(float, 600.0, minimum=1.0, maximum=86400.0),
        "timestamps": Field(str, "auto", choices=("auto", "on", "off")),
    }
)


@dataclass(frozen=True)
class FishSettings:
    base_url: str = "https://api.fish.audio"
    model: str = FISH_DEFAULT_MODEL
    allow_unlisted_model: bool = False  # a model name newer than this charvoice's list
    server: str = "fish-audio"  # or "fish-speech": a self-hosted Fish Speech server (FISH_SERVERS)
    price_per_million_bytes: float = 15.0
    latency: str = "normal"  # "normal" sounds best; "balanced" and "low" answer sooner
    timeout: float = 120.0  # seconds to wait for one response
    retries: int = 6  # extra attempts after a 429, 5xx, timeout or dropped connection
    busy_wait: float = 300.0  # seconds a service answering 503 (high load) is waited for
    paid_retries: int = 2  # per line: retries after a damaged or cut-off answer (each may be billed)
    cues: str = "free"  # a line's direction on S2 models: free-form cues, only [direction]-mapped ones, or off
    train_timeout: float = 600.0  # seconds to wait for a new voice model to be trained
    timestamps: str = "auto"  # word timings with the audio: auto = on for the official service


def fish_price(settings: FishSettings) -> float:
    """USD per million UTF-8 bytes for the configured model (the free model costs nothing; a
    self-hosted server bills nobody)."""
    if settings.server == "fish-speech" or settings.model in FISH_FREE_MODELS:
        return 0.0
    return settings.price_per_million_bytes


def fish_settings(config: ProjectConfig) -> FishSettings:
    """`[engine.fish]` of the project, validated; InputError (file and line) when it is wrong."""
    problems: list[Problem] = []
    settings = check_settings(config, problems)
    if problems:
        raise InputError(problems)
    return settings


def check_settings(config: ProjectConfig, problems: list[Problem]) -> FishSettings:
    """The settings, appending a Problem for each mistake in `[engine.fish]` (defaults for those keys)."""
    doc = config.doc if config.doc is not None else TomlFile(config.root / CONFIG_NAME, CONFIG_NAME, "", {})
    data = config.engine_tables.get("fish", {})
    values = validate(doc, SCHEMA, problems, data, ("engine", "fish"))
    _check_model(doc, values, problems)
    return FishSettings(**values)


def _check_model(doc: TomlFile, fish: dict, problems: list[Problem]) -> None:
    """A model name the service knows; any other would be voiced by its default model, silently."""
    model = fish["model"]
    if not re.fullmatch(r"[!-~]{1,100}", model):  # sent as an HTTP header: no spaces or control characters
        message = f"engine.fish.model must be a model name such as {FISH_DEFAULT_MODEL!r}, not {model!r}"
        problems.append(doc.problem(("engine", "fish"), "model", message))
        return
    known = ", ".join(FISH_MODELS)
    if model in FISH_RETIRED_MODELS:
        message = (
            f"engine.fish.model {model!r} was retired on {FISH_RETIRED_MODELS[model]}: Fish Audio would voice it with "
            f"{FISH_DEFAULT_MODEL} without saying so. Use one of {known}"
        )
        problems.append(doc.problem(("engine", "fish"), "model", message))
    elif model not in FISH_MODELS and not fish["allow_unlisted_model"]:
        close = difflib.get_close_matches(model.lower(), list(FISH_MODELS), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        message = (
            f"engine.fish.model {model!r} is not a Fish Audio model ({known}); {hint}Fish Audio would voice it with "
            f"{FISH_DEFAULT_MODEL} without saying so. For a model newer than this charvoice, set "
            "engine.fish.allow_unlisted_model = true"
        )
        problems.append(doc.problem(("engine", "fish"), "model", message))
