"""Labelled traffic of a model marketplace (an OpenAI-compatible reseller) with distillation campaigns inside.

    python bench/generators/marketplace/generate.py --out DIR --seed 1 --scale 1
    python bench/generators/marketplace/generate.py --validate DIR

Writes ``DIR/exchanges.jsonl`` (exchange records, time order) and ``DIR/labels.jsonl`` (one line per account).
Standard library only; deterministic per seed.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benign as B  # noqa: E402
import campaigns as C  # noqa: E402
import text as T  # noqa: E402
import world as W  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
# accounts per benign kind at scale 1 (each jittered +-15% per seed)
POPULATION = {"dev_hobbyist": 700, "power_user": 155, "trial_user": 180, "smb_integration": 380,
              "support_relay": 45, "agent_framework": 95, "batch_pipeline": 25, "edu_platform": 22,
              "translation_agency": 28, "eval_team": 14, "labelling_shop": 10, "content_agency": 60,
              "ide_plugin": 70}
# kinds that also come as organisations: several accounts sharing an office or cloud address and a client
ORGS = {"eval_team": (3, (2, 4)), "labelling_shop": (3, (3, 6)), "content_agency": (4, (2, 5))}


def build(seed: int, scale: float, data: Path | None) -> W.World:
    world = W.World(seed, T.Pools(data), scale)
    rng = world.rng
    plan: list[tuple[str, dict | None]] = []
    for kind, count in POPULATION.items():
        plan += [(kind, None)] * max(1, int(round(count * scale * rng.uniform(0.85, 1.15))))
    for kind, (orgs, size) in ORGS.items():
        for _ in range(max(1, int(round(orgs * scale)))):
            org = _org(rng, world.pools)
            plan += [(kind, org)] * rng.randint(*size)
    rng.shuffle(plan)
    for kind, org in plan:
        B.BENIGN[kind](world, org)
    for index, (shape, run) in enumerate(C.CAMPAIGNS.items()):
        run(world, f"mk-{seed}-{index + 1:02d}-{shape}")
    return world


def _org(rng: random.Random, pools: T.Pools) -> dict:
    office = W.ip_from(rng, W.CLOUD_PREFIXES + W.RESIDENTIAL_PREFIXES).rsplit(".", 1)[0]
    return {"ips": W.subnet_ips(rng, office, 2), "uas": rng.sample(W.SDK_UAS + W.BROWSER_UAS, 2),
            "tz": rng.choice(W.TIMEZONES), "suite": B.make_suite(rng, pools)}


def write(world: W.World, out: Path) -> tuple[int, int]:
    out.mkdir(parents=True, exist_ok=True)
    world.records.sort(key=lambda item: (item[0], item[1]))
    with (out / "exchanges.jsonl").open("wb") as handle:
        for _, _, line in world.records:
            handle.write(line + b"\n")
    with (out / "labels.jsonl").open("w", encoding="utf-8") as handle:
        for label in world.labels:
            if world.per_account[label["account"]]:
                handle.write(json.dumps(label) + "\n")
    return len(world.labels), len(world.records)


def summary(world: W.World) -> dict:
    per_account = world.per_account
    labels = [label for label in world.labels if per_account[label["account"]]]
    campaign = [label for label in labels if label["campaign"]]
    return {"accounts": len(labels), "exchanges": len(world.records),
            "campaign_accounts": len(campaign), "campaign_share": round(len(campaign) / len(labels), 4),
            "campaign_exchanges": sum(per_account[label["account"]] for label in campaign),
            "exchanges_by_kind": dict(sorted(Counter(label["kind"] for label in labels
                                                     for _ in range(per_account[label["account"]])).items())),
            "accounts_by_kind": dict(sorted(Counter(label["kind"] for label in labels).items())),
            "campaign_accounts_by_shape": dict(sorted(Counter(label["kind"] for label in campaign).items())),
            "silent_accounts_left_out": len(world.labels) - len(labels)}


REQUIRED = ("id", "ts", "account", "endpoint", "request")
ORDER = ("id", "ts", "account", "key_id", "ip", "user_agent", "endpoint", "request", "response", "status",
         "latency_ms", "error")


def validate(folder: Path) -> list[str]:
    """Problems with a generated folder: unparsable lines, wrong fields or order, labels not covering accounts."""
    from datetime import datetime
    problems: list[str] = []
    accounts, ids = set(), set()
    last_ts = ""
    with (folder / "exchanges.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                record = json.loads(line)
            except ValueError as exc:
                problems.append(f"line {number}: not JSON ({exc})")
                continue
            missing = [name for name in REQUIRED if name not in record]
            unknown = [name for name in record if name not in ORDER]
            order = [name for name in record if name in ORDER]
            if missing or unknown or order != [name for name in ORDER if name in record]:
                problems.append(f"line {number}: fields {list(record)}")
            if not isinstance(record.get("request"), dict) or record["id"] in ids:
                problems.append(f"line {number}: bad request or repeated id")
            try:
                datetime.fromisoformat(record["ts"].replace("Z", "+00:00"))
            except (ValueError, KeyError, AttributeError):
                problems.append(f"line {number}: bad ts")
            if record.get("ts", "") < last_ts:
                problems.append(f"line {number}: out of time order")
            last_ts = record.get("ts", last_ts)
            ids.add(record.get("id"))
            accounts.add(record.get("account"))
            if len(problems) > 20:
                return problems
    labelled: dict[str, dict] = {}
    with (folder / "labels.jsonl").open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            label = json.loads(line)
            if set(label) != {"account", "kind", "campaign", "campaign_id"} or \
                    label["campaign"] != (label["campaign_id"] is not None) or label["account"] in labelled:
                problems.append(f"labels line {number}: {label}")
            labelled[label["account"]] = label
    unlabelled = accounts - set(labelled)
    if unlabelled:
        problems.append(f"{len(unlabelled)} accounts without a label, e.g. {sorted(unlabelled)[:3]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, help="folder to write exchanges.jsonl and labels.jsonl into")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="population multiplier (1: ~2,000 accounts)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder of shared prompt sets (*.jsonl); used when present")
    parser.add_argument("--no-data", action="store_true", help="compose every prompt, ignore --data")
    parser.add_argument("--validate", type=Path, metavar="DIR", help="check a generated folder and exit")
    args = parser.parse_args(argv)
    if args.validate:
        problems = validate(args.validate)
        print("\n".join(problems) if problems else f"{args.validate}: valid")
        return 1 if problems else 0
    if args.out is None:
        parser.error("--out is required unless --validate is given")
    started = time.perf_counter()
    world = build(args.seed, args.scale, None if args.no_data else args.data.resolve())
    write(world, args.out)
    report = summary(world)
    report.update(seed=args.seed, scale=args.scale, shared_data=world.pools.present,
                  seconds=round(time.perf_counter() - started, 1))
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
