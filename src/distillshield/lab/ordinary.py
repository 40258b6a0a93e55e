"""The ordinary accounts of a lab campaign: the simulator's benign kinds, sending over HTTP beside the attacker.

``plan_ordinary`` lets each benign kind of ``lab.kinds`` (chat users, applications, a benchmark run, ...)
talk in a simulated world that lasts ``clock × seconds`` simulated seconds, exactly as ``lab traffic``
does, and keeps what each account sent and when: its requests, its addresses and its client. The
campaign sends them to the gateway at their simulated moments divided by ``clock`` (simulated seconds
per real second), with their own keys, while the attacker harvests. ``service`` reads, from the gateway's
own log and policy events, what the shields cost each of them: requests refused by policy, rate-limited,
served under a throttle, answered with something altered (capped, stripped, a canary), flagged.

Each request is sent as the simulator wrote it, its ``max_tokens`` (up to 4,096 for chat clients)
included; the teacher stops every answer at the campaign's ``max_tokens`` (the gateway's output cap: the
built-in teacher decodes every token on the lab's CPU). The ``model`` named is the simulator's (the
built-in backend answers any).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from distillshield.errors import ConfigError
from distillshield.lab.kinds import KINDS
from distillshield.lab.prompts import build_pools
from distillshield.lab.world import World
from distillshield.records import parse_ts

ORDINARY_KINDS = tuple(name for name, kind in KINDS.items() if kind.label == "benign")
# a Tuesday afternoon in Europe, morning in the Americas: the applications' busy hours
LAB_WORLD_START = "2026-11-03T14:00:00Z"
# what the gateway did to an answer it served (policy ``actions``), beside flag and throttle
ALTERING_ACTIONS = ("cap_max_tokens", "strip_reasoning", "canary", "drop_params")
POLICY_CODES = ("blocked_by_policy", "hardened_by_policy")


@dataclass
class OrdinaryRequest:
    offset: float                   # real seconds after the arm's start
    endpoint: str
    body: dict
    ip: str | None
    user_agent: str | None


@dataclass
class OrdinaryPlan:
    account: str
    kind: str
    requests: list[OrdinaryRequest]
    key: str = ""


def plan_ordinary(counts: dict[str, int], *, seed: int, clock: float, seconds: float) -> list[OrdinaryPlan]:
    """The ordinary accounts, each with the requests the simulator's kind sends over ``clock × seconds``
    simulated seconds, scheduled in real seconds; the same seed gives the same plan."""
    unknown = sorted(set(counts) - set(ORDINARY_KINDS))
    if unknown:
        raise ConfigError(f"unknown ordinary account kind(s) {', '.join(unknown)}; kinds: {', '.join(ORDINARY_KINDS)}")
    start = parse_ts(LAB_WORLD_START)
    world = World(seed, start, start + clock * seconds, build_pools(None, None, None))
    plans = []
    for kind_index, name in enumerate(ORDINARY_KINDS):
        for index in range(counts.get(name, 0)):
            tag = f"{seed}/ordinary/{name}/{index}"
            actor = world.new_actor(name, "benign", None, random.Random(tag),
                                    np.random.default_rng([seed & 0xFFFFFFFF, 1000 + kind_index, index]))
            KINDS[name].run(world, [actor])
            requests = [OrdinaryRequest((t - start) / clock, exchange.endpoint, exchange.request, exchange.ip,
                                        exchange.user_agent)
                        for t, _, exchange in sorted(actor.events, key=lambda e: (e[0], e[1]))
                        if world.start <= t < world.end]
            plans.append(OrdinaryPlan(f"user-{name.replace('_', '-')}-{index + 1}", name, requests))
    return plans


@dataclass
class OrdinaryService:
    """What one ordinary account asked for and what the gateway did with it (from the gateway's own log)."""

    account: str
    kind: str
    requests: int = 0
    served: int = 0                  # 200
    refused: int = 0                 # 403 from the policy (blocked, hardened)
    rate_limited: int = 0            # 429
    throttled: int = 0               # served or refused while the account's limits were throttled
    altered: int = 0                 # answers the policy changed (capped, reasoning stripped, a canary, parameters dropped)
    failed: int = 0                  # anything else that was not a 200
    flag: dict | None = None         # when and how it was first flagged (None: never)
    actions: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def service(plans: list[OrdinaryPlan], log: list[dict], flags: dict[str, dict],
            answer_cap: int = 0) -> dict[str, OrdinaryService]:
    """Per ordinary account, from the gateway's log records (dicts) and the first flags of the arm. A length cap
    at or above ``answer_cap`` (the teacher's own) altered nothing, so it is not counted as altering."""
    out = {plan.account: OrdinaryService(plan.account, plan.kind, flag=flags.get(plan.account)) for plan in plans}
    for record in log:
        entry = out.get(record.get("account"))
        if entry is None:
            continue
        entry.requests += 1
        status = record.get("status")
        code = (record.get("error") or {}).get("code")
        logged = (record.get("policy") or {}).get("actions") or []
        actions = [a.split(":", 1)[0] for a in logged]
        for action in actions:
            entry.actions[action] = entry.actions.get(action, 0) + 1
        if status == 200:
            entry.served += 1
        elif status == 429:
            entry.rate_limited += 1
        elif status == 403 and code in POLICY_CODES:
            entry.refused += 1
        else:
            entry.failed += 1
        if "throttle" in actions:
            entry.throttled += 1
        if status == 200 and any(_altering(a, answer_cap) for a in logged):
            entry.altered += 1
    return out


def _altering(action: str, answer_cap: int) -> bool:
    name, _, value = action.partition(":")
    if name == "cap_max_tokens" and answer_cap and value.isdigit():
        return int(value) < answer_cap
    return name in ALTERING_ACTIONS


def service_totals(services: dict[str, OrdinaryService]) -> dict:
    """All ordinary accounts together."""
    names = ("requests", "served", "refused", "rate_limited", "throttled", "altered", "failed")
    totals = {name: sum(getattr(s, name) for s in services.values()) for name in names}
    totals["accounts"] = len(services)
    totals["flagged_accounts"] = sum(1 for s in services.values() if s.flag)
    totals["accounts_refused_throttled_or_altered"] = sum(
        1 for s in services.values() if s.refused or s.rate_limited or s.throttled or s.altered)
    return totals
