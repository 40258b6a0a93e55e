"""The lab's distillation campaign: config checks, the attacker's reactions, the student, the report, end to end."""

from __future__ import annotations

import hashlib
import random
import time
import tomllib
from pathlib import Path

import numpy as np
import orjson
import pytest
import torch
from click.testing import CliRunner

from distillshield.backends.builtin import packaged_model_path
from distillshield.cli import main
from distillshield.detect import DetectorModel, DistillationScorer
from distillshield.errors import ConfigError
from distillshield.lab.campaign import (
    LARGE, ArmResult, CampaignConfig, CampaignResult, StudentResult, Tokens, _first_flags, load_config, run_campaign,
    summarise,
)
from distillshield.lab.harvest import AccountOutcome, Admin, HarvestResult, harvest, plan_accounts, split_quota
from distillshield.lab.ordinary import OrdinaryService
from distillshield.lab.report import render_report
from distillshield.lab.student import (
    Example, Fidelity, Student, StudentConfig, TrainConfig, fidelity, generate, load_student, save_student, train,
)
from distillshield.records import Exchange, format_ts
from distillshield.watermark import load_tokenizer

SUMMARY_KEYS = ("harvested", "student_gain", "flagged_accounts", "first_flagged_after", "student_path")


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Small models train many times faster on one thread than on two contended ones."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# -- configuration ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("data, message", [
    ({"answer": 10}, "unknown campaign option 'answer' (did you mean answers?)"),
    ({"shields": ["off", "maybe"]}, "shields must be a list of distinct arms among off, on"),
    ({"accounts": {"bulkk": 1}}, "unknown attacker strategy 'bulkk' (did you mean bulk?)"),
    ({"accounts": {"bulk": -1}}, "accounts.bulk must be a whole number >= 0, got -1"),
    ({"answers": 2}, "answers must be at least the number of accounts (8), got 2"),
    ({"modes": ["soft"]}, "modes must be a list of distinct modes among sequence, token"),
    ({"student": {"d_model": 100, "heads": 3}}, "student.d_model must be a multiple of student.heads (3), got 100"),
    ({"student": {"width": 3}}, "unknown option student.width"),
    ({"train": {"learning_rate": 2}}, "train.learning_rate must be a number in [0, 1], got 2"),
    ({"gateway": {"store_url": "x.db"}}, "gateway.store_url is set by the lab for each gateway it starts"),
    ({"gateway": {"policy_block_fp": 0.1}}, "unknown setting 'policy_block_fp' (did you mean policy_block_fpr?)"),
    ({"gateway": {"policy_harden_fpr": "often"}}, "setting policy_harden_fpr must be float, got 'often'"),
    ({"limits": {"rpd": 3}}, "unknown limit 'rpd'; limits: rpm, tpm, concurrency, tpd"),
    ({"name": "../elsewhere"}, "name must be a plain folder name"),
    ({"train": {"device": "gpu"}}, "train.device must be cpu, cuda, cuda:N or auto, got 'gpu'"),
    ({"gateway": {"policy_harden_antidistill": 0.02}, "antidistill": 0},
     "policy_harden_antidistill needs policy_harden_antidistill_proxy"),
    ({"gateway": {"policy_harden_antidistill": 0.02, "policy_harden_antidistill_proxy": "/tmp"}},
     "set antidistill (the campaign builds its proxy) or gateway.policy_harden_antidistill"),
    ({"antidistill": -1}, "antidistill must be a number in [0, 100], got -1"),
    ({"proxy": {"steps": -2}}, "proxy.steps"),
    ({"gateway": {"policy_harden_antidistill": 0.02, "policy_harden_antidistill_proxy": "/nonexistent/proxy"},
      "antidistill": 0},
     "policy_harden_antidistill_proxy: /nonexistent/proxy is not a folder"),
])
def test_config_errors_name_the_option_and_what_it_must_be(data, message):
    with pytest.raises(ConfigError) as caught:
        CampaignConfig.from_dict(data).validate()
    assert message in caught.value.message


