"""What DistillShield's shields cost a distillation campaign: the same campaign, shields off then on, over seeds.

Runs ``distillshield lab campaign`` with one configuration (the defaults, or --config, or --quick) and both
arms, shields off then on, in one run per seed: the arms of a run share the teacher, its watermark key and
the held-out yardstick, so they differ only by what the gateway did (two separate runs would each draw a
fresh watermark key, hence a different teacher and yardstick, which moves the gain by more than the shields
do). A seed sets the campaign's prompts and accounts, the ordinary accounts' traffic, and the students'
initial weights and batches. Reports for each arm: the answers the attacker harvested, the student's gain
(held-out NLL per teacher answer token, untrained minus trained, in nats; and as a share of the untrained
student's NLL), the token-level student's gain, accounts flagged and how many requests the detector had
seen of each when it first flagged it, the attacker's rotations, what the shields cost the ordinary accounts
(requests refused, rate-limited, throttled, altered; accounts flagged), and the time the arm took.

The headline per seed is the share of the shields-off student's gain the attacker kept with the shields on
(on / off); over seeds: the mean, the range (min to max) and a 95 % Student-t interval of the mean.

    python bench/lab_campaign.py [--quick] [--seeds N | --seed-list 1,2] [--reuse RUN_FOLDER ...]
                                 [--config FILE] [--out runs] [--json FILE]

``--reuse`` reads a finished run folder of the same configuration (its ``summary.json`` and ``manifest.json``)
instead of running its seed again: seeds can run in separate processes and be summarised together.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.lab.campaign import CampaignConfig, load_config, run_campaign  # noqa: E402

ROWS = ("planned", "task_answers", "harvested", "requests", "with_logprobs", "student_gain", "student_gain_relative",
        "token_student_gain", "flagged_accounts", "first_flagged_after", "lost", "logprobs_refused",
        "blocked_accounts", "rotations", "accounts_used", "ordinary_requests", "ordinary_refused",
        "ordinary_rate_limited", "ordinary_throttled", "ordinary_altered", "ordinary_flagged", "harvest_seconds",
        "seconds", "pretrained_gain", "pretrained_sequence_gain", "pretrained_audit_p", "pretrained_named")
# what is summarised over seeds
ACROSS = ("gain_kept_by_attacker", "token_gain_kept_by_attacker", "pretrained_gain_kept",
          "pretrained_sequence_gain_kept", "harvest_kept", "flagged_accounts",
          "ordinary_refused", "ordinary_rate_limited", "ordinary_throttled", "ordinary_altered", "ordinary_flagged")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="campaign TOML (default: the default configuration)")
    parser.add_argument("--quick", action="store_true", help="the quick preset (a reduced size)")
    parser.add_argument("--seeds", type=int, default=1, help="runs, with seeds 0 .. N-1 (default 1)")
    parser.add_argument("--seed-list", help="comma-separated seeds to run instead of 0 .. N-1")
    parser.add_argument("--reuse", action="append", default=[],
                        help="a finished run folder to read instead of running its seed (repeatable)")
    parser.add_argument("--out", default=str(ROOT / "runs"), help="folder of run folders")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")

    base = load_config(args.config, quick=args.quick, out=args.out)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    seeds = [int(s) for s in args.seed_list.split(",")] if args.seed_list else list(range(args.seeds))
    reused = [from_folder(Path(folder), base) for folder in args.reuse]
    runs = reused + [one_seed(base, seed, f"bench-{stamp}-s{seed}") for seed in seeds
                     if seed not in {run["seed"] for run in reused}]
    runs.sort(key=lambda run: run["seed"])
    label = " + ".join(part for part in ("quick" if args.quick else "", args.config or "") if part) or "default"
    results = {"config": label, "cpu_count": os.cpu_count(),
               "seeds": runs, "across_seeds": {name: across([run[name] for run in runs]) for name in ACROSS}}
    results["across_seeds"]["first_flagged_after"] = across(
        [run["on"]["first_flagged_after"] for run in runs if run["on"]["first_flagged_after"] is not None])
    for run in runs:
        print(f"seed {run['seed']}: {run['run']}, {run['total_seconds']:.0f} s")
        print(f"  {'':26}{'shields off':>14}{'shields on':>14}")
        for name in ROWS:
            print(f"  {name:26}{_cell(run['off'][name]):>14}{_cell(run['on'][name]):>14}")
        print(f"  gain kept by the attacker: {run['gain_kept_by_attacker']} (token-level "
              f"{run['token_gain_kept_by_attacker']}; pretrained student {run['pretrained_gain_kept']} per token, "
              f"{run['pretrained_sequence_gain_kept']} per answer); harvest kept {run['harvest_kept']}")
        if run["pretrained_audit_nulls"]:
            print(f"  pretrained audits' negative controls (combined p): {run['pretrained_audit_nulls']}")
    print(f"over {len(runs)} seed(s): mean [min, max] (95 % t-interval of the mean)")
    for name, stats in results["across_seeds"].items():
        print(f"  {name:30}{_cell(stats['mean'])} [{_cell(stats['min'])}, {_cell(stats['max'])}] "
              f"({_cell(stats['t95_low'])}, {_cell(stats['t95_high'])})")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


def one_seed(base: CampaignConfig, seed: int, name: str) -> dict:
    """Both arms of one run with this seed: the per-arm rows and the shields' effect."""
    config = CampaignConfig.from_dict({"shields": ["off", "on"], "name": name, "seed": seed,
                                       "student": {"seed": seed}, "train": {"seed": seed}, "pretrained": {"seed": seed}}, base)
    result = run_campaign(config, say=lambda line: print(f"  [seed {seed}] " + line, file=sys.stderr, flush=True))
    return seed_row(seed, result.summary, result.timings, result.seconds, result.folder)


