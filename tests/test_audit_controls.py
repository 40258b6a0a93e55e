"""The audit checks its own evidence: the scheme comes from the records, the positive control catches an audit
that could not have found anything (watermark off, wrong key file, wrong scheme), the power estimate holds
its detection rate, and each of the three outcomes is reached by a real case.

The world is test_audit's: a bigram teacher over 400 tokens whose served answers are marked with ``kgw``.
"""

from __future__ import annotations

import httpx
import numpy as np
import orjson
import pytest

from distillshield.audit import AuditConfig, Sampling, read_served, run_audit, write_report
from distillshield.audit.controls import (LoggedMark, choose_scheme, critical_value, detection_probability,
                                          null_moments, positive_control, smallest_share)
from distillshield.records import Exchange, Settings, format_ts, new_exchange_id, write_exchanges
from distillshield.server import watermark_record
from distillshield.watermark import KGW, ExpMin, MasterKey, Tournament, account_key
from test_audit import SCHEME, TOKENIZER, VOCAB, BigramSuspect, green_bias, teacher, words, write

QUIET = dict(say=lambda _: None)


def served_records(path, texts, prompts, accounts, mark: dict | None = None):
    records = [Exchange(id=new_exchange_id(), ts=format_ts(1.7e9 + i), account=account,
                        endpoint="/v1/chat/completions", request={"messages": [{"role": "user", "content": words(p)}]},
                        response={"choices": [{"message": {"role": "assistant", "content": words(t)}}]}, status=200,
                        extra={"watermark": mark} if mark else {})
               for i, (t, p, account) in enumerate(zip(texts, prompts, accounts))]
    with open(path, "wb") as handle:
        write_exchanges(handle, records)
    return read_served(path)


@pytest.fixture(scope="module")
def marked_world(tmp_path_factory):
    """200 answers served to one account, marked with its key under one master key (logged on the records)."""
    folder = tmp_path_factory.mktemp("controls")
    master = MasterKey.load_or_create(folder / "served.key")
    probs, rng = teacher(6), np.random.default_rng(7)
    keys = {f"acct-{i:03d}": master.account_keys(f"acct-{i:03d}") for i in range(40)}
    harvester = "acct-007"
    prompts = [[int(rng.integers(VOCAB))] for _ in range(200)]
    marked = write(probs, rng, 200, 40, green_bias(keys[harvester][0]), starts=[p[-1] for p in prompts])
    mark = {"scheme": SCHEME.spec, "key_id": master.current.key_id}
    served = served_records(folder / "served.jsonl", [t[1:] for t in marked], prompts, [harvester] * 200, mark)
    unmarked = write(probs, rng, 200, 40, starts=[p[-1] for p in prompts])
    return {"folder": folder, "master": master, "probs": probs, "keys": keys, "harvester": harvester, "mark": mark,
            "served": served, "marked": marked, "unmarked": unmarked, "prompts": prompts}


def audit(world, suspect, *, served=None, keys=None, key_ids=None, config=None, **options):
    served = served or world["served"]
    scheme, source = choose_scheme(served, None, "kgw:delta=2.5")
    master = world["master"]
    return run_audit(suspect, keys=keys or world["keys"], scheme=options.pop("scheme", scheme), tokenizer=TOKENIZER,
                     served=served, scheme_source=source,
                     config=config or AuditConfig(prompts=60, reading=60, sampling=Sampling(max_tokens=40)),
                     key_info={"key_ids": key_ids or [v.key_id for v in reversed(master.versions)]},
                     **options, **QUIET)


# -- the scheme comes from the records -----------------------------------------------------------------
def test_the_scheme_is_read_from_the_records_before_the_setting(marked_world, tmp_path):
    scheme, source = choose_scheme(marked_world["served"], None, "tournament")
    assert scheme.spec == SCHEME.spec and "logged" in source                       # not today's setting
    assert choose_scheme(marked_world["served"], "expmin", "kgw")[0].spec == ExpMin().spec  # --scheme wins
    bare = served_records(tmp_path / "bare.jsonl", [[1, 2, 3]], [[4]], ["a"])
    scheme, source = choose_scheme(bare, None, "off")
    assert scheme.spec.startswith("kgw:gamma=0.25,delta=2.5") and "log none" in source
    assert LoggedMark.of(marked_world["served"]).logged == 200


# -- the positive control -------------------------------------------------------------------------------
def test_the_served_answers_pass_the_positive_control_with_their_mark_strength(marked_world):
    control = positive_control(marked_world["served"], marked_world["keys"], SCHEME, TOKENIZER, level=1e-3)
    assert control.passed and control.p_value < 1e-30 and control.key_version == 0
    assert control.null_mean == SCHEME.gamma and control.mark_strength > SCHEME.gamma + 0.15


