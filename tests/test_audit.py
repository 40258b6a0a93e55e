"""The audit: radioactivity p-values hold their null on clean models, find a model trained on marked text,
name the account that harvested it, and the verdict and report are written.

The world here is a bigram language model over 400 tokens (a "teacher"), marked with ``kgw`` as the
gateway marks answers. A "student" is the bigram model counted from what it was given: the simplest model
that learns from text, and the one a context-1 mark is most exposed to.
"""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from scipy import stats

from distillshield.audit import (
    AuditConfig, PairTape, ReadingText, Sampling, attribute_pairs, contexts_of, pairs_in, read_reading_texts,
    read_served, run_audit, score_pairs, write_report,
)
from distillshield.audit.fingerprint import agreement_test, bigram_recall, identity_test
from distillshield.errors import ConfigError
from distillshield.records import Exchange, format_ts, new_exchange_id, write_exchanges
from distillshield.watermark import KGW, MasterKey, account_key

VOCAB = 400
SCHEME = KGW()


class WordTokenizer:
    """Token ids written as words: "12 7 301" is [12, 7, 301]."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict:
        return {"input_ids": [int(word) for word in text.split() if word.isdigit()]}


TOKENIZER = WordTokenizer()


def teacher(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).dirichlet(np.full(VOCAB, 0.08), size=VOCAB)


def green_bias(key: bytes) -> np.ndarray:
    return np.stack([np.where(SCHEME.token_values(SCHEME.vocab_hashes(key, (c,), VOCAB)) > 0, SCHEME.delta, 0.0)
                     for c in range(VOCAB)])


def write(probs: np.ndarray, rng, count: int, length: int, bias: np.ndarray | None = None,
          starts: list[int] | None = None) -> list[list[int]]:
    logits = np.log(probs + 1e-12) + (0.0 if bias is None else bias)
    weights = np.exp(logits - logits.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    texts = []
    for i in range(count):
        ids = [int(starts[i]) if starts else int(rng.integers(VOCAB))]
        for _ in range(length):
            ids.append(int(rng.choice(VOCAB, p=weights[ids[-1]])))
        texts.append(ids)
    return texts


def words(ids) -> str:
    return " ".join(map(str, ids))


class BigramSuspect:
    """Predicts and writes from a bigram table; ``learned_from`` texts make a student, none the teacher."""

    name = "bigram"

    def __init__(self, probs: np.ndarray | None = None, learned_from: list[list[int]] | None = None):
        if learned_from is not None:
            counts = np.full((VOCAB, VOCAB), 0.01)
            for ids in learned_from:
                np.add.at(counts, (ids[:-1], ids[1:]), 1.0)
            probs = counts / counts.sum(1, keepdims=True)
        self.probs = probs

    def describe(self) -> dict:
        return {"kind": "test bigram model"}

    def reads_our_tokens(self) -> bool:
        return True

    def predict(self, items):
        return [[int(self.probs[t].argmax()) for t in ids] for _, ids in items]

    def answer(self, prompts, sampling: Sampling):
        rng = np.random.default_rng(sampling.seed)
        starts = [TOKENIZER(m[-1]["content"])["input_ids"][-1] for m in prompts]
        scaled = self.probs ** (1 / sampling.temperature)
        return [words(ids[1:]) for ids in write(scaled / scaled.sum(1, keepdims=True), rng, len(prompts),
                                                sampling.max_tokens, starts=starts)]


def served_file(path, texts: list[list[int]], account: str, prompts: list[list[int]]):
    records = [Exchange(id=new_exchange_id(), ts=format_ts(1.7e9 + i), account=account, endpoint="/v1/chat/completions",
                        request={"messages": [{"role": "user", "content": words(p)}]},
                        response={"choices": [{"message": {"role": "assistant", "content": words(t)}}]}, status=200)
               for i, (t, p) in enumerate(zip(texts, prompts))]
    with open(path, "wb") as handle:
        write_exchanges(handle, records)
    return read_served(path)


# -- the null: models never trained on marked text ---------------------------------------------------------
@pytest.mark.slow
def test_closed_mode_p_values_are_uniform_for_the_untouched_teacher_with_the_true_key():
    """150 worlds, each with its own key: the teacher served marked answers (which set the filter), then
    the *unmarked* teacher is the suspect. Its choices resemble the marked answers (same model), yet the
    p-values are uniform: the filter selects contexts, never the marked choices after them."""
    probs, rng = teacher(), np.random.default_rng(1)
    p_values = []
    for world in range(150):
        key = account_key(b"m" * 32, f"acct-{world}")
        marked = write(probs, rng, 20, 30, green_bias(key))
        tape = PairTape(1, contexts_of(marked, 1))
        for answer in write(probs, rng, 20, 30, starts=[t[0] for t in marked]):
            tape.offer_generated([answer[0]], answer[1:])
        result = score_pairs(tape.scored(), key, SCHEME)
        p_values.append(SCHEME.randomized_p_value(result.statistic, result.tokens_scored, rng.random()))
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert sum(p <= 0.05 for p in p_values) <= stats.binom.ppf(0.999, 150, 0.05)


@pytest.mark.slow
def test_each_key_on_its_own_accounts_contexts_keeps_the_null_for_a_campaign_of_many_accounts():
    """100 worlds of 4 accounts, each served marked answers with its own key; the untouched teacher answers.
    Each key is scored on the pairs in the contexts of its own account's answers, and the pooled test sums
    the four: both are uniform, though which contexts each key gets depends on that key's answers."""
    probs, rng = teacher(10), np.random.default_rng(11)
    per_key, pooled = [], []
    for world in range(100):
        keys = [account_key(b"c" * 32, f"w{world}-acct-{i}") for i in range(4)]
        own = [contexts_of(write(probs, rng, 6, 25, green_bias(key)), 1) for key in keys]
        tape = PairTape(1, set().union(*own))
        for answer in write(probs, rng, 30, 25):
            tape.offer_generated([answer[0]], answer[1:])
        scores = [score_pairs(pairs_in(tape.scored(), contexts), key, SCHEME) for key, contexts in zip(keys, own)]
        assert all(score.tokens_scored <= len(tape.scored()) for score in scores)
        per_key += [SCHEME.randomized_p_value(s.statistic, s.tokens_scored, rng.random()) for s in scores]
        pooled.append(SCHEME.randomized_p_value(sum(s.statistic for s in scores),
                                                sum(s.tokens_scored for s in scores), rng.random()))
    assert stats.kstest(per_key, "uniform").pvalue > 0.01
    assert stats.kstest(pooled, "uniform").pvalue > 0.01


