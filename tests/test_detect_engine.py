"""Clustering, thresholds checked against their false-positive rate, the engine's decisions, and `scan`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from detect_helpers import exchange, stream_of
from distillshield.cli import main
from distillshield.detect import DetectionEngine, DetectorModel, DistillationScorer, Threshold
from distillshield.detect.cluster import link_accounts, link_by_keys, link_keys, shared_evidence
from distillshield.detect.features import extract
from distillshield.detect.state import FEATURE_NAMES, AccountState
from distillshield.errors import ConfigError
from distillshield.records import read_exchanges, write_exchanges

CHATTY = ["how do I repot a cactus", "what is the capital of Australia", "fix my bash loop over files",
          "explain inflation simply", "best way to learn guitar chords", "why is the sky blue",
          "write a haiku about rain", "how long should I boil an egg"]


def states_of(exchanges) -> dict[str, AccountState]:
    states: dict[str, AccountState] = {}
    for item in sorted(exchanges, key=lambda e: e.ts):
        states.setdefault(item.account, AccountState(item.account)).update(extract(item))
    return states


def logprob_model(benign_scores=None) -> DetectorModel:
    """A hand-set scorer: the log-odds rise with the share of requests asking for log-probabilities."""
    scorer = DistillationScorer.from_weights({"logprob_share": 10.0}, intercept=-5.0)
    scores = np.linspace(-4.8, -4.0, 200) if benign_scores is None else benign_scores
    return DetectorModel(scorer, scores, {"what": "test model"})


# clustering -------------------------------------------------------------------------------------------
def test_a_template_and_a_client_shared_link_accounts():
    items = []
    for index, account in enumerate(["a1", "a2", "a3"]):
        items += stream_of(account, [f"Translate into French, keeping the tone: sentence number {index}-{i} of the "
                                     "report we sent" for i in range(10)], ip=f"203.0.{index}.7", user_agent="harvester/2.1")
    items += stream_of("human", CHATTY, ip="198.51.100.9", user_agent="Mozilla/5.0")
    clusters = link_accounts(states_of(items))
    assert list(clusters.values()) == [["a1", "a2", "a3"]]
    assert "client, template" in next(iter(clusters))


def test_one_kind_of_evidence_alone_never_links_customers():
    """Customers share a common instruction, a popular client or an office network all the time."""
    template = [stream_of(f"t{index}", [f"Translate into French, keeping the tone: sentence number {index}-{i} of the "
                                        "report we sent" for i in range(10)], ip=f"203.0.{index}.7",
                          user_agent=f"agent-{index}") for index in range(3)]
    client = [stream_of(f"c{index}", CHATTY, ip=f"198.18.{index}.9", user_agent="OpenAI/Python 1.99")
              for index in range(3)]
    network = [stream_of(f"n{index}", CHATTY, ip=f"192.0.2.{index + 1}", user_agent=f"Mozilla/5.0 ({index})")
               for index in range(3)]
    assert link_accounts(states_of([item for group in template + client + network for item in group])) == {}


def test_shared_network_and_client_link_accounts_but_an_office_network_does_not():
    proxy = stream_of("p1", CHATTY, ip="192.0.2.44", user_agent="harvester/2.1") \
        + stream_of("p2", CHATTY[::-1], ip="192.0.2.45", user_agent="harvester/2.1")
    office = stream_of("o1", CHATTY, ip="198.51.100.80", user_agent="Mozilla/5.0 (Mac)") \
        + stream_of("o2", CHATTY[::-1], ip="198.51.100.80", user_agent="OpenAI/Python 1.99")
    clusters = link_accounts(states_of(proxy + office))
    assert list(clusters.values()) == [["p1", "p2"]]
    assert "client, network" in next(iter(clusters))


def test_a_value_most_of_the_population_shares_is_no_evidence():
    """A campus NAT where everyone uses one browser: 40 accounts of 40 share network and client."""
    campus = [item for index in range(40)
              for item in stream_of(f"s{index}", CHATTY, ip="10.9.8.7", user_agent="Mozilla/5.0 (campus)")]
    assert link_accounts(states_of(campus)) == {}


def test_accounts_below_the_minimum_are_never_linked():
    items = stream_of("x1", CHATTY[:2], ip="192.0.2.1") + stream_of("x2", CHATTY[:2], ip="192.0.2.1")
    assert link_accounts(states_of(items)) == {}


def _harness(names: list[str], prompts: int = 12, **params) -> list:
    """Accounts of one harness rotating agent strings, temperatures and addresses (a new one each request):
    only its body's shape is shared (its fields, max_tokens)."""
    return [exchange(name, f"Explain step by step: problem {index}-{i} of the set", at=i * 60.0 + index,
                     ip=f"100.{64 + index}.{i}.{7 + i}", user_agent=f"client-{index}/1.{index}", max_tokens=3000,
                     temperature=0.5 + index / 10, **params)
            for index, name in enumerate(names) for i in range(prompts)]


