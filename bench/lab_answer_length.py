"""Why the lab's attackers are not flagged: the same planned traffic, replayed with answers of other lengths.

The lab's teacher stops every answer at the campaign's ``max_tokens`` (40) because it decodes on the lab's CPU.
A real distiller's answers run to hundreds of tokens, and the length of what was served is among the signals
that carry over between traffic generators (``generative_share``, long answers seen). This bench takes the
default campaign's attacker accounts (their planned prompts, parameters, addresses and clients), sends each at
its share of the teacher's pace in the lab (about 1.2 answers a second for all accounts together, split by the
accounts' weights, as ``concurrency`` is), for up to ``--requests`` requests, as exchange records whose answers
are ``--lengths`` tokens long, and scans them with the shipped model against its shipped reference
(``--calibration model``, as the lab's live detector does with its few accounts), at ``--fpr``. Printed per
length and account: the best score, ``flagged_after``, and whether it was flagged within the requests the
account sends in a default campaign.

    python bench/lab_answer_length.py --lengths 40,128,256,800 --json bench/results/lab_answer_length.json

No ordinary accounts are replayed: the shipped reference's rate at the threshold is that of the generators'
ordinary accounts, answers of their own lengths included (bench/detect_eval.py).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from distillshield.detect.scan import scan  # noqa: E402
from distillshield.lab.campaign import CampaignConfig  # noqa: E402
from distillshield.lab.harvest import STRATEGIES, plan_accounts  # noqa: E402
from distillshield.records import format_ts  # noqa: E402

START = 1_796_169_600.0          # 2026-12-01T00:00:00Z
TEACHER_ANSWERS_PER_S = 1.2      # the whole lab's pace on two free cores (docs/lab.md, "The lab's clock")


def replay_log(path: Path, config: CampaignConfig, answer_tokens: int, requests: int) -> dict[str, int]:
    """Write the accounts' exchanges; return each account's requests in a default campaign."""
    order = [(name, i) for name in STRATEGIES for i in range(config.accounts.get(name, 0))]
    weights = [STRATEGIES[name].weight for name, _ in order]
    default = plan_accounts(config.accounts, config.answers, seed=config.seed, max_tokens=config.asked_max_tokens,
                            top_logprobs=config.top_logprobs, concurrency=config.concurrency)
    in_campaign = [len(plan.prompts) for plan in default]        # the cover account's chats included
    plans = plan_accounts(config.accounts, requests * len(order), seed=config.seed, max_tokens=config.asked_max_tokens,
                          top_logprobs=config.top_logprobs, concurrency=config.concurrency)
    rows = []
    for plan, weight in zip(plans, weights):
        gap = 1 / (TEACHER_ANSWERS_PER_S * weight / sum(weights))
        rng = random.Random(plan.account)
        moment = START
        for prompt in plan.prompts[:requests]:
            moment += gap * rng.uniform(0.5, 1.5)
            rows.append(_exchange(len(rows), moment, plan, prompt.messages, answer_tokens))
    rows.sort(key=lambda row: row["ts"])
    with open(path, "w") as stream:
        for number, row in enumerate(rows):
            row["id"] = f"ex_{number:026d}"
            stream.write(json.dumps(row) + "\n")
    return {plan.account: count for plan, count in zip(plans, in_campaign)}


def _exchange(number: int, moment: float, plan, messages: list[dict], answer_tokens: int) -> dict:
    prompt_tokens = sum(len(str(m.get("content", ""))) for m in messages) // 4 + 1
    return {"id": "", "ts": format_ts(moment), "account": plan.account, "key_id": "k", "ip": plan.ip,
            "user_agent": plan.user_agent, "endpoint": "/v1/chat/completions",
            "request": {"model": "builtin", "messages": messages, **plan.params}, "status": 200, "latency_ms": 500.0,
            "response": {"choices": [{"index": 0, "finish_reason": "length",
                                      "message": {"role": "assistant", "content": " ".join(["word"] * answer_tokens)}}],
                         "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": answer_tokens,
                                   "total_tokens": prompt_tokens + answer_tokens}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="40,128,256,800", help="answer lengths in tokens (comma-separated)")
    parser.add_argument("--requests", type=int, default=2000, help="most requests an account sends")
    parser.add_argument("--fpr", type=float, default=0.01)
    parser.add_argument("--json")
    args = parser.parse_args()
    config = CampaignConfig().validate()
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for length in (int(x) for x in args.lengths.split(",")):
            log = Path(folder) / f"log-{length}.jsonl"
            in_campaign = replay_log(log, config, length, args.requests)
            report = scan(log, Path(folder) / f"verdicts-{length}.jsonl", fpr=args.fpr, calibration="model",
                          use_embeddings=False)
            accounts = []
            for verdict in sorted(report.verdicts, key=lambda v: v.account):
                after = verdict.flagged_after
                accounts.append({"account": verdict.account, "requests": verdict.requests,
                                 "score": round(verdict.score, 3), "flagged_after": after,
                                 "flagged_within_default_campaign": after is not None and after <= in_campaign[verdict.account],
                                 "default_campaign_requests": in_campaign[verdict.account]})
            results.append({"answer_tokens": length, "calibration": report.calibration, "accounts": accounts,
                            "flagged": sum(a["flagged_after"] is not None for a in accounts),
                            "flagged_within_default_campaign": sum(a["flagged_within_default_campaign"] for a in accounts)})
            print(f"answers of {length} tokens: {results[-1]['flagged']} of {len(accounts)} flagged, "
                  f"{results[-1]['flagged_within_default_campaign']} within a default campaign's requests", flush=True)
            for row in accounts:
                print(f"  {row['account']:<24} score {row['score']:6.2f}  flagged after {row['flagged_after']}  "
                      f"(sends {row['default_campaign_requests']} in a default campaign)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"fpr": args.fpr, "teacher_answers_per_s": TEACHER_ANSWERS_PER_S,
                                               "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