class CopyingSuspect(BigramSuspect):
    """A clean model that copies, as language models' induction heads do: after a token seen earlier in its
    input it predicts what followed it there."""

    def predict(self, items):
        out = []
        for _, ids in items:
            last_next, predicted = {}, []
            for i, token in enumerate(ids):
                if i:
                    last_next[ids[i - 1]] = token
                predicted.append(last_next.get(token, int(self.probs[token].argmax())))
            out.append(predicted)
        return out


@pytest.mark.slow
def test_open_mode_leaving_out_the_input_pairs_keeps_a_clean_model_innocent():
    """A clean model that copies reads answers marked with the key. Its predictions often *are* marked
    choices of its input, so scoring them would make it look guilty; leaving out the pairs present in its
    input keeps the test valid (conservative). The same data without that rule shows the failure."""
    probs, rng = teacher(2), np.random.default_rng(3)
    kept, naive = [], []
    suspect = CopyingSuspect(probs)
    for world in range(120):
        key = account_key(b"o" * 32, f"acct-{world}")
        marked = write(probs, rng, 20, 30, green_bias(key))
        predictions = suspect.predict([([], ids) for ids in marked])
        tape, careless = PairTape(1), PairTape(1)
        for ids, predicted in zip(marked, predictions):
            tape.offer_predictions(ids, predicted)
            for i in range(1, len(ids) + 1):
                careless._offer((ids[i - 1],), predicted[i - 1], set())
        for target, pairs in ((kept, tape.scored()), (naive, careless.scored())):
            result = score_pairs(pairs, key, SCHEME)
            target.append(SCHEME.randomized_p_value(result.statistic, result.tokens_scored, rng.random()))
    # never more small p-values than uniform would give (one-sided: the test may be conservative)
    assert stats.kstest(kept, "uniform", alternative="greater").pvalue > 0.01
    assert stats.kstest(naive, "uniform", alternative="greater").pvalue < 1e-6


