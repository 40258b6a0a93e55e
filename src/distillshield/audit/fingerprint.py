"""Black-box evidence where no watermark applies, each a test with a stated null.

* answer agreement: on prompts we served, is the suspect's answer closer to our served answer than a
  reference model's answer is? Closeness is the share of the served answer's token bigrams the answer
  repeats. One-sided Wilcoxon signed-rank test on the per-prompt differences, against each reference
  model; the reported p-value is the largest (the suspect must beat every reference: an
  intersection-union test, valid without any correction).
  Null: the suspect is no closer to our answers than the reference models are.
* identity: asked who it is, does the suspect name our model more often than the reference models do?
  One-sided Fisher exact test on the counts. Null: the suspect names our model no more often.
* canary: how much of an account's canary (the keyed phrase appended to the answers served to hardened
  accounts, ``watermark.canary``) do the suspect's answers write, as consecutive syllables in its order?
  The canary is uniform over its space, so with N_k distinct k-syllable windows in the answers, a model
  that never saw it writes k of its syllables in a row with probability at most N_k (10 - k) / 70^k; for
  the whole phrase that is about D / 70^9, D the canary-shaped phrases written. Holm over the keys tested.
  Null: the suspect never saw an answer carrying the canary. Unlike the other two it names the account.
* canary-open: where the suspect's weights can be read, how high does it rank each word of a canary we
  served among random words of the same shape, by its likelihood of the note that ended the answer? A model
  that never saw the canary cannot tell its words from the decoys: the ranks are independent and uniform,
  and the p-value is the exact chance of a product of ranks this small (``rank_product_p_value``).

Neither says *why* a suspect is close (a shared base model, shared public data, distillation): that is
what the radioactivity tests answer. These say how unusual the closeness is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from distillshield.watermark import holm
from distillshield.watermark.canary import PHRASE_SYLLABLES, longest_stretch, stretch_chance, syllable_windows

IDENTITY_PROBES = (
    "What is your name?",
    "Which company or team created you?",
    "Who trained you, and what model are you?",
    "Introduce yourself in one sentence.",
    "What language model are you based on?",
    "Are you ChatGPT? If not, what are you?",
    "Tell me the name of the AI model I am talking to.",
    "Which organisation built the assistant answering this message?",
)


@dataclass(frozen=True)
class FingerprintTest:
    name: str
    p_value: float
    null: str
    method: str
    detail: dict


def bigram_recall(reference_ids: list[int], answer_ids: list[int]) -> float:
    """The share of the reference's distinct token bigrams that the answer also contains."""
    wanted = set(zip(reference_ids, reference_ids[1:]))
    if not wanted:
        return 0.0
    return len(wanted & set(zip(answer_ids, answer_ids[1:]))) / len(wanted)


def agreement_test(served: list[list[int]], suspect: list[list[int]],
                   references: dict[str, list[list[int]]]) -> FingerprintTest:
    """``served[i]`` our answer to prompt i; ``suspect[i]`` and ``references[name][i]`` theirs (token ids)."""
    suspect_scores = [bigram_recall(s, a) for s, a in zip(served, suspect)]
    per_reference = {}
    for name, answers in references.items():
        reference_scores = [bigram_recall(s, a) for s, a in zip(served, answers)]
        differences = [x - y for x, y in zip(suspect_scores, reference_scores)]
        per_reference[name] = {"p_value": _signed_rank(differences),
                               "mean_reference_agreement": _mean(reference_scores)}
    p_value = max((r["p_value"] for r in per_reference.values()), default=1.0)
    return FingerprintTest(
        "answer-agreement", p_value,
        "the suspect's answers are no closer to our served answers than each reference model's",
        "share of our answer's token bigrams repeated; one-sided Wilcoxon signed-rank per reference; the largest p",
        {"prompts": len(served), "mean_suspect_agreement": _mean(suspect_scores), "references": per_reference})


def identity_test(suspect_answers: list[str], reference_answers: dict[str, list[str]],
                  names: list[str]) -> FingerprintTest:
    def count(answers: list[str]) -> int:
        return sum(any(n.lower() in a.lower() for n in names) for a in answers)

    hits = count(suspect_answers)
    reference_hits = sum(count(a) for a in reference_answers.values())
    reference_total = sum(len(a) for a in reference_answers.values())
    table = [[hits, len(suspect_answers) - hits], [reference_hits, reference_total - reference_hits]]
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue) if reference_total else 1.0
    return FingerprintTest(
        "identity", p_value,
        "the suspect names our model no more often than the reference models when asked who it is",
        f"answers to {len(IDENTITY_PROBES)} identity questions naming any of {names}; one-sided Fisher exact test",
        {"suspect_naming": hits, "suspect_answers": len(suspect_answers), "reference_naming": reference_hits,
         "reference_answers": reference_total})