def test_one_kind_links_suspects_a_rotating_harness_by_its_request_shape():
    items = _harness(["h0", "h1", "h2", "h3"])
    items += [item for index in range(20) for item in stream_of(f"o{index}", CHATTY, ip=f"198.18.{index}.9")]
    keys = {name: link_keys(state) for name, state in states_of(items).items()}
    assert link_by_keys(keys) == {}                              # one kind: no link among everyone
    clusters = link_by_keys(keys, frozenset({"h0", "h1", "h2", "o1"}))
    assert list(clusters.values()) == [["h0", "h1", "h2"]]       # h3 is not a suspect, o1 shares no shape
    assert next(iter(clusters)).startswith("shared request shape among suspects")
    campaign = {name: state for name, state in states_of(items).items() if name in ("h0", "h1", "o1")}
    shown = shared_evidence(campaign)                             # what the console draws between them
    assert list(shown) == [("h0", "h1")] and "request shape" in shown[("h0", "h1")]


def test_suspects_are_not_linked_by_a_value_most_of_whose_holders_are_unsuspected_nor_by_a_network():
    """Twenty customers of one SDK, two of them suspects; two suspects behind one hosting provider's /24."""
    sdk = [item for index in range(20) for item in stream_of(f"s{index}", CHATTY, ip=f"198.18.{index}.9")]
    hosted = stream_of("v1", CHATTY, ip="203.0.113.5", user_agent="a/1") \
        + stream_of("v2", CHATTY[::-1], ip="203.0.113.77", user_agent="b/2", max_tokens=77)
    keys = {name: link_keys(state) for name, state in states_of(sdk + hosted).items()}
    assert link_by_keys(keys, frozenset({"s1", "s2", "v1", "v2"})) == {}


def test_the_engine_links_its_top_suspects_and_scores_them_together():
    """The top 3% by their own scores (three of 104) are suspects; their shared shape links them."""
    harness = _harness(["h0", "h1", "h2", "h3"], logprobs=True)
    ordinary = [item for index in range(100) for item in stream_of(f"o{index:03d}", CHATTY, ip=f"198.18.{index}.9",
                                                                    start=index * 3.0)]
    engine = DetectionEngine(logprob_model(), fpr=1e-3)
    engine.observe_all(sorted(harness + ordinary, key=lambda e: e.ts))
    verdicts = {v.account: v for v in engine.verdicts()}
    assert {verdicts[name].cluster for name in ("h0", "h1", "h2")} == {"c_1"}
    assert verdicts["h3"].cluster is None                          # a fourth suspect the 3% did not reach
    assert all(verdicts[f"o{index:03d}"].cluster is None for index in range(100))
    assert "request shape among suspects" in verdicts["h0"].reasons[0]["evidence"]


def test_suspects_are_ranked_by_their_own_scores_not_their_clusters():
    """Two ordinary accounts whose cluster once scored far above everyone: were suspects ranked by that best
    score, they would take two of the three places and the harness would stay unlinked."""
    harness = _harness(["h0", "h1", "h2"], logprobs=True)
    ordinary = [item for index in range(102) for item in stream_of(f"o{index:03d}", CHATTY, ip=f"198.18.{index}.9",
                                                                    start=index * 3.0)]
    engine = DetectionEngine(logprob_model(), threshold=float("inf"))
    engine.observe_all(sorted(harness + ordinary, key=lambda e: e.ts))
    for name in ("o000", "o001"):
        engine._consider(name, 50.0, engine.states[name].feature_vector(), "c_9 (2 accounts linked by ...)")
    engine.link()
    assert engine.tracks["o000"].best_score == 50.0 > engine.tracks["o000"].own_best
    assert engine.cluster_of.get("h0") == engine.cluster_of.get("h1") == engine.cluster_of.get("h2") is not None