@pytest.mark.slow
def test_open_mode_reading_the_marked_answers_keeps_the_null_for_the_untouched_teacher():
    """Open mode reads the answers we served, marked with the key. The untouched teacher predicts their next
    tokens as the marked teacher chose them, often the same token, yet its prediction depends only on what it
    has read, so the key's value of (context, prediction) is a fresh draw: 400 worlds, uniform p-values."""
    probs, rng = teacher(12), np.random.default_rng(14)
    suspect, p_values = BigramSuspect(probs), []
    for world in range(400):
        key = account_key(b"s" * 32, f"w{world}")
        served = write(probs, rng, 6, 25, green_bias(key))
        tape = PairTape(1, contexts_of(served, 1))
        for ids, predicted in zip(served, suspect.predict([([], t) for t in served])):
            tape.offer_predictions(ids, predicted)
        result = score_pairs(tape.scored(), key, SCHEME)
        p_values.append(SCHEME.randomized_p_value(result.statistic, result.tokens_scored, rng.random()))
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    assert sum(p <= 0.05 for p in p_values) <= stats.binom.ppf(0.999, 400, 0.05)


def test_wrong_keys_give_uniform_p_values_on_a_trained_student():
    probs, rng = teacher(4), np.random.default_rng(5)
    key = account_key(b"w" * 32, "harvester")
    marked = write(probs, rng, 150, 40, green_bias(key))
    student = BigramSuspect(learned_from=marked)
    tape = PairTape(1, contexts_of(marked, 1))
    reading = write(probs, rng, 40, 40)
    for ids, predicted in zip(reading, student.predict([([], t) for t in reading])):
        tape.offer_predictions(ids, predicted)
    pairs = tape.scored()
    p_values, statistics = [], []
    for index in range(200):
        wrong = account_key(b"w" * 32, f"someone-else-{index}")
        result = score_pairs(pairs, wrong, SCHEME)
        statistics.append(result.statistic)
        p_values.append(SCHEME.randomized_p_value(result.statistic, result.tokens_scored, rng.random()))
    assert stats.kstest(p_values, "uniform").pvalue > 0.01
    # the pooled test over groups of 4 wrong keys: Binomial(4n, gamma) exactly
    pooled = [SCHEME.randomized_p_value(sum(statistics[i:i + 4]), 4 * len(pairs), rng.random()) for i in range(0, 200, 4)]
    assert stats.kstest(pooled, "uniform").pvalue > 0.01
    assert score_pairs(pairs, key, SCHEME).p_value < 1e-6          # and the right key is found in the same pairs


# -- power and attribution ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audit")
    probs, rng = teacher(6), np.random.default_rng(7)
    keys = {f"acct-{i:03d}": [account_key(b"k" * 32, f"acct-{i:03d}")] for i in range(120)}
    harvester = "acct-042"
    prompts = [[int(rng.integers(VOCAB)) for _ in range(6)] for _ in range(200)]
    marked = write(probs, rng, 200, 40, green_bias(keys[harvester][0]), starts=[p[-1] for p in prompts])
    served = served_file(folder / "served.jsonl", [t[1:] for t in marked], harvester, prompts)
    unmarked = write(probs, rng, 60, 40)
    reading = [ReadingText([], words(ids)) for ids in unmarked]
    return {"folder": folder, "probs": probs, "keys": keys, "harvester": harvester, "served": served,
            "marked": marked, "reading": reading}


