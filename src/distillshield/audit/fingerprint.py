"""Black-box evidence where no watermark applies, each a test with a stated null.

* answer agreement: on prompts we served, is the suspect's answer closer to our served answer than a
  reference model's answer is? Closeness is the share of the served answer's token bigrams the answer
  repeats. One-sided Wilcoxon signed-rank test on the per-prompt differences, against each reference
  model; the reported p-value is the largest (the suspect must beat every reference: an
  intersection-union test, valid without any correction).
  Null: the suspect is no closer to our answers than the reference models are.
* identity: asked who it is, does the suspect name our model more often than the reference models do?
  One-sided Fisher exact test on the counts. Null: the suspect names our model no more often.
* canary: do the suspect's answers contain an account's canary, the keyed phrase appended to the answers
  served to hardened accounts (``watermark.canary``)? Each canary is one of ``PHRASES`` equally likely
  phrases, so a model that never saw it writes it among D distinct phrases of that shape with probability
  D / PHRASES exactly; Holm over the keys tested. Null: the suspect never saw an answer carrying the canary.
  Unlike the other two it names the account.

Neither says *why* a suspect is close (a shared base model, shared public data, distillation): that is
what the radioactivity tests answer. These say how unusual the closeness is.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from distillshield.watermark import holm
from distillshield.watermark.canary import PHRASES, candidate_phrases

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
    candidates = candidate_phrases(answers)
    chance = min(1.0, len(candidates) / PHRASES)
    raw = {f"{account}\0{version}": chance if phrase in candidates else 1.0
           for account, phrases in canaries.items() for version, phrase in enumerate(phrases)}
    adjusted = holm(raw) if raw else {}
    found: dict[str, float] = {}
    for name, p_value in adjusted.items():
        account = name.split("\0")[0]
        if raw[name] < 1.0:
            found[account] = min(p_value, found.get(account, 1.0))
    attribution = [{"account": account, "p_value": p_value, "raw_p_value": chance, "score": "its canary written"}
                   for account, p_value in sorted(found.items(), key=lambda row: row[1])]
    return FingerprintTest(
        "canary", min(adjusted.values(), default=1.0),
        "the suspect never saw an answer carrying the canaries tested: its answers are independent of the keyed phrases",
        f"{len(candidates)} distinct canary-shaped phrases in {len(answers)} answers; each account's canary is one of "
        f"{PHRASES:.3g} equally likely phrases, so it is among them by chance with probability {chance:.3g}; "
        f"Holm over {len(raw)} keys",
        {"answers": len(answers), "candidate_phrases": len(candidates), "keys_tested": len(raw),
         "attribution": attribution})


def _signed_rank(differences: list[float]) -> float:
    if not any(differences):
        return 1.0
    return float(stats.wilcoxon(differences, alternative="greater", zero_method="wilcox").pvalue)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0