def test_config_layers_defaults_quick_preset_file_and_options(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text('answers = 50\n[train]\nsteps = 7\n[gateway]\npolicy_block_fpr = 0.0005\n')
    config = load_config(str(path), quick=True, seed=3, name=None)
    assert (config.answers, config.train.steps, config.seed) == (50, 7, 3)
    assert config.train.batch_size == 8                                  # from the quick preset
    assert config.gateway["policy_block_fpr"] == 0.0005 and config.gateway["watermark"] == "kgw:delta=2.5"
    assert config.gateway_settings("on").detect and not config.gateway_settings("off").detect
    assert CampaignConfig().answers == 300                                # presets never change the defaults
    path.write_text("answers = [")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(str(path))


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_a_gpu_asked_for_where_there_is_none_is_a_config_error():
    with pytest.raises(ConfigError, match="train.device is cuda but torch sees no GPU here"):
        CampaignConfig.from_dict({"train": {"device": "cuda"}}).validate()


def test_the_gpu_configuration_in_the_docs_is_the_large_preset_and_valid():
    text = (Path(__file__).resolve().parent.parent / "docs" / "lab.md").read_text()
    block = text.split("<!-- the large preset -->", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    documented = CampaignConfig.from_dict(tomllib.loads(block)).validate()
    assert documented.as_dict() == CampaignConfig.from_dict(LARGE).validate().as_dict()
    assert documented.train.device == "auto" and documented.answers == 3000


@pytest.mark.parametrize("strength", [0.0, 0.02])
def test_the_teacher_draws_hardened_answers_by_antidistillation_sampling_when_the_gateway_table_says_so(
        tmp_path, monkeypatch, strength):
    from distillshield.backends import builtin

    (tmp_path / "proxy").mkdir()
    seen = {}

    class Stop(Exception):
        pass

    async def start(backend):          # the teacher as the campaign built it; nothing is loaded
        seen.update(proxy=backend.antidistill_proxy, strength=backend.antidistill_strength)
        raise Stop

    monkeypatch.setattr(builtin.BuiltinBackend, "start", start)
    config = CampaignConfig.from_dict({"out": str(tmp_path), "name": "ad", "antidistill": 0, "gateway": {
        "policy_harden_antidistill": strength, "policy_harden_antidistill_proxy": str(tmp_path / "proxy")}})
    with pytest.raises(Stop):
        run_campaign(config, say=lambda _line: None)
    assert seen == ({"proxy": str(tmp_path / "proxy"), "strength": 0.02} if strength else
                    {"proxy": "", "strength": 0.0})


def test_the_quick_preset_shows_what_issue_19_asks_within_the_work_it_was_timed_at():
    """Not a timing test: the quick preset keeps both arms, both modes, the adaptive attacker with spares and the
    ordinary accounts, and its work stays at most what BENCHMARKS.md's stop 26 timed under 5 minutes."""
    config = load_config(None, quick=True)
    assert config.shields == ["off", "on"] and config.modes == ["sequence", "token"] and config.audit_prompts > 0
    assert config.adapt and config.spare_accounts > 0 and sum(config.ordinary.values()) > 0
    assert config.accounts["logprob_harvest"] and config.accounts["many_accounts"] and config.accounts["cover"]
    assert config.answers * config.max_tokens <= 100 * 32                        # teacher tokens per arm
    assert config.train.steps * config.train.batch_size <= 45 * 8               # per student
    assert config.eval_prompts <= 20 and config.audit_prompts <= 32 and config.students == ["scratch"]
    # the ordinary traffic ends before the attacker's harvest does (about 60-70 s an arm), never holding it open
    assert 0 < config.ordinary_seconds <= 45


def test_the_campaign_builds_its_antidistillation_proxy_and_draws_only_hardened_answers_at_a_multiple_of_sigma(
        tmp_path):
    import asyncio

    from distillshield.backends.base import BackendRequest
    from distillshield.lab import campaign
    from test_antidistill import TinyBackend

    config = CampaignConfig.from_dict({"antidistill": 2.0, "proxy": {"prompts": 6, "held_out": 3, "max_tokens": 8,
                                                                     "steps": 3, "d_model": 16}})
    backend = TinyBackend(max_batch_size=4)
    asyncio.run(backend.start())
    try:
        timings = {}
        about = campaign._antidistill(config.validate(), tmp_path, backend, timings, say=lambda _line: None)
        assert (tmp_path / "proxy" / "gradient.pt").is_file() and "antidistill_proxy" in timings
        assert about["sigma"] > 0 and about["strength"] == pytest.approx(2.0 / about["sigma"], rel=1e-4)
        assert backend.antidistill is not None and backend.antidistill.strength == pytest.approx(about["strength"],
                                                                                                 rel=1e-4)

        def ask(hardened: bool) -> list[str]:
            request = BackendRequest("POST", "/v1/chat/completions", b"", {
                "model": "m", "messages": [{"role": "user", "content": "name two colours"}], "max_tokens": 4},
                "acct", hardened=hardened)
            asyncio.run(backend.handle(request))
            return request.applied
        assert ask(True) == [backend.antidistill.action] and ask(False) == []
    finally:
        asyncio.run(backend.aclose())


def test_the_cli_reports_a_bad_config_in_one_line(tmp_path):
    path = tmp_path / "campaign.toml"
    path.write_text("shields = ['sometimes']\n")
    outcome = CliRunner().invoke(main, ["lab", "campaign", "--config", str(path)])
    assert outcome.exit_code == 2
    assert outcome.output.startswith("Error: shields must be a list of distinct arms") and "Traceback" not in outcome.output


# -- the attacker -----------------------------------------------------------------------------------------------
def test_plan_is_reproducible_and_shares_the_harvest_by_weight():
    accounts = {"bulk": 1, "many_accounts": 3, "logprob_harvest": 1, "cover": 1}
    plans = plan_accounts(accounts, 100, seed=4, max_tokens=16, top_logprobs=5, concurrency=8)
    again = plan_accounts(accounts, 100, seed=4, max_tokens=16, top_logprobs=5, concurrency=8)
    assert [p.prompts for p in plans] == [p.prompts for p in again]
    assert [p.account for p in plans] == ["atk-bulk-1", "atk-many-accounts-1", "atk-many-accounts-2",
                                          "atk-many-accounts-3", "atk-logprob-harvest-1", "atk-cover-1"]
    assert sum(sum(not q.cover for q in p.prompts) for p in plans) == 100
    assert [sum(not q.cover for q in p.prompts) for p in plans] == split_quota(100, [4, 1, 1, 1, 2, 2])
    assert plans[4].params["logprobs"] is True and plans[4].params["top_logprobs"] == 5
    assert "logprobs" not in plans[0].params
    assert any(q.cover for q in plans[5].prompts)
    assert all(p.concurrency >= 1 for p in plans) and plans[0].concurrency > plans[1].concurrency


def test_attacker_waits_out_429_drops_refused_logprobs_and_loses_a_blocked_account(start_gateway):
    gateway = start_gateway(default_rpm=0)
    admin = Admin(gateway.url, gateway.admin_key)
    plans = plan_accounts({"bulk": 1, "logprob_harvest": 1, "many_accounts": 1}, 14, seed=0, max_tokens=8,
                          top_logprobs=3, concurrency=3)
    bulk, blocked, logprob = plans                                       # in the order of STRATEGIES
    bulk.key = admin.create_account(bulk.account, concurrency=1)          # three in flight, one allowed: 429s
    bulk.params["model"], bulk.concurrency, bulk.prompts = "slow-150", 3, bulk.prompts[:4]
    logprob.key = admin.create_account(logprob.account, policy="harden")  # log-probabilities refused
    blocked.key = admin.create_account(blocked.account, policy="block")   # every request refused
    result = harvest(gateway.url, plans, max_wait=0.2)
    outcomes = result.outcomes
    assert outcomes[bulk.account].answers == 4 and outcomes[bulk.account].rate_limited >= 1
    assert outcomes[logprob.account].logprobs_refused == 1
    assert outcomes[logprob.account].answers == len(logprob.prompts) and outcomes[logprob.account].lost == 0
    assert outcomes[blocked.account].answers == 0 and outcomes[blocked.account].blocked_at == 1
    assert outcomes[blocked.account].lost == len(blocked.prompts)
    answered = [r for r in result.records if r.account == logprob.account and r.status == 200]
    assert all("logprobs" not in r.request for r in answered)
    refused = [r for r in result.records if r.status == 403]
    assert {r.error["code"] for r in refused} == {"hardened_by_policy", "blocked_by_policy"}


@pytest.mark.slow
def test_the_lab_policy_blocks_a_flagrant_harvester_and_its_harvest_shrinks(start_gateway, tmp_path):
    """The lab's default gateway blocks at a false-positive rate an operator would choose, so a blocked
    account's remaining prompts are lost (the gateway's own default, block never, would only harden it)."""
    lab = CampaignConfig().gateway
    assert 0 < lab["policy_block_fpr"] <= lab["policy_harden_fpr"] <= lab["policy_throttle_fpr"] \
        <= lab["policy_flag_fpr"] < 0.05
    model = DetectorModel.load(_detector(tmp_path / "detector.json"))
    gateway = start_gateway(detector_model=model, **lab)
    admin = Admin(gateway.url, gateway.admin_key)
    plans = plan_accounts({"bulk": 1, "logprob_harvest": 1}, 60, seed=0, max_tokens=8, top_logprobs=3,
                          concurrency=2)
    for plan in plans:
        plan.key = admin.create_account(plan.account)
        plan.params["model"] = "slow-100"         # slow enough for the detector to act before the end
    result = harvest(gateway.url, plans, max_wait=0.2)
    bulk, logprob = (result.outcomes[plan.account] for plan in plans)
    assert bulk.answers == bulk.planned and bulk.blocked_at is None
    assert logprob.blocked_at is not None and logprob.lost > 0
    assert logprob.answers + logprob.lost == logprob.planned
    assert len(result.answers) < sum(o.planned for o in result.outcomes.values())


# -- the student ------------------------------------------------------------------------------------------------
def _toy_examples(count: int, seed: int = 0, soft: bool = False) -> list[Example]:
    """A toy language: the answer repeats the prompt's tokens shifted by one, so it can be learned."""
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        prompt = [rng.randrange(3, 40) for _ in range(6)]
        answer = [t + 1 for t in prompt]
        targets = [([t, t + 2], [0.75, 0.25]) for t in answer] if soft else None
        examples.append(Example(prompt, answer, targets))
    return examples


TINY = StudentConfig(vocab_size=48, context=32, layers=1, heads=2, d_model=32, seed=1)


@pytest.mark.parametrize("mode", ["sequence", "token"])
@pytest.mark.slow
def test_training_lowers_the_loss_and_moves_the_student_toward_held_out_answers(mode):
    model = Student(TINY)
    held_out = _toy_examples(16, seed=9)
    before = fidelity(model, held_out)
    result = train(model, _toy_examples(64, soft=mode == "token"), TrainConfig(steps=120, batch_size=16,
                                                                               learning_rate=1e-2, warmup_steps=5),
                   mode=mode)
    after = fidelity(model, held_out)
    assert result.loss[-1] < 0.5 * result.loss[0]
    assert after.nll < before.nll - 1.0 and after.agreement > before.agreement
    assert result.soft_tokens == (64 * 6 if mode == "token" else 0)


@pytest.mark.slow
def test_only_answered_exchanges_become_training_examples_ending_where_the_teacher_stopped():
    tokens = Tokens(load_tokenizer(str(packaged_model_path())))

    def exchange(status, content, finish="stop"):
        response = {"choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": finish}]}
        return Exchange(id=f"ex_{status}_{finish}", ts=format_ts(1.7e9), account="a", endpoint="/v1/chat/completions",
                        request={"messages": [{"role": "user", "content": "Name a colour."}]},
                        response=response if status == 200 else {"error": {"message": "no"}}, status=status)

    examples = tokens.examples([exchange(200, "Red."), exchange(403, ""), exchange(429, ""), exchange(200, "Blue", "length"),
                                exchange(200, "", "length"), exchange(200, "")], soft=False)
    # an answer cut before its first token teaches nothing; an empty answer that stopped teaches stopping
    assert [tokens.decode(e.answer_ids) for e in examples] == ["Red.", "Blue", ""]
    assert examples[2].answer_ids == [tokens.stop_id]
    assert examples[0].answer_ids[-1] == tokens.stop_id and examples[1].answer_ids[-1] != tokens.stop_id
    assert examples[0].prompt_ids == tokens.prompt([{"role": "user", "content": "Name a colour."}])


