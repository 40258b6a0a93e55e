"""Watermarks: exact p-values hold under the null, marks are found, accounts are told apart, keys are kept safe.

The statistical tests use fixed seeds, so they are deterministic; the numbers they compare against are
what the null hypothesis allows, not what one run happened to give.
"""

from __future__ import annotations

import inspect
import os
import random
import stat

import numpy as np
import pytest
import torch
from scipy import stats

from distillshield.errors import ConfigError
from distillshield.watermark import (
    KGW,
    SCHEMES,
    ExpMin,
    MasterKey,
    RowWatermark,
    Tournament,
    WatermarkLogitsProcessor,
    account_key,
    attribute_tokens,
    detect_tokens,
    holm,
    key_path,
    parse_scheme,
)
from distillshield.watermark import vllm as vllm_adapter

from watermark_helpers import ToyModel

SCHEME_NAMES = sorted(SCHEMES)


def _keys(count: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(32) for _ in range(count)]


def _null_streams(count: int, seed: int, vocab_size: int = 49152) -> list[list[int]]:
    """Token sequences of 20 to 200 tokens, Zipf-distributed like words in text (so pairs repeat)."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 200, count)
    return [list(np.minimum(rng.zipf(1.3, n), vocab_size - 1)) for n in lengths]


# schemes and their parameters -----------------------------------------------------------------------
def test_parse_scheme_reads_names_and_parameters_and_refuses_others():
    assert parse_scheme("kgw") == KGW()
    assert parse_scheme("kgw:delta=3,context=2") == KGW(delta=3.0, context_width=2)
    assert parse_scheme(parse_scheme("tournament:layers=8").spec) == Tournament(layers=8)
    assert parse_scheme("expmin").spec == "expmin:context_width=2"
    with pytest.raises(ConfigError, match="one of expmin, kgw, tournament|one of kgw, expmin, tournament"):
        parse_scheme("gumbel")
    with pytest.raises(ConfigError, match="takes gamma, delta, context_width"):
        parse_scheme("kgw:strength=2")
    with pytest.raises(ConfigError, match="gamma must be between 0 and 1"):
        parse_scheme("kgw:gamma=1.5")
    with pytest.raises(ConfigError, match="must be a number"):
        parse_scheme("tournament:layers=many")


def test_repeated_context_token_pairs_and_the_prompt_are_not_scored():
    scheme = KGW(context_width=1)
    assert scheme.scored_pairs([5, 6, 5, 6, 5, 6, 7]) == [((5,), 6), ((6,), 5), ((6,), 7)]
    assert scheme.scored_pairs([1, 2, 3, 4], prompt_len=2) == [((2,), 3), ((3,), 4)]
    key = _keys(1, 0)[0]
    looped = detect_tokens([5, 6] * 200, key, scheme)
    assert looped.tokens_scored == 2  # a loop of one green pair is one piece of evidence, not 400


@pytest.mark.parametrize("scheme", [ExpMin(context_width=1), Tournament(), KGW(repeats=0)])
def test_schemes_that_skip_repeated_contexts_score_each_context_once(scheme):
    # generation leaves a repeated context unmarked, so only a context's first token carries the mark
    assert scheme.scored_pairs([5, 6, 5, 7, 5, 6]) == [((5,), 6), ((6,), 5), ((7,), 5)]
    assert scheme.scored_positions([1, 2, 3, 2, 4], prompt_len=2) == ([((2,), 3), ((3,), 2)], [2, 3])


# the null: p-values are exact ----------------------------------------------------------------------
@pytest.mark.parametrize("name", SCHEME_NAMES)
@pytest.mark.slow
def test_p_values_on_unmarked_token_streams_are_uniform(name):
    scheme = parse_scheme(name)
    streams, keys = _null_streams(2000, seed=1), _keys(2000, seed=2)
    u = np.random.default_rng(3).random(len(streams))
    conservative, randomized = [], []
    for stream, key, draw in zip(streams, keys, u):
        found = scheme.score_tokens(stream, key)
        conservative.append(found.p_value)
        randomized.append(scheme.randomized_p_value(found.statistic, found.tokens_scored, draw))
    # randomised p-values are exactly uniform under the null; the reported ones are never smaller
    assert stats.kstest(randomized, "uniform").pvalue > 0.01
    assert all(c >= r - 1e-12 for c, r in zip(conservative, randomized))
    assert stats.kstest(conservative, "uniform", alternative="greater").pvalue > 0.01


@pytest.mark.parametrize("name", SCHEME_NAMES)
@pytest.mark.slow
def test_false_positive_rate_at_one_in_a_thousand(name):
    scheme = parse_scheme(name)
    streams, keys = _null_streams(6000, seed=10), _keys(6000, seed=11)
    p_values = np.array([detect_tokens(s, k, scheme).p_value for s, k in zip(streams, keys)])
    assert np.mean(p_values < 1e-3) <= 2e-3
    assert np.mean(p_values < 1e-2) <= 1.5e-2


def test_a_marked_stream_scored_with_wrong_keys_gives_uniform_p_values():
    scheme = Tournament()
    model, right = ToyModel(5000), _keys(1, 20)[0]
    stream = model.generate(120, RowWatermark(scheme, right, seed=1), seed=1)
    wrong = _keys(400, 21)
    assert detect_tokens(stream, right, scheme).p_value < 1e-6
    found = [scheme.score_tokens(stream, key) for key in wrong]
    u = np.random.default_rng(22).random(len(found))
    randomized = [scheme.randomized_p_value(f.statistic, f.tokens_scored, d) for f, d in zip(found, u)]
    assert stats.kstest(randomized, "uniform").pvalue > 0.01


# marks are found -----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCHEME_NAMES)
@pytest.mark.parametrize("temperature", [0.7, 1.0])
def test_marked_streams_are_detected(name, temperature):
    scheme, model, key = parse_scheme(name), ToyModel(5000), _keys(1, 30)[0]
    for seed in range(3):
        hook = RowWatermark(scheme, key, temperature=temperature, top_p=0.95, seed=seed)
        marked = model.generate(100, hook, seed=seed)
        plain = model.generate(100, seed=seed)
        assert detect_tokens(marked, key, scheme).p_value < 1e-6
        assert detect_tokens(plain, key, scheme).p_value > 1e-4


@pytest.mark.parametrize("scheme", [ExpMin(), Tournament(layers=3)])
@pytest.mark.parametrize("top_p", [1.0, 0.8])
def test_distortion_free_schemes_sample_the_model_distribution_over_keys(scheme, top_p):
    logits = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])
    probs = torch.softmax(logits.double() / 0.8, -1).numpy()
    if top_p < 1.0:
        probs = _full_sort_nucleus(probs, top_p)
        assert (probs > 0).sum() == 3   # the nucleus: the 3 most likely tokens, 5 left out
    counts = np.zeros(len(logits))
    for index, key in enumerate(_keys(6000, 40)):
        marked = RowWatermark(scheme, key, temperature=0.8, top_p=top_p, seed=index)([3, 1], logits)
        counts[int(torch.argmax(marked))] += 1
    assert counts[probs == 0].sum() == 0
    assert stats.chisquare(counts[probs > 0], probs[probs > 0] * counts.sum()).pvalue > 1e-3


def _full_sort_nucleus(probs: np.ndarray, top_p: float) -> np.ndarray:
    order = np.argsort(-probs, kind="stable")
    sorted_probs = probs[order]
    keep = np.cumsum(sorted_probs) - sorted_probs < top_p
    out = np.zeros_like(probs)
    out[order[keep]] = sorted_probs[keep]
    return out / out.sum()


@pytest.mark.parametrize("spread", [0.3, 3.0, 30.0])   # flat (every token under the floor) to peaked
@pytest.mark.slow
def test_the_nucleus_cut_sorting_only_likely_tokens_equals_sorting_the_vocabulary(spread):
    from distillshield.watermark.schemes import _nucleus, _sampling_support

    rng = np.random.default_rng(int(spread * 10))
    for _ in range(20):
        logits = torch.from_numpy(rng.standard_normal(49152) * spread).float()
        for temperature, top_p in ((0.7, 0.95), (1.0, 0.9), (0.5, 0.5)):
            scaled = logits.double().numpy() / temperature
            probs = np.exp(scaled - scaled.max())
            probs /= probs.sum()
            full = _full_sort_nucleus(probs, top_p)
            tokens, kept = _nucleus(probs, top_p)
            assert np.array_equal(tokens, np.flatnonzero(full))
            assert np.allclose(kept, full[tokens], rtol=1e-12, atol=0)
            support, support_probs = _sampling_support(logits, temperature, top_p)
            assert np.array_equal(support, np.flatnonzero(full))
            assert np.allclose(support_probs, full[support], rtol=1e-9, atol=0)


@pytest.mark.slow
def test_expmin_picks_the_same_token_from_the_nucleus_as_from_the_whole_vocabulary():
    from distillshield.watermark.schemes import _uniform

    scheme, rng = ExpMin(), np.random.default_rng(5)
    for key in _keys(50, 51):
        logits = torch.from_numpy(rng.standard_normal(49152) * 4).float()
        scaled = logits.double().numpy() / 0.7
        probs = _full_sort_nucleus(np.exp(scaled - scaled.max()) / np.exp(scaled - scaled.max()).sum(), 0.95)
        r = _uniform(scheme.vocab_hashes(key, (3, 1), len(probs)))
        with np.errstate(divide="ignore"):
            expected = int(np.argmax(np.where(probs > 0, np.log(r) / probs, -np.inf)))
        marked = RowWatermark(scheme, key, temperature=0.7, top_p=0.95)([3, 1], logits)
        assert int(torch.argmax(marked)) == expected


@pytest.mark.parametrize("scheme", [ExpMin(context_width=1), Tournament(), KGW()])
def test_pick_gives_the_token_the_one_hot_logits_put_their_mass_on(scheme):
    rng, key = np.random.default_rng(8), _keys(1, 52)[0]
    by_logits = RowWatermark(scheme, key, temperature=0.7, top_p=0.95, seed=3)
    by_pick = RowWatermark(scheme, key, temperature=0.7, top_p=0.95, seed=3)
    ids = [5, 9]
    for _ in range(60):
        logits = torch.from_numpy(rng.standard_normal(2000) * 3).float()
        picked = by_pick.pick(ids, logits)
        if not scheme.picks_tokens:
            assert picked is None and not by_pick.picks
            return
        marked = by_logits(ids, logits)
        assert torch.isinf(marked).sum() == len(marked) - 1 and int(torch.argmax(marked)) == picked
        ids.append(int(rng.integers(0, 6)))   # a small alphabet: contexts repeat, so plain draws are covered too
    assert RowWatermark(scheme, key, temperature=0.0).pick([5, 9], logits) is None   # greedy: the caller decodes


def test_kgw_without_repeats_leaves_a_repeated_context_unbiased():
    logits, key = torch.zeros(1000), _keys(1, 47)[0]
    row = RowWatermark(KGW(delta=3.0, repeats=0), key, temperature=0.8, seed=0)
    assert not torch.equal(row([3, 1], logits), logits)         # context (1,) first met: the green list is pulled
    row([3, 1, 4], logits)
    assert torch.equal(row([3, 1, 4, 1], logits), logits)       # (1,) again: untouched
    assert not torch.equal(RowWatermark(KGW(delta=3.0), key)([3, 1, 4, 1], logits), logits)  # repeats=1 marks it


@pytest.mark.parametrize("scheme", [ExpMin(context_width=1), Tournament(layers=16)])
@pytest.mark.slow
def test_a_context_repeated_in_the_answer_gets_a_plain_draw(scheme):
    logits = torch.tensor([2.0, 1.5, 1.0, 0.5, 0.0, -0.5, -1.0, -3.0])
    probs = torch.softmax(logits.double() / 0.8, -1).numpy()
    key = _keys(1, 45)[0]
    first, repeated = np.zeros(len(logits)), np.zeros(len(logits))
    for seed in range(3000):
        row = RowWatermark(scheme, key, temperature=0.8, seed=seed)
        first[int(torch.argmax(row([3, 1], logits)))] += 1       # context (1,): marked, pulled by the key
        row([3, 1, 4], logits)
        repeated[int(torch.argmax(row([3, 1, 4, 1], logits)))] += 1  # (1,) again: unmarked
    assert stats.chisquare(first, probs * first.sum()).pvalue < 1e-6
    assert stats.chisquare(repeated, probs * repeated.sum()).pvalue > 1e-3


class _RecordingRow(RowWatermark):
    """Notes where it marked: the length of the ids it was given, i.e. the position of the token it picks."""

    marked_at: list[int]

    def _marks(self, token_ids) -> bool:
        marks = super()._marks(token_ids)
        self.__dict__.setdefault("marked_at", []).extend([len(token_ids)] if marks else [])
        return marks


@pytest.mark.parametrize("name", ["expmin", "tournament", "kgw:repeats=0,delta=3"])
def test_detection_scores_exactly_the_tokens_generation_marked(name):
    scheme, model, key = parse_scheme(f"{name},context=1" if ":" in name else f"{name}:context=1"), ToyModel(60), \
        _keys(1, 46)[0]
    row = _RecordingRow(scheme, key, temperature=1.0, seed=1)
    stream = model.generate(300, row, seed=1)  # 60 tokens: contexts repeat all the time
    assert len(row.marked_at) <= 60
    assert scheme.scored_positions(stream, prompt_len=1)[1] == row.marked_at
    assert detect_tokens(stream, key, scheme, prompt_len=1).p_value < 1e-3


def test_kgw_adds_delta_to_the_green_list_only():
    scheme, key = KGW(gamma=0.25, delta=2.0), _keys(1, 50)[0]
    logits = torch.zeros(20000)
    biased = scheme.bias_logits([7], logits, key)
    assert set(torch.unique(biased).tolist()) == {0.0, 2.0}
    assert abs(float((biased > 0).float().mean()) - 0.25) < 0.02
    assert torch.equal(scheme.bias_logits([], logits, key), logits)  # no context yet: unchanged


def test_expmin_is_deterministic_and_tournament_is_not():
    model, key = ToyModel(3000), _keys(1, 60)[0]
    same = {tuple(model.generate(30, RowWatermark(ExpMin(), key, seed=s), seed=7)) for s in range(3)}
    assert len(same) == 1  # the documented trade-off: same context and key, same answer
    varied = {tuple(model.generate(30, RowWatermark(Tournament(), key, seed=s), seed=7)) for s in range(3)}
    assert len(varied) == 3


def test_greedy_decoding_with_a_distortion_free_scheme_is_left_alone():
    logits = torch.randn(1000)
    for scheme in (ExpMin(), Tournament()):
        assert torch.equal(RowWatermark(scheme, b"k" * 32, temperature=0.0)([1, 2], logits), logits)


# accounts ------------------------------------------------------------------------------------------
def test_attribution_names_the_right_account_among_120():
    master = _keys(1, 70)[0]
    accounts = {f"acct_{i}": account_key(master, f"acct_{i}") for i in range(120)}
    scheme, model = parse_scheme("tournament"), ToyModel(5000)
    stream = model.generate(100, RowWatermark(scheme, accounts["acct_37"], seed=3), seed=3)
    found = attribute_tokens(stream, accounts, scheme)
    assert found.account == "acct_37" and found.keys_tested == 120
    assert found.account_p_value < 1e-6
    assert found.account_p_value >= found.detection.p_value  # corrected for 120 keys
    others = [p for account, p in found.adjusted_p_values.items() if account != "acct_37"]
    assert min(others) > 1e-2
    unmarked = attribute_tokens(model.generate(100, seed=3), accounts, scheme)
    assert unmarked.account_p_value > 1e-3


def test_holm_adjustment():
    adjusted = holm({"a": 0.01, "b": 0.04, "c": 0.03, "d": 0.5})
    assert adjusted == pytest.approx({"a": 0.04, "c": 0.09, "b": 0.09, "d": 0.5})


def test_account_keys_are_derived_per_account_and_per_master():
    master_a, master_b = _keys(2, 80)
    assert account_key(master_a, "acme") == account_key(master_a, "acme")
    assert len({account_key(master_a, "acme"), account_key(master_a, "acmf"), account_key(master_b, "acme")}) == 3


# edge cases ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SCHEME_NAMES)
def test_empty_short_and_foreign_token_streams_give_results(name):
    scheme, key = parse_scheme(name), _keys(1, 90)[0]
    for stream in ([], [42], [42] * scheme.context_width):
        found = detect_tokens(stream, key, scheme)
        assert (found.p_value, found.tokens_scored) == (1.0, 0) and "empty or too short" in found.note
    foreign = detect_tokens([151_000 + i for i in range(50)], key, scheme)  # ids of a larger vocabulary
    assert foreign.tokens_scored > 40 and 0 < foreign.p_value <= 1
    assert attribute_tokens([1, 2, 3], {}, scheme).account is None


# keys ----------------------------------------------------------------------------------------------
def test_master_key_is_created_private_and_reloaded(tmp_path):
    path = tmp_path / "wm.key"
    created = MasterKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().split()[0]) == 64
    again = MasterKey.load_or_create(path)
    assert again.current.secret == created.current.secret and again.current.key_id == created.current.key_id


def test_a_key_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "wm.key"
    MasterKey.load_or_create(path)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match=r"readable by other users \(mode 0644\); run: chmod 600"):
        MasterKey.load(path)


def test_bad_key_files_are_refused_with_the_reason(tmp_path):
    missing = tmp_path / "none.key"
    with pytest.raises(ConfigError, match="does not exist"):
        MasterKey.load(missing)
    bad = tmp_path / "bad.key"
    bad.write_text("not-hex\n")
    os.chmod(bad, 0o600)
    with pytest.raises(ConfigError, match="line 1: the key must be 64 hex digits"):
        MasterKey.load(bad)


def test_rotation_keeps_old_keys_so_old_text_is_still_detected(tmp_path):
    path = tmp_path / "wm.key"
    master = MasterKey.load_or_create(path)
    old_key = account_key(master.current.secret, "acme")
    scheme, model = KGW(), ToyModel(5000)
    old_text = model.generate(100, RowWatermark(scheme, old_key, seed=1), seed=1)
    new_version = master.rotate()
    reloaded = MasterKey.load(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [v.secret for v in reloaded.versions] == [v.secret for v in master.versions]
    assert reloaded.current.secret == new_version.secret and len(reloaded.versions) == 2
    keys = reloaded.account_keys("acme")
    assert keys[0] == account_key(new_version.secret, "acme") and keys[1] == old_key
    found = attribute_tokens(old_text, {"acme": keys, "other": reloaded.account_keys("other")}, scheme)
    assert found.account == "acme" and found.keys_tested == 4 and found.account_p_value < 1e-6


def test_commitment_binds_key_and_time(tmp_path):
    master = MasterKey.load_or_create(tmp_path / "wm.key")
    first = master.commitment("2026-11-22T10:00:00.000Z")
    assert first == master.commitment("2026-11-22T10:00:00.000Z")
    assert first["commitment"] != master.commitment("2026-11-22T10:00:01.000Z")["commitment"]
    assert len(first["commitment"]) == 64 and first["key_id"] == master.current.key_id
    master.rotate()
    assert master.commitment(first["ts"])["commitment"] != first["commitment"]


def test_key_path_defaults_beside_the_sqlite_store(tmp_path):
    assert key_path("", str(tmp_path / "gw.db")) == tmp_path / "distillshield.key"
    assert key_path("", "distillshield.db").name == "distillshield.key"
    assert str(key_path("", "postgresql://db/x")) == "distillshield.key"
    assert str(key_path("/etc/ds/wm.key", "gw.db")) == "/etc/ds/wm.key"


# logits processors ---------------------------------------------------------------------------------
def test_batched_processor_marks_each_row_with_its_own_key():
    keys = _keys(3, 100)
    input_ids = torch.tensor([[4, 5, 6], [4, 5, 6], [9, 9, 6]])
    scores = torch.randn(3, 4000)
    out = WatermarkLogitsProcessor(KGW(), keys)(input_ids, scores)
    for row in range(3):
        assert torch.equal(out[row], KGW().bias_logits(input_ids[row], scores[row], keys[row]))
    assert not torch.equal(out[0], out[1])  # same context, different accounts: different green lists
    with pytest.raises(ValueError, match="3 keys for a batch of 2 rows"):
        WatermarkLogitsProcessor(KGW(), keys)(input_ids[:2], scores[:2])


def test_one_key_over_a_batch_gives_each_row_its_own_answer_history():
    processor = WatermarkLogitsProcessor(Tournament(), _keys(1, 101)[0], temperature=0.7, seed=0)
    processor(torch.tensor([[4, 5], [4, 6]]), torch.randn(2, 300))
    assert processor.rows[0] is not processor.rows[1]
    assert processor.rows[0].first_seen == {(5,): 2} and processor.rows[1].first_seen == {(6,): 2}


def test_vllm_adapters_satisfy_vllms_request_level_interface():
    key = _keys(1, 110)[0]
    plain = vllm_adapter.logits_processor(key, "kgw")
    aware = vllm_adapter.prompt_aware_logits_processor(key, "kgw")
    assert list(inspect.signature(plain).parameters) == ["output_token_ids", "logits"]
    assert list(inspect.signature(aware).parameters) == ["prompt_token_ids", "output_token_ids", "logits"]
    logits = torch.randn(4000, dtype=torch.bfloat16)
    assert torch.equal(plain([], logits), logits)  # no context without the prompt: the first token is left alone
    first = aware([1, 2, 3], [], logits)
    assert first.dtype == torch.bfloat16 and first.shape == logits.shape
    assert torch.equal(first, KGW().bias_logits([3], logits, key))
    assert torch.equal(aware([1, 2, 3], [8, 9], logits), plain([8, 9], logits))
    picked = vllm_adapter.logits_processor(key, "expmin", temperature=0.7)([5, 6], logits)
    assert int(torch.isfinite(picked).sum()) == 1
    # expmin's pick is fixed by key and context, except where the context came up earlier in the answer
    first, again = set(), set()
    for seed in range(20):
        aware_expmin = vllm_adapter.prompt_aware_logits_processor(key, "expmin", temperature=1.0, seed=seed)
        picks = [int(torch.argmax(aware_expmin([1, 2, 3], output, logits.float())))
                 for output in ([], [8], [8, 9], [8, 9, 8], [8, 9, 8, 9])]
        first.add(picks[2])
        again.add(picks[4])
    assert len(first) == 1 and len(again) > 1


def test_hardened_accounts_get_the_stronger_scheme(tmp_path):
    from distillshield.watermark import parse_scheme, serving_hook_factory

    master = MasterKey.load_or_create(tmp_path / "wm.key")
    factory = serving_hook_factory(parse_scheme("tournament"), master, parse_scheme("kgw:delta=3"))
    assert factory("acct", {}, False).scheme.name == "tournament"
    assert factory("acct", {}, True).scheme.name == "kgw"
    assert serving_hook_factory(parse_scheme("tournament"), master)("acct", {}, True).scheme.name == "tournament"