def test_answers_served_with_the_watermark_off_are_inconclusive_with_the_reason(marked_world, tmp_path):
    world = marked_world
    served = served_records(tmp_path / "off.jsonl", [t[1:] for t in world["unmarked"]], world["prompts"],
                            [world["harvester"]] * 200)                       # no watermark logged, none applied
    verdict = audit(world, BigramSuspect(learned_from=world["unmarked"]), served=served)
    assert verdict["outcome"] == "inconclusive" and not verdict["positive_control"]["passed"]
    assert "log no watermark" in verdict["positive_control"]["cause"]
    assert "watermark was off" in verdict["outcome_reasons"][0]
    assert verdict["conclusion"].startswith("Inconclusive") and verdict["attributed_accounts"] == []
    assert all(p["share"] is None for p in verdict["power"])                  # nothing to find: no power


def test_a_different_key_file_is_inconclusive_and_named(marked_world, tmp_path):
    world = marked_world
    other = MasterKey.load_or_create(tmp_path / "other.key")
    keys = {account: other.account_keys(account) for account in world["keys"]}
    student = BigramSuspect(learned_from=world["marked"])        # a real student of the harvest, but the wrong keys
    verdict = audit(world, student, keys=keys, key_ids=[other.current.key_id])
    assert verdict["outcome"] == "inconclusive"
    cause = verdict["positive_control"]["cause"]
    assert cause.startswith("Wrong key file") and world["master"].current.key_id in cause and other.current.key_id in cause


def test_the_wrong_scheme_is_named_with_the_scheme_that_marks(marked_world):
    world = marked_world
    verdict = audit(world, BigramSuspect(world["probs"]), scheme=Tournament())
    control = verdict["positive_control"]
    assert verdict["outcome"] == "inconclusive" and control["cause"].startswith("Wrong scheme")
    assert control["marked_under"] and control["marked_under"][0].startswith("kgw:gamma=0.25")
    assert "--scheme kgw:gamma=0.25" in control["cause"]


def test_a_rotated_key_still_passes_with_the_old_version(marked_world):
    world = marked_world
    rotated = {account: [account_key(b"n" * 32, account), *versions] for account, versions in world["keys"].items()}
    control = positive_control(world["served"], rotated, SCHEME, TOKENIZER, level=1e-3)
    assert control.passed and control.key_version == 1


# -- the three outcomes, each by a real case -------------------------------------------------------------
def test_a_student_of_the_harvest_is_evidence_with_the_harvester_named(marked_world):
    verdict = audit(marked_world, BigramSuspect(learned_from=marked_world["marked"]))
    assert verdict["outcome"] == "evidence" and verdict["positive_control"]["passed"]
    assert verdict["attributed_accounts"][0]["account"] == marked_world["harvester"]
    assert verdict["conclusion"].startswith("Evidence at the 0.001 level")


@pytest.mark.slow
def test_the_untouched_teacher_is_no_evidence_with_adequate_power(marked_world, tmp_path):
    verdict = audit(marked_world, BigramSuspect(marked_world["probs"]))
    assert verdict["outcome"] == "no_evidence" and verdict["combined_p_value"] > 1e-3
    shares = [p["share"] for p in verdict["power"] if p["share"] is not None]
    assert shares and min(shares) <= 0.25
    assert f"{min(shares):.1%}" in verdict["conclusion"] and "No evidence" in verdict["conclusion"]
    html = write_report(verdict, tmp_path / "report")[1].read_text()
    top = html[:html.index("<h2>Tests</h2>")]               # the controls and power come before any test
    assert "Outcome: no evidence" in top and "Positive control (passed)" in top and "smallest share found" in top


def test_too_few_answers_is_inconclusive_for_want_of_power(marked_world, tmp_path):
    world = marked_world
    served = served_records(tmp_path / "few.jsonl", [t[1:13] for t in world["marked"][:6]], world["prompts"][:6],
                            [world["harvester"]] * 6, world["mark"])
    verdict = audit(world, BigramSuspect(world["probs"]), served=served,
                    config=AuditConfig(prompts=6, reading=6, sampling=Sampling(max_tokens=12)))
    assert verdict["positive_control"]["passed"]                 # 66 marked pairs are enough to see the mark...
    assert verdict["outcome"] == "inconclusive" and "too little power" in verdict["conclusion"]  # ...not to test


