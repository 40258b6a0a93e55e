"""What marking costs where answers are served: the built-in backend's generation speed with each scheme.

    python bench/watermark_serving.py [--rounds 12] [--concurrency 8] [--max-tokens 128] [--threads 2]
                                      [--ours "kgw;expmin;tournament;kgw:delta=3,repeats=0"]
                                      [--json bench/results/watermark_serving.json]

`watermark_eval.py` measures the schemes inside `model.generate`; this measures them in the serving path: one
`BuiltinBackend` (SmolLM2-135M-Instruct, continuous batching of up to `--concurrency` rows), whose logits
hook marks each answer with the requesting account's key (as `distillshield serve` does), or not at all for
the unmarked configuration. Each round sends `--concurrency` chat requests at once (requests for long
stories, so that every answer runs to `--max-tokens` and all configurations decode the same number of
steps; temperature 0.7, top_p 0.95), one configuration after another, so a slow moment of the machine
falls on every configuration alike. Speed is completion tokens over the round's wall time; the table
gives the median over rounds and its ratio to the unmarked configuration's median in the same run, and the
median over rounds of each round's own ratio (a configuration against the unmarked one of the same round,
minutes apart), which a slow stretch of the machine moves less. Half the rounds stream (SSE), half answer
in one body.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from distillshield.backends.base import BackendRequest, StreamReply  # noqa: E402
from distillshield.backends.builtin import BuiltinBackend  # noqa: E402
from distillshield.watermark import RowWatermark, account_key, parse_scheme  # noqa: E402

MASTER = b"s" * 32
TOPICS = ["a lighthouse keeper", "a city under snow", "a robot learning to paint", "two rival bakers",
          "a lost letter", "the first day at a new school", "a storm at sea", "an old clock repairer",
          "a garden on a rooftop", "a long train journey", "a village festival", "a map with a missing island"]


def long_prompts(count: int) -> list[str]:
    """Prompts whose answers run past ``--max-tokens``: every row then decodes the same number of steps, and
    speed is not confounded by where each configuration's answers happen to stop."""
    return [f"Write a long, detailed story of at least 500 words about {TOPICS[i % len(TOPICS)]}." for i in range(count)]


def hook_factory(schemes: dict, master: bytes = MASTER):
    """Accounts are named "configuration/owner": the configuration says which scheme marks the answer ("none"
    leaves it unmarked), the owner whose key, so one owner's answers carry the same key in every configuration."""
    def factory(account: str, payload: dict, hardened: bool = False):
        config, _, owner = account.partition("/")
        scheme = schemes[config]
        if scheme is None:
            return None
        return RowWatermark(scheme, account_key(master, owner), temperature=payload["temperature"],
                            top_p=payload["top_p"])
    return factory


async def one_request(backend, account: str, prompt: str, max_tokens: int, stream: bool) -> int:
    payload = {"messages": [{"role": "user", "content": prompt}], "max_tokens": max_tokens, "temperature": 0.7,
               "top_p": 0.95, "stream": stream, "stream_options": {"include_usage": True}}
    reply = await backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", payload, account, stream=stream))
    if isinstance(reply, StreamReply):
        usage = None
        async for chunk in reply.chunks:
            for line in chunk.decode().splitlines():
                if line.startswith("data: {") and '"usage"' in line:
                    usage = orjson.loads(line[6:]).get("usage") or usage
        return usage["completion_tokens"]
    return orjson.loads(reply.body)["usage"]["completion_tokens"]


async def measure(args) -> dict:
    schemes = {"none": None, **{spec: parse_scheme(spec) for spec in args.ours}}
    backend = BuiltinBackend(max_batch_size=args.concurrency, threads=args.threads,
                             logits_processor_factory=hook_factory(schemes))
    await backend.start()
    prompts = long_prompts(args.rounds * args.concurrency)
    speeds: dict[str, list[float]] = {name: [] for name in schemes}
    lengths: dict[str, list[int]] = {name: [] for name in schemes}
    try:
        await one_request(backend, "none/warm", prompts[0], 8, False)
        for round_index in range(args.rounds):
            batch = prompts[round_index * args.concurrency:(round_index + 1) * args.concurrency]
            for name in schemes:
                started = time.perf_counter()
                tokens = await asyncio.gather(*[one_request(backend, f"{name}/{round_index}-{i}", prompt,
                                                            args.max_tokens, stream=round_index % 2 == 1)
                                                for i, prompt in enumerate(batch)])
                speeds[name].append(sum(tokens) / (time.perf_counter() - started))
                lengths[name] += tokens
            print(f"round {round_index + 1}/{args.rounds}: " + ", ".join(f"{n} {s[-1]:.0f}" for n, s in speeds.items())
                  + " tokens/s", file=sys.stderr, flush=True)
    finally:
        await backend.aclose()
    base = statistics.median(speeds["none"])
    return {"settings": vars(args), "results": {name: {"median_tokens_per_s": statistics.median(s),
                                                       "ratio_to_unmarked": statistics.median(s) / base,
                                                       "median_round_ratio": statistics.median(
                                                           x / y for x, y in zip(s, speeds["none"])),
                                                       "full_length_share": sum(n == args.max_tokens for n in lengths[name])
                                                       / len(lengths[name]),
                                                       "rounds": s} for name, s in speeds.items()}}


def table(report: dict) -> str:
    lines = ["| configuration | tokens/s (median over rounds) | × unmarked | × unmarked, round by round (median) | "
             "answers at full length |", "|---|---:|---:|---:|---:|"]
    for name, row in report["results"].items():
        lines.append(f"| {name} | {row['median_tokens_per_s']:.1f} | {row['ratio_to_unmarked']:.3f} | "
                     f"{row['median_round_ratio']:.3f} | {row['full_length_share']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ours", type=lambda s: [x for x in s.split(";") if x],
                        default=["kgw", "expmin", "tournament", "kgw:delta=3,repeats=0"])
    parser.add_argument("--json", default="bench/results/watermark_serving.json")
    args = parser.parse_args()
    report = asyncio.run(measure(args))
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(table(report))


if __name__ == "__main__":
    main()
