"""The word error rate of a transcript against a line's text (QA's speech-to-text round trip).

Words are compared after normalisation (Unicode NFKC, case folded, punctuation dropped,
hyphens split words); for languages written without spaces (Japanese, Chinese, Thai...) it
compares characters instead, which is the usual character error rate.
"""

from __future__ import annotations

import re
import unicodedata

from charvoice.locales import language_of

# Languages whose text has no spaces between words: compare characters, not words.
_UNSPACED = {"ja", "zh", "th", "lo", "km", "my", "bo", "yue", "wuu"}
_LEADING_CUES = re.compile(r"^\s*(?:(?:\([^)]*\)|\[[^\]]*\])\s*)+")


def normalise(text: str) -> str:
    """Case-folded text with punctuation and markup-like brackets turned into spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    text = _LEADING_CUES.sub(" ", text)  # "(angry) ..." and "[whispering] ..." are cues, never spoken
    out = []
    for char in text:
        category = unicodedata.category(char)
        if char == "'" or category[0] in "LNM":
            out.append(char)
        else:
            out.append(" ")
    words = [word.strip("'") for word in "".join(out).split()]
    return " ".join(word for word in words if word)


def tokens(text: str, locale: str = "en") -> list[str]:
    """The units the error rate counts: words, or characters for unspaced languages."""
    normal = normalise(text)
    if language_of(locale) in _UNSPACED:
        return [char for char in normal if not char.isspace()]
    return normal.split()


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over tokens (substitutions, insertions and deletions cost 1)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, start=1):
        current = [i]
        for j, hyp in enumerate(hypothesis, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str, locale: str = "en") -> float:
    """Edits needed to turn the transcript into the reference, per reference word (0 = identical)."""
    ref, hyp = tokens(reference, locale), tokens(hypothesis, locale)
    if not ref:
        return 0.0 if not hyp else 1.0
    return edit_distance(ref, hyp) / len(ref)
