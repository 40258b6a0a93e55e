"""What DistillShield's shields cost a distillation campaign: the same campaign, shields off then on.

Runs ``distillshield lab campaign`` twice with one configuration (the defaults, or --config, or --quick),
once with detection off and once with live detection and graduated responses on, and reports for each:
the answers the attacker harvested, the student's gain (held-out NLL per teacher answer token, untrained
minus trained, in nats; and as a share of the untrained student's NLL), the token-level student's gain,
how many requests the attacker sent before its first account was flagged, and the wall time. The ratio
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="campaign TOML (default: the default configuration)")
    parser.add_argument("--quick", action="store_true", help="the quick preset (a reduced size)")
    parser.add_argument("--out", default=str(ROOT / "runs"), help="folder of run folders")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args()

    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = load_config(args.config, quick=args.quick, out=args.out)
    results = {}
    for arm in ("off", "on"):
        config = CampaignConfig.from_dict({"shields": [arm], "name": f"bench-{stamp}-{arm}"}, base)
        began = time.perf_counter()
        result = run_campaign(config, say=lambda line: print("  " + line, file=sys.stderr, flush=True))
        summary = result.summary
        token = summary["students"].get(f"{arm}-token")
        arm_summary = summary["arms"][arm]
        results[arm] = {
            "harvested": summary["harvested"], "requests": arm_summary["requests"],
            "student_gain": summary["student_gain"], "student_gain_relative": summary["student_gain_relative"],
            "token_student_gain": token["gain"] if token else None,
            "flagged_accounts": arm_summary["flagged_accounts"],
            "first_flagged_after": summary["first_flagged_after"],
            "lost": arm_summary["lost"], "logprobs_refused": arm_summary["logprobs_refused"],
            "blocked_accounts": arm_summary["blocked_accounts"],
            "harvest_seconds": arm_summary["seconds"], "seconds": round(time.perf_counter() - began, 1),
            "run": str(result.folder),
        }
    off, on = results["off"], results["on"]
    results["gain_kept_by_attacker"] = round(on["student_gain"] / off["student_gain"], 3) if off["student_gain"] else None
    results["config"] = "quick" if args.quick else (args.config or "default")
    results["cpu_count"] = os.cpu_count()

    print(f"{'':28}{'shields off':>14}{'shields on':>14}")
    for name in ("harvested", "requests", "student_gain", "student_gain_relative", "token_student_gain",
                 "flagged_accounts", "first_flagged_after", "lost", "logprobs_refused", "blocked_accounts",
                 "seconds"):
        print(f"{name:28}{_cell(off[name]):>14}{_cell(on[name]):>14}")
    print(f"gain kept by the attacker with the shields on: {results['gain_kept_by_attacker']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")


def _cell(value) -> str:
    if value is None:
        return "—"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


if __name__ == "__main__":
    main()