@pytest.mark.slow
def test_training_on_device_auto_without_a_gpu_runs_on_the_cpu():
    model = Student(TINY)
    result = train(model, _toy_examples(16), TrainConfig(steps=3, batch_size=8, warmup_steps=1, device="auto"))
    assert len(result.loss) == 3
    assert next(model.parameters()).device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_same_seed_same_untrained_student_and_a_saved_student_loads_back(tmp_path):
    held_out = _toy_examples(4)
    assert fidelity(Student(TINY), held_out).nll == fidelity(Student(TINY), held_out).nll
    model = Student(TINY)
    train(model, _toy_examples(32), TrainConfig(steps=5, batch_size=8))
    save_student(model, tmp_path / "student", mode="sequence")
    loaded, about = load_student(tmp_path / "student")
    assert about["mode"] == "sequence" and about["student"]["d_model"] == 32
    assert fidelity(loaded, held_out).nll == pytest.approx(fidelity(model, held_out).nll)
    assert generate(loaded, held_out[0].prompt_ids, 5) == generate(model, held_out[0].prompt_ids, 5)


# -- the report -------------------------------------------------------------------------------------------------
def _fake_result(folder: Path) -> CampaignResult:
    config = CampaignConfig(name="fake", accounts={"bulk": 1, "logprob_harvest": 1}, answers=4)
    start = time.time() - 60
    arms = {}
    for arm in ("off", "on"):
        records = []
        for i in range(4):
            account = "atk-bulk-1" if i % 2 else "atk-logprob-harvest-1"
            records.append(Exchange(id=f"ex_{arm}{i}", ts=format_ts(start + i), account=account,
                                    endpoint="/v1/chat/completions", request={"messages": [{"role": "user", "content": "q"}]},
                                    response={"choices": [{"message": {"content": "a <b>"}}]}, status=200))
        outcomes = {a: AccountOutcome(a, a.split("-")[1], 2, answers=2, requests=2)
                    for a in ("atk-bulk-1", "atk-logprob-harvest-1")}
        if arm == "on":
            outcomes["atk-logprob-harvest-1"].rotated_to = "atk-spare-1"
            outcomes["atk-logprob-harvest-1"].params_dropped = ["logprobs", "top_logprobs"]
        events = [{"id": 1, "ts": start + 2.5, "account": "atk-logprob-harvest-1", "old_level": "none",
                   "new_level": "harden", "score": 1.0}] if arm == "on" else []
        risk = [{"account": "atk-logprob-harvest-1", "level": "harden", "flagged_after": 5}] if arm == "on" else []
        result = ArmResult(arm, HarvestResult(records, outcomes, 4.0, start, start + 4), events, risk, [], {})
        result.flags = _first_flags(result)
        result.ordinary = {"user-chat-user-1": OrdinaryService("user-chat-user-1", "chat_user", requests=5, served=4,
                                                               rate_limited=1 if arm == "on" else 0, throttled=1)}
        arms[arm] = result
    before = Fidelity(10.8, 0.001, 100)
    students = [StudentResult(arm, mode, folder / "students" / f"{arm}-{mode}", before,
                              Fidelity(7.0 if arm == "off" else 7.5, 0.08, 100), [10.8, 9.0, 7.2], 3.0, 4, 20, 0,
                              samples=[{"prompt": "2+2?", "teacher": "4", "student": "<script>5</script>"}])
                for arm in ("off", "on") for mode in ("sequence", "token")]
    result = CampaignResult(config, folder, arms, students, reference=[records[0]], seconds=12.0, timings={})
    result.summary = summarise(result)
    return result