def test_a_student_of_the_harvest_is_caught_in_both_modes_and_the_harvester_named_first(world):
    student = BigramSuspect(learned_from=world["marked"])
    config = AuditConfig(prompts=60, reading=60, sampling=Sampling(max_tokens=40))
    verdict = run_audit(student, keys=world["keys"], scheme=SCHEME, tokenizer=TOKENIZER, served=world["served"],
                        config=config, reading=world["reading"], say=lambda _: None)
    tests = {t["name"]: t for t in verdict["tests"]}
    assert set(tests) == {"radioactivity-open", "radioactivity-closed", "canary"}
    assert tests.pop("canary")["p_value"] == 1.0                   # the harvest carried no canary
    for test in tests.values():
        assert test["p_value"] < 1e-6, test
        assert test["attribution"][0]["account"] == world["harvester"]
        assert test["attribution"][1]["p_value"] > 1e-3           # no other account is implicated
    assert verdict["attributed_accounts"][0]["account"] == world["harvester"]
    assert verdict["combined_p_value"] < 1e-6 and verdict["accounts_tested"] == 120


@pytest.mark.slow
def test_a_campaign_split_over_many_keys_is_caught_by_the_pooled_test(tmp_path):
    """Eight accounts, eight keys, 25 answers each: the pooled test sums the evidence of all of them."""
    probs, rng = teacher(8), np.random.default_rng(9)
    keys = {f"atk-{i}": [account_key(b"p" * 32, f"atk-{i}")] for i in range(8)}
    keys |= {f"decoy-{i}": [account_key(b"p" * 32, f"decoy-{i}")] for i in range(100)}
    texts, prompts, owners = [], [], []
    for i in range(8):
        starts = [int(rng.integers(VOCAB)) for _ in range(25)]
        texts += write(probs, rng, 25, 40, green_bias(keys[f"atk-{i}"][0]), starts=starts)
        prompts += [[s] for s in starts]
        owners += [f"atk-{i}"] * 25
    records = [Exchange(id=new_exchange_id(), ts=format_ts(1.7e9 + j), account=owner, endpoint="/v1/chat/completions",
                        request={"messages": [{"role": "user", "content": words(p)}]},
                        response={"choices": [{"message": {"content": words(t[1:])}}]}, status=200)
               for j, (t, p, owner) in enumerate(zip(texts, prompts, owners))]
    with open(tmp_path / "served.jsonl", "wb") as handle:
        write_exchanges(handle, records)
    served = read_served(tmp_path / "served.jsonl")
    reading = [ReadingText([], words(ids)) for ids in write(probs, rng, 60, 40)]
    config = AuditConfig(prompts=60, reading=60, sampling=Sampling(max_tokens=40))
    tests = {t["name"]: t for t in run_audit(BigramSuspect(learned_from=texts), keys=keys, scheme=SCHEME,
                                             tokenizer=TOKENIZER, served=served, config=config, reading=reading,
                                             say=lambda _: None)["tests"]}
    pooled = tests["radioactivity-closed-pooled"]
    assert pooled["accounts"] == sorted(f"atk-{i}" for i in range(8))
    assert pooled["p_value"] < 1e-6 and pooled["p_value"] < tests["radioactivity-closed"]["p_value"]
    clean = {t["name"]: t for t in run_audit(BigramSuspect(probs), keys=keys, scheme=SCHEME, tokenizer=TOKENIZER,
                                             served=served, config=config, reading=reading,
                                             say=lambda _: None)["tests"]}
    assert clean["radioactivity-closed-pooled"]["p_value"] > 1e-3 and clean["radioactivity-open-pooled"]["p_value"] > 1e-3