def test_an_account_varying_its_body_every_request_holds_a_bounded_count_of_shapes():
    """max_tokens drawn per request (a client sizing answers to its context): 500 shapes, 64 of them kept,
    and no dominant one; a seed drawn per request is one shape (its field, not its value)."""
    varying = [exchange("v", f"q{i}", at=i, max_tokens=100 + i) for i in range(500)]
    state = states_of(varying)["v"]
    assert len(state.shapes) == 64 and link_keys(state).shape is None
    seeded = states_of([exchange("s", f"q{i}", at=i, seed=i) for i in range(50)])["s"]
    assert len(seeded.shapes) == 1 and link_keys(seeded).shape is not None


def test_a_deeply_nested_body_field_is_read_without_walking_it(tmp_path):
    """A log line whose stop, temperature and response_format nest 990 levels deep (the gateway refuses such
    a body, but scan reads anyone's log): scanned like any other, its shape the same whatever lies below the
    first level."""
    items = stream_of("nested", CHATTY, stop="DEEP", temperature="DEEP", response_format={"type": "DEEP"})
    deep = "[" * 990 + "]" * 990               # written by hand: JSON encoders stop far short of this
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(item.to_dict()).replace('"DEEP"', deep) + "\n"
                                                for item in items))
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "log.jsonl"), "--out", str(tmp_path / "v.jsonl"),
                                       "--calibration", "model", "--no-embeddings"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "v.jsonl").read_text())["requests"] == len(CHATTY)
    nested = next(read_exchanges(open(tmp_path / "log.jsonl", "rb")))
    shallow = stream_of("nested", CHATTY[:1], stop=[[[1]]], temperature=[[[1]]], response_format={"type": [[2]]})
    assert extract(nested).shape_key == extract(shallow[0]).shape_key


# thresholds against their null ----------------------------------------------------------------------------
@pytest.mark.parametrize("fpr, reference_size", [(1e-2, 3000), (1e-3, 400)])
def test_threshold_holds_its_false_positive_rate_on_fresh_benign_scores(fpr, reference_size):
    rng = np.random.default_rng(7)
    rates = []
    for _ in range(40):
        threshold = Threshold(fpr).fit(rng.logistic(size=reference_size))
        rates.append(np.mean(rng.logistic(size=200_000) >= threshold.value_))
    assert np.mean(rates) <= fpr * 1.15
    assert np.mean(rates) >= fpr * 0.2  # and it is not so conservative that it flags nothing


def test_threshold_methods_and_bad_input():
    assert Threshold(1e-2).fit(np.arange(300.0)).method_ == "empirical"
    assert Threshold(1e-3).fit(np.arange(300.0)).method_ == "exponential tail"
    with pytest.raises(ConfigError, match="at least 20"):
        Threshold(1e-3).fit(np.arange(5.0))
    with pytest.raises(ConfigError, match="between 0 and 1"):
        Threshold(1.5)


# the engine ------------------------------------------------------------------------------------------------
def test_engine_flags_the_harvester_early_and_names_the_signal():
    items = stream_of("harvester", CHATTY * 10, gap=5.0, logprobs=True, top_logprobs=5) \
        + stream_of("human", CHATTY * 3, gap=300.0)
    engine = DetectionEngine(logprob_model(), fpr=1e-3)
    engine.observe_all(sorted(items, key=lambda e: e.ts))
    verdicts = {v.account: v for v in engine.verdicts()}
    assert verdicts["harvester"].flagged and verdicts["harvester"].flagged_after <= 10
    assert verdicts["harvester"].reasons[0]["signal"] == "logprob_share"
    assert "ask for log-probabilities" in verdicts["harvester"].reasons[0]["evidence"]
    assert not verdicts["human"].flagged and verdicts["human"].flagged_after is None
    assert verdicts["harvester"].score > verdicts["human"].score


