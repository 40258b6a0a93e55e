"""Canaries: a keyed phrase at the end of the answers served to hardened accounts.

A canary is three made-up words ("kotemu ravisa dulobe"), derived from the account's watermark key by HMAC.
A model trained on answers that carry it learns to write it; a model that never saw it writes it by chance
with probability 1 in ``PHRASES`` (about 4e16) for each distinct three-word phrase of that shape it writes.
That gives a test with a stated null (``canary_test``): the suspect answers prompts, and its answers are
searched for the longest stretch of every tested account's canary, syllable by syllable (``syllable_windows``,
``longest_stretch``). A student that learned only pieces of the phrase ("(ref. kotemu rav") still gives
itself away; ``stretch_chance`` bounds how often a model that never saw the canary writes that much of it.

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
PHRASE_SYLLABLES = WORD_SYLLABLES * PHRASE_WORDS
_CANARY_WORD = re.compile(f"(?:[{CONSONANTS}][{VOWELS}]){{{WORD_SYLLABLES}}}")
_SYLLABLE_RUN = re.compile(f"(?:[{CONSONANTS}][{VOWELS}])+")
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


def phrase_syllables(phrase: str) -> tuple[str, ...]:
    letters = phrase.replace(" ", "")
    return tuple(letters[i:i + 2] for i in range(0, len(letters), 2))


def syllable_runs(text: str) -> list[tuple[str, ...]]:
    """The stretches of canary syllables (consonant, vowel) the text writes, case and punctuation ignored.

    Inside a word a stretch stops at the first letter that breaks the pattern and the next one starts where
    it resumes; a stretch that ends its word goes on into the next word if that word starts with one, so a
    phrase is one stretch however its words are split."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for word in _WORD.findall(text.lower()):
        matches = list(_SYLLABLE_RUN.finditer(word))
        if current and not (matches and matches[0].start() == 0):
            runs.append(tuple(current))
            current = []
        for match in matches:
            if current and match.start() > 0:
                runs.append(tuple(current))
                current = []
            current += [match.group()[i:i + 2] for i in range(0, len(match.group()), 2)]
            if match.end() < len(word):
                runs.append(tuple(current))
                current = []
    if current:
        runs.append(tuple(current))
    return runs


def syllable_windows(texts: Iterable[str]) -> dict[int, set[tuple[str, ...]]]:
    """length -> every distinct window of that many consecutive syllables in the texts (1 to 9)."""
    windows: dict[int, set[tuple[str, ...]]] = {k: set() for k in range(1, PHRASE_SYLLABLES + 1)}
    for text in texts:
        for run in syllable_runs(text):
            for k in range(1, min(len(run), PHRASE_SYLLABLES) + 1):
                windows[k].update(run[i:i + k] for i in range(len(run) - k + 1))
    return windows


def longest_stretch(phrase: str, windows: dict[int, set[tuple[str, ...]]]) -> int:
    """The most consecutive syllables of the phrase, in its order, that the texts wrote somewhere."""
    syllables = phrase_syllables(phrase)
    for k in range(len(syllables), 0, -1):
        if any(syllables[i:i + k] in windows[k] for i in range(len(syllables) - k + 1)):
            return k
    return 0


def stretch_chance(length: int, windows: dict[int, set[tuple[str, ...]]]) -> float:
    """An upper bound on the chance that texts which never saw a canary write ``length`` or more of its
    consecutive syllables: the canary is uniform over its space, so any given window of k syllables sits at
    one of its 10 - k places with probability at most (10 - k) / 70**k; a union over the distinct windows
    the texts wrote. The bound falls as the length grows (a window has at most 70 one-syllable extensions),
    so it is a valid p-value for the longest stretch found."""
    if length <= 0:
        return 1.0
    places = PHRASE_SYLLABLES - length + 1
    return min(1.0, len(windows[length]) * places / len(SYLLABLES) ** length)
