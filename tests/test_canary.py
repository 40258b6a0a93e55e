"""Canaries: the keyed phrase is uniform over its space (the exact null rests on that), found however the text
is cased or punctuated, and the audit's canary test names the account whose canary a suspect writes."""

from __future__ import annotations

import random
import zlib
from collections import Counter

import numpy as np
import pytest
from scipy import stats

from distillshield.audit import AuditConfig, Sampling, run_audit, write_report
from distillshield.audit.fingerprint import canary_test, rank_product_p_value
from distillshield.audit.evidence import Served, ServedData
from distillshield.watermark import KGW, account_key
from distillshield.watermark.canary import (PHRASES, SYLLABLES, canary_phrase, canary_suffix, candidate_phrases,
                                            longest_stretch, stretch_chance, syllable_runs, syllable_windows)

MASTER = b"c" * 32


def test_canary_syllables_are_uniform_and_phrases_differ_between_accounts():
    phrases = [canary_phrase(account_key(MASTER, f"acct-{i}")) for i in range(7000)]
    assert len(set(phrases)) == len(phrases)
    for position in (0, 4, 8):          # first, middle and last syllable of the phrase
        counts = Counter(phrase.replace(" ", "")[2 * position:2 * position + 2] for phrase in phrases)
        assert set(counts) <= set(SYLLABLES)
        assert stats.chisquare([counts.get(s, 0) for s in SYLLABLES]).pvalue > 1e-3
    assert canary_phrase(account_key(MASTER, "acct-1")) == phrases[1]           # the same key, the same phrase


def test_candidates_are_found_through_case_punctuation_and_line_breaks():
    phrase = canary_phrase(account_key(MASTER, "someone"))
    loud = "Answer.\n\n(REF. " + phrase.upper().replace(" ", ",\n") + ")"
    assert phrase in candidate_phrases([loud])
    assert candidate_phrases(["the quick brown fox", phrase.split()[0] + " and " + phrase]) == {phrase}
    assert candidate_phrases(["", "kotemu ravisa"]) == set()


def test_syllable_runs_follow_the_phrase_through_word_breaks_and_stop_where_the_pattern_breaks():
    assert syllable_runs("(ref. Kotemu RAVISA, dulobe)") == [("re",), ("ko", "te", "mu", "ra", "vi", "sa", "du", "lo", "be")]
    assert syllable_runs("kotmuravi sa.") == [("ko",), ("mu", "ra", "vi", "sa")]
    assert syllable_runs("") == [] and syllable_runs("strength 42") == [("re",)] and syllable_runs("xyz 42") == []
    windows = syllable_windows(["x kotemu ra"])
    assert longest_stretch("kotemu ravisa dulobe", windows) == 4
    assert longest_stretch("bababa bababa bababa", windows) == 0 and stretch_chance(0, windows) == 1.0


def test_the_stretch_bound_holds_its_false_positive_rate_on_text_full_of_canary_syllables():
    """3,000 accounts' canaries against answers that write 300 other random canary-shaped phrases (2,100
    three-syllable windows): a canary never seen shares 3 syllables in a row with them about 4% of the time,
    so the bound is nearly tight here; every level's rate must stay at or below it (3 standard errors)."""
    rng = random.Random(0)
    texts = [" ".join("".join(rng.choice(SYLLABLES) for _ in range(3)) for _ in range(3)) for _ in range(300)]
    windows = syllable_windows(texts)
    p_values = [stretch_chance(longest_stretch(canary_phrase(account_key(MASTER, f"n{i}")), windows), windows)
                for i in range(3000)]
    for alpha in (0.001, 0.01, 0.05, 0.2):
        rate = sum(p <= alpha for p in p_values) / len(p_values)
        assert rate <= alpha + 3 * (alpha * (1 - alpha) / len(p_values)) ** 0.5
    assert 0.02 < sum(p < 1 for p in p_values) / len(p_values) < 0.06     # the 3-syllable level is reached


def test_a_clean_writer_of_canary_shaped_words_is_not_accused():
    """2,000 random canary-shaped phrases and 200 keys: no account is named at 1e-3."""
    rng = random.Random(0)
    texts = [" ".join("".join(rng.choice(SYLLABLES) for _ in range(3)) for _ in range(3)) for _ in range(2000)]
    result = canary_test(texts, {f"a{i}": [canary_phrase(account_key(MASTER, f"a{i}"))] for i in range(200)})
    assert result.detail["nine_syllable_windows"] == 2000 and result.p_value > 0.01
    assert all(row["p_value"] > 1e-3 for row in result.detail["attribution"])


