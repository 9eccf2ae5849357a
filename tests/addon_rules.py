"""The rules the Godot addon reads the manifest by, in Python: the reference
`runtime/charvoice_manifest.gd` mirrors (same names, same cases). Test oracles only: charvoice
itself never reads a manifest this way, so they live with the tests that run both on one table."""

from __future__ import annotations

from charvoice.locales import normalize_locale


def locale_candidates(requested: str, default_locale: str) -> list[str]:
    """The locale, each shorter prefix (zh_Hans_CN, zh_Hans, zh), then the default and its prefixes."""
    result: list[str] = []
    for start in (requested, default_locale):
        current = normalize_locale(start)
        while current:
            if current not in result:
                result.append(current)
            cut = current.rfind("_")
            current = current[:cut] if cut > 0 else ""
    return result


def resolve_locale(requested: str, available: list[str], default_locale: str) -> str:
    """The entry of `available` (spelled as there) for `requested`, or "" when none fits.

    fr_CA -> fr -> the default locale; never a sibling such as fr_BE.
    """
    for candidate in locale_candidates(requested, default_locale):
        for locale in available:
            if normalize_locale(locale) == candidate:
                return locale
    return ""


def pick_line_locale(requested: str, audio_locales: list[str], borrowed: dict[str, str], default_locale: str) -> str:
    """Like `resolve_locale` over a line's audio locales plus the locales its `fallback` map
    borrows; a borrowed locale plays the audio of the locale it names."""
    available = list(audio_locales) + [locale for locale in borrowed if locale not in audio_locales]
    chosen = resolve_locale(requested, available, default_locale)
    if chosen in audio_locales or not chosen:
        return chosen
    lender = borrowed.get(chosen)
    return lender if isinstance(lender, str) and lender in audio_locales else ""


def _is_absolute_path(path: str) -> bool:  # Godot's String.is_absolute_path
    if len(path) > 1:
        return path[0] in "/\\" or ":/" in path or ":\\" in path
    return path in ("/", "\\")


def _get_base_dir(path: str) -> str:  # Godot's String.get_base_dir (no UNC shares)
    end = 0
    scheme = path.find("://")
    if scheme != -1:
        end = scheme + 3
    if end == 0:
        drive = path.find(":/")
        if drive == -1:
            drive = path.find(":\\")
        if drive != -1:
            end = drive + 2
    if end == 0 and path.startswith("/"):
        end = 1
    base, rest = path[:end], path[end:]
    separator = max(rest.rfind("/"), rest.rfind("\\"))
    return base if separator == -1 else base + rest[:separator]


def _path_join(base: str, file: str) -> str:  # Godot's String.path_join
    if not base:
        return file
    if base.endswith("/") or file.startswith("/"):
        return base + file
    return base + "/" + file


def resolve_audio_path(manifest_path: str, relative: str) -> str:
    """The res:// path of a manifest `path`, which is relative to the manifest's folder."""
    if _is_absolute_path(relative):
        return relative
    return _path_join(_get_base_dir(manifest_path), relative)