@pytest.mark.slow
def test_the_report_renders_from_a_result_with_plots_and_escaped_text(tmp_path):
    result = _fake_result(tmp_path)
    assert result.summary["flagged_accounts"] == 1 and result.summary["first_flagged_after"] == 5
    assert result.summary["defence_cost"] == {"sequence": 0.5, "token": 0.5}
    assert result.summary["arms"]["on"]["planned"] == 4 and result.summary["arms"]["on"]["task_answers"] == 4
    assert result.summary["student_gain"] == pytest.approx(3.3)
    assert result.arms["on"].flags["atk-logprob-harvest-1"]["requests_before"] == 2
    assert result.summary["ordinary"]["rate_limited"] == 1 and result.summary["ordinary"]["requests"] == 5
    assert result.summary["arms"]["off"]["ordinary"]["per_account"]["user-chat-user-1"]["served"] == 4
    html = render_report(result)
    assert html.count('<img src="data:image/png;base64,') == 4
    for text in ("What the attacker harvested", "The students", "Audit", "harden at 2.5 s", "defence cost",
                 "4 of the 4 harvest prompts answered", "The ordinary accounts' service", "user-chat-user-1",
                 "0 refused · 1 rate-limited · 1 throttled · 0 altered",
                 "The attacker adapted: 1 rotation(s)", "once refused:\n logprobs, top_logprobs"):
        assert text in html, text
    assert "<script>" not in html and "&lt;script&gt;5" in html


