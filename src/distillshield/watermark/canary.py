"""Canaries: a keyed phrase at the end of the answers served to hardened accounts.

A canary is three made-up words ("kotemu ravisa dulobe"), derived from the account's watermark key by HMAC.
A model trained on answers that carry it learns to write it; a model that never saw it writes it by chance
with probability 1 in ``PHRASES`` (about 4e16) for each distinct three-word phrase of that shape it writes.
That gives an exact test with a stated null (``canary_test``): the suspect answers prompts, and the distinct
canary-shaped phrases in its answers are compared with every tested account's canary.

A canary is easy to remove for a harvester who looks for it; it catches those who do not. The watermark is
the mark that survives editing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

CONSONANTS, VOWELS = "bdfgklmnprstvz", "aeiou"
SYLLABLES = tuple(c + v for c in CONSONANTS for v in VOWELS)
WORD_SYLLABLES = 3
PHRASE_WORDS = 3
WORDS = len(SYLLABLES) ** WORD_SYLLABLES
PHRASES = WORDS ** PHRASE_WORDS              # 70**9, about 4.0e16
_CANARY_WORD = re.compile(f"(?:[{CONSONANTS}][{VOWELS}]){{{WORD_SYLLABLES}}}")
_WORD = re.compile(r"[a-z]+")


def canary_phrase(key: bytes) -> str:
    """The account's canary: three words of three syllables, chosen by HMAC-SHA256 of its watermark key.

    The 256-bit digest reduced modulo ``PHRASES`` is uniform up to a bias below 2**-199."""
    value = int.from_bytes(hmac.new(key, b"distillshield canary v1", hashlib.sha256).digest(), "big") % PHRASES
    words = []
    for _ in range(PHRASE_WORDS):
        value, word = divmod(value, WORDS)
        syllables = []
        for _ in range(WORD_SYLLABLES):
            word, index = divmod(word, len(SYLLABLES))
            syllables.append(SYLLABLES[index])
        words.append("".join(syllables))
    return " ".join(words)


def canary_suffix(phrase: str) -> str:
    """What is appended to an answer: the phrase as a reference note on its own line."""
    return f"\n\n(ref. {phrase})"


def candidate_phrases(texts: Iterable[str]) -> set[str]:
    """Every distinct run of three consecutive canary-shaped words in the texts (case and punctuation ignored):
    the phrases a canary could be found among."""
    found: set[str] = set()
    for text in texts:
        words = _WORD.findall(text.lower())
        shaped = [bool(_CANARY_WORD.fullmatch(word)) for word in words]
        for i in range(len(words) - PHRASE_WORDS + 1):
            if all(shaped[i:i + PHRASE_WORDS]):
                found.add(" ".join(words[i:i + PHRASE_WORDS]))
    return found