def from_folder(folder: Path, base: CampaignConfig) -> dict:
    """A finished run's row, from its summary and manifest; refused unless it ran this configuration."""
    summary = json.loads((folder / "summary.json").read_text())
    manifest = json.loads((folder / "manifest.json").read_text())
    seed = manifest["config"]["seed"]
    expected = CampaignConfig.from_dict({"shields": ["off", "on"], "name": manifest["config"]["name"],
                                         "out": manifest["config"]["out"], "seed": seed,
                                         "student": {"seed": seed}, "train": {"seed": seed}, "pretrained": {"seed": seed}}, base).as_dict()
    if manifest["config"] != expected:
        differ = sorted(k for k in expected if manifest["config"].get(k) != expected[k])
        sys.exit(f"error: {folder} ran another configuration (differs in {', '.join(differ)})")
    return seed_row(seed, summary, manifest["timings"], summary["seconds"], folder)


def seed_row(seed: int, summary: dict, timings: dict, seconds: float, folder) -> dict:
    run = {arm: arm_result(summary, timings, arm) for arm in ("off", "on")}
    off, on = run["off"], run["on"]
    run["seed"] = seed
    run["gain_kept_by_attacker"] = _ratio(on["student_gain"], off["student_gain"])
    run["token_gain_kept_by_attacker"] = _ratio(on["token_student_gain"], off["token_student_gain"])
    run["harvest_kept"] = _ratio(on["task_answers"], off["task_answers"])
    run["pretrained_gain_kept"] = _ratio(on["pretrained_gain"], off["pretrained_gain"])
    run["pretrained_sequence_gain_kept"] = _ratio(on["pretrained_sequence_gain"], off["pretrained_sequence_gain"])
    pretrained = summary.get("pretrained") or {}
    run["pretrained_other_teacher"] = (pretrained.get("students") or {}).get("other-teacher")
    run["pretrained_audit_nulls"] = {arm: audit.get("negative_controls")
                                     for arm, audit in (pretrained.get("audit") or {}).items()}
    run["flags"] = summary["arms"]["on"]["flags"]
    for name in ("flagged_accounts", "ordinary_refused", "ordinary_rate_limited", "ordinary_throttled",
                 "ordinary_altered", "ordinary_flagged"):
        run[name] = on[name]
    run["shared_seconds"] = round(timings["teacher_load"] + timings["reference"], 1)
    run["total_seconds"] = round(seconds, 1)
    run["run"] = str(folder)
    return run


def across(values: list) -> dict:
    """Mean, min, max and the 95 % Student-t interval of the mean (None where it cannot be computed)."""
    values = [v for v in values if v is not None]
    if not values:
        return {"n": 0, "mean": None, "min": None, "max": None, "t95_low": None, "t95_high": None}
    from scipy.stats import t as student_t

    mean = sum(values) / len(values)
    low = high = None
    if len(values) > 1:
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
        half = student_t.ppf(0.975, len(values) - 1) * sd / math.sqrt(len(values))
        low, high = round(mean - half, 4), round(mean + half, 4)
    return {"n": len(values), "mean": round(mean, 4), "min": min(values), "max": max(values),
            "t95_low": low, "t95_high": high}


def arm_result(summary: dict, timings: dict, arm: str) -> dict:
    """One arm's row of the table, from the run's summary and timings."""
    students = summary["students"]
    sequence, token = students.get(f"{arm}-sequence"), students.get(f"{arm}-token")
    arm_summary = summary["arms"][arm]
    ordinary = arm_summary["ordinary"]
    pretrained = summary.get("pretrained") or {}
    gemma = (pretrained.get("students") or {}).get(arm)
    audit = (pretrained.get("audit") or {}).get(f"pretrained-{arm}")
    flagged_after = [f["flagged_after"] for f in arm_summary["flags"].values() if f["flagged_after"] is not None]
    return {
        "planned": arm_summary["planned"], "task_answers": arm_summary["task_answers"],
        "harvested": arm_summary["harvested"], "requests": arm_summary["requests"],
        "with_logprobs": arm_summary["with_logprobs"],
        "student_gain": sequence["gain"] if sequence else None,
        "student_gain_relative": sequence["gain_relative"] if sequence else None,
        "token_student_gain": token["gain"] if token else None,
        "flagged_accounts": arm_summary["flagged_accounts"],
        "first_flagged_after": min(flagged_after) if flagged_after else None,
        "lost": arm_summary["lost"], "logprobs_refused": arm_summary["logprobs_refused"],
        "blocked_accounts": arm_summary["blocked_accounts"],
        "rotations": arm_summary["rotations"], "accounts_used": arm_summary["accounts_used"],
        "flagged_after": sorted(f["flagged_after"] for f in arm_summary["flags"].values()
                                if f["flagged_after"] is not None),
        "ordinary_requests": ordinary["requests"], "ordinary_refused": ordinary["refused"],
        "ordinary_rate_limited": ordinary["rate_limited"], "ordinary_throttled": ordinary["throttled"],
        "ordinary_altered": ordinary["altered"], "ordinary_flagged": ordinary["flagged_accounts"],
        "harvest_seconds": arm_summary["seconds"],
        "seconds": round(sum(v for k, v in timings.items() if k == f"harvest_{arm}" or k.startswith(f"train_{arm}_")), 1),
        "pretrained_gain": gemma["gain"] if gemma else None,
        "pretrained_sequence_gain": gemma["sequence_gain"] if gemma else None,
        "pretrained_audit_p": audit["combined_p_value"] if audit else None,
        "pretrained_named": len(audit["attributed_accounts"]) if audit else None,
    }


def _ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator is not None and denominator else None


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