def test_a_cluster_is_scored_on_its_combined_traffic():
    # each account alone stays under the checkpoint volume; the campaign's combined traffic does not
    items = []
    for index in range(6):
        items += stream_of(f"acct{index}", [f"Explain topic {index}-{i} for a textbook chapter" for i in range(6)],
                           start=index * 7.0, gap=40.0, ip="192.0.2.200", user_agent="farm/1.0", logprobs=True)
    engine = DetectionEngine(logprob_model(), fpr=1e-3, link_every=10)
    engine.observe_all(sorted(items, key=lambda e: e.ts))
    verdicts = engine.verdicts()
    assert {v.cluster for v in verdicts} == {"c_1"}
    assert all(v.flagged for v in verdicts)


def test_model_round_trips_through_json(tmp_path):
    model = logprob_model()
    model.save(tmp_path / "m.json")
    loaded = DetectorModel.load(tmp_path / "m.json")
    vector = np.arange(len(FEATURE_NAMES), dtype=float)
    assert loaded.scorer.score(vector) == pytest.approx(model.scorer.score(vector))
    assert loaded.threshold(1e-3).value_ == pytest.approx(model.threshold(1e-3).value_, abs=1e-3)


def test_a_model_for_other_features_is_refused(tmp_path):
    path = tmp_path / "m.json"
    logprob_model().save(path)
    data = json.loads(path.read_text())
    data["scorer"]["features"] = data["scorer"]["features"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="other features"):
        DetectorModel.load(path)


