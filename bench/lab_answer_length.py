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

``--teacher N`` first asks the lab's own teacher (the built-in model, as the lab's gateway serves it) for N of
those planned prompts at up to ``--teacher-max-tokens``, and reports how long its answers run when not cut at
40 tokens and how fast it writes them; ``teacher`` in ``--lengths`` then replays the accounts with answer
lengths drawn from that sample (what this teacher would serve without the lab's cap).

    python bench/lab_answer_length.py --teacher 32 --lengths 40,teacher,800

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


def campaign_plans(config: CampaignConfig, answers: int | None = None) -> list:
    """The attacker's accounts as the campaign plans them (``answers`` harvest prompts; default: the campaign's)."""
    return plan_accounts(config.accounts, answers or config.answers, seed=config.seed, max_tokens=config.asked_max_tokens,
                         top_logprobs=config.top_logprobs, concurrency=config.concurrency)


def replay_log(path: Path, config: CampaignConfig, answer_tokens: int | list[int], requests: int) -> dict[str, int]:
    """Write the accounts' exchanges (answers of ``answer_tokens``, or of lengths drawn from that list); return
    each account's requests in a default campaign."""
    order = [(name, i) for name in STRATEGIES for i in range(config.accounts.get(name, 0))]
    weights = [STRATEGIES[name].weight for name, _ in order]
    in_campaign = [len(plan.prompts) for plan in campaign_plans(config)]        # the cover account's chats included
    plans = campaign_plans(config, requests * len(order))
    rows = []
    for plan, weight in zip(plans, weights):
        gap = 1 / (TEACHER_ANSWERS_PER_S * weight / sum(weights))
        rng = random.Random(plan.account)
        moment = START
        for prompt in plan.prompts[:requests]:
            moment += gap * rng.uniform(0.5, 1.5)
            length = rng.choice(answer_tokens) if isinstance(answer_tokens, list) else answer_tokens
            rows.append(_exchange(len(rows), moment, plan, prompt.messages, length))
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


def teacher_lengths(config: CampaignConfig, count: int, max_tokens: int, threads: int, batch: int = 8) -> dict:
    """The built-in teacher's answers to ``count`` of the default campaign's planned prompts (spread over its
    accounts), ``batch`` at a time as the lab's concurrent accounts give it: their lengths and the pace."""
    import asyncio
    import statistics
    import time

    from distillshield.backends.base import BackendRequest
    from distillshield.backends.builtin import BuiltinBackend

    prompts = [(prompt.messages, plan.params) for plan in campaign_plans(config) for prompt in plan.prompts]
    chosen = random.Random(config.seed).sample(prompts, min(count, len(prompts)))

    async def run() -> tuple[list[int], float, float]:
        backend = BuiltinBackend(max_batch_size=batch, threads=threads)
        started = time.perf_counter()
        await backend.start()
        loaded = time.perf_counter() - started

        async def answer(messages: list[dict], params: dict) -> int:
            sampling = {name: params[name] for name in ("temperature", "top_p") if name in params}
            body = {"model": "builtin", "messages": messages, "max_tokens": max_tokens, **sampling}
            reply = await backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", body, "teacher-probe"))
            return json.loads(reply.body)["usage"]["completion_tokens"]

        started = time.perf_counter()
        lengths = []
        for first in range(0, len(chosen), batch):
            lengths += await asyncio.gather(*(answer(m, p) for m, p in chosen[first:first + batch]))
        seconds = time.perf_counter() - started
        await backend.aclose()
        return lengths, seconds, loaded

    lengths, seconds, loaded = asyncio.run(run())
    ordered = sorted(lengths)
    return {"answers": len(lengths), "max_tokens": max_tokens, "lengths": lengths,
            "median": statistics.median(lengths), "p90": ordered[int(0.9 * (len(ordered) - 1))],
            "share_at_cap": sum(n >= max_tokens for n in lengths) / len(lengths),
            "tokens_per_s": round(sum(lengths) / seconds, 1), "answers_per_s": round(len(lengths) / seconds, 3),
            "seconds": round(seconds, 1), "load_seconds": round(loaded, 1), "batch": batch, "threads": threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="40,128,256,800", help="answer lengths in tokens (comma-separated)")
    parser.add_argument("--requests", type=int, default=2000, help="most requests an account sends")
    parser.add_argument("--fpr", type=float, default=0.01)
    parser.add_argument("--teacher", type=int, default=0, help="first measure the built-in teacher's answer lengths on "
                                                                 "this many planned prompts")
    parser.add_argument("--teacher-max-tokens", type=int, default=1024)
    parser.add_argument("--teacher-threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    config = CampaignConfig().validate()
    teacher = None
    if args.teacher:
        teacher = teacher_lengths(config, args.teacher, args.teacher_max_tokens, args.teacher_threads)
        print(f"the teacher's answers, allowed {teacher['max_tokens']} tokens: median {teacher['median']}, 90th "
              f"percentile {teacher['p90']}, {teacher['share_at_cap']:.0%} at the cap; {teacher['tokens_per_s']} tokens/s "
              f"({teacher['answers_per_s']} answers/s, {teacher['batch']} at a time, {teacher['threads']} thread(s))",
              flush=True)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for spec in args.lengths.split(","):
            if spec == "teacher" and teacher is None:
                parser.error("'teacher' in --lengths needs --teacher N")
            length = teacher["lengths"] if spec == "teacher" else int(spec)
            log = Path(folder) / f"log-{spec}.jsonl"
            in_campaign = replay_log(log, config, length, args.requests)
            report = scan(log, Path(folder) / f"verdicts-{spec}.jsonl", fpr=args.fpr, calibration="model",
                          use_embeddings=False)
            accounts = []
            for verdict in sorted(report.verdicts, key=lambda v: v.account):
                after = verdict.flagged_after
                accounts.append({"account": verdict.account, "requests": verdict.requests,
                                 "score": round(verdict.score, 3), "flagged_after": after,
                                 "flagged_within_default_campaign": after is not None and after <= in_campaign[verdict.account],
                                 "default_campaign_requests": in_campaign[verdict.account]})
            results.append({"answer_tokens": spec if spec == "teacher" else length, "calibration": report.calibration, "accounts": accounts,
                            "flagged": sum(a["flagged_after"] is not None for a in accounts),
                            "flagged_within_default_campaign": sum(a["flagged_within_default_campaign"] for a in accounts)})
            print(f"answers of {spec} tokens: {results[-1]['flagged']} of {len(accounts)} flagged, "
                  f"{results[-1]['flagged_within_default_campaign']} within a default campaign's requests", flush=True)
            for row in accounts:
                print(f"  {row['account']:<24} score {row['score']:6.2f}  flagged after {row['flagged_after']}  "
                      f"(sends {row['default_campaign_requests']} in a default campaign)", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"fpr": args.fpr, "teacher_answers_per_s": TEACHER_ANSWERS_PER_S,
                                               "teacher": teacher, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