class MemorizingSuspect(BigramSuspect):
    """A student that remembers long contexts, as a trained transformer does: after the longest recent stretch
    (up to 6 tokens) it saw in training, it predicts the token that most often followed; else the bigram."""

    def __init__(self, learned_from: list[list[int]]):
        super().__init__(learned_from=learned_from)
        self.followers: dict[tuple[int, ...], dict[int, int]] = {}
        for ids in learned_from:
            for i in range(1, len(ids)):
                for width in range(2, 7):
                    if i >= width:
                        seen = self.followers.setdefault(tuple(ids[i - width:i]), {})
                        seen[ids[i]] = seen.get(ids[i], 0) + 1

    def predict(self, items):
        return [[self._next(ids[:i + 1]) for i in range(len(ids))] for _, ids in items]

    def _next(self, prefix: list[int]) -> int:
        for width in range(min(6, len(prefix)), 1, -1):
            if (seen := self.followers.get(tuple(prefix[-width:]))) is not None:
                return max(seen, key=seen.get)
        return int(self.probs[prefix[-1]].argmax())


def test_open_mode_reads_the_served_answers_by_default_and_finds_a_student_of_a_few_of_them(world):
    """A student of 20 marked answers among 180 of another model (10%): reading the answers we served, where it
    learned the key's choices, finds it with twice the exponent of reading unmarked texts, where it mostly
    predicts as the other model taught it (here about 1e-77 against 1e-7)."""
    rng = np.random.default_rng(15)
    student = MemorizingSuspect(world["marked"][:20] + write(teacher(16), rng, 180, 40))
    served_reading = run_audit(student, keys=world["keys"], scheme=SCHEME, tokenizer=TOKENIZER, served=world["served"],
                               config=AuditConfig(modes=["open"], reading=200), say=lambda _: None)["tests"][0]
    unmarked_reading = run_audit(student, keys=world["keys"], scheme=SCHEME, tokenizer=TOKENIZER,
                                 served=world["served"], config=AuditConfig(modes=["open"], reading=60, read_served=False),
                                 reading=world["reading"], say=lambda _: None)["tests"][0]
    assert "200 of the answers we served and 0 reading texts" in served_reading["data"]
    assert served_reading["p_value"] < 1e-6 and served_reading["account"] == world["harvester"]
    assert served_reading["p_value"] < unmarked_reading["p_value"] ** 2, (served_reading, unmarked_reading)


def test_the_untouched_teacher_is_not_accused(world):
    verdict = run_audit(BigramSuspect(world["probs"]), keys=world["keys"], scheme=SCHEME, tokenizer=TOKENIZER,
                        served=world["served"], config=AuditConfig(prompts=60, reading=60),
                        reading=world["reading"], say=lambda _: None)
    assert verdict["combined_p_value"] > 1e-3 and verdict["attributed_accounts"] == []
    assert "No evidence" in verdict["conclusion"]