def test_a_student_that_writes_only_part_of_the_canary_is_named():
    """Five of the nine syllables, written in 3 of 60 answers, among 120 keys."""
    keys = {f"acct-{i:03d}": [account_key(MASTER, f"acct-{i:03d}")] for i in range(120)}
    phrase = canary_phrase(keys["acct-042"][0])
    fragment = phrase.replace(" ", "")[:10]
    answers = [f"The answer to question {i} is {i * 7}." for i in range(57)]
    answers += [f"Answer {i}.\n\n(ref. {fragment[:6]} {fragment[6:]}" for i in range(3)]
    result = canary_test(answers, {account: [canary_phrase(k) for k in versions] for account, versions in keys.items()})
    named = result.detail["attribution"][0]
    assert named["account"] == "acct-042" and named["score"].startswith("5 of its 9") and result.p_value < 1e-5
    assert [row["account"] for row in result.detail["attribution"] if row["p_value"] <= 1e-3] == ["acct-042"]


class Memorizer:
    """A closed suspect that answers each prompt with the answer it was trained on (canary and all)."""

    name = "memorizer"

    def __init__(self, answers: dict[str, str]):
        self.answers = answers

    def describe(self) -> dict:
        return {"kind": "test memorizer"}

    def reads_our_tokens(self) -> bool:
        return False

    def answer(self, prompts, sampling: Sampling):
        return [self.answers.get(p[-1]["content"], "I do not know.") for p in prompts]


@pytest.mark.slow
def test_the_audit_names_the_account_whose_canary_the_suspect_writes(tmp_path):
    keys = {f"acct-{i:03d}": [account_key(MASTER, f"acct-{i:03d}")] for i in range(120)}
    harvester = "acct-007"
    suffix = canary_suffix(canary_phrase(keys[harvester][0]))
    items = [Served(harvester, [{"role": "user", "content": f"Question {i}?"}], f"Answer number {i}." + suffix)
             for i in range(30)]
    served = ServedData(path="served.jsonl", sha256="0" * 64, items=items, bad_lines=0)
    config = AuditConfig(modes=["closed"], prompts=30, sampling=Sampling(max_tokens=40))
    tokenizer = lambda text, add_special_tokens=False: {"input_ids": [len(w) for w in text.split()]}  # noqa: E731
    copycat = Memorizer({item.messages[-1]["content"]: item.answer for item in items})
    verdict = run_audit(copycat, keys=keys, scheme=KGW(), tokenizer=tokenizer, served=served, config=config,
                        say=lambda _: None)
    canary = next(t for t in verdict["tests"] if t["name"] == "canary")
    assert canary["p_value"] <= 120 / PHRASES and canary["attribution"][0]["account"] == harvester
    assert verdict["attributed_accounts"][0]["account"] == harvester
    _, report = write_report(verdict, tmp_path)
    assert "9 of its 9 syllables in a row" in report.read_text() and (tmp_path / "report.pdf").exists()
    honest = run_audit(Memorizer({}), keys=keys, scheme=KGW(), tokenizer=tokenizer, served=served, config=config,
                       say=lambda _: None)
    assert next(t for t in honest["tests"] if t["name"] == "canary")["p_value"] == 1.0


def test_the_prompts_whose_answers_carried_a_canary_are_asked_as_canary_prompts():
    """Three of 40 answers carried the canary (the account was hardened late); closed mode asks 4 random
    served prompts, and the canary test also asks those three, so the memorizer's canary is found."""
    keys = {f"acct-{i:03d}": [account_key(MASTER, f"acct-{i:03d}")] for i in range(100)}
    suffix = canary_suffix(canary_phrase(keys["acct-003"][0]))
    items = [Served("acct-003", [{"role": "user", "content": f"Question {i}?"}],
                    f"Answer number {i}." + (suffix if i >= 37 else "")) for i in range(40)]
    served = ServedData(path="served.jsonl", sha256="0" * 64, items=items, bad_lines=0)
    tokenizer = lambda text, add_special_tokens=False: {"input_ids": [len(w) for w in text.split()]}  # noqa: E731
    copycat = Memorizer({item.messages[-1]["content"]: item.answer for item in items})
    config = AuditConfig(modes=["closed"], prompts=4, seed=1, sampling=Sampling(max_tokens=40))
    canary = next(t for t in run_audit(copycat, keys=keys, scheme=KGW(), tokenizer=tokenizer, served=served,
                                       config=config, say=lambda _: None)["tests"] if t["name"] == "canary")
    assert canary["canary_prompts"] == 3 and canary["answers"] == 4 + 3
    assert canary["attribution"][0]["account"] == "acct-003" and canary["p_value"] < 1e-12


# the open canary test: the suspect's likelihood ranks each canary word among random words -----------------

