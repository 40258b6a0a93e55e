"""Radioactivity: does a suspect model carry our watermark because it was trained on our marked answers?

Sander et al. 2024 ("Watermarking Makes Language Models Radioactive") give the method. A model trained on
text marked with a key learns the key's preferences (for ``kgw``: after context c, the green tokens of c),
so its own choices lean the same way. A model never trained on it chooses independently of the key.

Two ways to collect the suspect's choices, each a list of (context, token) pairs:

  open (reading mode)   texts are fed through the suspect (by default the answers we served, marked: a
                        student predicts what it learned there); at each position its most likely next
                        token is the choice, and the watermark context is the text's previous tokens.
  closed                the suspect answers prompts; the tokens it writes are the choices.

Every pair is then scored with the key exactly as a text is (``watermark.schemes``), and the p-value
is exact under the null hypothesis that the suspect's choices do not depend on the key. Three rules keep
that null true; without them a clean model looks guilty:

* each distinct (context, token) pair is scored once (a repeated pair repeats its keyed value);
* pairs the suspect has seen in its input before choosing (its prompt, the text read so far) are left
  out: a model that copies from its input would otherwise copy our marked choices. The pair, not the
  whole context, is what must go: when a context of the input was followed by token t, the suspect
  choosing another token x after it tells nothing in x's favour (if anything, t was chosen over x). Tokens
  of the input it has not yet read cannot be copied, so a prediction matching them is kept;
* a *filter* may keep only contexts that occur in the answers we served (Sander et al.'s filter): that is
  where a student learned the key's preferences. Which contexts occur depends on the key only through the
  tokens chosen *into* them, never through the choices after them, so filtering by context keeps the null.
  Each account's key is scored on the contexts of the answers served to *that* account (``own contexts``):
  a key was only ever applied there, so pairs elsewhere add noise and no signal. When a campaign spreads
  its harvest over many accounts, this keeps each key's test from drowning in the other accounts' contexts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from distillshield.watermark import Scheme, TokenScore, holm

Pair = tuple[tuple[int, ...], int]


def contexts_of(texts: Iterable[Sequence[int]], width: int) -> set[tuple[int, ...]]:
    """Every context (``width`` consecutive tokens followed by one more) in the texts: the filter."""
    found: set[tuple[int, ...]] = set()
    for ids in texts:
        ids = list(ids)
        found.update(tuple(ids[i - width:i]) for i in range(width, len(ids)))
    return found


def pairs_of(ids: Sequence[int], width: int, start: int = 0) -> list[Pair]:
    """The (context, token) pairs of one text, from position ``start`` on."""
    ids = list(ids)
    return [(tuple(ids[i - width:i]), ids[i]) for i in range(max(start, width), len(ids))]


@dataclass
class PairTape:
    """Collects scored pairs: each once, none the suspect could have copied, only filtered contexts."""

    width: int
    context_filter: set[tuple[int, ...]] | None = None
    pairs: dict[Pair, None] = field(default_factory=dict)   # insertion-ordered set
    seen: int = 0                                            # choices offered, before the rules

    def _offer(self, context: tuple[int, ...], token: int, visible: set[Pair]) -> None:
        self.seen += 1
        pair = (context, int(token))
        if self.context_filter is not None and context not in self.context_filter:
            return
        if pair not in visible:
            self.pairs.setdefault(pair, None)

    def offer_generated(self, prompt_ids: Sequence[int], answer_ids: Sequence[int]) -> None:
        """Closed mode: the tokens the suspect wrote after a prompt; pairs the prompt contains are left out."""
        visible = set(pairs_of(prompt_ids, self.width))
        for context, token in pairs_of(answer_ids, self.width):
            self._offer(context, token, visible)

    def offer_predictions(self, text_ids: Sequence[int], predicted: Sequence[int],
                          prompt_ids: Sequence[int] = ()) -> None:
        """Open mode: ``predicted[i]`` is the suspect's next token after ``text_ids[:i + 1]``.

        A prediction is left out when its pair occurs in what the suspect has read so far (the prompt and
        the text before it): that is what it could copy. The text's later tokens are not visible to it, so a
        prediction that matches the next token is kept.
        """
        visible = set(pairs_of(prompt_ids, self.width))
        ids = list(text_ids)
        for i in range(self.width, len(ids) + 1):
            if i > self.width:
                visible.add((tuple(ids[i - 1 - self.width:i - 1]), ids[i - 1]))
            self._offer(tuple(ids[i - self.width:i]), predicted[i - 1], visible)

    def scored(self) -> list[Pair]:
        return list(self.pairs)


def score_pairs(pairs: list[Pair], key: bytes, scheme: Scheme) -> TokenScore:
    """The scheme's exact test on distinct pairs, as if they were one text's."""
    if not pairs:
        return TokenScore(0.0, 0, 1.0, 0.0)
    values = scheme.token_values(scheme.pair_hashes(key, pairs))
    return scheme.score(float(values.sum()), len(pairs))


def trajectory(pairs: list[Pair], key: bytes, scheme: Scheme, points: int = 24) -> list[tuple[int, float]]:
    """(tokens scored, -log10 p) after the first n pairs, at ``points`` values of n: the evidence as it grows."""
    if not pairs:
        return []
    values = scheme.token_values(scheme.pair_hashes(key, pairs)).cumsum()
    sizes = sorted({max(1, round(len(pairs) * (k + 1) / points)) for k in range(points)})
    return [(n, _minus_log10(scheme.score(float(values[n - 1]), n).p_value)) for n in sizes]


def _minus_log10(p: float) -> float:
    return -math.log10(max(p, 1e-300))


@dataclass(frozen=True)
class KeyResult:
    account: str
    version: int               # index into the master key's versions, newest first
    result: TokenScore


@dataclass(frozen=True)
class AttributionResult:
    """Every account key tested on one set of pairs; p-values Holm-adjusted over all keys tested."""
    ranked: list[tuple[str, float, TokenScore, int]]   # (account, adjusted p, raw score, key version), best first
    keys_tested: int

    @property
    def best(self) -> tuple[str, float, TokenScore, int] | None:
        return self.ranked[0] if self.ranked else None


def pairs_in(pairs: list[Pair], contexts: set[tuple[int, ...]] | None) -> list[Pair]:
    """The pairs whose context is among ``contexts`` (all of them when ``contexts`` is None)."""
    return list(pairs) if contexts is None else [pair for pair in pairs if pair[0] in contexts]


def attribute_pairs(pairs: list[Pair], keys: dict[str, list[bytes]], scheme: Scheme,
                    own_contexts: dict[str, set[tuple[int, ...]]] | None = None) -> AttributionResult:
    """Every key's exact test, Holm-adjusted over all keys tested.

    ``own_contexts`` (account -> the contexts of the answers served to it): an account found there is scored
    on the pairs in its own contexts only; any other account (one we served nothing in the data) on all pairs.
    """
    own_contexts = own_contexts or {}
    raw: dict[str, KeyResult] = {}
    for account, versions in keys.items():
        account_pairs = pairs_in(pairs, own_contexts.get(account))
        for version, key in enumerate(versions):
            raw[f"{account}\0{version}"] = KeyResult(account, version, score_pairs(account_pairs, key, scheme))
    adjusted = holm({name: item.result.p_value for name, item in raw.items()})
    best_per_account: dict[str, tuple[float, TokenScore, int]] = {}
    for name, item in raw.items():
        current = best_per_account.get(item.account)
        if current is None or (adjusted[name], item.result.p_value) < (current[0], current[1].p_value):
            best_per_account[item.account] = (adjusted[name], item.result, item.version)
    ranked = sorted(((account, *best) for account, best in best_per_account.items()),
                    key=lambda row: (row[1], row[2].p_value, -row[2].score))
    return AttributionResult(ranked, len(raw))
