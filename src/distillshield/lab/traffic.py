"""``distillshield lab traffic``: labelled exchange logs for training and evaluating a detector.

``simulate(SimulationConfig(...))`` builds a population of accounts of many
kinds (ordinary chat users, developers, high-volume applications that must not
look like distillation, and distillation campaigns of several shapes), lets each
talk to the API over the simulated period, and returns the exchanges in time
order plus one label per account. ``write_simulation`` writes
``exchanges.jsonl``, ``labels.jsonl`` (kept apart, so a detector never sees
them) and ``manifest.json``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import orjson

from distillshield.errors import ConfigError, DistillShieldError
from distillshield.lab.kinds import KINDS
from distillshield.lab.prompts import build_pools
from distillshield.lab.world import World, hex_id
from distillshield.records import Exchange, check_fields, format_ts, new_exchange_id, option, parse_ts, write_exchanges

DEFAULT_START = "2026-11-02T00:00:00Z"
DEFAULT_COUNTS = {name: kind.default_count for name, kind in KINDS.items()}


@dataclass
class SimulationConfig:
    seed: int = option(0, "Same seed, same files.")
    start: float | str = DEFAULT_START
    days: float = option(3.0, "Length of the simulated period.", bounds=(0.0, 366.0))
    counts: dict[str, int] = field(default_factory=dict)     # kind → accounts at scale 1.0 (overrides defaults)
    scale: float = option(1.0, "Multiplies every kind's account count.", bounds=(0.0, None))
    data_dir: str | Path | None = None
    benign_sources: list[str] | None = None                  # None: every available benign source
    campaign_sources: list[str] | None = None

    def start_epoch(self) -> float:
        if isinstance(self.start, (int, float)) and not isinstance(self.start, bool):
            return float(self.start)
        if isinstance(self.start, str):
            try:
                return parse_ts(self.start)
            except DistillShieldError:
                raise ConfigError(f"start must be an ISO 8601 timestamp or epoch seconds, got {self.start!r}") from None
        raise ConfigError(f"start must be an ISO 8601 timestamp or epoch seconds, got {self.start!r}")

    def account_counts(self) -> dict[str, int]:
        unknown = sorted(set(self.counts) - set(KINDS))
        if unknown:
            raise ConfigError(f"unknown account kind(s) {', '.join(unknown)}; kinds: {', '.join(KINDS)}")
        check_fields(self)
        out = {}
        for name in KINDS:
            base = self.counts.get(name, DEFAULT_COUNTS[name])
            if not isinstance(base, int) or isinstance(base, bool) or base < 0:
                raise ConfigError(f"count of {name} must be a whole number >= 0, got {base!r}")
            out[name] = max(1, round(base * self.scale)) if base and self.scale else 0
        return out

    def as_dict(self) -> dict:
        data = asdict(self)
        data["data_dir"] = str(self.data_dir) if self.data_dir is not None else None
        data["counts"] = self.account_counts()
        return data


@dataclass
class Simulation:
    config: SimulationConfig
    exchanges: list[Exchange]
    labels: list[dict]
    seconds: float = 0.0

    def summary(self) -> dict:
        benign = sum(1 for label in self.labels if label["label"] == "benign")
        campaigns = {label["campaign"] for label in self.labels if label["campaign"]}
        by_kind: dict[str, dict] = {}
        per_account: dict[str, int] = {}
        for exchange in self.exchanges:
            per_account[exchange.account] = per_account.get(exchange.account, 0) + 1
        for label in self.labels:
            entry = by_kind.setdefault(label["kind"], {"accounts": 0, "exchanges": 0})
            entry["accounts"] += 1
            entry["exchanges"] += per_account.get(label["account"], 0)
        return {"exchanges": len(self.exchanges), "accounts": len(self.labels), "benign_accounts": benign,
                "distill_accounts": len(self.labels) - benign, "campaigns": len(campaigns),
                "first_ts": self.exchanges[0].ts if self.exchanges else None,
                "last_ts": self.exchanges[-1].ts if self.exchanges else None, "by_kind": by_kind}


def _groups(rng: random.Random, count: int, lo: int, hi: int) -> list[int]:
    """Split ``count`` accounts into campaigns of ``lo``..``hi`` accounts."""
    sizes = []
    while count > 0:
        size = min(count, rng.randint(lo, hi))
        if 0 < count - size < lo:
            size = count if count <= hi else count - lo
        sizes.append(size)
        count -= size
    return sizes


def simulate(config: SimulationConfig, on_progress: Callable[[int, int, str], None] | None = None) -> Simulation:
    """The simulated traffic ``config`` describes; ``on_progress(done, total, stage)`` hears of each account."""
    began = time.perf_counter()
    if not isinstance(config.days, (int, float)) or isinstance(config.days, bool) or not 0 < config.days <= 366:
        raise ConfigError(f"days must be a number of days in (0, 366], got {config.days!r}")
    start = config.start_epoch()
    counts = config.account_counts()
    pools = build_pools(config.data_dir, config.benign_sources, config.campaign_sources)
    world = World(config.seed, start, start + config.days * 86400, pools)
    labels: list[dict] = []
    simulated, total = 0, sum(counts.values())
    for kind_index, (name, kind) in enumerate(KINDS.items()):
        if not counts[name]:
            continue
        plan_rng = random.Random(f"{config.seed}/{name}/plan")
        sizes = _groups(plan_rng, counts[name], *kind.group) if kind.label == "distill" else [1] * counts[name]
        for group_index, size in enumerate(sizes):
            campaign = "camp_" + hex_id(plan_rng, 8) if kind.label == "distill" else None
            actors = []
            for member in range(size):
                tag = f"{config.seed}/{name}/{group_index}/{member}"
                actors.append(world.new_actor(name, kind.label, campaign, random.Random(tag),
                                              np.random.default_rng([config.seed & 0xFFFFFFFF, kind_index,
                                                                     group_index, member])))
            kind.run(world, actors)
            simulated += size
            if on_progress:
                on_progress(simulated, total, "accounts simulated")
    events = []
    for actor in world.actors:
        events.extend((t, actor.index, seq, exchange) for t, seq, exchange in actor.events
                      if world.start <= t < world.end)
        labels.append({"account": actor.account, "label": actor.label, "kind": actor.kind,
                       "campaign": actor.campaign, "sources": sorted(actor.sources)})
        actor.events = []
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    id_rng = random.Random(f"{config.seed}/ids")
    exchanges = []
    for t, _, _, exchange in events:
        exchange.id = new_exchange_id(t, id_rng.getrandbits(80))
        exchanges.append(exchange)
    return Simulation(config, exchanges, labels, time.perf_counter() - began)


def write_simulation(sim: Simulation, out_dir: str | Path) -> dict:
    """Write exchanges.jsonl, labels.jsonl and manifest.json into ``out_dir``; returns the manifest."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "exchanges.jsonl", "wb") as stream:
        write_exchanges(stream, sim.exchanges)
    with open(folder / "labels.jsonl", "wb") as stream:
        for label in sim.labels:
            stream.write(orjson.dumps(label) + b"\n")
    manifest = {"generator": "distillshield lab traffic", "seed": sim.config.seed,
                "config": sim.config.as_dict(), "start": format_ts(sim.config.start_epoch()),
                **sim.summary()}
    (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2) + b"\n")
    return manifest