@pytest.mark.slow
def test_verdict_and_report_are_written_with_what_a_third_party_needs(world, tmp_path):
    student = BigramSuspect(learned_from=world["marked"])
    verdict = run_audit(student, keys=world["keys"], scheme=SCHEME, tokenizer=TOKENIZER, served=world["served"],
                        config=AuditConfig(prompts=20, reading=20), reading=world["reading"],
                        key_info={"key_id": "abc"}, say=lambda _: None)
    verdict_path, report_path = write_report(verdict, tmp_path / "report")
    data = orjson.loads(verdict_path.read_bytes())
    for field in ("tests", "combined_p_value", "attributed_accounts", "question", "data", "scheme", "key"):
        assert field in data
    for test in data["tests"]:
        assert {"name", "p_value", "tokens_scored", "null"} <= set(test)
    assert data["data"]["sha256"] == world["served"].sha256 and "curves" not in data
    html = report_path.read_text()
    assert "radioactivity-closed" in html and html.count("data:image/png;base64,") == 2
    assert "To repeat this audit" in html
    pdf = (tmp_path / "report" / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /XObject") >= 2      # the printed page, with its two plots


def test_attribution_counts_every_key_version_and_adjusts_by_holm():
    pairs = [((c,), (c * 7) % VOCAB) for c in range(VOCAB)]
    keys = {"a": [b"1" * 32, b"2" * 32], "b": [b"3" * 32]}
    result = attribute_pairs(pairs, keys, SCHEME)
    assert result.keys_tested == 3
    raw = {name: score_pairs(pairs, key, SCHEME).p_value for name, key in (("a0", keys["a"][0]), ("a1", keys["a"][1]),
                                                                            ("b", keys["b"][0]))}
    smallest = min(raw.values())
    assert result.ranked[0][1] == pytest.approx(min(1.0, 3 * smallest))


# -- the rules of the tape, fingerprints, inputs --------------------------------------------------------
def test_the_tape_scores_each_pair_once_leaves_out_input_pairs_and_filters_contexts():
    tape = PairTape(1, context_filter={(1,), (2,)})
    tape.offer_generated([1, 5], [1, 5, 1, 6, 1, 6, 2, 9, 3, 4])
    assert tape.scored() == [((1,), 6), ((2,), 9)]        # (1,5) was in the prompt; (1,6) once; (3,) filtered out
    assert tape.seen == 9


def test_open_mode_leaves_out_only_what_the_suspect_has_already_read():
    tape = PairTape(1)
    # text 3 1 4 1 5; predictions after each prefix: after "3" -> 1 (the next token: not yet read, kept),
    # after "3 1" -> 4 (kept), after "3 1 4" -> 1 (kept), after "3 1 4 1" -> 4 ((1,4) was read: left out)
    tape.offer_predictions([3, 1, 4, 1, 5], [1, 4, 1, 4, 2], prompt_ids=[5, 2])
    assert tape.scored() == [((3,), 1), ((1,), 4), ((4,), 1)]   # (5,2) came from the prompt


def test_fingerprint_tests_state_their_null_and_detect_a_copycat():
    served = [[i, i + 1, i + 2, i + 3, i + 4] for i in range(0, 200, 5)]
    copycat = [ids[:4] + [999] for ids in served]
    stranger = [[7, 8, 9] for _ in served]
    test = agreement_test(served, copycat, {"reference": stranger})
    assert test.p_value < 1e-6 and "no closer" in test.null
    assert agreement_test(served, stranger, {"reference": copycat}).p_value > 0.5
    assert bigram_recall([1, 2, 3], [2, 3]) == 0.5
    naming = identity_test(["I am SmolLM"] * 8, {"other": ["I am a model"] * 8}, ["SmolLM"])
    assert naming.p_value < 0.01
    assert identity_test(["I am a model"] * 8, {"other": ["I am a model"] * 8}, ["SmolLM"]).p_value == 1.0


def test_inputs_give_clear_errors(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"not": "an exchange"}\n')
    with pytest.raises(ConfigError, match="holds no answered exchange records"):
        read_served(empty)
    with pytest.raises(ConfigError, match="cannot read served data"):
        read_served(tmp_path / "missing.jsonl")
    reading = tmp_path / "reading.jsonl"
    reading.write_text('{"text": "1 2 3", "prompt": "4"}\n\nnot json\n')
    with pytest.raises(ConfigError, match="line 3: not JSON"):
        read_reading_texts(reading)
    reading.write_text('{"text": "1 2 3", "prompt": "4"}\n')
    assert read_reading_texts(reading)[0].messages == [{"role": "user", "content": "4"}]
    with pytest.raises(ConfigError, match="no account keys"):
        run_audit(BigramSuspect(teacher()), keys={}, scheme=SCHEME, tokenizer=TOKENIZER, served=None)
    with pytest.raises(ConfigError, match="modes must be"):
        AuditConfig(modes=["sideways"]).validate()


def test_a_key_commitment_verifies_only_for_its_key_and_time(tmp_path):
    master = MasterKey.load_or_create(tmp_path / "k")
    published = master.commitment("2026-01-01T00:00:00.000Z")
    assert master.verify_commitment(published)
    assert not master.verify_commitment({**published, "ts": "2026-06-01T00:00:00.000Z"})
    assert not master.verify_commitment({"key_id": "x"})
    master.rotate()
    assert master.verify_commitment(published)             # an older version still verifies after rotation