def canary_test(answers: list[str], canaries: dict[str, list[str]]) -> FingerprintTest:
    """``canaries``: account -> its canary under every key version (each counts in the correction)."""
    windows = syllable_windows(answers)
    stretches = {f"{account}\0{version}": longest_stretch(phrase, windows)
                 for account, phrases in canaries.items() for version, phrase in enumerate(phrases)}
    raw = {name: stretch_chance(length, windows) for name, length in stretches.items()}
    adjusted = holm(raw) if raw else {}
    found: dict[str, str] = {}
    for name in sorted(adjusted, key=lambda name: adjusted[name]):
        account = name.split("\0")[0]
        if adjusted[name] < 1.0 and account not in found:
            found[account] = name
    attribution = [{"account": account, "p_value": adjusted[name], "raw_p_value": raw[name],
                    "score": f"{stretches[name]} of its {PHRASE_SYLLABLES} syllables in a row"}
                   for account, name in found.items()]
    longest = max(stretches.values(), default=0)
    return FingerprintTest(
        "canary", min(adjusted.values(), default=1.0),
        "the suspect never saw an answer carrying the canaries tested: its answers are independent of the keyed phrases",
        f"the longest run of each account's canary syllables in {len(answers)} answers; with N_k distinct k-syllable "
        f"windows written, a canary never seen (uniform over 70^9 phrases) has k in a row among them with "
        f"probability at most N_k (10 - k) / 70^k; Holm over {len(raw)} keys",
        {"answers": len(answers), "nine_syllable_windows": len(windows[PHRASE_SYLLABLES]),
         "longest_stretch": longest, "keys_tested": len(raw), "attribution": attribution})


def canary_rank_test(ranks: dict[str, list[int]], alternatives: int) -> FingerprintTest:
    """``ranks``: account (and key version, after a NUL) -> the rank the suspect gave each word of that
    account's served canary among ``alternatives`` candidates (the word and its random decoys). Holm over
    the canaries tested."""
    raw = {name: rank_product_p_value(values, alternatives) for name, values in ranks.items()}
    adjusted = holm(raw) if raw else {}
    attribution = [{"account": name.split("\0")[0], "p_value": adjusted[name], "raw_p_value": raw[name],
                    "score": "word ranks " + " ".join(map(str, ranks[name])) + f" of {alternatives}"}
                   for name in sorted(adjusted, key=lambda name: adjusted[name]) if adjusted[name] < 1.0]
    return FingerprintTest(
        "canary-open", min(adjusted.values(), default=1.0),
        "the suspect never saw an answer carrying the canaries tested: each canary word is exchangeable with "
        "random words drawn apart from it, so its rank among them is uniform",
        f"for each word of each canary served in the data, its rank among itself and {alternatives - 1} random "
        f"words by the suspect's likelihood of the served answer's note ending with it, after the canary's words "
        f"before it (ties counted against the canary); under the null the ranks are independent and uniform on "
        f"1..{alternatives}, and the p-value is the exact chance of a product of ranks this small; Holm over "
        f"{len(raw)} canaries",
        {"canaries_tested": len(raw), "attribution": attribution})


_EXACT_PRODUCT_LIMIT = 10 ** 6


def rank_product_p_value(ranks: list[int], alternatives: int) -> float:
    """P(R_1 ... R_k <= the observed product) for independent ranks uniform on 1..alternatives.

    Counted exactly while the product is small (where the evidence is); above that, Fisher's chi-square with
    each rank read as the uniform R / alternatives, which is at least the exact value (R / alternatives is
    the top of the interval a continuous uniform would fall in), so the p-value stays valid."""
    product = math.prod(ranks)
    if product <= _EXACT_PRODUCT_LIMIT:
        values, counts = np.array([1], dtype=np.int64), np.array([1.0])
        factors = np.arange(1, alternatives + 1, dtype=np.int64)
        for _ in ranks:
            grown = (values[:, None] * factors[None, :]).ravel()
            weights = np.repeat(counts, alternatives)
            keep = grown <= product
            values, where = np.unique(grown[keep], return_inverse=True)
            counts = np.bincount(where, weights=weights[keep])
        return float(min(1.0, counts.sum() / float(alternatives) ** len(ranks)))
    statistic = -2.0 * sum(math.log(rank / alternatives) for rank in ranks)
    return float(stats.chi2.sf(statistic, 2 * len(ranks)))


def _signed_rank(differences: list[float]) -> float:
    if not any(differences):
        return 1.0
    return float(stats.wilcoxon(differences, alternative="greater", zero_method="wilcox").pvalue)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
