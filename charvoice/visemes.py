# ruff: noqa: RUF001, RUF002 (IPA letters look like Latin ones on purpose)
"""Phonemes (IPA, as espeak-ng writes them for any language) -> mouth shapes.

The shapes are the nine that animators know from Rhubarb Lip Sync and the Hanna-Barbera
tradition behind it, so existing mouth art fits without redrawing:

  A  closed lips                       m b p
  B  slightly open, teeth together     most consonants (t d s z k g n ŋ r ʃ ʒ h ...), "ee" (i ɪ j)
  C  open                              e ɛ æ ə ʌ ɐ ("men", "bat", "but")
  D  wide open                         a ɑ ("father", "my", "now")
  E  slightly rounded                  ɔ ɒ ɜ ɚ ø œ ("off", "bird")
  F  puckered                          u ʊ o w y ("you", "show", "way")
  G  upper teeth on the lower lip      f v
  H  tongue raised behind the teeth    l
  X  rest (silence between words)

Diphthongs take the shape of their first element, except those ending rounded after a
mid vowel ("oʊ"/"əʊ" as in "show"), which read as F. Stress and length marks, ties and
diacritics are ignored; anything else unknown is B (a consonant) or C (a vowel).
"""

from __future__ import annotations

import unicodedata

SHAPES = ("A", "B", "C", "D", "E", "F", "G", "H", "X")
REST = "X"

_FIRST: dict[str, str] = {}
for _shape, _letters in {
    "A": "mbpʙ",
    "B": "iɪjɨʝtdszkgɡnŋɲɳrɹɻɾʀʁʃʒʂʐɕʑθðhɦxɣχçʔcɟqɢʈɖʋ",
    "C": "eɛæəʌɐɘɵɤ",
    "D": "aɑäɶ",
    "E": "ɔɒɜɞɚɝøœ",
    "F": "uʊoɯwʍyʏɥɰ",
    "G": "fvɱɸβ",
    "H": "lɫɬɭʎɮʟ",
}.items():
    for _letter in _letters:
        _FIRST[_letter] = _shape
_VOWELS = set("aeiouyæøœɑɒɐɔəɘɛɜɞɤɨɪɯɵɶʉʊʌʏäɚɝ")
_ROUNDED_ENDINGS = ("oʊ", "əʊ", "ɔʊ", "oː", "ou")
_IGNORED = set("ˈˌːˑ‿͡-_ʰʲʷˠˤʼ˞")


def _clean(phoneme: str) -> str:
    """The phoneme's base letters: no stress, length, ties or combining diacritics."""
    decomposed = unicodedata.normalize("NFD", phoneme)
    return "".join(ch for ch in decomposed if ch not in _IGNORED and not unicodedata.combining(ch)).lower()


def shape_of(phoneme: str) -> str:
    """The mouth shape for one IPA phoneme (X for a pause or an empty name)."""
    base = _clean(phoneme)
    if not base:
        return REST
    if base.startswith(_ROUNDED_ENDINGS) and len(base) > 1:
        return "F"
    shape = _FIRST.get(base[0])
    if shape is not None:
        return shape
    return "C" if base[0] in _VOWELS else "B"


def is_vowel(phoneme: str) -> bool:
    base = _clean(phoneme)
    return bool(base) and base[0] in _VOWELS