# -- end to end, with the built-in model --------------------------------------------------------------------------
def _detector(path: Path) -> Path:
    """A hand-set detector: the log-odds rise with the share of requests asking for log-probabilities."""
    scorer = DistillationScorer.from_weights({"logprob_share": 10.0}, intercept=-5.0)
    DetectorModel(scorer, benign_max_scores=np.linspace(-4.8, -4.0, 200), trained_on={"test": True}).save(path)
    return path


@pytest.mark.model
@pytest.mark.slow
def test_a_tiny_campaign_runs_end_to_end(tmp_path):
    began = time.monotonic()
    config = CampaignConfig.from_dict({
        "out": str(tmp_path), "name": "tiny", "shields": ["on"], "answers": 24, "max_tokens": 12,
        "eval_prompts": 6, "samples": 2, "concurrency": 4, "accounts": {"bulk": 1, "logprob_harvest": 1},
        "ordinary": {"chat_user": 1, "benchmark_run": 1}, "ordinary_seconds": 8.0, "spare_accounts": 1,
        "modes": ["sequence", "token"],
        "gateway": {"detect_model": str(_detector(tmp_path / "detector.json")), "detect_embeddings": False,
                    "watermark": "kgw", "policy_harden_fpr": 0.001, "policy_block_fpr": 0.0},
        "audit_prompts": 4, "audit_decoys": 20,
        "antidistill": 1.0, "proxy": {"prompts": 8, "held_out": 4, "max_tokens": 12, "steps": 4, "d_model": 16},
        "student": {"context": 96, "d_model": 32, "heads": 2, "layers": 1},
        "train": {"steps": 12, "batch_size": 8, "learning_rate": 1e-2, "warmup_steps": 2}})
    result = run_campaign(config, say=lambda _line: None)
    folder = tmp_path / "tiny"
    summary = orjson.loads((folder / "summary.json").read_bytes())
    assert all(key in summary for key in SUMMARY_KEYS)
    assert summary["harvested"] == len(result.arms["on"].harvest.answers) > 0

    # the student was audited: a verdict, its report, and a row in the campaign's report
    audit = summary["audit"]["on-sequence"]
    assert audit["accounts_tested"] == len(result.arms["on"].harvest.outcomes) + 20 and 0 < audit["combined_p_value"] <= 1
    assert {t["name"] for t in audit["tests"]} >= {"radioactivity-open", "radioactivity-closed"}
    verdict = orjson.loads((folder / "audit" / "on-sequence" / "verdict.json").read_bytes())
    # the served answers are the gateway's log: the attacker's and the ordinary accounts'
    assert verdict["data"]["answers"] == summary["harvested"] + summary["arms"]["on"]["ordinary"]["served"]
    assert "audit/on-sequence/report.html" in (folder / "report.html").read_text()
    # the served answers carry the logged mark (the positive control) and each radioactivity test has its power
    assert audit["positive_control"]["passed"] and audit["positive_control"]["scheme_source"].startswith("logged")
    assert audit["outcome"] in ("evidence", "no_evidence", "inconclusive") and len(audit["power"]) >= 2
    html = (folder / "audit" / "on-sequence" / "report.html").read_text()
    assert html.index("Positive control (passed)") < html.index("smallest share found") < html.index("<h2>Tests</h2>")

    # what the attacker kept is what the gateway logged, answer for answer
    harvested = [orjson.loads(line) for line in (folder / "on" / "harvest.jsonl").read_bytes().splitlines()]
    logged = [orjson.loads(line) for line in (folder / "on" / "gateway.jsonl").read_bytes().splitlines()]
    logged = [r for r in logged if r["account"].startswith("atk-")]
    assert len(harvested) == len(logged)
    by_answer = {r["response"]["id"]: r for r in logged if r["status"] == 200}
    for record in harvested:
        if record["status"] == 200:
            twin = by_answer[record["response"]["id"]]
            assert twin["account"] == record["account"]
            assert twin["response"]["choices"][0]["message"]["content"] == \
                record["response"]["choices"][0]["message"]["content"]
    for account, outcome in result.arms["on"].harvest.outcomes.items():
        assert outcome.requests == sum(1 for r in logged if r["account"] == account)

    # the detector saw the log-probability harvest; the gateway hardened that account
    flag = result.arms["on"].flags["atk-logprob-harvest-1"]
    assert flag["level"] == "harden" and flag["flagged_after"] == 5 and summary["first_flagged_after"] == 5
    assert "atk-bulk-1" not in result.arms["on"].flags and summary["flagged_accounts"] == 1
    # hardened, the attacker stopped asking for log-probabilities and went on from its spare account
    assert result.arms["on"].harvest.outcomes["atk-logprob-harvest-1"].rotated_to == "atk-spare-1"
    assert summary["arms"]["on"]["params_dropped"] == ["logprobs", "top_logprobs"]

    # the campaign built its antidistillation proxy; only answers to hardened accounts were drawn by it
    assert (folder / "proxy" / "gradient.pt").is_file() and summary["antidistill"]["strength"] > 0
    drawn = [r for r in logged
             if any(a.startswith("antidistill:") for a in (r.get("policy") or {}).get("actions") or [])]
    assert all(result.arms["on"].flags.get(r["account"], {}).get("final_level") == "harden" for r in drawn)

    # the ordinary accounts sent beside the attacker, and the summary counts what the gateway logged of them
    ordinary = summary["arms"]["on"]["ordinary"]
    users = [orjson.loads(line) for line in (folder / "on" / "gateway.jsonl").read_bytes().splitlines()]
    users = [r for r in users if r["account"].startswith("user-")]
    assert ordinary["accounts"] == 2 and ordinary["requests"] == len(users) > 0
    assert ordinary["served"] == sum(1 for r in users if r["status"] == 200)
    assert {r["account"] for r in users} <= set(ordinary["per_account"])
    assert (folder / "on" / "ordinary.jsonl").exists() and summary["ordinary"] == {
        k: v for k, v in ordinary.items() if k != "per_account"}

    # the students learned from the teacher's answers
    for student in result.students:
        assert student.loss[-1] < student.loss[0]
        assert student.after.nll < student.before.nll
    assert any(s.soft_tokens > 0 for s in result.students if s.mode == "token")
    loaded, about = load_student(summary["student_path"])
    assert about["tokenizer"]["gguf"].endswith(".gguf") and loaded.config.d_model == 32

    # the report and a manifest whose hashes match the files
    html = (folder / "report.html").read_text()
    assert "atk-logprob-harvest-1" in html and html.count("data:image/png;base64,") == 4
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert manifest["teacher"]["watermark"] == "kgw" and manifest["config"]["seed"] == 0
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    assert {"on/harvest.jsonl", "reference.jsonl", "report.html", "summary.json",
            "students/on-sequence/model.pt"} <= set(manifest["files"])
    assert time.monotonic() - began < 120


def test_an_answer_counts_as_capped_only_when_cut_short_of_the_ask_and_the_teachers_own_cap():
    from distillshield.lab.harvest import cut_short

    assert not cut_short("length", 40, asked=2048, answer_cap=40)      # the teacher's own cap: not the shields
    assert cut_short("length", 16, asked=2048, answer_cap=40)          # a hardened cap below it
    assert not cut_short("stop", 16, asked=2048, answer_cap=40)        # the model stopped by itself
    assert cut_short("length", 16, asked=40) and not cut_short("length", 40, asked=40)