@pytest.mark.slow
def test_a_negative_control_sits_beside_the_suspect_and_a_guilty_one_makes_it_inconclusive(marked_world, tmp_path):
    world = marked_world
    clean = audit(world, BigramSuspect(world["probs"]), negative_controls={"teacher": BigramSuspect(world["probs"])})
    assert clean["outcome"] == "no_evidence" and clean["negative_controls"][0]["combined_p_value"] > 1e-3
    assert set(clean["negative_controls"][0]["tests"]) == {t["name"] for t in clean["tests"]}
    html = write_report(clean, tmp_path / "report")[1].read_text()
    assert "Negative controls." in html
    # a "control" that did read our marked answers is found: the audit cannot vouch for its null here
    spoiled = audit(world, BigramSuspect(world["probs"]),
                    negative_controls={"not clean": BigramSuspect(learned_from=world["marked"])})
    assert spoiled["outcome"] == "inconclusive" and "Negative control not clean" in spoiled["outcome_reasons"][0]


# -- power: derived from the test's own statistic, and it holds ---------------------------------------------
@pytest.mark.parametrize("scheme", [KGW(), Tournament(), ExpMin()], ids=lambda s: s.name)
def test_at_the_reported_share_the_test_finds_the_mark_nine_times_in_ten(scheme):
    """Simulated suspects: each of n pairs carries a value drawn from 'served answers' marked values with
    probability share, else a null value; the exact test at the level finds it in ~90% of 2000 suspects."""
    rng = np.random.default_rng(3)
    n, level = 1500, 1e-5
    mean0, var0 = null_moments(scheme)
    if isinstance(scheme, KGW):
        marked = (rng.random(5000) < 0.55).astype(float)
        draw_null = lambda size: (rng.random(size) < scheme.gamma).astype(float)  # noqa: E731
    elif isinstance(scheme, Tournament):
        marked = rng.binomial(scheme.layers, 0.62, 5000).astype(float)
        draw_null = lambda size: rng.binomial(scheme.layers, 0.5, size).astype(float)  # noqa: E731
    else:
        marked = rng.exponential(1.0, 5000) * 1.6
        draw_null = lambda size: rng.exponential(1.0, size)  # noqa: E731
    share = smallest_share(scheme, n, level, marked.mean(), marked.var())
    assert share is not None and 0 < share < 1
    found = 0
    for _ in range(2000):
        carries = rng.random(n) < share
        values = np.where(carries, rng.choice(marked, n), draw_null(n))
        found += scheme.score(float(values.sum()), n).p_value <= level
    assert abs(found / 2000 - 0.9) < 0.03, found / 2000
    # and the critical value is the exact null's: at it the p-value is at most the level, one below it is not
    critical = critical_value(scheme, n, level)
    step = 1.0 if not isinstance(scheme, ExpMin) else 1e-6
    assert scheme.score(critical, n).p_value <= level * (1 + 1e-9) < scheme.score(critical - step, n).p_value
    assert detection_probability(scheme, n, level, 0.0, marked.mean(), marked.var()) < 1e-3


def test_power_needs_a_mark_and_enough_pairs():
    assert smallest_share(KGW(), 2000, 1e-4, 0.25, 0.19) is None            # the served answers carry no mark
    assert smallest_share(KGW(), 10, 1e-6, 0.6, 0.24) is None               # too few pairs for any student
    assert smallest_share(KGW(), 4000, 1e-4, 0.6, 0.24) < smallest_share(KGW(), 1000, 1e-4, 0.6, 0.24)


# -- the gateway logs which mark it applied ---------------------------------------------------------------
def test_the_watermark_record_names_the_scheme_and_key(tmp_path):
    settings = Settings(store_url=str(tmp_path / "gw.db"), watermark_key_path=str(tmp_path / "wm.key"))
    record = watermark_record(settings)
    key_id = MasterKey.load(tmp_path / "wm.key").current.key_id
    assert record(False) == {"scheme": "kgw:gamma=0.25,delta=2.5,context_width=1,repeats=1", "key_id": key_id}
    assert record(True)["scheme"] == "kgw:gamma=0.25,delta=3.0,context_width=1,repeats=0"
    assert watermark_record(Settings(store_url=str(tmp_path / "gw.db"), watermark="off")) is None
    assert watermark_record(Settings(store_url=str(tmp_path / "gw.db"), upstream_url="http://x/v1")) is None


def test_the_exchange_record_carries_the_mark_and_the_audit_reads_it(start_gateway, tmp_path):
    gateway = start_gateway()
    mark = {"scheme": SCHEME.spec, "key_id": "abc123"}
    gateway.gateway.watermark_of = {False: mark, True: {**mark, "scheme": "hardened"}}.__getitem__
    reply = httpx.post(gateway.api_url + "/chat/completions", headers=gateway.headers(),
                       json={"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert reply.status_code == 200
    records = [r for r in gateway.records() if r["endpoint"] == "/v1/chat/completions"]
    assert records[-1]["watermark"] == mark
    (tmp_path / "log.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    assert read_served(tmp_path / "log.jsonl").items[-1].watermark == mark