# the scan command -----------------------------------------------------------------------------------------
def test_scan_reports_bad_lines_by_number_and_skips_them(tmp_path):
    model_path = tmp_path / "model.json"
    logprob_model().save(model_path)
    log = tmp_path / "log.jsonl"
    with open(log, "wb") as out:
        write_exchanges(out, stream_of("harvester", CHATTY * 4, logprobs=True)[:20])
        out.write(b"{not json\n")
        out.write(b'{"id": "x", "ts": "2026-11-22T10:00:00Z", "account": "a"}\n')
        write_exchanges(out, stream_of("human", CHATTY * 2, gap=600.0))
    result = CliRunner().invoke(main, ["scan", str(log), "--out", str(tmp_path / "v.jsonl"), "--calibration", "model",
                                       "--model", str(model_path), "--no-embeddings"])
    assert result.exit_code == 0, result.output
    assert "log.jsonl:21: skipped: not valid JSON" in result.output
    assert "log.jsonl:22: skipped: exchange is missing required field(s): endpoint, request" in result.output
    verdicts = [json.loads(line) for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [v["account"] for v in verdicts] == ["harvester", "human"]
    assert set(verdicts[0]) >= {"account", "score", "flagged", "flagged_after", "cluster", "reasons"}
    assert verdicts[0]["flagged"] and not verdicts[1]["flagged"]


def test_scan_with_the_operators_own_reference(tmp_path):
    model_path = tmp_path / "model.json"
    logprob_model().save(model_path)
    reference = tmp_path / "reference.jsonl"
    with open(reference, "wb") as out:  # ordinary accounts that, here, do ask for log-probabilities
        for index in range(60):
            write_exchanges(out, stream_of(f"ref{index}", CHATTY, gap=600.0, logprobs=index % 2 == 0))
    log = tmp_path / "log.jsonl"
    with open(log, "wb") as out:
        write_exchanges(out, stream_of("lp", CHATTY, logprobs=True))
    args = ["scan", str(log), "--model", str(model_path), "--no-embeddings", "--fpr", "0.01", "--out"]
    runner = CliRunner()
    assert runner.invoke(main, [*args, str(tmp_path / "a.jsonl"), "--calibration", "model"]).exit_code == 0
    assert runner.invoke(main, [*args, str(tmp_path / "b.jsonl"), "--reference", str(reference)]).exit_code == 0
    flagged_default = json.loads((tmp_path / "a.jsonl").read_text())["flagged"]
    flagged_own = json.loads((tmp_path / "b.jsonl").read_text())["flagged"]
    assert flagged_default and not flagged_own


def test_scan_rejects_a_bad_fpr(tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text("")
    result = CliRunner().invoke(main, ["scan", str(log), "--out", str(tmp_path / "v"), "--fpr", "2"])
    assert result.exit_code == 2 and "between 0 and 1" in result.output


# the boosted scorer ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def boosted():
    """Fitted on synthetic accounts: distilling ones ask for log-probabilities or grades, unless templated."""
    from distillshield.detect.scoring import BoostedScorer

    rng = np.random.default_rng(3)
    features = rng.uniform(0, 1, size=(3000, len(FEATURE_NAMES)))
    logprob, grading, template = (FEATURE_NAMES.index(n) for n in ("logprob_share", "grading_share", "template_share"))
    labels = ((features[:, logprob] + features[:, grading] > 1.1) & (features[:, template] < 0.8)).astype(int)
    return BoostedScorer(max_iter=60).fit(features, labels)


def test_boosted_scorer_separates_and_round_trips_through_json(boosted, tmp_path):
    from distillshield.detect.scoring import BoostedScorer

    logprob = FEATURE_NAMES.index("logprob_share")
    low, high = np.full(len(FEATURE_NAMES), 0.3), np.full(len(FEATURE_NAMES), 0.3)
    high[logprob] = high[FEATURE_NAMES.index("grading_share")] = 0.95
    assert boosted.score(high) > boosted.score(low) + 2
    DetectorModel(boosted, np.linspace(-3, 0, 50), {}).save(tmp_path / "m.json")
    loaded = DetectorModel.load(tmp_path / "m.json").scorer
    assert isinstance(loaded, BoostedScorer)
    for vector in np.random.default_rng(4).uniform(0, 1, size=(20, len(FEATURE_NAMES))):
        assert loaded.score(vector) == pytest.approx(boosted.score(vector), abs=1e-4)


def test_boosted_scorer_is_monotone_in_every_signal_with_a_direction(boosted):
    from distillshield.detect.state import FEATURE_DIRECTIONS

    rng = np.random.default_rng(5)
    for vector in rng.uniform(0, 1, size=(30, len(FEATURE_NAMES))):
        for index, direction in enumerate(FEATURE_DIRECTIONS):
            if direction:
                raised = vector.copy()
                raised[index] += 0.5
                assert direction * (boosted.score(raised) - boosted.score(vector)) >= -1e-9, FEATURE_NAMES[index]


def test_boosted_reasons_add_up_to_the_score(boosted):
    vector = np.full(len(FEATURE_NAMES), 0.3)
    vector[FEATURE_NAMES.index("logprob_share")] = 0.95
    parts = boosted.contributions_array(vector)
    root_values = boosted.value_[:, 0].sum()
    assert boosted.baseline_ + root_values + parts.sum() == pytest.approx(boosted.score(vector))
    assert boosted.reasons(vector)[0].feature == "logprob_share"


def test_boosted_scorer_reads_lightgbms_own_predictions_from_its_public_dump(boosted):
    """The trees are read from LightGBM's public model dump, not a library's private attributes: the scores
    they give are the library's own raw predictions, to rounding."""
    import lightgbm

    from distillshield.detect.state import FEATURE_DIRECTIONS

    rng = np.random.default_rng(3)
    features = rng.uniform(0, 1, size=(3000, len(FEATURE_NAMES)))
    labels = (features[:, 0] > 0.5).astype(int)
    from distillshield.detect.scoring import BoostedScorer

    ours = BoostedScorer(max_iter=30).fit(features, labels)
    theirs = lightgbm.train({"objective": "binary", "max_depth": 3, "num_leaves": 8, "learning_rate": 0.1,
                             "lambda_l2": 1.0, "min_data_in_leaf": 20, "monotone_constraints": list(FEATURE_DIRECTIONS),
                             "deterministic": True, "force_row_wise": True, "num_threads": 2, "seed": 0,
                             "verbose": -1}, lightgbm.Dataset(features, label=labels, params={"verbose": -1}),
                            num_boost_round=30)
    probe = rng.uniform(0, 1, size=(50, len(FEATURE_NAMES)))
    assert np.allclose([ours.score(row) for row in probe], theirs.predict(probe, raw_score=True), atol=1e-9)


def test_an_address_is_read_as_its_network_whatever_its_spelling():
    from distillshield.detect.features import network_of

    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("::ffff:203.0.113.77") == "203.0.113.0/24"     # IPv4 seen by a dual-stack listener
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert all(network_of(text) is None for text in (None, "", "garbage", "300.1.1.1", "1.2.3.4:5678", "x" * 10_000))
