"""Locale names, compared one way everywhere: the project's locales, script suffixes, the addon's
fallback rules, the ASR hint and espeak-ng's language names all start from these."""

from __future__ import annotations


def normalize_locale(locale: str) -> str:
    """A locale as charvoice compares it: no encoding or variant suffix, '_' separated, lower case
    (`pt-BR` and `pt_br.UTF-8` are both `pt_br`)."""
    result = locale.strip().replace("-", "_")
    for separator in (".", "@"):
        cut = result.find(separator)
        if cut >= 0:
            result = result[:cut]
    return result.lower()


def same_locale(a: str, b: str) -> bool:
    return bool(a) and normalize_locale(a) == normalize_locale(b)


def language_of(locale: str) -> str:
    """The language part of a locale (`fr_CA` -> `fr`)."""
    return normalize_locale(locale).split("_", 1)[0]
