"""Where the words of a line are: character spans, the same for every timing source.

A word is a run of letters, digits and marks, with apostrophes and hyphens inside it
("don't", "well-known", "42"); punctuation around it is not part of it. Scripts written
without spaces (Chinese, Japanese, Thai...) have no word boundaries a regex can find, so each
of their characters counts as a word: subtitles reveal them one at a time.
"""

from __future__ import annotations

import re
import unicodedata

_JOINERS = set("'\u2019-\u2010")  # apostrophes and hyphens inside a word


def _unspaced(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x9FFF  # CJK ideographs
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x2FA1F
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
    )


def _wordy(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNM"


def word_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of each word of `text`, in order."""
    spans: list[tuple[int, int]] = []
    start = -1
    for index, char in enumerate(text):
        if _wordy(char) and _unspaced(char):
            if start >= 0:
                spans.append((start, index))
                start = -1
            spans.append((index, index + 1))
        elif _wordy(char):
            if start < 0:
                start = index
        elif (
            char in _JOINERS
            and start >= 0
            and index + 1 < len(text)
            and _wordy(text[index + 1])
            and not _unspaced(text[index + 1])
        ):
            continue
        elif start >= 0:
            spans.append((start, index))
            start = -1
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def letters(text: str) -> str:
    """The text as the aligner compares it: case-folded letters and digits only."""
    return "".join(char for char in unicodedata.normalize("NFKC", text).casefold() if _wordy(char))


# Symbols a voice reads as words that belong in the line ("20 degrees", "copyright").
_SPOKEN_SYMBOLS = set("°℃℉№©®™")
# What makes up an emoji besides its symbol: joiners, presentation selectors, the keycap mark.
_EMOJI_PARTS = set("\u200d\ufe0e\ufe0f\u20e3")


def not_speech(char: str) -> bool:
    """Emoji, pictographs and other symbols (Unicode So and Sk), and the parts emoji are built
    from: shown in subtitles, never spoken (a scratch voice says "party popper")."""
    if char in _SPOKEN_SYMBOLS:
        return False
    return unicodedata.category(char) in ("So", "Sk") or char in _EMOJI_PARTS or 0xE0020 <= ord(char) <= 0xE007F


def speakable(text: str) -> str:
    """`text` without what is not speech; unchanged (the same cache key) when it has none."""
    if not any(map(not_speech, text)):
        return text
    spaced = "".join(" " if not_speech(char) else char for char in text)
    return re.sub(r" +(?=[,.!?;:])", "", re.sub(r"[ \t]{2,}", " ", spaced)).strip()
