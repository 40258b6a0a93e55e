"""What DistillShield's shields cost a distillation campaign: the same campaign, shields off then on.

Runs ``distillshield lab campaign`` with one configuration (the defaults, or --config, or --quick) and both
arms, shields off then on, in one run: the arms share the teacher, its watermark key and the held-out
yardstick, so they differ only by what the gateway did (two separate runs would each draw a fresh watermark
key, hence a different teacher and yardstick, which moves the gain by more than the shields do). Reports
for each arm: the answers the attacker harvested, the student's gain (held-out NLL per teacher answer token,
untrained minus trained, in nats; and as a share of the untrained student's NLL), the token-level student's
gain, how many requests the detector had seen of an account when it first flagged it, and the time the arm
took (its harvest and its students; loading the teacher and the yardstick are counted apart). The ratio
shields-on / shields-off gain is the headline: how much of what distillation buys the shields keep.

    python bench/lab_campaign.py [--quick] [--config FILE] [--out runs] [--json bench/results/lab_campaign.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.lab.campaign import CampaignConfig, load_config, run_campaign  # noqa: E402

ROWS = ("planned", "task_answers", "harvested", "requests", "with_logprobs", "student_gain", "student_gain_relative",
        "token_student_gain", "flagged_accounts", "first_flagged_after", "lost", "logprobs_refused",
        "blocked_accounts", "harvest_seconds", "seconds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="campaign TOML (default: the default configuration)")
    parser.add_argument("--quick", action="store_true", help="the quick preset (a reduced size)")
    parser.add_argument("--out", default=str(ROOT / "runs"), help="folder of run folders")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()

    base = load_config(args.config, quick=args.quick, out=args.out)
    config = CampaignConfig.from_dict({"shields": ["off", "on"], "name": f"bench-{time.strftime('%Y%m%d-%H%M%S')}"},
                                      base)
    result = run_campaign(config, say=lambda line: print("  " + line, file=sys.stderr, flush=True))
    results = {arm: arm_result(result.summary, result.timings, arm) for arm in ("off", "on")}
    off, on = results["off"], results["on"]
    results["gain_kept_by_attacker"] = _ratio(on["student_gain"], off["student_gain"])
    results["token_gain_kept_by_attacker"] = _ratio(on["token_student_gain"], off["token_student_gain"])
    results["shared_seconds"] = round(result.timings["teacher_load"] + result.timings["reference"], 1)
    results["total_seconds"] = round(result.seconds, 1)
    results["run"] = str(result.folder)
    results["config"] = "quick" if args.quick else (args.config or "default")
    results["cpu_count"] = os.cpu_count()

    print(f"{'':28}{'shields off':>14}{'shields on':>14}")
    for name in ROWS:
        print(f"{name:28}{_cell(off[name]):>14}{_cell(on[name]):>14}")
    print(f"gain kept by the attacker with the shields on: {results['gain_kept_by_attacker']} "
          f"(token-level: {results['token_gain_kept_by_attacker']}); run folder {result.folder}, "
          f"{results['total_seconds']:.0f} s in all")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


def arm_result(summary: dict, timings: dict, arm: str) -> dict:
    """One arm's row of the table, from the run's summary and timings."""
    students = summary["students"]
    sequence, token = students.get(f"{arm}-sequence"), students.get(f"{arm}-token")
    arm_summary = summary["arms"][arm]
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
        "harvest_seconds": arm_summary["seconds"],
        "seconds": round(sum(v for k, v in timings.items() if k == f"harvest_{arm}" or k.startswith(f"train_{arm}_")), 1),
    }


def _ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator is not None and denominator else None


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