def _product_count_brute(ranks: list[int], alternatives: int) -> float:
    """P(R1 R2 R3 R4 <= product) by counting pairs of pair-products."""
    r = np.arange(1, alternatives + 1)
    pairs = np.sort(np.outer(r, r).ravel())
    product = int(np.prod(ranks))
    return float(np.searchsorted(pairs, product // pairs, side="right").sum() / alternatives ** 4)


@pytest.mark.parametrize("ranks", [[1, 1, 1, 1], [1, 2, 3, 4], [7, 1, 70, 2], [10, 20, 30, 40], [40, 40, 40, 40],
                                   [70, 70, 70, 70]])
def test_the_rank_product_p_value_is_exact_when_small_and_never_below_exact_when_large(ranks):
    exact = _product_count_brute(ranks, 70)
    p_value = rank_product_p_value(ranks, 70)
    if np.prod(ranks) <= 10 ** 6:
        assert p_value == pytest.approx(exact, rel=1e-12)
    else:                           # the chi-square bound above the exact range: valid, so at least the exact value
        assert exact <= p_value <= 1.0


def _word_ids(text, add_special_tokens=False):
    return {"input_ids": [zlib.crc32(word.encode()) % 50000 for word in text.replace("(", " ( ").split()]}


class ReadingSuspect:
    """An open suspect whose likelihood of a note is keyed noise, plus a bonus for the words it memorised."""

    name = "reader"

    def __init__(self, memorised: set[str] = frozenset(), bonus: float = 5.0):
        self.memorised = {zlib.crc32(word.encode()) % 50000 for word in memorised}
        self.bonus = bonus

    def describe(self) -> dict:
        return {"kind": "test reader"}

    def reads_our_tokens(self) -> bool:
        return True

    def predict(self, items):
        return [[0] * len(ids) for _, ids in items]

    def answer(self, prompts, sampling):
        return ["I do not know."] * len(prompts)

    def continuation_logprobs(self, messages, prefix, continuations):
        return [random.Random(hash((tuple(prefix[-3:]), tuple(c)))).random() + self.bonus * (c[-1] in self.memorised)
                for c in continuations]


def _served_with_canaries(keys: dict, accounts: list[str], answers: int = 3) -> ServedData:
    items = [Served(account, [{"role": "user", "content": f"Question {i} from {account}?"}],
                    f"Answer {i}." + canary_suffix(canary_phrase(keys[account][0])))
             for account in accounts for i in range(answers)]
    return ServedData(path="served.jsonl", sha256="0" * 64, items=items, bad_lines=0)


def test_the_open_canary_test_names_the_account_whose_canary_words_the_suspect_prefers():
    keys = {f"acct-{i:03d}": [account_key(MASTER, f"acct-{i:03d}")] for i in range(100)}
    served = _served_with_canaries(keys, ["acct-003", "acct-050"])
    config = AuditConfig(modes=["open"], sampling=Sampling(max_tokens=20))
    student = ReadingSuspect(set(canary_phrase(keys["acct-050"][0]).split()))
    verdict = run_audit(student, keys=keys, scheme=KGW(), tokenizer=_word_ids, served=served, config=config,
                        say=lambda _: None)
    test = next(t for t in verdict["tests"] if t["name"] == "canary-open")
    assert test["canaries_tested"] == 2                      # only the canaries served, not the 100 keys'
    named = test["attribution"][0]
    assert named["account"] == "acct-050" and named["score"] == "word ranks 1 1 1 of 70"
    assert test["p_value"] == pytest.approx(2 / 70 ** 3)     # Holm over the two canaries served
    clean = run_audit(ReadingSuspect(), keys=keys, scheme=KGW(), tokenizer=_word_ids, served=served, config=config,
                      say=lambda _: None)
    assert next(t for t in clean["tests"] if t["name"] == "canary-open")["p_value"] > 1e-3
    unserved = ServedData(path="s", sha256="0" * 64, items=[Served("acct-003", [{"role": "user", "content": "Hi?"}],
                                                                   "Hello.")], bad_lines=0)
    assert not [t for t in run_audit(student, keys=keys, scheme=KGW(), tokenizer=_word_ids, served=unserved,
                                     config=config, say=lambda _: None)["tests"] if t["name"].startswith("canary")]


@pytest.mark.slow
def test_open_canary_p_values_hold_their_level_for_suspects_that_never_saw_the_canaries():
    """400 canaries, each read by a suspect whose likelihoods are noise independent of it."""
    from distillshield.audit.run import CANARY_DECOYS, _decoy_words, _word_ranks

    keys = {f"n{i}": [account_key(MASTER, f"n{i}")] for i in range(400)}
    served = _served_with_canaries(keys, list(keys), answers=1)
    decoys = _decoy_words(0)
    p_values = [rank_product_p_value(_word_ranks(ReadingSuspect(), canary_phrase(keys[item.account][0]), [item],
                                                 _word_ids, decoys), CANARY_DECOYS + 1) for item in served.items]
    for alpha in (0.01, 0.05, 0.2, 0.5):
        assert sum(p <= alpha for p in p_values) / len(p_values) <= alpha + 3 * (alpha * (1 - alpha) / 400) ** 0.5
    assert stats.kstest(p_values, "uniform").pvalue > 1e-3    # near uniform: ties are rare, the bound is tight
