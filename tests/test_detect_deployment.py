"""Thresholds drawn from the deployment's own accounts: against their null, with campaigns among them,
too few accounts refused, peer groups, and the operator's word honoured by scan and live."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from scipy.stats import binom

from detect_helpers import exchange, stream_of
from distillshield.cli import main
from distillshield.detect import DetectionEngine, DetectorModel, DistillationScorer
from distillshield.detect.calibration import (BENIGN, CAMPAIGN, accounts_needed, calibrate, peer_traits,
                                              robust_threshold)
from distillshield.detect.live import LiveDetector
from distillshield.detect.scan import scan
from distillshield.errors import ConfigError
from distillshield.records import write_exchanges

CHATTY = ["how do I repot a cactus", "what is the capital of Australia", "fix my bash loop over files",
          "explain inflation simply", "best way to learn guitar chords", "why is the sky blue",
          "write a haiku about rain", "how long should I boil an egg"]


# the threshold against its null ------------------------------------------------------------------------
@pytest.mark.parametrize("fpr", [1e-2, 1e-3])
@pytest.mark.parametrize("tail", ["exponential", "normal"])
def test_threshold_from_ordinary_accounts_only_holds_its_rate(fpr, tail):
    rng = np.random.default_rng(7)
    draw = (lambda n: rng.exponential(1.5, n) - 4.0) if tail == "exponential" else (lambda n: rng.normal(-4, 2, n))
    fresh = draw(200_000)
    rates = [float((fresh >= robust_threshold(draw(2000), fpr)[0]).mean()) for _ in range(20)]
    # the median run's measured rate: within 2x of the rate asked (an exponential tail is the model's own
    # case; a lighter, normal tail may only make it stricter)
    assert np.median(rates) <= 2 * fpr
    if tail == "exponential":
        assert np.median(rates) >= fpr / 2


def test_a_few_percent_of_campaigns_barely_move_the_threshold():
    rng = np.random.default_rng(3)
    ordinary = rng.exponential(1.5, 3000) - 4.0
    campaigns = rng.normal(11.0, 1.5, 90)         # 3% of the population, scoring high
    clean, _ = robust_threshold(ordinary, 1e-3)
    mixed, _ = robust_threshold(np.concatenate([ordinary, campaigns]), 1e-3)
    fresh = rng.exponential(1.5, 200_000) - 4.0
    # campaigns count as tail mass, never as tail length: the threshold rises by under one scale of the
    # tail (1.5 here; measured about 0.6 of it), so the rate measured stays between a third and 1.5x the rate asked
    assert 0 <= mixed - clean < 1.5
    assert 1e-3 / 3 <= (fresh >= mixed).mean() <= 1e-3 * 1.5
    assert (campaigns >= mixed).mean() >= 0.9


def test_a_population_most_of_which_ties_at_one_score_still_holds_its_rate():
    """85% of accounts at one score (young accounts do): the censoring point is the tie itself. The threshold
    must not fall to just above the tie, which would flag every account above it (15% here)."""
    rng = np.random.default_rng(5)

    def draw(n):
        return np.where(rng.random(n) < 0.85, -5.0, rng.exponential(1.0, n) - 5.0 + 1e-6)

    fresh = draw(200_000)
    rates = []
    for _ in range(20):
        value, method = robust_threshold(draw(600), 1e-3)    # too few accounts for the conformal bound at 1e-3
        assert "nothing censored" in method
        rates.append(float((fresh >= value).mean()))
    assert np.median(rates) <= 2 * 1e-3


def test_an_allowed_account_is_never_censored_and_is_no_floor_for_the_threshold():
    scores = np.r_[np.linspace(-5, 0, 200), 12.0]
    plain, _ = robust_threshold(scores, 1e-2)
    allowed = np.zeros(len(scores), bool)
    allowed[-1] = True
    with_allowed, _ = robust_threshold(scores, 1e-2, known_benign=allowed)
    assert with_allowed < 12.0 and with_allowed == plain     # allowing the top account lifts no one above it
    # without the conformal bound (too few accounts at 1e-3), the tail fit reads an allowed account's own
    # score instead of censoring it at the top fifth's edge (about -1), so its tail is longer
    fitted, _ = robust_threshold(scores, 1e-3, known_benign=allowed)
    unknown, _ = robust_threshold(scores, 1e-3)
    assert fitted > unknown


# too few accounts ---------------------------------------------------------------------------------------
def test_a_rate_the_population_cannot_support_is_refused_with_the_rule():
    assert accounts_needed(1e-3) == 100 and accounts_needed(1e-2) == 50 and accounts_needed(1e-4) == 1000
    population = [(f"a{i}", {"mode": "api", "style": "free-form", "volume": "low", "client": "program"}, float(i))
                  for i in range(120)]
    assert calibrate(population, 1e-3, source="test").groups["all"].n_accounts == 120
    with pytest.raises(ConfigError, match=r"needs at least 1000 \(n >= max\(50, 1 / \(fpr x 10\)\)\).*at least 0.00083"):
        calibrate(population, 1e-4, source="test")
    confirmed = {f"a{i}": CAMPAIGN for i in range(30)}   # confirmed campaigns do not count as population
    with pytest.raises(ConfigError, match="it has 90 accounts"):
        calibrate(population, 1e-3, source="test", feedback=confirmed)


# peer groups ---------------------------------------------------------------------------------------------
def _engine_with(exchanges) -> DetectionEngine:
    engine = DetectionEngine(logprob_model(), threshold=float("inf"))
    engine.observe_all(sorted(exchanges, key=lambda e: e.epoch))
    return engine


def test_peer_traits_tell_a_templated_api_client_from_a_chat_user():
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    app = stream_of("app", [f"Summarise this ticket: customer {i} cannot log in" for i in range(40)])
    chat = stream_of("chat", CHATTY, history=history, user_agent="Mozilla/5.0 (X11) Firefox/130.0")
    engine = _engine_with(app + chat)
    assert peer_traits(engine.states["app"]) == {"mode": "api", "style": "templated", "volume": "low",
                                                 "client": "program"}
    assert peer_traits(engine.states["chat"])["mode"] == "chat"
    assert peer_traits(engine.states["chat"])["client"] == "browser"


def test_peer_groups_too_small_for_the_rate_fall_back_to_their_parent():
    chat = {"mode": "chat", "style": "free-form", "volume": "low", "client": "browser"}
    api = {"mode": "api", "style": "templated", "volume": "mid", "client": "program"}
    population = [(f"c{i}", chat, -5.0 + i / 100) for i in range(200)] + \
                 [(f"a{i}", api, 1.0 + i / 10) for i in range(20)]
    calibration = calibrate(population, 1e-2, source="test", peer_groups=True)
    assert calibration.threshold_for(api).group == "all"          # 20 API accounts cannot carry 1e-2
    assert calibration.threshold_for(chat).group == "mode=chat/style=free-form/volume=low/client=browser"
    assert calibration.describe(chat)["n_accounts"] == 200
    assert not calibrate(population, 1e-2, source="test").groups.keys() - {"all"}


# scan: the calibration it reports, and the operator's word --------------------------------------------------
def logprob_model() -> DetectorModel:
    scorer = DistillationScorer.from_weights({"logprob_share": 10.0}, intercept=-5.0)
    return DetectorModel(scorer, np.linspace(-4.8, -4.0, 200), {"what": "test model"})


def _population_log(path, ordinary: int = 120):
    """Ordinary accounts, a few of which ask for log-probabilities now and then, and two harvesters."""
    with open(path, "wb") as out:
        for index in range(ordinary):
            asks = index % 10 == 0      # every tenth account, on one request in four
            write_exchanges(out, [exchange(f"user{index:03d}", prompt, at=index + turn * 600.0,
                                           logprobs=asks and turn % 4 == 0) for turn, prompt in enumerate(CHATTY)])
        write_exchanges(out, stream_of("harvester", CHATTY * 3, logprobs=True))
        write_exchanges(out, stream_of("tool", CHATTY * 3, logprobs=True, start=7))


def _verdicts(path) -> dict[str, dict]:
    return {row["account"]: row for row in map(json.loads, path.read_text().splitlines())}


def test_scan_calibrates_on_the_scanned_accounts_and_says_so(tmp_path):
    log = tmp_path / "log.jsonl"
    _population_log(log)
    report = scan(log, tmp_path / "v.jsonl", fpr=1e-2, model=logprob_model(), use_embeddings=False)
    verdicts = _verdicts(tmp_path / "v.jsonl")
    assert verdicts["harvester"]["flagged"] and verdicts["tool"]["flagged"]
    assert sum(v["flagged"] for name, v in verdicts.items() if name.startswith("user")) <= binom.ppf(0.999, 120, 1e-2)
    calibration = verdicts["user000"]["calibration"]
    assert calibration["source"].startswith("the scanned accounts of") and calibration["group"] == "all"
    assert calibration["n_accounts"] == 122 and report.calibration["groups"]["all"]["n_accounts"] == 122


def test_scan_refuses_a_rate_its_accounts_cannot_support(tmp_path):
    log = tmp_path / "log.jsonl"
    _population_log(log, ordinary=20)
    model_path = tmp_path / "model.json"
    logprob_model().save(model_path)
    result = CliRunner().invoke(main, ["scan", str(log), "--out", str(tmp_path / "v"), "--model", str(model_path),
                                       "--no-embeddings", "--fpr", "0.001"])
    assert result.exit_code == 2
    assert "cannot claim a false-positive rate of 0.001" in result.output and "needs at least 100" in result.output


def test_scan_honours_the_operators_word(tmp_path):
    log = tmp_path / "log.jsonl"
    _population_log(log)
    feedback = tmp_path / "accounts.jsonl"
    feedback.write_text(json.dumps({"id": "tool", "policy": "allow"}) + "\n"
                        + json.dumps({"account": "user001", "label": "campaign"}) + "\n"
                        + json.dumps({"id": "user002", "policy": "auto"}) + "\n")
    model_path = tmp_path / "model.json"
    logprob_model().save(model_path)
    result = CliRunner().invoke(main, ["scan", str(log), "--out", str(tmp_path / "v.jsonl"), "--model",
                                       str(model_path), "--no-embeddings", "--fpr", "0.01",
                                       "--feedback", str(feedback)])
    assert result.exit_code == 0, result.output
    verdicts = _verdicts(tmp_path / "v.jsonl")
    assert not verdicts["tool"]["flagged"] and verdicts["tool"]["operator"] == BENIGN
    assert verdicts["user001"]["flagged"] and verdicts["user001"]["operator"] == CAMPAIGN
    assert verdicts["user000"]["calibration"]["n_accounts"] == 121            # the confirmed campaign left out


def test_a_bad_feedback_file_is_a_clear_error(tmp_path):
    log = tmp_path / "log.jsonl"
    _population_log(log)
    feedback = tmp_path / "accounts.jsonl"
    feedback.write_text(json.dumps({"id": "tool", "policy": "maybe"}) + "\n")
    with pytest.raises(ConfigError, match=r"accounts.jsonl:1: .*got 'maybe'"):
        scan(log, tmp_path / "v.jsonl", fpr=1e-2, model=logprob_model(), use_embeddings=False, feedback_path=feedback)


# live: the same calibration, the same feedback ------------------------------------------------------------
def _live_exchanges(tmp_path):
    log = tmp_path / "log.jsonl"
    _population_log(log)
    from distillshield.detect.scan import read_in_time_order
    return read_in_time_order(log)


def test_live_draws_its_thresholds_from_the_accounts_it_has_seen(tmp_path):
    model = logprob_model()
    detector = LiveDetector(model, [("flag", model.threshold(1e-2).value_)], fprs=[("flag", 1e-2)])
    detector.process(_live_exchanges(tmp_path))
    assert detector.risk["harvester"].level == "flag"
    calibration = detector.risk["user000"].calibration
    assert calibration["source"] == "the accounts seen live and in the store's history"
    assert calibration["n_accounts"] == 122
    assert sum(risk.level != "none" for name, risk in detector.risk.items() if name.startswith("user")) <= 2


def test_live_falls_back_to_the_shipped_reference_until_enough_accounts_are_seen(tmp_path):
    model = logprob_model()
    detector = LiveDetector(model, [("flag", model.threshold(1e-3).value_)], fprs=[("flag", 1e-3)])
    detector.process([e for e in _live_exchanges(tmp_path) if e.account in ("harvester", "user001")])
    assert detector.risk["harvester"].level == "flag"
    assert detector.risk["harvester"].calibration["source"] == "the reference shipped with the model"


def test_live_honours_the_operators_word(tmp_path):
    model = logprob_model()
    detector = LiveDetector(model, [("flag", model.threshold(1e-2).value_)], fprs=[("flag", 1e-2)],
                            feedback=lambda: {"tool": BENIGN})
    detector.process(_live_exchanges(tmp_path))
    assert detector.risk["tool"].level == "none"
    unaware = LiveDetector(model, [("flag", model.threshold(1e-2).value_)], fprs=[("flag", 1e-2)])
    unaware.process(_live_exchanges(tmp_path))
    assert unaware.risk["tool"].level == "flag"            # without the operator's word it would be flagged


@pytest.mark.slow
def test_scan_reads_the_operators_word_from_the_store(tmp_path):
    from distillshield.store import Store

    database = tmp_path / "store.db"
    store = Store(str(database))
    store.create_account("tool", rpm=0, tpm=0, concurrency=0, tpd=0)
    store.update_account("tool", policy="allow")
    store.close()
    log = tmp_path / "log.jsonl"
    _population_log(log)
    model_path = tmp_path / "model.json"
    logprob_model().save(model_path)
    result = CliRunner().invoke(main, ["--db", str(database), "scan", str(log), "--out", str(tmp_path / "v.jsonl"),
                                       "--model", str(model_path), "--no-embeddings", "--fpr", "0.01",
                                       "--feedback-from-store"])
    assert result.exit_code == 0, result.output
    verdicts = _verdicts(tmp_path / "v.jsonl")
    assert verdicts["tool"]["operator"] == BENIGN and not verdicts["tool"]["flagged"]
