"""The lab as an attacker would recognise it: ordinary accounts beside the attacker, limits on the lab's clock,
an attacker that adapts to what the gateway does."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from distillshield.errors import ConfigError
from distillshield.lab.campaign import CampaignConfig
from distillshield.lab.harvest import Admin, harvest, plan_accounts
from distillshield.lab.ordinary import ORDINARY_KINDS, plan_ordinary, service, service_totals


# -- ordinary accounts ---------------------------------------------------------------------------------------
def test_ordinary_accounts_are_the_simulators_kinds_paced_on_the_lab_clock():
    counts = {"chat_user": 2, "app_classify": 1, "benchmark_run": 1}
    slow = plan_ordinary(counts, seed=3, clock=1.0, seconds=600)
    fast = plan_ordinary(counts, seed=3, clock=10.0, seconds=60)
    again = plan_ordinary(counts, seed=3, clock=10.0, seconds=60)
    assert [p.account for p in slow] == ["user-chat-user-1", "user-chat-user-2", "user-app-classify-1",
                                         "user-benchmark-run-1"]
    assert [[r.body for r in p.requests] for p in fast] == [[r.body for r in p.requests] for p in again]
    # the same simulated ten minutes: the same requests, each at its simulated moment divided by the clock
    for one, other in zip(slow, fast):
        assert [r.body for r in one.requests] == [r.body for r in other.requests]
        assert [round(r.offset / 10, 6) for r in one.requests] == [round(r.offset, 6) for r in other.requests]
        assert all(0 <= r.offset < 60 for r in other.requests)
    requests = [r for p in fast for r in p.requests]
    assert len(requests) >= 10
    # sent as the simulator's clients write them (the teacher's output cap, not the request, bounds the answer)
    assert max(r.body.get("max_tokens") or 0 for r in requests) > 256
    assert all(r.ip and r.user_agent for r in requests)
    benchmark = fast[-1].requests
    assert len({r.ip for r in benchmark}) == 1 and all(r.body.get("temperature") == 0 for r in benchmark)


def test_service_counts_what_the_gateway_did_to_each_ordinary_account():
    plans = plan_ordinary({"chat_user": 1, "app_rag": 1}, seed=0, clock=1.0, seconds=60)
    chat, rag = (p.account for p in plans)
    log = [{"account": chat, "status": 200},
           {"account": chat, "status": 200, "policy": {"level": "harden", "actions": ["flag", "throttle:0.25",
                                                                                      "cap_max_tokens:256", "canary"]}},
           {"account": chat, "status": 429, "error": {"code": "rate_limit_exceeded"}},
           {"account": chat, "status": 403, "error": {"code": "blocked_by_policy"}, "policy": {"actions": ["block"]}},
           {"account": rag, "status": 200, "policy": {"level": "flag", "actions": ["flag"]}},
           {"account": "atk-bulk-1", "status": 200}]
    flags = {rag: {"level": "flag", "seconds": 3.0}}
    services = service(plans, log, flags)
    assert (services[chat].requests, services[chat].served, services[chat].rate_limited, services[chat].refused,
            services[chat].throttled, services[chat].altered) == (4, 2, 1, 1, 1, 1)
    assert services[chat].flag is None and services[chat].actions["canary"] == 1
    assert (services[rag].served, services[rag].altered, services[rag].flag["level"]) == (1, 0, "flag")
    totals = service_totals(services)
    assert totals["requests"] == 5 and totals["flagged_accounts"] == 1
    assert totals["accounts_refused_throttled_or_altered"] == 1
    # a length cap at or above the teacher's own cap changes no answer: not altered; one below it does
    capped_only = [{"account": chat, "status": 200, "policy": {"actions": ["flag", "cap_max_tokens:256"]}}]
    assert service(plans, capped_only, {}, answer_cap=40)[chat].altered == 0
    assert service(plans, capped_only, {}, answer_cap=512)[chat].altered == 1
    assert service(plans, capped_only, {})[chat].altered == 1


@pytest.mark.parametrize("data, message", [
    ({"clock": 0}, "clock must be a number in [0.01, 3600], got 0"),
    ({"adapt": 3}, "adapt must be bool, got 3"),
    ({"ordinary": {"chat_users": 2}}, "unknown ordinary account kind 'chat_users' (did you mean chat_user?)"),
    ({"ordinary": {"bulk": 2}}, "unknown ordinary account kind 'bulk'"),
    ({"spare_accounts": -1}, "spare_accounts must be a whole number in [0, 1000], got -1"),
    ({"gateway": {"trust_forwarded_for": False}}, "gateway.trust_forwarded_for is set by the lab"),
])
def test_the_new_options_are_checked(data, message):
    with pytest.raises(ConfigError) as caught:
        CampaignConfig.from_dict(data).validate()
    assert message in caught.value.message


def test_the_clock_scales_every_per_minute_limit_and_not_concurrency():
    config = CampaignConfig.from_dict({"clock": 10, "limits": {"rpm": 60, "tpm": 1000, "concurrency": 4, "tpd": 0}})
    assert config.validate().account_limits() == {"rpm": 600, "tpm": 10000, "concurrency": 4, "tpd": 0}
    settings = config.gateway_settings("on")
    assert settings.refused_rpm == 600 and settings.trust_forwarded_for
    assert CampaignConfig().gateway_settings("on").refused_rpm == 60


# -- limits in proportion under compression --------------------------------------------------------------------
def _burst(url: str, key: str, count: int) -> list[int]:
    """``count`` requests at once from one account: what a harvester does when nothing holds it back."""
    async def go():
        async with aiohttp.ClientSession() as session:
            async def one():
                async with session.post(url + "/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                        data=orjson.dumps({"model": "m", "max_tokens": 4,
                                                           "messages": [{"role": "user", "content": "hi"}]})) as reply:
                    await reply.read()
                    return reply.status
            return await asyncio.gather(*(one() for _ in range(count)))
    return asyncio.run(go())


@pytest.mark.slow
def test_a_throttle_binds_on_a_fast_account_and_not_on_an_ordinary_one_under_compression(start_gateway):
    config = CampaignConfig.from_dict({"clock": 10.0, "limits": {"rpm": 60, "tpm": 0, "concurrency": 0, "tpd": 0}})
    limits = config.account_limits()                                     # 600 requests a real minute
    gateway = start_gateway(**{k: v for k, v in config.gateway_settings("on").as_dict().items()
                               if k in ("trust_forwarded_for", "refused_rpm", "policy_throttle_factor")})
    admin = Admin(gateway.url, gateway.admin_key)
    # both throttled by the operator: 0.25 x 60 = 15 requests a simulated minute, 150 a real one
    fast_key = admin.create_account("atk-fast", policy="throttle", **limits)
    ordinary = plan_ordinary({"chat_user": 2, "benchmark_run": 1}, seed=1, clock=config.clock, seconds=12)
    for plan in ordinary:
        plan.key = admin.create_account(plan.account, policy="throttle", **limits)
    statuses = _burst(gateway.url, fast_key, 170)
    assert statuses.count(200) == 150 and statuses.count(429) == 20
    result = harvest(gateway.url, [], ordinary=ordinary)
    sent = len(result.ordinary)
    # two simulated minutes of a benchmark run and two chat users in 12 real seconds, none of it refused
    assert sent == sum(len(p.requests) for p in ordinary) >= 8
    assert all(r.status == 200 for r in result.ordinary)
    assert result.seconds < 20
    assert {r.ip for r in result.ordinary} == {row["ip"] for row in _log(gateway, "user-")}


def _log(gateway, prefix: str) -> list[dict]:
    gateway.gateway.log_writer.wait_written(10)
    return [orjson.loads(text) for text in gateway.store.iter_exchange_json()
            if orjson.loads(text)["account"].startswith(prefix)]


# -- the adaptive attacker ---------------------------------------------------------------------------------
def test_an_attacker_whose_account_is_blocked_continues_on_a_fresh_account(start_gateway):
    gateway = start_gateway(trust_forwarded_for=True)
    admin = Admin(gateway.url, gateway.admin_key)
    (plan,) = plan_accounts({"bulk": 1}, 6, seed=0, max_tokens=8, top_logprobs=3, concurrency=2)
    plan.key = admin.create_account(plan.account, policy="block")
    spares = [("atk-spare-1", admin.create_account("atk-spare-1"))]
    result = harvest(gateway.url, [plan], adapt=True, spares=spares, max_wait=0.2)
    blocked, fresh = result.outcomes[plan.account], result.outcomes["atk-spare-1"]
    assert blocked.blocked_at is not None and blocked.answers == 0 and blocked.rotated_to == "atk-spare-1" and blocked.rotated_because == "blocked"
    assert fresh.rotated_from == plan.account and fresh.answers == 6 and fresh.lost == 0
    assert len(result.answers) == 6 and all(r.account == "atk-spare-1" for r in result.answers)
    # the fresh account came from another address and client, as the gateway saw them
    log = _log(gateway, "atk-")
    old = {(r["ip"], r["user_agent"]) for r in log if r["account"] == plan.account}
    new = {(r["ip"], r["user_agent"]) for r in log if r["account"] == "atk-spare-1"}
    assert old == {(plan.ip, plan.user_agent)} and len(new) == 1 and not old & new

    # without adaptation the same block loses every prompt
    (again,) = plan_accounts({"bulk": 1}, 6, seed=0, max_tokens=8, top_logprobs=3, concurrency=2)
    again.key = plan.key
    lost = harvest(gateway.url, [again], adapt=False, spares=[("atk-spare-2", admin.create_account("atk-spare-2"))])
    assert lost.outcomes[plan.account].lost == 6 and not lost.answers and "atk-spare-2" not in lost.outcomes


def test_a_refused_parameter_is_dropped_from_later_requests(start_gateway):
    gateway = start_gateway()
    admin = Admin(gateway.url, gateway.admin_key)
    (plan,) = plan_accounts({"logprob_harvest": 1}, 5, seed=0, max_tokens=8, top_logprobs=3, concurrency=1)
    plan.params["n"] = 2
    plan.key = admin.create_account(plan.account, policy="harden")
    result = harvest(gateway.url, [plan], adapt=True, max_wait=0.2)      # no spare: it stays on its account
    outcome = result.outcomes[plan.account]
    assert outcome.answers == 5 and outcome.lost == 0
    assert set(outcome.params_dropped) == {"n", "best_of", "logprobs", "top_logprobs"}
    refused = [r for r in result.records if r.status == 403]
    assert [r.error["param"] for r in refused] == ["n", "logprobs"]       # each refused once, then never asked
    last_refusal = max(r.id for r in refused)
    for record in result.records:
        if record.id > last_refusal:
            assert not {"n", "logprobs", "top_logprobs"} & set(record.request) and record.status == 200

    # with a fresh account to go to it rotates, and still does not ask for what was refused
    (plan,) = plan_accounts({"logprob_harvest": 1}, 5, seed=1, max_tokens=8, top_logprobs=3, concurrency=1)
    plan.account = "atk-logprob-harvest-2"
    plan.key = admin.create_account(plan.account, policy="harden")
    result = harvest(gateway.url, [plan], adapt=True, spares=[("atk-spare-9", admin.create_account("atk-spare-9"))])
    assert result.outcomes[plan.account].rotated_because == "hardened"
    fresh = [r for r in result.records if r.account == "atk-spare-9"]
    assert len(fresh) == 5 and all(r.status == 200 and "logprobs" not in r.request for r in fresh)


def test_every_benign_kind_can_send_beside_the_attacker():
    plans = plan_ordinary({name: 1 for name in ORDINARY_KINDS}, seed=2, clock=4.0, seconds=120)
    assert {p.kind for p in plans} == set(ORDINARY_KINDS)
    assert {r.endpoint for p in plans for r in p.requests} <= {"/v1/chat/completions", "/v1/completions"}


def test_the_configuration_in_the_docs_is_the_defaults():
    import tomllib
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "lab.md").read_text()
    block = text.split("## Configuration", 1)[1].split("```toml", 1)[1].split("```", 1)[0]
    assert CampaignConfig.from_dict(tomllib.loads(block)).validate().as_dict() == CampaignConfig().as_dict()
